"""Reports: a terminal table, report.json, a self-contained report.html, the gate."""

import html
import json
import tomllib
from pathlib import Path

from rich.console import Console
from rich.table import Table

from rag.answer import Answer
from rag.errors import RagError
from rag.evaluation.calibration import (
    MAX_FALSE_REFUSALS,
    curve_svg,
    operating_point,
    refusal_curve,
)
from rag.evaluation.runner import EvalReport, QuestionResult

# Shown as shares (0-1) in bars; the rest are counts or seconds.
SHARE_METRICS = (
    "hit_at_1",
    "hit_at_3",
    "mrr",
    "fact_coverage",
    "token_f1",
    "refused_unanswerable",
    "false_refusal_rate",
    "citation_precision",
    "citation_recall",
    "groundedness",
)


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if isinstance(value, float) and not value.is_integer() else f"{value:g}"


def print_table(reports: list[EvalReport], console: Console | None = None) -> None:
    """One column per configuration; several get numbered columns and a legend."""
    console = console or Console()
    table = Table(title="rag eval" + (f": {reports[0].questions_file}" if reports else ""))
    table.add_column("metric")
    numbered = len(reports) > 1
    for number, report in enumerate(reports, start=1):
        if numbered:
            console.print(f"[{number}] {report.name}", markup=False)
        table.add_column(f"[{number}]" if numbered else report.name, justify="right")
    names = list(dict.fromkeys(k for r in reports for k in r.summary))
    for name in names:
        table.add_row(name, *(_fmt(r.summary.get(name)) for r in reports))
    console.print(table)


