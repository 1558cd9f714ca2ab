"""The sections of `rag bench`, their targets, and the printed and saved results."""

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from rag.benchmarks.answers import answer_latency, cold_chain, model_load
from rag.benchmarks.embedders import embedder_speed
from rag.benchmarks.ingestion import ingestion_throughput
from rag.benchmarks.llm import llm_overhead
from rag.benchmarks.retrieval import million_chunks, retrieval_latency
from rag.benchmarks.startup import ui_startup
from rag.benchmarks.threads import thread_figures
from rag.pipeline import Pipeline

EXAMPLE_QUESTION = "What did the Meta spokesperson say?"
RETRIEVAL_ROUNDS = 2  # over the 50 questions of eval/article.yaml

# (name, path to the figure, comparison, limit): the targets for a 2-core machine.
TARGETS = (
    ("ingestion >= 0.9x raw encode", ("ingestion", "ratio"), ">=", 0.9),
    ("retrieval p50 at 100k <= 30 ms", ("retrieval", "100k", "hybrid", "p50_ms"), "<=", 30.0),
    ("retrieval p50 at 1M <= 30 ms", ("retrieval_1m", "hybrid", "p50_ms"), "<=", 30.0),
    (
        "first question after a 1-file change at 1M <= 1 s",
        ("retrieval_1m", "after_one_file", "first_question_s"),
        "<=",
        1.0,
    ),
    ("peak RSS with the 1M store <= 4 GB", ("retrieval_1m", "peak_rss_mb"), "<=", 4096.0),
    ("first token <= 1.1x raw llama.cpp", ("llm", "first_token_ratio"), "<=", 1.1),
    ("cold start to answerable <= 20 s", ("startup", "model_ready_s"), "<=", 20.0),
    ("peak RSS of rag ui <= 3 GB", ("startup", "peak_rss_mb"), "<=", 3072.0),
)


def sections(pipeline: Pipeline, repeat: int, question: str) -> dict[str, Callable[[], Any]]:
    settings, embeddings = pipeline.settings, pipeline.embeddings
    return {
        "ingestion": lambda: ingestion_throughput(settings, embeddings, repeat),
        "embedders": lambda: embedder_speed(settings, repeat),
        "retrieval": lambda: retrieval_latency(settings, embeddings, RETRIEVAL_ROUNDS),
        "retrieval_1m": lambda: million_chunks(settings, embeddings, RETRIEVAL_ROUNDS),
        "llm": lambda: llm_overhead(pipeline, question, repeat),
        "answer_repeated": lambda: answer_latency(pipeline.chain, question, repeat),
        "answer_cold": lambda: answer_latency(cold_chain(pipeline), question, repeat),
        "model_load": lambda: model_load(pipeline, repeat),
        "startup": lambda: ui_startup(settings, question),
        "threads": lambda: thread_figures(pipeline, question, repeat),
    }


def run_bench(pipeline: Pipeline, *, repeat: int, question: str, only: set[str]) -> dict[str, Any]:
    console = Console(stderr=True)
    results: dict[str, Any] = {"question": question, "repeat": repeat}
    for name, measure in sections(pipeline, repeat, question).items():
        if name not in only:
            continue
        with console.status(f"Measuring {name.replace('_', ' ')}..."):
            started = time.perf_counter()
            results[name] = measure()
            results[name]["bench_s"] = round(time.perf_counter() - started, 1)
        console.print(f"{name}: done in {results[name]['bench_s']} s")
    results["targets"] = check_targets(results)
    return results


def _figure(results: dict[str, Any], path: tuple[str, ...]) -> Any:
    for key in path:
        results = results.get(key, {}) if isinstance(results, dict) else {}
    return results if isinstance(results, int | float) else None


def check_targets(results: dict[str, Any]) -> dict[str, Any]:
    checked = {}
    for name, path, comparison, limit in TARGETS:
        value = _figure(results, path)
        if value is None:
            continue
        met = value >= limit if comparison == ">=" else value <= limit
        checked[name] = {"measured": value, "met": met}
    return checked


def _rows(figures: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    for name, value in figures.items():
        if isinstance(value, dict):
            yield from _rows(value, f"{prefix}{name} ")
        else:
            shown = f"{value:.3f}".rstrip("0").rstrip(".") if isinstance(value, float) else value
            yield prefix + name, str(shown)


def print_results(results: dict[str, Any], out: Path) -> None:
    table = Table(title=f"rag bench: medians; question {results['question']!r}")
    for column in ("section", "figure", "value"):
        table.add_column(column)
    for section, figures in results.items():
        if isinstance(figures, dict) and section != "targets":
            for figure, value in _rows(figures):
                table.add_row(section, figure, value)
            table.add_section()
    for name, check in results["targets"].items():
        verdict = "[green]met[/]" if check["met"] else "[red]missed[/]"
        table.add_row("target", name, f"{check['measured']} {verdict}")
    Console().print(table)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    Console().print(f"Written to {out}")
