"""The Evaluation tab: run a question set in the browser, follow it, stop it, and read or
compare the reports (the same `rag eval` runner and report files as the CLI).

A run is answered by the server's one model, question by question, in a thread of its
own; chat questions wait only for the question the run is answering (llama.cpp takes
requests in turn), not for the whole run. One run at a time; each is kept under
`<data_dir>/eval/<set>/browser-<time>/`, beside the CLI's.
"""

import html
import json
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rag.errors import RagError
from rag.evaluation.questions import QuestionSet, keep_only, load_question_set
from rag.evaluation.report import write_html, write_json
from rag.evaluation.runner import EvalReport, run_eval
from rag.settings import Settings

BUNDLED = Path(__file__).resolve().parent.parent / "eval"
UPLOAD = "An uploaded question set"


def bundled_sets() -> dict[str, Path]:
    """The question sets that come with the project, by name."""
    return {p.stem: p for p in sorted(BUNDLED.glob("*.yaml"))}


def reports(data_dir: Path) -> list[Path]:
    """Every report.json under the data dir, newest first."""
    found = (data_dir / "eval").glob("*/*/report.json")
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


def run_label(path: Path) -> str:
    return f"{path.parent.parent.name} · {path.parent.name}"


def load_set(
    choice: str, upload: str | None, only: str, data_dir: Path
) -> tuple[Path, QuestionSet]:
    """The chosen set, validated (errors name the line and the field) and filtered by
    `only` (ids or tags, comma-separated). An upload is kept under the data dir; its
    relative corpus paths start where the server runs."""
    if choice == UPLOAD:
        if not upload:
            raise RagError("choose a question set file (.yaml) to upload first")
        kept = data_dir / "eval" / "uploads" / Path(upload).name
        kept.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(upload, kept)
        path, question_set = kept, load_question_set(kept, root=Path.cwd())
    else:
        if choice not in bundled_sets():
            raise RagError(f"no bundled question set {choice!r}")
        path = bundled_sets()[choice]
        question_set = load_question_set(path)
    if only.strip():
        keep_only(question_set, only)
    return path, question_set


def run(
    path: Path, question_set: QuestionSet, settings: Settings, stop: threading.Event
) -> Iterator[tuple[str, int, int] | Path]:
    """Runs the set in a thread; yields (what, done, total) about twice a second, then
    the written report.json. Closing the iterator (the user's Cancel) stops the run
    after the question being answered."""
    name = time.strftime("browser-%Y%m%d-%H%M%S")
    out = settings.data_dir / "eval" / path.stem
    state: dict[str, Any] = {"what": "Starting", "done": 0, "total": 0}

    def follow(description: str, done: int, total: int, unit: str) -> None:
        what = "Answering" if unit == "questions" else f"Indexing the set's {unit}"
        state.update(what=what, done=done, total=total)

    def work() -> None:
        try:
            state["report"] = run_eval(
                question_set,
                settings,
                name=name,
                overrides={},
                questions_file=path,
                work_dir=out / "indexes",
                progress=False,
                listener=follow,
                stop=stop,
            )
        except Exception as exc:  # reported by the caller, in the page
            state["error"] = exc

    worker = threading.Thread(target=work, name="browser-eval", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.5)
            yield state["what"], state["done"], state["total"]
    finally:
        stop.set()
    if error := state.get("error"):
        raise error if isinstance(error, RagError) else RagError(f"the run failed: {error!r}")
    report: EvalReport = state["report"]
    folder = out / name
    write_html(report, folder)
    yield write_json(report, folder)


def compare(first: Path | None, second: Path | None) -> tuple[str, list[list[object]], str]:
    """(heading, rows of metric | first | second, the first report's page, sandboxed)."""
    if first is None:
        return "No report yet: run a question set above (or `rag eval`).", [], ""
    loaded = []
    for path in (first, second):
        if path is None:
            continue
        try:
            loaded.append((path, json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, ValueError) as exc:
            return f"Cannot read {path}: {exc}", [], ""
    (path, report), *other = loaded
    heading = (
        f"**{report.get('questions_file', '?')}**, run `{report.get('name', '?')}` of "
        f"{report.get('started', '?')} ({report.get('seconds', 0):.0f} s)"
    )
    if other:
        heading += f"  \ncompared with `{other[0][1].get('name', '?')}`"
    rows = [
        [metric, value, *(o.get("summary", {}).get(metric) for _, o in other)]
        for metric, value in report.get("summary", {}).items()
    ]
    page = path.with_name("report.html")
    frame = ""
    if page.is_file():
        # sandbox with no permissions: the report runs no script and loads nothing.
        frame = (
            '<iframe sandbox="" style="width:100%;height:900px;border:0" srcdoc="'
            + html.escape(page.read_text(encoding="utf-8"), quote=True)
            + '"></iframe>'
        )
    return heading, rows, frame
