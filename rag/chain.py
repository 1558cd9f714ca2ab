"""The question-answering chain: condense, retrieve, prompt, generate, check citations.

Its LCEL pieces (prompt | chat model) run inside a small driver that decides, from the
evidence rather than the prompt alone, when to refuse:

- the best passage scores below `answer.min_score`: refuse without asking the model;
- the model declines although a passage scores `answer.retry_score` or more: ask once
  more with a prompt that expects an answer, and keep it only if it passes the check;
- the model's answer fails the citation check (`rag.grounding`): refuse.

`stream()` yields the model's text as it arrives, then one `Answer`.
"""

import contextlib
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import ClassVar

from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable

from rag.answer import REFUSAL, SCOPED_REFUSAL, Answer, Route, Timings, Turn
from rag.answering.align import align_citations
from rag.answering.checks import is_yes_no_question
from rag.answering.compose import strip_yes_no
from rag.answering.reading import Asking, Reading, WholeReader
from rag.answering.route import whole_kind
from rag.answering.sentences import merge_chunks
from rag.answering.whole import named_documents, resolve_documents, size, whole_text
from rag.citations import MARKER
from rag.errors import RagError
from rag.events import Delta, Event, Retry
from rag.focus import focus_passages
from rag.grounding import CheckedAnswer, addresses, check_answer
from rag.injection import withhold_orders
from rag.llm import llm_errors, server_name, stream_text
from rag.prompts import load_prompt
from rag.retrieval import Passage, clean_query
from rag.settings import AnswerSettings, RouteChoice
from rag.store import DocumentStore

HISTORY_TURNS = 3


def number_passages(texts: Sequence[str]) -> str:
    return "\n\n".join(f"[{n}] {text}" for n, text in enumerate(texts, start=1))


def format_history(history: Sequence[Turn]) -> str:
    lines = []
    for turn in history[-HISTORY_TURNS:]:
        lines += [f"User: {turn.question}", f"Assistant: {MARKER.sub('', turn.answer).strip()}"]
    return "\n".join(lines)


def retrieve(
    retriever: BaseRetriever, question: str, history: Sequence[Turn] = ()
) -> list[Passage]:
    # The previous question rides along: a rewrite may say "the model" where the
    # conversation used a name, and retrieval needs the name.
    query = f"{question} {history[-1].question}" if history else question
    return [Passage.from_document(d) for d in retriever.invoke(query)]


@dataclass
class Asked:
    """A question made ready for answering: cleaned, rewritten if a follow-up, and its
    passages retrieved; what both chains start from."""

    started: float
    llm: Runnable
    question: str
    standalone: str
    passages: list[Passage]
    top: float | None
    timings: Timings


