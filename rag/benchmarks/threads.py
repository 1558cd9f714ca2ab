"""llama.cpp threads: prompt reading and generation at 1 and 2 threads, quiet and under load.

On two shared cores llama.cpp's threads spin while they wait for each other, so "all
cores" can be far slower than one thread when anything else runs. Each configuration
(generation threads, prompt-reading threads) loads the model afresh and answers the
same request with the prompt cache off; then the same again while a `rag ingest`
subprocess embeds a synthetic corpus over and over beside it. The figures are
llama.cpp's own per-request timings (prompt and generated tokens per second), medians.
"""

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rag.benchmarks.corpus import chunk_texts
from rag.llm import EmbeddedServer
from rag.pipeline import Pipeline

CONFIGS = ((1, 1), (2, 2), (1, 2), (2, 1))  # (threads, batch threads)


def _load(workdir: Path) -> subprocess.Popen:
    """A `rag ingest` of fresh synthetic files in a loop, in its own process."""
    corpus = workdir / "load"
    corpus.mkdir()
    script = (
        "import shutil, subprocess, sys, pathlib\n"
        "root = pathlib.Path(sys.argv[1])\n"
        "n = 0\n"
        "while True:\n"
        "    n += 1\n"
        "    (root / f'f{n}.txt').write_text(sys.argv[2] * (1 + n % 3))\n"
        "    subprocess.run([sys.argv[3], '--data-dir', str(root.parent / 'data'), 'ingest',"
        " str(root)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
    )
    rag = str(Path(sys.executable).with_name("rag"))
    text = " ".join(chunk_texts(40))
    command = [sys.executable, "-c", script, str(corpus), text, rag]
    return subprocess.Popen(command, start_new_session=True)


def _measure(pipeline: Pipeline, threads: int, batch: int, payload: dict, repeat: int) -> dict:
    llm = pipeline.settings.llm.model_copy(update={"threads": threads, "batch_threads": batch})
    settings = pipeline.settings.model_copy(
        update={"llm": llm.model_copy(update={"model_file": pipeline.settings.model_file})}
    )
    server = EmbeddedServer(settings)
    prompt, generated = [], []
    for _ in range(repeat):
        reply = server.native.handle_chat_completions(payload)
        timings = reply.get("timings", {})
        prompt.append(timings.get("prompt_per_second", 0.0))
        generated.append(timings.get("predicted_per_second", 0.0))
    del server
    return {
        "prompt_tokens_per_s": round(statistics.median(prompt), 1),
        "generated_tokens_per_s": round(statistics.median(generated), 1),
    }


def thread_figures(pipeline: Pipeline, question: str, repeat: int) -> dict[str, Any]:
    if pipeline.settings.llm.base_url:
        return {"skipped": "llm.base_url is set: no embedded model"}
    passages = "\n\n".join(d.page_content for d in pipeline.retriever().invoke(question))
    payload = {
        "messages": [{"role": "user", "content": f"{passages}\n\nQuestion: {question}"}],
        "max_tokens": 48,
        "temperature": 0,
        "cache_prompt": False,
    }
    results: dict[str, Any] = {"runs": repeat}
    with tempfile.TemporaryDirectory() as workdir:
        for condition in ("quiet", "ingest_running"):
            load = _load(Path(workdir)) if condition == "ingest_running" else None
            try:
                if load is not None:
                    time.sleep(5)  # let the ingest loop get going
                for threads, batch in CONFIGS:
                    key = f"{condition} threads={threads} batch={batch}"
                    results[key] = _measure(pipeline, threads, batch, payload, repeat)
            finally:
                if load is not None:  # the loop and the ingest it is running
                    os.killpg(load.pid, signal.SIGKILL)
                    load.wait()
    return results
