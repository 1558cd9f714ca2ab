"""The question-set format (YAML): what a question is, and what a good answer holds."""

import glob
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from rag.answer import Turn
from rag.errors import RagError


class Question(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    question: str
    answerable: bool
    reference: str
    facts: list[list[str]] = Field(
        default_factory=list, description="Each fact: accepted alternatives; all facts required."
    )
    quotes: list[str] = Field(default_factory=list, description="Gold supporting source text.")
    sources: list[str] = Field(
        default_factory=list,
        description="Gold document file names; when given, a passage counts only from one "
        "of them, so a quote that recurs in other documents cannot pass for a hit.",
    )
    forbidden: list[str] = Field(default_factory=list, description="Must not appear in answers.")
    history: list[Turn] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    given: str | None = Field(None, description="From feedback: the answer the chat gave.")
    note: str | None = Field(None, description="From feedback: what the user said of it.")

    @model_validator(mode="after")
    def _answerable_needs_evidence(self) -> "Question":
        if self.answerable and not (self.facts and self.quotes):
            raise ValueError(f"answerable question {self.id} needs facts and quotes")
        return self


class QuestionSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    corpus: list[Path] = Field(
        description="What to ingest, relative to the set's file; glob patterns allowed."
    )
    questions: list[Question]

    @model_validator(mode="before")
    @classmethod
    def _corpus_as_list(cls, data: dict) -> dict:
        if isinstance(data, dict) and isinstance(data.get("corpus"), str):
            data = {**data, "corpus": [data["corpus"]]}
        return data

    @model_validator(mode="after")
    def _unique_ids(self) -> "QuestionSet":
        ids = [q.id for q in self.questions]
        if duplicates := sorted({i for i in ids if ids.count(i) > 1}):
            raise ValueError(f"duplicate question ids: {', '.join(duplicates)}")
        return self


def _line(text: str, loc: tuple[int | str, ...]) -> int | None:
    """The line of the YAML node at `loc` (a pydantic error's path), or of the nearest
    enclosing one when the field is missing."""
    node = yaml.compose(text)
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            found = [v for k, v in node.value if getattr(k, "value", None) == str(part)]
            if not found:
                break
            node = found[0]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                break
            node = node.value[part]
        else:
            break
    return node.start_mark.line + 1 if node is not None else None


def load_question_set(path: Path, root: Path | None = None) -> QuestionSet:
    """`root`: where relative corpus paths start (default: the set's own folder)."""
    text = ""
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
        questions = QuestionSet.model_validate(data)
    except OSError as exc:
        raise RagError(f"cannot read question set {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise RagError(f"question set {path} is not valid YAML: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the file"
        line = _line(text, tuple(first["loc"]))
        at = f", line {line}" if line else ""
        raise RagError(f"question set {path}{at}: {where}: {first['msg']}") from None
    base = root or path.parent
    expanded = (p for c in questions.corpus for p in _expand(path, base / c))
    questions.corpus = list(dict.fromkeys(expanded))  # a symlink names its target once
    return questions


def keep_only(question_set: QuestionSet, only: str) -> None:
    """Keeps the questions whose id or one of whose tags is in `only` (comma-separated)."""
    wanted = {w.strip() for w in only.split(",") if w.strip()}
    question_set.questions = [
        q for q in question_set.questions if q.id in wanted or wanted & set(q.tags)
    ]
    if not question_set.questions:
        raise RagError(f"no question has an id or tag in: {only}")


def _expand(set_file: Path, entry: Path) -> list[Path]:
    if not glob.has_magic(str(entry)):
        return [entry.resolve()]
    if matches := sorted(Path(p).resolve() for p in glob.glob(str(entry))):
        return matches
    raise RagError(f"question set {set_file}: corpus pattern {entry} matches no file")