class QAChain:
    def __init__(
        self,
        retriever: BaseRetriever,
        llm: BaseChatModel,
        settings: AnswerSettings,
        embeddings: Embeddings | None = None,
    ) -> None:
        self.retriever = retriever
        self.embeddings = embeddings  # for focusing passages; None shows them whole
        self.llm = llm
        self.settings = settings
        self.answer_prompt = load_prompt(settings.prompt)
        self.retry_prompt = load_prompt(settings.retry_prompt)
        self.condense_chain = load_prompt(settings.condense_prompt) | llm | StrOutputParser()
        self.verify_chain = (
            load_prompt(settings.verify_prompt) | llm.bind(max_tokens=3) | StrOutputParser()
        )
        self.llm_where = server_name(llm)
        self.reader = WholeReader(
            settings, embeddings, self.llm_where, self.answer_prompt, self.passage_text
        )
        self._corpus: tuple[tuple[float, int], list[Passage] | None] | None = None

    WARMUP: ClassVar[dict[str, str]] = {"passages": "", "question": ""}

    def warm_template(self) -> ChatPromptTemplate:
        """The prompt whose fixed start (rules and examples) `warm` caches."""
        return self.answer_prompt

    def warm_inputs(self) -> dict[str, str]:
        """The prompt's fixed start; on the fast path, with every document in it."""
        corpus = self.corpus()
        if corpus is None:
            return dict(self.WARMUP)
        return {"passages": self.passage_text("", corpus), "question": ""}

    def passage_text(self, question: str, passages: Sequence[Passage]) -> str:
        """The passages as the model reads them: numbered, orders withheld, and cut to
        the sentences nearest the question with `answer.focus_sentences`."""
        shown = (
            focus_passages(question, passages, self.embeddings, self.settings.focus_sentences)
            if self.embeddings
            else [p.text for p in passages]
        )
        return number_passages([withhold_orders(text) for text in shown])

    def warm(self) -> None:
        """Load the model and let it read the fixed start of the prompt, which the
        server then keeps cached, so a first question pays for neither. A failure here
        is left for the first real question to report."""
        warmup = self.warm_template() | self.llm.bind(max_tokens=1)
        with contextlib.suppress(Exception):
            warmup.invoke(self.warm_inputs())

    def warmup_prompt(self) -> str:
        """The text `warm` sends, which names its saved prompt cache."""
        messages = self.warm_template().format_messages(**self.warm_inputs())
        return "\n".join(m.text for m in messages)

    def invoke(
        self,
        question: str,
        history: Sequence[Turn] = (),
        temperature: float | None = None,
        documents: Sequence[str] = (),
        route: RouteChoice | None = None,
    ) -> Answer:
        for event in self.stream(question, history, temperature, documents, route):
            if isinstance(event, Answer):
                return event
        raise RagError("the chain ended without an answer")  # unreachable by construction

    def stream(
        self,
        question: str,
        history: Sequence[Turn] = (),
        temperature: float | None = None,
        documents: Sequence[str] = (),
        route: RouteChoice | None = None,
    ) -> Iterator[Event]:
        """`temperature` overrides `llm.temperature` for the answer only; rewriting a
        follow-up and the self-check stay deterministic. `documents` keeps retrieval,
        whole-document reading and the refusal to these documents (names or paths);
        `route` overrides `answer.route`."""
        store = self.store
        if documents and store is None:
            raise RagError("this retriever cannot be kept to chosen documents")
        scope = resolve_documents(store, documents) if documents and store else []
        asked = self.ask(question, history, temperature, scope)
        reading = self.plan(asked, scope, route or self.settings.route)
        if reading.route.name == "corpus":
            asked.passages = [p.model_copy(update={"score": asked.top}) for p in reading.passages]
        if reading.route.name in ("passages", "corpus"):
            events = self._from_passages(asked)
        else:
            events = self._from_documents(asked, reading)
        for event in events:
            if isinstance(event, Answer):
                event.route = reading.route
                if scope and event.refused:
                    event.answer = SCOPED_REFUSAL
            yield event

    @property
    def store(self) -> DocumentStore | None:
        """The retriever's store, if it has one: scopes and whole documents read it."""
        return getattr(self.retriever, "store", None)

    def plan(self, asked: Asked, scope: list[str], route: RouteChoice) -> Reading:
        """Top passages, or which whole documents to read: the chosen ones, the one
        the question names, the only one indexed, or the best passage's."""
        if route == "passages":
            return Reading(Route(documents=scope, reason="passages were asked for"))
        kind = whole_kind(asked.standalone)
        if route == "auto" and kind is None:
            if not scope and asked.top is not None and (corpus := self.corpus()):
                why = "every document fits the prompt, which the model keeps cached"
                sources = list(dict.fromkeys(p.source for p in corpus))
                return Reading(Route(name="corpus", documents=sources, reason=why), corpus)
            return Reading(Route(documents=scope, reason="a question top passages answer"))
        store = self.store
        if store is None:
            return Reading(Route(reason="this retriever cannot read whole documents"))
        indexed = sorted(store.sources())
        sources = (
            scope
            or named_documents(store, asked.standalone)
            or (indexed if len(indexed) == 1 else [])
            or [p.source for p in asked.passages[:1]]
        )
        if not sources:
            return Reading(Route(reason="no document to read"))
        passages, sentences = whole_text(store, sources)
        long = size(sentences) > self.settings.document_chars
        return Reading(
            Route(
                name="map_reduce" if long else "document",
                kind=kind or "question",
                documents=sources,
                reason=f"a {kind} question"
                if route == "auto"
                else "whole documents were asked for",
            ),
            passages,
            sentences,
        )

    def corpus(self) -> list[Passage] | None:
        """Every document, one passage each, when all fit `answer.document_chars` (the
        fast path); the same text in the same order every time, so the model server
        reuses its cached reading. Re-read only after the index changes."""
        store = self.store
        if not self.settings.fast_path or store is None:
            return None
        version = store.records.version()
        if self._corpus is None or self._corpus[0] != version:
            self._corpus = (version, None)
            counts = store.sources()
            # Chunks overlap, so their count bounds the text's length from below.
            if counts and sum(counts.values()) <= self.settings.document_chars // 50:
                chunks, sentences = whole_text(store, sorted(counts))
                if size(sentences) <= self.settings.document_chars:
                    self._corpus = (version, merge_chunks(chunks))
        return self._corpus[1]

    def _from_documents(self, asked: Asked, reading: Reading) -> Iterator[Event]:
        asking = Asking(asked.standalone, asked.llm, asked.started, asked.timings)
        read = yield from self.reader.read(reading, asking)
        composed = read.composed
        refused = composed.declined or not composed.citations
        if not (refused or is_yes_no_question(asked.standalone)):
            composed.text = strip_yes_no(composed.text, composed.fixes)
        asked.timings.total_s = time.perf_counter() - asked.started
        yield Answer(
            question=asked.question,
            standalone_question=asked.standalone,
            answer=REFUSAL if refused else composed.text,
            refused=refused,
            refusal_reason="nothing in the documents held up as an answer" if refused else None,
            outcome="not_in_documents" if refused else "answered",
            model_text=read.model_text,
            citations=[] if refused else composed.citations,
            fixes=composed.fixes,
            passages=read.passages,
            timings=asked.timings,
        )

    def _from_passages(self, asked: Asked) -> Iterator[Event]:
        started, llm, question, timings = asked.started, asked.llm, asked.question, asked.timings
        standalone, passages, top = asked.standalone, asked.passages, asked.top
        text: str | None = None

        def finish(checked: CheckedAnswer, refusal: str | None = None) -> Answer:
            timings.total_s = time.perf_counter() - started
            return Answer(
                question=question,
                standalone_question=standalone,
                answer=REFUSAL if refusal else checked.text,
                refused=refusal is not None,
                refusal_reason=refusal,
                outcome="answered" if refusal is None else "not_in_documents",
                model_text=text,
                citations=[] if refusal else checked.citations,
                fixes=checked.fixes,
                passages=passages,
                timings=timings,
            )

        if top is None or top < self.settings.min_score:
            best = "no passages" if top is None else f"the best scores {top:.2f}"
            yield finish(CheckedAnswer(text=""), f"no passage is relevant enough ({best})")
            return

        inputs = {"passages": self.passage_text(standalone, passages), "question": standalone}
        text = yield from self._generate(self.answer_prompt | llm, inputs, started, timings)
        checked = self.check(text, passages, standalone)
        if checked.declined and top >= self.settings.retry_score:
            yield Retry()
            text = yield from self._generate(self.retry_prompt | llm, inputs, started, timings)
            checked = self.check(text, passages, standalone)
            if not checked.declined and not addresses(
                standalone, checked.text, self.settings.min_retry_overlap
            ):
                yield finish(checked, "the passages do not answer the question")
                return
        if checked.declined:
            yield finish(checked, "the model found no answer in the passages")
        elif checked.unsupported:
            yield finish(checked, "the passages do not support the model's answer")
        elif self.settings.verify and not self.confirms(standalone, checked, timings):
            yield finish(checked, "the cited passages do not state this answer")
        else:
            yield finish(checked)

    def check(self, text: str, passages: list[Passage], question: str) -> CheckedAnswer:
        """The citation check, then (`answer.cite=sentence`) each claim's citation narrowed
        to the sentences holding it, and a Yes/No the question did not ask for removed."""
        checked = check_answer(text, passages, self.settings.min_support, question)
        if self.settings.cite == "passage":
            return checked
        checked = align_citations(
            checked,
            passages,
            question,
            self.settings.min_support,
            self.settings.misfits,
            self.settings.neighbour_margin,
        )
        if not (checked.declined or checked.unsupported or is_yes_no_question(question)):
            checked.text = strip_yes_no(checked.text, checked.fixes)
        return checked

    def ask(
        self,
        question: str,
        history: Sequence[Turn],
        temperature: float | None,
        scope: Sequence[str] = (),
    ) -> Asked:
        started = time.perf_counter()
        llm = self.llm if temperature is None else self.llm.bind(temperature=temperature)
        question = clean_query(question, self.settings.max_question_chars)
        timings = Timings()
        standalone = question
        if history:
            began = time.perf_counter()
            standalone = self.condense(question, history)
            timings.llm_s += time.perf_counter() - began
        began = time.perf_counter()
        retriever = (
            self.retriever.model_copy(update={"sources": tuple(scope)}) if scope else self.retriever
        )
        passages = retrieve(retriever, standalone, history)
        timings.retrieve_s = time.perf_counter() - began
        top = max((p.score for p in passages), default=None)
        return Asked(started, llm, question, standalone, passages, top, timings)

    def confirms(self, question: str, checked: CheckedAnswer, timings: Timings) -> bool:
        """A second, narrow question to the model: do the cited passages state the answer?

        The lexical check cannot see a true sentence that answers a different question;
        asked this directly, the model can. Anything but a clear "No" counts as yes.
        """
        began = time.perf_counter()
        with llm_errors(self.llm_where):
            verdict = self.verify_chain.invoke(
                {
                    "passages": "\n\n".join(c.text for c in checked.citations),
                    "question": question,
                    "answer": MARKER.sub("", checked.text).strip(),
                }
            )
        timings.llm_s += time.perf_counter() - began
        return not verdict.strip().lower().startswith("no")

    def _generate(
        self, chain: Runnable, inputs: dict[str, str], started: float, timings: Timings
    ) -> Iterator[Delta]:
        return stream_text(chain, inputs, self.llm_where, started, timings)

    def condense(self, question: str, history: Sequence[Turn]) -> str:
        """Rewrite a follow-up into a question that retrieval can use on its own."""
        with llm_errors(self.llm_where):
            rewritten = self.condense_chain.invoke(
                {"history": format_history(history), "question": question}
            )
        line = next((ln.strip() for ln in rewritten.splitlines() if ln.strip()), "")
        line = line.removeprefix("Rewritten question:").strip().strip("\"'\u201c\u201d")
        return line if 3 <= len(line) <= self.settings.max_question_chars else question
