"""Whole-document answers: summaries, lists, counts and other questions about documents
as a whole, read in one prompt or, when too long, section by section (map-reduce).

Each kind is a small step whose output is checked in code:

- summary: the document's own central sentences (`summary`), no model call;
- list and count: the model lists from the numbered sentences; each item must be named
  by a sentence, which it cites (`listing`);
- any other question: the model answers from the numbered sentences, checked sentence
  by sentence against the sentences it cites (`compose`).

A long document is read in sections of `answer.document_chars`: each section's
summary sentences, items or cited sentences are kept (map), then combined into one
answer (reduce), with a `Progress` event per section. A consumer that stops reading the
events stops the work after the current section.
"""

from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from langchain_core.embeddings import Embeddings
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import Runnable

from rag.answer import Citation, CitationFix, Route, Timings
from rag.answering.compose import Composed, compose
from rag.answering.listing import Item, list_items, looping, tidy
from rag.answering.sentences import NumberedSentence, format_sentences, merge_chunks
from rag.answering.summary import summarize
from rag.answering.whole import sections
from rag.citations import MARKER
from rag.events import Delta, Event, Progress
from rag.injection import WITHHELD, gives_orders
from rag.llm import stream_text
from rag.prompts import load_prompt
from rag.retrieval import Passage
from rag.settings import AnswerSettings


@dataclass
class Reading:
    """The route, with the text it reads: every chunk and sentence of its documents."""

    route: Route
    passages: list[Passage] = field(default_factory=list)
    sentences: list[NumberedSentence] = field(default_factory=list)


@dataclass
class Asking:
    """One question being answered: the model to ask, and where its times go."""

    question: str
    llm: Runnable
    started: float
    timings: Timings


@dataclass
class Read:
    """What reading produced: the checked answer (empty text: nothing held up)."""

    composed: Composed
    model_text: str | None = None
    passages: list[Passage] = field(default_factory=list)


def _quiet(steps: Iterator[Event]) -> Generator[Event, None, Any]:
    """Run a step without streaming its text (a section of map-reduce)."""
    while True:
        try:
            event = next(steps)
        except StopIteration as stop:
            return stop.value
        if not isinstance(event, Delta):
            yield event


def _cited_passages(citations: list[Citation], passages: Sequence[Passage]) -> list[Passage]:
    """Only the chunks the citations come from (a whole manual would be megabytes of
    JSON), with each citation's `passage` renumbered to match."""
    kept = sorted({c.passage for c in citations if c.passage})
    number = {old: new for new, old in enumerate(kept, start=1)}
    for c in citations:
        c.passage = number.get(c.passage or 0)
    return [passages[i - 1] for i in kept]


def quote(
    parts: Sequence[tuple[str, list[NumberedSentence]]],
    passages: Sequence[Passage],
    joiner: str = " ",
    lead: str = "",
    end: str = "",
) -> Composed:
    """Text parts each citing their sentences by number, as one answer."""
    citations: dict[int, Citation] = {}
    shown = []
    for text, cited in parts:
        for s in cited:
            citations.setdefault(s.n, s.citation(s.n, 1.0, passages))
        shown.append(" ".join(text.split()) + " " + "".join(f"[{s.n}]" for s in cited))
    return Composed(text=lead + joiner.join(shown) + end, citations=list(citations.values()))


