"""The result of a question, as every front end receives it: CLI, UI, API, evaluation."""

from typing import Any, Literal

from pydantic import BaseModel

from rag.retrieval import Passage

REFUSAL = "The documents don't say."
SCOPED_REFUSAL = "The chosen documents don't say."


class Turn(BaseModel):
    """One earlier exchange of a conversation."""

    question: str
    answer: str


class Citation(Passage):
    """What the answer cites as `[n]`: the exact sentence (evidence-first answers) or
    chunk (the classic chain) whose `start`/`end` hold `text`, and how well it supports
    the answer's sentences. `passage` is the 1-based retrieved passage it comes from,
    whose chunk stays in `Answer.passages` as context."""

    n: int
    support: float
    passage: int | None = None


class CitationFix(BaseModel):
    """A change the checks made: citation `written` became `now` (None: dropped or
    absent; both None: a change of the text, such as a removed "Yes,")."""

    sentence: int
    written: int | None
    now: int | None
    reason: str
    # What `written` and `now` count: the answer's citations, or the passages the model
    # cited before its citations were narrowed to sentences.
    numbers: Literal["citation", "passage"] = "citation"

    def describe(self) -> str:
        if self.written is None and self.now is None:
            return self.reason
        unit = "passage " if self.numbers == "passage" else ""
        written = f"{unit}[{self.written}]" if self.written else "none"
        now = f"{unit}[{self.now}]" if self.now else "dropped"
        return f"{written} -> {now}: {self.reason}"


class Route(BaseModel):
    """How the question was read: its top passages; the whole collection, small enough
    to stay in the model's prompt cache (corpus); or whole documents, in one prompt or
    section by section then combined (map_reduce); and why."""

    name: Literal["passages", "corpus", "document", "map_reduce"] = "passages"
    kind: Literal["summary", "list", "count", "question"] | None = None  # whole documents
    documents: list[str] = []  # the sources read whole, or the scope retrieval kept to
    sections: int = 0  # map_reduce: how many sections were read
    reason: str = ""


class Timings(BaseModel):
    attempts: int = 0  # answers asked of the model: 2 when a decline was retried
    retrieve_s: float = 0.0
    first_token_s: float | None = None
    llm_s: float = 0.0
    total_s: float = 0.0


Outcome = Literal["answered", "partial", "not_in_documents"]


class Answer(BaseModel):
    question: str
    standalone_question: str
    answer: str
    refused: bool
    refusal_reason: str | None = None
    # answered; partial: the answer says which part the documents don't cover;
    # not_in_documents: refused (the classic chain has only the first and the last).
    outcome: Outcome | None = None
    answerability: float | None = None  # 0-1, from retrieval, evidence and support
    unanswered: list[str] = []  # partial: what the answer says the documents don't cover
    evidence: list[int] = []  # the sentence numbers the model picked (evidence chain)
    # What the answerability score was made of: evidence, confirmed, support, retrieval.
    signals: dict[str, float] = {}
    model_text: str | None = None  # what the model wrote, before the citation check
    citations: list[Citation] = []
    fixes: list[CitationFix] = []
    passages: list[Passage] = []
    route: Route = Route()
    timings: Timings = Timings()

    def to_json(self) -> dict[str, Any]:
        """The documented JSON shape of `rag ask --json`."""
        return self.model_dump(
            include={
                "question",
                "standalone_question",
                "answer",
                "refused",
                "refusal_reason",
                "outcome",
                "answerability",
                "unanswered",
                "evidence",
                "signals",
                "citations",
                "fixes",
                "route",
                "timings",
            }
        )
