"""Retrieval latency at 1k, 10k and 100k chunks: question in, passages out, no model.

The store is filled with the synthetic corpus (`rag.benchmarks.corpus`) and random unit
vectors, written straight to Chroma and the record manager: embedding 100k chunks would
take most of an hour here, and latency depends on the index, not on what made the
vectors. Each question is embedded by the real MiniLM, as in use. The stores are kept
in <data_dir>/bench, one collection per size, so a second run skips the build.
"""

import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rag.benchmarks.corpus import chunk_texts, unit_vectors
from rag.embeddings import SentenceTransformerEmbeddings
from rag.evaluation.questions import load_question_set
from rag.pipeline import Pipeline
from rag.settings import Settings
from rag.store import open_store

SIZES = (1_000, 10_000, 100_000)
QUESTIONS = Path(__file__).resolve().parents[2] / "eval" / "article.yaml"
CHUNKS_PER_DOCUMENT = 100
_BATCH = 5_000  # Chroma takes at most ~5.4k records per call


def percentiles_ms(seconds: Sequence[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50_ms": round(statistics.median(ordered) * 1000, 2), "p95_ms": round(p95 * 1000, 2)}


def grow(pipeline: Pipeline, target: int) -> float:
    """Add synthetic chunks until the store holds `target`; the seconds it took."""
    started = time.perf_counter()
    store = pipeline.store
    for first in range(store.chunk_count(), target, _BATCH):
        count = min(_BATCH, target - first)
        ids = [f"bench-{i:07d}" for i in range(first, first + count)]
        texts = chunk_texts(count, start=first)
        sources = [
            f"/bench/doc-{i // CHUNKS_PER_DOCUMENT:05d}.txt" for i in range(first, first + count)
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
        store.vectors._collection.add(
            ids=ids,
            embeddings=unit_vectors(count, start=first),
            documents=texts,
            metadatas=metadatas,
        )
        store.records.update(ids, group_ids=sources)
    return time.perf_counter() - started


def timed(call: Callable[[str], object], questions: Sequence[str], rounds: int) -> list[float]:
    seconds = []
    for _ in range(rounds):
        for question in questions:
            began = time.perf_counter()
            call(question)
            seconds.append(time.perf_counter() - began)
    return seconds


def retrieval_latency(
    settings: Settings, embeddings: SentenceTransformerEmbeddings, rounds: int
) -> dict[str, Any]:
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
        hybrid = pipeline.retriever()
        dense = hybrid.model_copy(update={"mode": "dense"})
        began = time.perf_counter()
        hybrid.invoke(questions[0])  # the keyword index is built on first use
        figures: dict[str, Any] = {
            "chunks": pipeline.store.chunk_count(),
            "store_build_s": round(built_s, 1),
            "keyword_index_build_s": round(time.perf_counter() - began, 2),
        }
        for name, call in (
            ("hybrid", hybrid.invoke),
            ("dense", dense.invoke),
            ("embed_question", embeddings.embed_query),
            ("keywords", lambda q, r=hybrid: r.keywords.search(q, r.candidates)),
        ):
            figures[name] = percentiles_ms(timed(call, questions, rounds))
        results[label] = figures
    return results
