"""How fast each installed embedder embeds the same chunks, and so how long it would
take to ingest 10k of them (README "Embedders"); embedding is ~98% of an ingest."""

import time
from typing import Any

from rag.benchmarks.corpus import chunk_texts
from rag.embeddings import load_embeddings
from rag.errors import RagError
from rag.settings import Settings

MODELS = ("minilm", "e5-small")
TEXTS = 512  # synthetic chunks of ~600 characters


def embedder_speed(settings: Settings, rounds: int) -> dict[str, Any]:
    texts = chunk_texts(TEXTS, start=2_000_000)
    figures: dict[str, Any] = {"chunks": TEXTS, "rounds": rounds}
    for model in MODELS:
        try:
            embedder = load_embeddings(settings.embeddings.model_copy(update={"model": model}))
            embedder.embed_query("warm-up")  # loaded outside the timing
        except RagError as exc:
            figures[model] = {"skipped": str(exc)}
            continue
        seconds = []
        for _ in range(rounds):
            began = time.perf_counter()
            embedder.embed_documents(texts)
            seconds.append(time.perf_counter() - began)
        per_second = TEXTS / sorted(seconds)[len(seconds) // 2]
        figures[model] = {
            "chunks_per_s": round(per_second, 1),
            "ingest_10k_chunks_s": round(10_000 / per_second),
        }
    if all("chunks_per_s" in figures[m] for m in MODELS):
        ratio = figures["minilm"]["chunks_per_s"] / figures["e5-small"]["chunks_per_s"]
        figures["e5_time_vs_minilm"] = round(ratio, 2)
    return figures