class WholeReader:
    """`answer_prompt` and `passage_text` are the classic chain's: lists are asked with
    the document as its one passage, the very prompt of the fast path, which the
    model has cached (measured: 9 of the article's 9 companies this way against 5 with
    numbered sentences, whose numbers the model counts on instead of citing)."""

    def __init__(
        self,
        settings: AnswerSettings,
        embeddings: Embeddings | None,
        where: str,
        answer_prompt: ChatPromptTemplate,
        passage_text: Callable[[str, Sequence[Passage]], str],
    ) -> None:
        self.settings = settings
        self.embeddings = embeddings
        self.where = where
        self.prompt = load_prompt(settings.document_prompt)
        self.answer_prompt = answer_prompt
        self.passage_text = passage_text

    def read(self, reading: Reading, asking: Asking) -> Generator[Event, None, Read]:
        parts = sections(reading.sentences, self.settings.document_chars)
        reading.route.sections = len(parts)
        kind = reading.route.kind
        if kind == "summary":
            read = yield from self._summary(parts, reading.passages)
        elif kind in ("list", "count"):
            read = yield from self._list(parts, reading, asking)
        else:
            read = yield from self._question(parts, reading, asking)
        read.passages = _cited_passages(read.composed.citations, reading.passages)
        return read

    def _summary(
        self, parts: list[list[NumberedSentence]], passages: list[Passage]
    ) -> Generator[Event, None, Read]:
        assert self.embeddings is not None, "summaries need the embedding model"
        s = self.settings
        pick = partial(
            summarize,
            embeddings=self.embeddings,
            limit=s.summary_sentences,
            diversity=s.summary_diversity,
            position=s.summary_position,
            share=s.summary_share,
        )
        picked: list[NumberedSentence] = []
        for done, part in enumerate(parts, start=1):
            picked += pick(part)
            if len(parts) > 1:
                yield Progress(done, len(parts))
        if len(parts) > 1:  # reduce: the summary of the sections' summaries
            picked = pick(picked)
        composed = quote([(s.text, [s]) for s in picked], passages)
        composed.extractive = True
        yield Delta(composed.text)
        return Read(composed)

    def _stream(
        self, prompt: ChatPromptTemplate, inputs: dict[str, str], asking: Asking
    ) -> Generator[Event, None, str]:
        chain = prompt | asking.llm
        return (yield from stream_text(chain, inputs, self.where, asking.started, asking.timings))

    def _ask(
        self, sentences: Sequence[NumberedSentence], asking: Asking
    ) -> Generator[Event, None, str]:
        shown = [WITHHELD if gives_orders(s.text) else s.text for s in sentences]
        inputs = {"sentences": format_sentences(sentences, shown), "question": asking.question}
        return (yield from self._stream(self.prompt, inputs, asking))

    def _ask_passage(
        self, part: list[NumberedSentence], reading: Reading, asking: Asking
    ) -> Generator[Event, None, str]:
        """The question about one section, shown as the answer prompt's one passage (a
        whole document: exactly the fast path's text)."""
        if len(part) == len(reading.sentences):
            shown = merge_chunks(reading.passages)
        else:
            first = reading.passages[part[0].passage - 1]
            text = " ".join(s.text for s in part)
            shown = [
                first.model_copy(update={"start": part[0].start, "end": part[-1].end, "text": text})
            ]
        inputs = {
            "passages": self.passage_text(asking.question, shown),
            "question": asking.question,
        }
        return (yield from self._stream(self.answer_prompt, inputs, asking))

    def _list(
        self, parts: list[list[NumberedSentence]], reading: Reading, asking: Asking
    ) -> Generator[Event, None, Read]:
        if reading.route.kind == "count":  # counted in code, from the list
            asking = replace(asking, question=f"{asking.question} List each one.")
        items: list[Item] = []
        dropped: list[str] = []
        texts: list[str] = []
        for done, part in enumerate(parts, start=1):
            text = ""
            steps = self._ask_passage(part, reading, asking)
            for event in steps:
                if isinstance(event, Delta):
                    text += event.text
                    if len(parts) == 1:
                        yield event
                if looping(text, part):  # the rest would repeat or invent until max_tokens
                    steps.close()
                    break
            texts.append(text)
            found, lost = list_items(MARKER.sub("", text), part)  # [n] names a passage
            items += found
            dropped += lost
            if len(parts) > 1:
                yield Progress(done, len(parts))
        kept, odd = tidy(items, asking.question)
        dropped += odd
        fixes = [
            CitationFix(sentence=0, written=None, now=None, reason=f"item dropped: {d}")
            for d in dropped
        ]
        if not kept:
            return Read(Composed(text="", fixes=fixes, declined=True), "\n".join(texts))
        count = f"{len(kept)}: " if reading.route.kind == "count" else ""
        composed = quote(
            [(item.text, [item.sentence]) for item in kept],
            reading.passages,
            joiner=", ",
            lead=count,
            end=".",
        )
        composed.fixes = fixes
        return Read(composed, "\n".join(texts))

    def _question(
        self, parts: list[list[NumberedSentence]], reading: Reading, asking: Asking
    ) -> Generator[Event, None, Read]:
        question, min_support, count = (
            asking.question,
            self.settings.min_support,
            len(reading.sentences),
        )
        if len(parts) == 1:
            text = yield from self._ask(parts[0], asking)
            return Read(
                compose(text, parts[0], reading.passages, question, min_support, count), text
            )
        cited: dict[int, NumberedSentence] = {}
        for done, part in enumerate(parts, start=1):
            text = yield from _quiet(self._ask(part, asking))
            noted = compose(text, part, reading.passages, question, min_support, count)
            if not noted.declined and not noted.extractive:
                by_n = {s.n: s for s in part}
                cited.update({c.n: by_n[c.n] for c in noted.citations if c.n in by_n})
            yield Progress(done, len(parts))
        if not cited:
            return Read(Composed(text="", declined=True))
        notes = [cited[n] for n in sorted(cited)]
        text = yield from self._ask(notes, asking)
        return Read(compose(text, notes, reading.passages, question, min_support, count), text)
