"""Retrieval latency at 1k, 10k and 100k chunks: question in, passages out, no model.

The store is filled with the synthetic corpus (`rag.benchmarks.corpus`) and random unit
vectors, written straight to Chroma and the record manager: embedding 100k chunks would
take most of an hour here, and latency depends on the index, not on what made the
vectors. Each question is embedded by the real MiniLM, as in use. The stores are kept
in <data_dir>/bench, one collection per size, so a second run skips the build.
"""

import json
import resource
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rag.benchmarks.corpus import chunk_texts, unit_vectors
from rag.embeddings import Embedder
from rag.evaluation.questions import load_question_set
from rag.ingest import ingest
from rag.pipeline import Pipeline
from rag.progress import Progress
from rag.settings import Settings
from rag.store import open_store

SIZES = (1_000, 10_000, 100_000)
MILLION = 1_000_000
QUESTIONS = Path(__file__).resolve().parents[2] / "eval" / "article.yaml"
CHUNKS_PER_DOCUMENT = 100
_BATCH = 5_000  # Chroma takes at most ~5.4k records per call


def percentiles_ms(seconds: Sequence[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50_ms": round(statistics.median(ordered) * 1000, 2), "p95_ms": round(p95 * 1000, 2)}


def grow(
    pipeline: Pipeline, target: int, *, progress: bool | None = False, record: Path | None = None
) -> float:
    """Add synthetic chunks until the store holds `target`; the seconds it took. An
    interrupted build resumes where its vectors and keywords both reached; `record`
    keeps the seconds spent so far after every batch, so a resumed build's time is
    the sum of its runs rather than only the last one (an empty store starts it afresh)."""
    started = time.perf_counter()
    store = pipeline.store
    have = min(store.chunk_count(), store.keywords.count())
    resumed = record is not None and have > 0 and record.exists()
    spent = json.loads(record.read_text())["store_build_s"] if record and resumed else 0.0
    with Progress(enabled=progress) as bar:
        building = bar.task("Building", total=target, unit="chunks")
        building.set_completed(have)
        for first in range(have, target, _BATCH):
            count = min(_BATCH, target - first)
            ids = [f"bench-{i:07d}" for i in range(first, first + count)]
            texts = chunk_texts(count, start=first)
            sources = [
                f"/bench/doc-{i // CHUNKS_PER_DOCUMENT:05d}.txt"
                for i in range(first, first + count)
            ]
            metadatas = [
                {
                    "source": source,
                    "name": source.rsplit("/", 1)[1],
                    "title": "",
                    "chunk": i % CHUNKS_PER_DOCUMENT,
                    "start": 0,
                    "end": len(text),
                }
                for i, source, text in zip(range(first, first + count), sources, texts, strict=True)
            ]
            store.vectors._collection.upsert(
                ids=ids,
                embeddings=unit_vectors(count, start=first),
                documents=texts,
                metadatas=metadatas,
            )
            store.keywords.add(ids, texts, sources)
            store.records.update(ids, group_ids=sources)
            building.set_completed(first + count)
            if record:
                elapsed = round(spent + time.perf_counter() - started, 1)
                record.write_text(json.dumps({"store_build_s": elapsed, "chunks": first + count}))
    return spent + time.perf_counter() - started


def timed(call: Callable[[str], object], questions: Sequence[str], rounds: int) -> list[float]:
    seconds = []
    for _ in range(rounds):
        for question in questions:
            began = time.perf_counter()
            call(question)
            seconds.append(time.perf_counter() - began)
    return seconds


def retrieval_latency(settings: Settings, embeddings: Embedder, rounds: int) -> dict[str, Any]:
    questions = [q.question for q in load_question_set(QUESTIONS).questions]
    results: dict[str, Any] = {"questions": len(questions), "rounds": rounds}
    for size in SIZES:
        label = f"{size // 1000}k"
        store = settings.store.model_copy(update={"collection": f"bench-{label}"})
        bench_settings = settings.model_copy(
            update={"data_dir": settings.data_dir / "bench", "chroma_url": None, "store": store}
        )
        store = open_store(bench_settings, embeddings, on_mismatch="rebuild")
        pipeline = Pipeline(bench_settings, embeddings, store)
        built_s = grow(pipeline, size)
        figures = {"chunks": pipeline.store.chunk_count(), "store_build_s": round(built_s, 1)}
        results[label] = figures | latencies(pipeline, questions, rounds)
    return results


def latencies(pipeline: Pipeline, questions: Sequence[str], rounds: int) -> dict[str, Any]:
    hybrid = pipeline.retriever()
    dense = hybrid.model_copy(update={"mode": "dense"})
    began = time.perf_counter()
    hybrid.invoke(questions[0])  # Chroma loads the vector index on first use
    figures: dict[str, Any] = {"first_question_s": round(time.perf_counter() - began, 2)}
    for name, call in (
        ("hybrid", hybrid.invoke),
        ("dense", dense.invoke),
        ("embed_question", pipeline.embeddings.embed_query),
        ("keywords", lambda q: hybrid.store.keywords.search(q, hybrid.candidates)),
    ):
        figures[name] = percentiles_ms(timed(call, questions, rounds))
    return figures


def million_chunks(settings: Settings, embeddings: Embedder, rounds: int) -> dict[str, Any]:
    """A 1M-chunk store in <data_dir>/bench-1m, built once (resumably; ~30+ minutes on
    2 cores) and reused: retrieval latency, a one-file change and the first question
    after it, peak memory and disk size."""
    folder = settings.data_dir / "bench-1m"
    store_settings = settings.store.model_copy(update={"collection": "bench-1m"})
    bench_settings = settings.model_copy(
        update={"data_dir": folder, "chroma_url": None, "store": store_settings}
    )
    pipeline = Pipeline(
        bench_settings, embeddings, open_store(bench_settings, embeddings, on_mismatch="rebuild")
    )
    build_record = folder / "built.json"
    grow(pipeline, MILLION, progress=None, record=build_record)
    questions = [q.question for q in load_question_set(QUESTIONS).questions]
    figures: dict[str, Any] = {"chunks": pipeline.store.chunk_count()}
    if build_record.exists():
        figures |= json.loads(build_record.read_text())
    figures |= latencies(pipeline, questions, rounds)
    figures |= pytorch_question(pipeline, questions, rounds)
    figures["after_one_file"] = one_file_change(pipeline, questions[0])
    figures["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    figures["disk_mb"] = round(
        sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 2**20
    )
    return figures


def pytorch_question(pipeline: Pipeline, questions: Sequence[str], rounds: int) -> dict[str, Any]:
    """Hybrid again with the question embedded by PyTorch, in the same run: what the
    ONNX Runtime question encoder (`embeddings.query_runtime`) saves."""
    embedder = pipeline.embeddings
    if getattr(embedder, "query_runtime", None) != "onnx":
        return {}
    embedder.query_runtime = "torch"
    try:
        return {
            "hybrid_pytorch_question": percentiles_ms(
                timed(pipeline.retriever().invoke, questions, rounds)
            ),
            "embed_question_pytorch": percentiles_ms(
                timed(embedder.embed_query, questions, rounds)
            ),
        }
    finally:
        embedder.query_runtime = "onnx"


def one_file_change(pipeline: Pipeline, question: str) -> dict[str, float]:
    """Ingest one changed file into the big store (embedded for real), then ask: no
    keyword index to rebuild, so the first question costs what any question does.
    The file's chunks are removed again, so the store stays the same size."""
    folder = pipeline.settings.data_dir / "changed"
    folder.mkdir(exist_ok=True)
    note = folder / "note.txt"
    note.write_text(f"A note written at {time.time()}: {chunk_texts(1, start=MILLION)[0]}")
    began = time.perf_counter()
    ingest([note], pipeline.store, pipeline.embeddings, pipeline.settings, progress=False)
    ingested = time.perf_counter()
    pipeline.retriever().invoke(question)
    asked = time.perf_counter()
    pipeline.store.delete_sources([str(note.resolve())])
    return {"ingest_s": round(ingested - began, 2), "first_question_s": round(asked - ingested, 3)}
