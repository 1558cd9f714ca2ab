"""Which questions are about documents as a whole: summaries, overviews, lists, counts.

Top-k retrieval cannot summarise, list or count; these questions read whole documents
instead. A plain rule over the wording decides (no model call): its misses and false
alarms are measured by the routing tests and `rag eval`, and a user can always choose
the route (`answer.route`, the UI's "Read" choice, `rag ask --route`).
"""

import re
from typing import Literal

WholeKind = Literal["summary", "list", "count"]

_THING = (
    r"(?:article|document|text|page|file|report|paper|post|story|manual|docs?"
    r"|documents|files|pages|sections?)"
)
_SUMMARY = re.compile(
    r"\b(?:summar(?:y|ise|ize|ising|izing)|overview|gist|tl;?dr|recap"
    r"|main (?:points?|ideas?|takeaways?|topics?)|key (?:points?|takeaways?|ideas?))\b"
    rf"|\bwhat (?:is|are|was) (?:this|the|these|that) (?:\w+ )?{_THING} about\b"
    rf"|\bwhat does (?:this|the|that) (?:\w+ )?{_THING} (?:say|cover|discuss|describe)\s*\??$",
    re.IGNORECASE,
)
_COUNT = re.compile(
    r"\bhow many (?:different |distinct )?\w+(?: \w+)? (?:are|is|does|do|did|were)\b"
    rf".*\b(?:mention|mentioned|name|named|list|listed|appear|cited|in (?:the|this) {_THING})\b",
    re.IGNORECASE,
)
_LIST = re.compile(
    r"^\W*(?:please )?(?:list|name|enumerate|give me)\b.*\b(?:every|all|each)\b"
    r"|\b(?:list|name|enumerate) (?:the|all)\b.*\b(?:mentioned|named|in (?:the|this))\b"
    r"|\b(?:which|what) \w+(?: \w+)? (?:are|were|is|does) (?:mentioned|named|listed|cited)\b"
    r"|\bevery \w+(?: \w+)? (?:mentioned|named)\b",
    re.IGNORECASE,
)


def whole_kind(question: str) -> WholeKind | None:
    """The kind of whole-document question this is, or None for a question that top
    passages answer."""
    if _SUMMARY.search(question):
        return "summary"
    if _COUNT.search(question):
        return "count"
    if _LIST.search(question):
        return "list"
    return None
