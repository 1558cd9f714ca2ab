"""The Evaluation tab's data: the newest `rag eval` report under the data dir."""

import html
import json
from pathlib import Path


def latest_report(data_dir: Path) -> Path | None:
    """The most recently written report.json of any question set and configuration."""
    reports = list((data_dir / "eval").glob("*/*/report.json"))
    return max(reports, key=lambda p: p.stat().st_mtime) if reports else None


def report_view(data_dir: Path) -> tuple[str, list[list[object]], str]:
    """(heading, metric rows, the report's own HTML in a sandboxed frame)."""
    path = latest_report(data_dir)
    if path is None:
        return "No report yet: run `make eval` (or `rag eval`) and refresh.", [], ""
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
        summary = report["summary"]
    except (OSError, ValueError, KeyError) as exc:
        return f"Cannot read {path}: {exc}", [], ""
    heading = (
        f"**{report.get('questions_file', '?')}**, configuration `{report.get('name', '?')}`, "
        f"run {report.get('started', '?')} ({report.get('seconds', 0):.0f} s)  \n`{path}`"
    )
    rows = [[name, value] for name, value in summary.items()]
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
