"""What a chain's `stream()` yields before its `Answer`."""

from dataclasses import dataclass

from rag.answer import Answer


@dataclass(frozen=True)
class Delta:
    """A piece of the model's text, as it streams."""

    text: str


@dataclass(frozen=True)
class Retry:
    """The text streamed so far is discarded: a second attempt follows."""


@dataclass(frozen=True)
class Progress:
    """Whole documents read section by section: `done` of `total` so far."""

    done: int
    total: int
    what: str = "sections"


Event = Delta | Retry | Progress | Answer
