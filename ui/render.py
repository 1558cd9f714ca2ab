"""HTML for answers and their sources. Every piece of document or model text is escaped
here, so nothing a document or the model writes can run or load in the browser."""

import html
from pathlib import Path

from rag.answer import Answer
from rag.documents import cached_document_text
from rag.retrieval import Passage

CONTEXT_CHARS = 240  # document text shown on each side of a cited chunk

CSS = """
.source-card {border: 1px solid var(--border-color-primary); border-radius: 8px;
  padding: 8px 12px; margin-bottom: 10px;}
.source-card .source-head {font-weight: 600; margin-bottom: 4px;}
.source-card .source-meta {font-weight: 400; opacity: 0.7; font-size: 0.9em;}
.source-card .source-text {white-space: pre-wrap; font-size: 0.92em; line-height: 1.45;}
.source-card mark.cited {background: #ffe58a; color: #111; padding: 0 1px;}
.source-card .context {opacity: 0.65;}
.refused-card {border-left: 4px solid #c2410c; background: rgba(194, 65, 12, 0.08);
  padding: 8px 12px; border-radius: 4px;}
.refused-card .refused-title {font-weight: 600;}
.answer-error {color: #b91c1c;}
.index-banner {border-left: 4px solid #b91c1c; background: rgba(185, 28, 28, 0.08);
  padding: 8px 12px;}
.partial-card {border-left: 4px solid #b45309; background: rgba(180, 83, 9, 0.08);
  padding: 8px 12px; border-radius: 4px; margin-bottom: 10px;}
.partial-card .partial-title {font-weight: 600;}
.route-meta {font-size: 0.9em; opacity: 0.8; margin: 0 0 8px;}
"""


def surrounding(passage: Passage, chars: int = CONTEXT_CHARS) -> tuple[str, str]:
    """The document text just before and after the chunk, or nothing when the file has
    changed since it was indexed (the offsets would point at other text)."""
    text = cached_document_text(passage.source)
    if text is None or text[passage.start : passage.end] != passage.text:
        return "", ""
    before = text[max(0, passage.start - chars) : passage.start]
    after = text[passage.end : passage.end + chars]
    return ("…" if passage.start > chars else "") + before, after + (
        "…" if passage.end + chars < len(text) else ""
    )


def source_card(passage: Passage, label: str) -> str:
    before, after = surrounding(passage)
    e = html.escape
    return (
        '<div class="source-card">'
        f'<div class="source-head">{e(label)} {e(passage.where)} '
        f'<span class="source-meta">chars {passage.start}-{passage.end}, '
        f"score {passage.score:.2f}</span></div>"
        f'<div class="source-text"><span class="context">{e(before)}</span>'
        f'<mark class="cited">{e(passage.text)}</mark>'
        f'<span class="context">{e(after)}</span></div></div>'
    )


def route_html(answer: Answer) -> str:
    """How the question was read: whole documents (and which), or passages of chosen ones."""
    route = answer.route
    names = ", ".join(Path(s).name for s in route.documents)
    if route.name == "passages":
        return f'<p class="route-meta">Searched only: {html.escape(names)}</p>' if names else ""
    how = f"in {route.sections} sections" if route.name == "map_reduce" else "whole"
    return (
        f'<p class="route-meta" id="route">Read {how}: {html.escape(names)} '
        f"({html.escape(route.reason)})</p>"
    )


def sources_html(answer: Answer) -> str:
    return route_html(answer) + _cards(answer)


def _cards(answer: Answer) -> str:
    if answer.refused:
        reason = html.escape(answer.refusal_reason or "no passage supports an answer")
        closest = "".join(source_card(p, "closest:") for p in answer.passages)
        return (
            f'<div class="refused-card"><div class="refused-title">{html.escape(answer.answer)}'
            f'</div><div class="refused-reason">Why: {reason}</div></div>'
            + (
                f'<p class="source-meta">Closest passages, not cited:</p>{closest}'
                if closest
                else ""
            )
        )
    if not answer.citations:
        return '<p class="source-meta">No passage was cited.</p>'
    head = ""
    if answer.outcome == "partial":
        missing = " ".join(html.escape(gap) for gap in answer.unanswered)
        head = (
            '<div class="partial-card"><div class="partial-title">Partly answered</div>'
            f'<div class="partial-reason">{missing}</div></div>'
        )
    return head + "".join(source_card(c, f"[{c.n}]") for c in answer.citations)


def error_html(message: str) -> str:
    return f'<p class="answer-error">{html.escape(message)}</p>'


def plain(text: str) -> str:
    """Model text for the chat, shown literally: HTML and markdown both come out as text."""
    return html.escape(text)
