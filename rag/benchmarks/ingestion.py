"""Ingestion throughput, and its ratio to the limit: raw `SentenceTransformer.encode`
on exactly the chunks ingest embedded, with the same model and batch size.

Ingest also reads, splits, hashes, records and writes each chunk; the ratio shows what
all of that costs on top of embedding, the one step it cannot avoid.
"""

import shutil
import statistics
import time
from pathlib import Path
from typing import Any

from rag.benchmarks.corpus import chunk_texts
from rag.embeddings import Embedder, SentenceTransformerEmbeddings
from rag.errors import RagError
from rag.ingest import ingest
from rag.settings import Settings
from rag.store import open_store

DOCUMENTS = 20
PARAGRAPHS_PER_DOCUMENT = 16


def write_corpus(folder: Path) -> Path:
    """Text files of synthetic paragraphs, the same on every run."""
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(DOCUMENTS):
        paragraphs = chunk_texts(PARAGRAPHS_PER_DOCUMENT, start=1_000_000 + n * 100, seed=11)
        (folder / f"doc-{n:02d}.txt").write_text("\n\n".join(paragraphs) + "\n", encoding="utf-8")
    return folder


def ingestion_throughput(settings: Settings, embeddings: Embedder, rounds: int) -> dict[str, Any]:
    if not isinstance(embeddings, SentenceTransformerEmbeddings):
        raise RagError(
            "the ingestion benchmark compares with sentence-transformers: "
            "run it with embeddings.model = minilm"
        )
    work = settings.data_dir / "bench" / "ingestion"
    corpus = write_corpus(work / "corpus")
    for old in work.glob("index-*"):
        shutil.rmtree(old)
    batch_size = settings.embeddings.batch_size
    embeddings.embed_query("warm-up")  # load the model outside the timings
    ours: list[float] = []
    raw: list[float] = []
    chunks: list[str] = []
    for index in (work / f"index-{n}" for n in range(rounds)):  # Chroma caches by path
        run_settings = settings.model_copy(update={"data_dir": index, "chroma_url": None})
        store = open_store(run_settings, embeddings)
        began = time.perf_counter()
        report = ingest([corpus], store, embeddings, run_settings, progress=False)
        ours.append(report.chunks_embedded / (time.perf_counter() - began))
        chunks = store.vectors.get(include=["documents"])["documents"]

        began = time.perf_counter()
        embeddings.model.encode(chunks, batch_size=batch_size)
        raw.append(len(chunks) / (time.perf_counter() - began))
    ours_median, raw_median = statistics.median(ours), statistics.median(raw)
    return {
        "chunks": len(chunks),
        "batch_size": batch_size,
        "rounds": rounds,
        "ingest_chunks_per_s": round(ours_median, 1),
        "raw_encode_chunks_per_s": round(raw_median, 1),
        # Each round's ratio, then their median: a change in the machine's load
        # between rounds cancels out.
        "ratio": round(statistics.median(o / r for o, r in zip(ours, raw, strict=True)), 3),
    }
