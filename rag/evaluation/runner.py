"""Running a question set through the real pipeline under one configuration."""

import hashlib
import json
import statistics
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from rag.answer import Answer, Timings
from rag.answering.checks import unknown_names, words
from rag.chain import retrieve
from rag.citations import MARKER
from rag.documents import document_text
from rag.errors import DocumentError, RagError
from rag.evaluation import metrics
from rag.evaluation.questions import Question, QuestionSet
from rag.ingest import ingest
from rag.pipeline import Pipeline
from rag.progress import Listener, Progress
from rag.retrieval import Passage
from rag.settings import Settings


class QuestionResult(BaseModel):
    """One question's answer and every judgement made of it."""

    question: Question
    answer: Answer | None = None
    error: str | None = None
    hit_rank: int | None = None  # first retrieved passage holding a gold quote
    retrieval_recall: float | None = None
    fact_coverage: float | None = None
    token_f1: float | None = None
    citations_correct: list[bool] = Field(default_factory=list)
    citation_recall: float | None = None
    grounded: list[tuple[str, bool]] = Field(default_factory=list)
    forbidden_hit: bool = False
    invented: list[str] = Field(default_factory=list)  # names no document holds


class EvalReport(BaseModel):
    name: str
    overrides: dict[str, Any]
    questions_file: str
    started: str
    seconds: float
    summary: dict[str, float | None]
    results: list[QuestionResult]


def _gold_texts(question: Question, passages: list[Passage]) -> list[str]:
    """Passage texts as the gold quotes are matched against: from another document
    than the gold sources (when the question names any), a passage counts as empty."""
    wanted = set(question.sources)
    return [p.text if not wanted or p.name in wanted else "" for p in passages]


def judge(
    question: Question, answer: Answer, embeddings: Any, vocabulary: set[str] | None = None
) -> QuestionResult:
    """`vocabulary`: every word of the corpus, for the invented-names count."""
    result = QuestionResult(question=question, answer=answer)
    result.forbidden_hit = any(
        metrics.fold(f) in metrics.fold(answer.answer) for f in question.forbidden
    )
    cited = _gold_texts(question, list(answer.citations))
    if question.answerable:
        gold = _gold_texts(question, answer.passages)
        result.hit_rank = metrics.first_hit_rank(gold, question.quotes)
        result.retrieval_recall = metrics.quote_recall(gold, question.quotes)
        text = "" if answer.refused else answer.answer
        result.fact_coverage = metrics.fact_coverage(text, question.facts)
        result.token_f1 = metrics.token_f1(text, question.reference)
        result.citations_correct = [
            any(metrics.holds(c, q) for q in question.quotes) for c in cited
        ]
        if not answer.refused:
            result.citation_recall = metrics.quote_recall(cited, question.quotes)
    else:
        result.citations_correct = [False] * len(cited)  # citing for an answer that isn't there
    if not answer.refused:
        if vocabulary is not None:
            known = vocabulary | words(question.question)
            result.invented = unknown_names(MARKER.sub("", answer.answer), known)
        cited_texts = {c.n: c.text for c in answer.citations}
        result.grounded = metrics.grounded_sentences(answer.answer, cited_texts, embeddings)
    return result


def _mean(values: list[float]) -> float | None:
    return round(statistics.fmean(values), 4) if values else None


def _share(flags: list[bool]) -> float | None:
    return _mean([float(f) for f in flags])


RETRIEVAL_METRICS = (
    "questions",
    "errors",
    "hit_at_1",
    "hit_at_3",
    "mrr",
    "passage_chars",
    "latency_p50_s",
    "latency_p95_s",
)


