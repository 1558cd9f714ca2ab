"""`rag bench`: measured figures, printed as a table and written as JSON.

Every figure is a median over repeated runs in one process. These are benchmarks, not
tests: the machines are shared, so the numbers are reported, never asserted.
"""

import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from rag.chain import QAChain
from rag.llm import EmbeddedServer
from rag.pipeline import Pipeline

EXAMPLE_QUESTION = "What did the Meta spokesperson say?"


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 4)


def model_load(pipeline: Pipeline, repeat: int) -> dict[str, Any]:
    """Loading the already-assembled model into llama.cpp, as at each start."""
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


def cold_chain(pipeline: Pipeline) -> QAChain:
    """The same chain with llama.cpp's prompt cache off: every prompt is read in full."""
    llm = pipeline.chain.llm.model_copy(update={"extra_body": {"cache_prompt": False}})
    return QAChain(pipeline.chain.retriever, llm, pipeline.settings.answer)


def run_bench(pipeline: Pipeline, *, repeat: int, question: str = EXAMPLE_QUESTION) -> dict:
    sections: dict[str, Callable[[], dict[str, Any]]] = {
        "model_load": lambda: model_load(pipeline, max(3, repeat // 2)),
        "answer_repeated": lambda: answer_latency(pipeline.chain, question, repeat),
        "answer_cold": lambda: answer_latency(cold_chain(pipeline), question, repeat),
    }
    console = Console(stderr=True)
    results: dict[str, Any] = {"question": question}
    for name, measure in sections.items():
        with console.status(f"Measuring {name.replace('_', ' ')}..."):
            started = time.perf_counter()
            results[name] = measure()
            results[name]["bench_s"] = round(time.perf_counter() - started, 1)
    return results


def print_results(results: dict[str, Any], out: Path) -> None:
    table = Table(title=f"rag bench (medians): {results['question']}")
    for column in ("section", "figure", "value"):
        table.add_column(column)
    for section, figures in results.items():
        if not isinstance(figures, dict):
            continue
        for name, value in figures.items():
            table.add_row(section, name, f"{value:.3f}" if isinstance(value, float) else str(value))
    Console().print(table)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    Console().print(f"Written to {out}")
