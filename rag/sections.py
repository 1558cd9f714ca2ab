"""A document's sections, from its headings: the context a chunk is embedded with
(`chunking.header`) and the passage a small chunk is widened to (`retrieval.section_chars`).

Markdown marks headings with `#`, and the HTML, DOCX, XLSX (sheet names) and PPTX
(slide titles) readers write theirs the same way (`rag.formats`), so one pattern
finds them all. Plain text and PDF have no headings
that can be told from text: a document of those is one section.
"""

import bisect
import re
from dataclasses import dataclass

HEADED_SUFFIXES = frozenset({".md", ".html", ".htm", ".docx", ".xlsx", ".pptx"})
_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)
HEADER_SEPARATOR = ": "
Span = tuple[int, int]  # start and end offsets in a text


@dataclass(frozen=True)
class Headings:
    """Where each heading starts in a document's text and what it says, and the title
    the document gives itself (none for a title made up from the file name)."""

    starts: list[int]
    titles: list[str]
    document_title: str | None = None

    @classmethod
    def of(cls, text: str, suffix: str, document_title: str | None = None) -> "Headings":
        if suffix.lower() not in HEADED_SUFFIXES:
            return cls([], [], document_title)
        found = [(m.start(), m.group(1)) for m in _HEADING.finditer(text)]
        return cls([start for start, _ in found], [title for _, title in found], document_title)

    def shifted(self, by: int) -> "Headings":
        return Headings([start + by for start in self.starts], self.titles, self.document_title)

    def header_at(self, offset: int) -> str | None:
        """The line a chunk starting here is embedded and keyword-indexed under."""
        return header(self.document_title, self.title_at(offset))

    def title_at(self, offset: int) -> str | None:
        """The heading of the section that `offset` lies in (a heading's own line
        belongs to its section)."""
        index = bisect.bisect_right(self.starts, offset) - 1
        return self.titles[index] if index >= 0 else None

    def bounds(self, start: int, end: int, length: int) -> Span:
        """The section holding text[start:end]: from the heading at or before `start`
        to the first heading at or after `end` (a span across a heading keeps both)."""
        before = bisect.bisect_right(self.starts, start) - 1
        after = bisect.bisect_left(self.starts, end)
        lo = self.starts[before] if before >= 0 else 0
        hi = self.starts[after] if after < len(self.starts) else length
        return lo, hi


def header(title: str | None, section: str | None) -> str | None:
    """ "Title: Section", or whichever of the two there is."""
    if not title or not section or section.strip().lower() == title.strip().lower():
        return title or section
    return f"{title}{HEADER_SEPARATOR}{section}"


def headed_text(text: str, metadata: dict) -> str:
    """What is embedded and keyword-indexed for a chunk: its header line, then its text."""
    return f"{metadata['header']}\n\n{text}" if metadata.get("header") else text


def first_heading(text: str) -> str | None:
    return match.group(1) if (match := _HEADING.search(text)) else None


def window(text: str, section: Span, hit: Span, limit: int) -> Span:
    """At most `limit` characters of the section around the hit, centred on it, cut at
    line breaks where there are any, else at spaces; never narrower than the hit."""
    lo, hi = section
    start, end = hit
    if hi - lo <= limit:
        return _strip(text, lo, hi)
    width = max(limit, end - start)
    lo = max(lo, min(start - (width - (end - start)) // 2, hi - width))
    hi = lo + width
    if lo < start and (cut := _cut_after(text, lo, start)) is not None:
        lo = cut
    if hi > end and (cut := _cut_before(text, end, hi)) is not None:
        hi = cut
    return _strip(text, lo, hi)


def _cut_after(text: str, lo: int, limit: int) -> int | None:
    """The first line start (else word start) in text[lo:limit]."""
    for mark in ("\n", " "):
        found = text.find(mark, lo, limit)
        if found >= 0:
            return found + 1
    return None


def _cut_before(text: str, limit: int, hi: int) -> int | None:
    for mark in ("\n", " "):
        found = text.rfind(mark, limit, hi)
        if found >= 0:
            return found
    return None


def _strip(text: str, lo: int, hi: int) -> Span:
    while lo < hi and text[lo].isspace():
        lo += 1
    while hi > lo and text[hi - 1].isspace():
        hi -= 1
    return lo, hi