def summarize(
    results: list[QuestionResult], k: int, *, retrieval_only: bool = False
) -> dict[str, float | None]:
    done = [r for r in results if r.answer]
    answerable = [r for r in done if r.question.answerable]
    unanswerable = [r for r in done if not r.question.answerable]
    latencies = sorted(r.answer.timings.total_s for r in done if r.answer)
    ranks = [r.hit_rank for r in answerable]
    summary: dict[str, float | None] = {
        "questions": len(results),
        "errors": len(results) - len(done),
        "hit_at_1": _share([r is not None and r <= 1 for r in ranks]),
        "hit_at_3": _share([r is not None and r <= 3 for r in ranks]) if k >= 3 else None,
        f"hit_at_{k}": _share([r is not None for r in ranks]),
        "mrr": _mean([1 / r if r else 0.0 for r in ranks]),
        # Wider passages find more: a hit rate means little without their length.
        "passage_chars": _mean([len(p.text) for r in done if r.answer for p in r.answer.passages]),
        f"recall_at_{k}": _mean([r.retrieval_recall or 0.0 for r in answerable]),
        "fact_coverage": _mean([r.fact_coverage or 0.0 for r in answerable]),
        "right_and_cited": _share([_right_and_cited(r) for r in answerable]),
        "token_f1": _mean([r.token_f1 or 0.0 for r in answerable]),
        "refused_unanswerable": _share([r.answer.refused for r in unanswerable if r.answer]),
        "false_refusal_rate": _share([r.answer.refused for r in answerable if r.answer]),
        "citation_precision": _share([c for r in done for c in r.citations_correct]),
        "citation_recall": _mean(
            [r.citation_recall for r in answerable if r.citation_recall is not None]
        ),
        "groundedness": _share([g for r in done for _, g in r.grounded]),
        "forbidden_hits": float(sum(r.forbidden_hit for r in done)),
        "invented_names": float(sum(len(r.invented) for r in done)),
        "latency_p50_s": _median(latencies),
        "latency_p95_s": round(latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))], 3)
        if latencies
        else None,
        # Whole-document answers against the others of the same run.
        "latency_p50_whole_s": _median(_latencies(done, whole=True)),
        "latency_p50_passages_s": _median(_latencies(done, whole=False)),
    }
    if retrieval_only:
        keep = (*RETRIEVAL_METRICS, f"hit_at_{k}", f"recall_at_{k}")
        summary = {name: value for name, value in summary.items() if name in keep}
    return summary


def _latencies(results: list[QuestionResult], *, whole: bool) -> list[float]:
    return sorted(
        r.answer.timings.total_s
        for r in results
        if r.answer and (r.answer.route.name in ("document", "map_reduce")) == whole
    )


