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


def load_question_set(path: Path) -> QuestionSet:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        questions = QuestionSet.model_validate(data)
    except OSError as exc:
        raise RagError(f"cannot read question set {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise RagError(f"question set {path} is not valid YAML: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise RagError(f"question set {path}: {where}: {first['msg']}") from None
    expanded = (p for c in questions.corpus for p in _expand(path, path.parent / c))
    questions.corpus = list(dict.fromkeys(expanded))  # a symlink names its target once
    return questions


def _expand(set_file: Path, entry: Path) -> list[Path]:
    if not glob.has_magic(str(entry)):
        return [entry.resolve()]
    if matches := sorted(Path(p).resolve() for p in glob.glob(str(entry))):
        return matches
    raise RagError(f"question set {set_file}: corpus pattern {entry} matches no file")
