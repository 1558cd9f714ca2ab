"""The model through our chain against the same model called directly.

Both sides send the same request (the chain's own payload, captured from it) to the
same loaded llama.cpp: the chain over its OpenAI HTTP API from question to streamed
text, the raw side through xllamacpp's in-process handler. llama.cpp's prompt cache is
off for both, so each reads the whole prompt, as for a new question. Time to first
token on our side includes retrieval and prompt building.
"""

import statistics
import time
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import BaseMessage
from langchain_openai import ChatOpenAI

from rag.benchmarks.answers import cold_chain
from rag.chain import Delta, QAChain, Retry
from rag.llm import embedded_server
from rag.pipeline import Pipeline


class _LastRequest(BaseCallbackHandler):
    """Keeps the messages of the chat model's first call of a question."""

    def __init__(self) -> None:
        self.messages: list[BaseMessage] | None = None

    def on_chat_model_start(
        self, serialized: dict[str, Any], messages: list[list[BaseMessage]], **kwargs: Any
    ) -> None:
        if self.messages is None:
            self.messages = messages[0]


def _rates(began: float, stamps: list[float]) -> tuple[float, float]:
    """(time to first token, tokens per second after it)."""
    span = stamps[-1] - stamps[0] if len(stamps) > 1 else 0.0
    return stamps[0] - began, (len(stamps) - 1) / span if span else 0.0


def _through_chain(chain: QAChain, question: str) -> tuple[float, float]:
    stamps: list[float] = []
    began = time.perf_counter()
    for event in chain.stream(question):
        if isinstance(event, Retry):
            break  # the first attempt is the one compared
        if isinstance(event, Delta):
            stamps.append(time.perf_counter())
    return _rates(began, stamps)


def _direct(native: Any, payload: dict[str, Any]) -> tuple[float, float]:
    stamps: list[float] = []

    def on_chunk(chunk: dict[str, Any]) -> None:
        choices = chunk.get("choices") or [{}]
        if choices[0].get("delta", {}).get("content"):
            stamps.append(time.perf_counter())

    began = time.perf_counter()
    native.handle_chat_completions(payload, on_chunk)
    return _rates(began, stamps)


def llm_overhead(pipeline: Pipeline, question: str, repeat: int) -> dict[str, Any]:
    settings = pipeline.settings
    if settings.llm.base_url:
        return {"skipped": "llm.base_url is set: no embedded model to call directly"}
    recorder = _LastRequest()
    chain = cold_chain(pipeline, callbacks=[recorder])
    llm = chain.llm
    assert isinstance(llm, ChatOpenAI)
    _through_chain(chain, question)  # warm-up, and captures the request
    assert recorder.messages is not None
    payload = llm._get_request_payload(recorder.messages, stream=True)
    payload |= payload.pop("extra_body", {})
    native = embedded_server(settings).native
    ours, raw = [], []
    for _ in range(repeat):  # interleaved, so drift in the machine's load hits both
        ours.append(_through_chain(chain, question))
        raw.append(_direct(native, payload))
    pairs = list(zip(ours, raw, strict=True))
    return {
        "runs": repeat,
        "first_token_chain_s": round(statistics.median(t for t, _ in ours), 3),
        "first_token_raw_s": round(statistics.median(t for t, _ in raw), 3),
        # Ratios per pair of runs, then their median (load drifts between pairs).
        "first_token_ratio": round(statistics.median(o[0] / r[0] for o, r in pairs), 3),
        "tokens_per_s_chain": round(statistics.median(r for _, r in ours), 1),
        "tokens_per_s_raw": round(statistics.median(r for _, r in raw), 1),
        "tokens_per_s_ratio": round(statistics.median(o[1] / r[1] for o, r in pairs), 3),
    }