def _median(values: list[float]) -> float | None:
    return round(values[len(values) // 2], 3) if values else None


def _right_and_cited(result: QuestionResult) -> bool:
    """Answered, every fact covered, and a citation that holds a gold quote."""
    answered = result.answer is not None and not result.answer.refused
    return answered and (result.fact_coverage or 0) >= 1 and any(result.citations_correct)


class EvalCancelled(RagError):
    """The run was stopped by its user."""


def index_settings(settings: Settings, root: Path) -> Settings:
    """An index per chunking and embedding configuration, kept between runs."""
    shape = {
        "chunking": settings.chunking.model_dump(),
        "embeddings": settings.embeddings.model_dump(mode="json"),
        "collection": settings.store.collection,
    }
    digest = hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()[:12]
    llm = settings.llm.model_copy(update={"model_file": settings.model_file})
    # Local even when the vectors live on a Chroma server: scratch indexes of a question
    # set's corpus must not replace the server's collection.
    update = {"data_dir": root / f"index-{digest}", "llm": llm, "chroma_url": None}
    return settings.model_copy(update=update)


def run_eval(
    question_set: QuestionSet,
    settings: Settings,
    *,
    name: str,
    overrides: dict[str, Any],
    questions_file: Path,
    work_dir: Path,
    retrieval_only: bool = False,
    progress: bool | None = None,
    listener: Listener | None = None,
    stop: threading.Event | None = None,
) -> EvalReport:
    """Answer every question and judge it; with `retrieval_only`, only retrieve (no model).
    `listener` follows the progress (the browser's bar); setting `stop` ends the run after
    the questions being answered, with an `EvalCancelled`."""
    started = time.perf_counter()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    settings = index_settings(settings, work_dir)
    pipeline = Pipeline.from_settings(settings, on_mismatch="rebuild")  # a scratch index
    report = ingest(
        question_set.corpus,
        pipeline.store,
        pipeline.embeddings,
        settings,
        progress=progress,
        listener=listener,
    )
    if report.failed or not pipeline.store.sources():
        problems = "; ".join(f"{p.path}: {p.reason}" for p in report.failed) or "no documents"
        raise RagError(f"cannot index the question set's corpus: {problems}")
    if not retrieval_only:
        pipeline.warm()
    vocabulary = _vocabulary(pipeline.store.sources(), work_dir)

    def evaluate(question: Question) -> QuestionResult:
        try:
            if retrieval_only:
                answer = _retrieval_only(pipeline, question)
            else:
                answer = pipeline.chain.invoke(question.question, question.history)
            return judge(question, answer, pipeline.embeddings, vocabulary)
        except RagError as exc:
            return QuestionResult(question=question, error=str(exc))

    # As many questions at once as the model serves at once (it batches them).
    workers = 1 if retrieval_only or settings.llm.base_url else settings.llm.parallel
    questions = question_set.questions
    order = range(len(questions)) if retrieval_only else _cache_friendly(pipeline, questions)
    with (
        Progress(enabled=progress, listener=listener) as bar,
        ThreadPoolExecutor(workers) as pool,
    ):
        task = bar.task(f"Eval {name}", total=len(questions), unit="questions")
        futures = {i: pool.submit(evaluate, questions[i]) for i in order}
        for answered, future in enumerate(as_completed(futures.values()), start=1):
            future.result()
            task.advance()
            if stop is not None and stop.is_set():
                pool.shutdown(cancel_futures=True)
                raise EvalCancelled(f"evaluation cancelled after {answered} questions")
        results = [futures[i].result() for i in range(len(questions))]
    return EvalReport(
        name=name,
        overrides=overrides,
        questions_file=str(questions_file),
        started=stamp,
        seconds=round(time.perf_counter() - started, 1),
        summary=summarize(results, settings.retrieval.k, retrieval_only=retrieval_only),
        results=results,
    )


def _vocabulary(sources: Iterable[str], work_dir: Path) -> set[str]:
    """Every word of the indexed documents (for invented names). A document indexed by an
    earlier run and gone since is named, with the way out."""
    vocabulary: set[str] = set()
    for source in sources:
        try:
            vocabulary |= words(document_text(Path(source)))
        except DocumentError as exc:
            raise RagError(
                f"{source}: {exc} (indexed by an earlier run; delete {work_dir} to rebuild)"
            ) from None
    return vocabulary


def _cache_friendly(pipeline: Pipeline, questions: list[Question]) -> list[int]:
    """Question indexes ordered so that questions retrieving the same passages run back to
    back: the passages precede the question in the prompt, so the model server reuses
    their cached prefix instead of reading them again. Results do not depend on order.
    Follow-ups go last; their passages are only known after the rewrite."""

    def passages(i: int) -> tuple[int, tuple[str, ...]]:
        if questions[i].history:
            return 1, ()
        found = retrieve(pipeline.retriever(), questions[i].question, ())
        return 0, tuple(p.chunk_id for p in found)

    return sorted(range(len(questions)), key=passages)


def _retrieval_only(pipeline: Pipeline, question: Question) -> Answer:
    """The retrieval half of an answer: no question rewrite, no model."""
    started = time.perf_counter()
    passages = retrieve(pipeline.retriever(), question.question, question.history)
    seconds = time.perf_counter() - started
    return Answer(
        question=question.question,
        standalone_question=question.question,
        answer="",
        refused=True,
        passages=passages,
        timings=Timings(retrieve_s=seconds, total_s=seconds),
    )
