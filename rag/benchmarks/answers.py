"""Answer latency end to end, with llama.cpp's prompt cache warm and cold, and the time
to load the model."""

import statistics
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler

from rag.chain import QAChain
from rag.llm import EmbeddedServer
from rag.pipeline import Pipeline


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def model_load(pipeline: Pipeline, repeat: int) -> dict[str, Any]:
    """Loading the already-assembled model into llama.cpp, as at each start."""
    if pipeline.settings.llm.base_url:
        return {"skipped": "llm.base_url is set: the model is loaded elsewhere"}
    loads = []
    for _ in range(repeat):
        server = EmbeddedServer(pipeline.settings)
        loads.append(server.load_s)
        del server
    return {"model_load_s": _median(loads), "runs": repeat}


def answer_latency(chain: QAChain, question: str, repeat: int) -> dict[str, Any]:
    chain.invoke(question)  # warm-up: loads the embedding model, fills caches
    runs = [chain.invoke(question) for _ in range(repeat)]
    timings = [a.timings for a in runs]
    return {
        "total_s": _median([t.total_s for t in timings]),
        "first_token_s": _median([t.first_token_s or t.total_s for t in timings]),
        "llm_s": _median([t.llm_s for t in timings]),
        "retrieve_s": _median([t.retrieve_s for t in timings]),
        "outside_llm_share": _median([(t.total_s - t.llm_s) / t.total_s for t in timings]),
        "refused": sum(a.refused for a in runs),
        "runs": repeat,
    }


def cold_chain(pipeline: Pipeline, callbacks: list[BaseCallbackHandler] | None = None) -> QAChain:
    """The same chain with llama.cpp's prompt cache off: every prompt is read in full."""
    update = {"extra_body": {"cache_prompt": False}, "callbacks": callbacks}
    llm = pipeline.chain.llm.model_copy(update=update)
    kind = type(pipeline.chain)
    return kind(pipeline.chain.retriever, llm, pipeline.settings.answer, pipeline.embeddings)