def write_json(report: EvalReport, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / "report.json"
    path.write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return path


def load_thresholds(path: Path) -> dict[str, dict[str, float]]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise RagError(f"cannot read thresholds {path}: {exc}") from None
    return {"min": data.get("min", {}), "max": data.get("max", {})}


def check(report: EvalReport, thresholds: dict[str, dict[str, float]]) -> list[str]:
    """The metrics that miss their thresholds, one line each; empty means pass."""
    failures = []
    for kind, limits in thresholds.items():
        for metric, limit in limits.items():
            value = report.summary.get(metric)
            if value is None:
                failures.append(f"{metric}: not measured (threshold {kind} {limit})")
            elif (kind == "min" and value < limit) or (kind == "max" and value > limit):
                failures.append(f"{metric} = {_fmt(value)}, {kind}imum allowed {limit}")
    return failures


# --- HTML ------------------------------------------------------------------------------

_CSS = """
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#222}
h1{font-size:1.5rem} h2{font-size:1.15rem;margin-top:2rem} table{border-collapse:collapse}
td,th{padding:.25rem .6rem;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
details{border:1px solid #ddd;border-radius:6px;margin:.4rem 0;padding:.3rem .7rem}
summary{cursor:pointer} .ok{color:#17803d} .bad{color:#b42318} .muted{color:#666}
.passage{background:#f6f7f9;border-left:3px solid #c6cbd4;padding:.3rem .6rem;margin:.3rem 0;
white-space:pre-wrap} mark{background:#ffe58a}
.tag{background:#eef;border-radius:4px;padding:0 .3rem;margin-right:.2rem}
"""


def _bars(summary: dict[str, float | None]) -> str:
    rows = [(m, summary.get(m)) for m in SHARE_METRICS if summary.get(m) is not None]
    height = 24 * len(rows) + 10
    parts = [f'<svg width="640" height="{height}" role="img" aria-label="metrics">']
    for i, (name, value) in enumerate(rows):
        y = 5 + 24 * i
        width = max(1.0, 400 * float(value or 0))
        parts.append(f'<text x="0" y="{y + 15}" font-size="13">{html.escape(name)}</text>')
        parts.append(f'<rect x="180" y="{y}" width="400" height="18" fill="#eef0f3"/>')
        parts.append(f'<rect x="180" y="{y}" width="{width:.1f}" height="18" fill="#4f6bed"/>')
        parts.append(
            f'<text x="{185 + width:.1f}" y="{y + 14}" font-size="12">{_fmt(value)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _histogram(latencies: list[float], bins: int = 12) -> str:
    if not latencies:
        return "<p class=muted>no latencies</p>"
    top = max(latencies) or 1.0
    counts = [0] * bins
    for value in latencies:
        counts[min(bins - 1, int(value / top * bins))] += 1
    tallest = max(counts)
    parts = ['<svg width="640" height="200" role="img" aria-label="latency histogram">']
    for i, count in enumerate(counts):
        h = 150 * count / tallest
        x = 40 + i * 48
        parts.append(
            f'<rect x="{x}" y="{160 - h:.1f}" width="44" height="{h:.1f}" fill="#4f6bed"/>'
        )
        parts.append(f'<text x="{x + 16}" y="{155 - h:.1f}" font-size="11">{count or ""}</text>')
        label = f"{top * i / bins:.1f}"
        parts.append(f'<text x="{x}" y="178" font-size="11">{label}</text>')
    parts.append('<text x="40" y="196" font-size="12">seconds per answer</text></svg>')
    return "".join(parts)


def _verdict(flag: bool | None, yes: str = "yes", no: str = "no") -> str:
    if flag is None:
        return "<span class=muted>-</span>"
    return f"<span class={'ok' if flag else 'bad'}>{yes if flag else no}</span>"


def _question_html(r: QuestionResult) -> str:
    q, a, e = r.question, r.answer, html.escape
    good = (a is not None) and (
        (q.answerable and not a.refused and (r.fact_coverage or 0) >= 1)
        or (not q.answerable and a.refused)
    )
    status = _verdict(good, "pass", "fail")
    tags = "".join(f"<span class=tag>{e(t)}</span>" for t in q.tags)
    body = [f"<summary>{status} <b>{e(q.id)}</b> {e(q.question)} {tags}</summary>"]
    for turn in q.history:
        body.append(f"<p class=muted>earlier: {e(turn.question)} &rarr; {e(turn.answer)}</p>")
    body.append(
        f"<p><b>Expected</b> ({'answerable' if q.answerable else 'not in the documents'}): "
        f"{e(q.reference)}</p>"
    )
    if r.error or a is None:
        body.append(f"<p class=bad>error: {e(r.error or 'no answer')}</p>")
        return "<details>" + "".join(body) + "</details>"
    body.append(f"<p><b>Answer</b>: {e(a.answer)}</p>")
    if a.model_text is not None and a.model_text.strip() != a.answer:
        body.append(f"<p class=muted>the model wrote: {e(a.model_text)}</p>")
    if a.refused:
        body.append(f"<p class=muted>refused: {e(a.refusal_reason or '')}</p>")
    if a.standalone_question != a.question:
        body.append(f"<p class=muted>rewritten as: {e(a.standalone_question)}</p>")
    rows = [
        ("refused", _verdict(a.refused)),
        ("outcome", e(a.outcome or "-")),
        ("answerability", _fmt(a.answerability)),
        ("evidence picked", e(", ".join(f"[{n}]" for n in a.evidence)) or "-"),
        ("first passage holding a gold quote", e(str(r.hit_rank)) if q.answerable else "-"),
        ("fact coverage", _fmt(r.fact_coverage)),
        ("token F1", _fmt(r.token_f1)),
        (
            "citations holding a gold quote",
            " ".join(_verdict(c) for c in r.citations_correct) or "-",
        ),
        ("grounded sentences", " ".join(_verdict(g) for _, g in r.grounded) or "-"),
        ("forbidden text", _verdict(not r.forbidden_hit, "absent", "PRESENT")),
        ("names no document holds", e(", ".join(r.invented)) or "none"),
        ("read", e(a.route.name + (f" ({a.route.kind})" if a.route.kind else ""))),
        ("seconds", _fmt(a.timings.total_s)),
    ]
    body.append(
        "<table>" + "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows) + "</table>"
    )
    for fix in a.fixes:
        body.append(f"<p class=muted>answer check: {e(fix.describe())}</p>")
    for n, p in enumerate(a.passages, start=1):
        spans = _cited_spans(a, n)
        mark = "cited" if spans else "retrieved"
        body.append(
            f"<div class=passage><b>[{n}]</b> <span class=muted>{mark}, score {p.score:.3f}, "
            f"{e(p.where)} {p.start}-{p.end}</span>\n{_highlight(p.text, spans)}</div>"
        )
    return "<details>" + "".join(body) + "</details>"


def _cited_spans(answer: Answer, n: int) -> list[tuple[int, int, int]]:
    """(start, end, citation number) within passage n of what the answer cites there:
    its sentences, or the whole passage for the classic chain's passage citations."""
    p = answer.passages[n - 1]
    spans = []
    for c in answer.citations:
        if (c.passage or c.n) == n and p.start <= c.start and c.end <= p.end:
            spans.append((c.start - p.start, c.end - p.start, c.n))
    return sorted(spans)


def _highlight(text: str, spans: list[tuple[int, int, int]]) -> str:
    parts, cursor = [], 0
    for start, end, n in spans:
        if start < cursor:
            continue
        parts += [html.escape(text[cursor:start]), f"<mark title=[{n}]>"]
        parts += [html.escape(text[start:end]), f"</mark><sup>[{n}]</sup>"]
        cursor = end
    parts.append(html.escape(text[cursor:]))
    return "".join(parts)


def scored(report: EvalReport) -> list[tuple[bool, float]]:
    """(answerable, answerability) per question of a chain that scores its answers.
    A refusal for any other reason (no passage, no evidence) is refused at every
    threshold: it scores -1."""
    if not any(r.answer and r.answer.answerability is not None for r in report.results):
        return []
    points = []
    for r in report.results:
        if r.answer is None:
            continue
        score = r.answer.answerability
        below = r.answer.refusal_reason is not None and r.answer.refusal_reason.startswith(
            "answerability"
        )
        refused_otherwise = r.answer.refused and not below
        points.append((r.question.answerable, -1.0 if refused_otherwise else score or 0.0))
    return points


def calibration_line(report: EvalReport) -> str | None:
    chosen = operating_point(refusal_curve(scored(report)))
    if chosen is None:
        return None
    return (
        f"answerability threshold {chosen.threshold:.3f}: refuses "
        f"{chosen.refused_unanswerable:.3f} of unanswerable questions with "
        f"{chosen.false_refusals:.3f} false refusals (rule: most refusals with false "
        f"refusals <= {MAX_FALSE_REFUSALS})"
    )


def _calibration_html(report: EvalReport) -> str:
    curve = refusal_curve(scored(report))
    line = calibration_line(report)
    note = f"<p>{html.escape(line)}</p>" if line else ""
    return curve_svg(curve, operating_point(curve)) + note


def write_html(report: EvalReport, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    latencies = [r.answer.timings.total_s for r in report.results if r.answer]
    summary_rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{_fmt(v)}</td></tr>" for k, v in report.summary.items()
    )
    page = f"""<!doctype html><html lang=en><head><meta charset=utf-8>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>rag eval: {html.escape(report.name)}</title><style>{_CSS}</style></head><body>
<h1>rag eval: {html.escape(report.name)}</h1>
<p class=muted>{html.escape(report.questions_file)} &middot; {html.escape(report.started)} &middot;
{report.seconds}s &middot; overrides: {html.escape(json.dumps(report.overrides)) or "none"}</p>
<h2>Metrics</h2>{_bars(report.summary)}<table>{summary_rows}</table>
<h2>Refusal curve</h2>{_calibration_html(report)}
<h2>Latency</h2>{_histogram(latencies)}
<h2>Questions</h2>{"".join(_question_html(r) for r in report.results)}
</body></html>
"""
    path = out / "report.html"
    path.write_text(page, encoding="utf-8")
    return path
