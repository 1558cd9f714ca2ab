"""What a reader gives back: the text, its title, where each page, slide or sheet
starts (a citation names it, and no chunk runs across two), and what the reader has
to report about it (a page OCR could hardly read)."""

import re
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path

from rag.errors import DocumentError
from rag.settings import FormatSettings


@dataclass(frozen=True)
class Part:
    start: int  # offset of the part's text in the document's text
    label: str  # how a citation names it: "p. 3", "slide 3", "sheet Q3"
    page: int | None = None  # the page or slide number, where there is one


@dataclass(frozen=True)
class ExtractedText:
    text: str
    title: str | None = None
    parts: list[Part] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # shown in the ingest report
    ocr: bool = False  # some of the text was read by OCR

    def part_spans(self) -> list[tuple[Part | None, int, int]]:
        """Each part with where its text begins and ends; one None part without any."""
        parts: list[Part | None] = [*self.parts] or [None]
        bounds = [part.start if part else 0 for part in parts] + [len(self.text)]
        return list(zip(parts, bounds[:-1], bounds[1:], strict=True))


def joined(
    pieces: list[tuple[str, str, int | None]],
    title: str | None = None,
    notes: list[str] | None = None,
    ocr: bool = False,
) -> ExtractedText:
    """One text from (text, label, page) pieces, a blank line apart, each a `Part`."""
    text, parts = "", []
    for piece, label, page in pieces:
        parts.append(Part(len(text), label, page))
        text += tidy(piece) + "\n\n"
    return ExtractedText(text.rstrip(), title, parts, notes or [], ocr)


_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def tidy(text: str) -> str:
    """One space between words, at most one blank line between blocks."""
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def reason(exc: BaseException) -> str:
    return next(iter(str(exc).splitlines()), "") or type(exc).__name__


def cannot_read(exc: OSError) -> DocumentError:
    return DocumentError(f"cannot read: {exc.strerror or exc}")


_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def refuse_encrypted_office(path: Path) -> None:
    """An Office file saved with a password is not a zip but an OLE container."""
    try:
        with path.open("rb") as file:
            head = file.read(len(_OLE_MAGIC))
    except OSError as exc:
        raise cannot_read(exc) from None
    if head == _OLE_MAGIC:
        raise DocumentError(
            "password-protected (encrypted) file; save a copy without a password and add that"
        )


@dataclass
class _Config:
    options: FormatSettings = field(default_factory=FormatSettings)
    cache_dir: Path | None = None


# The settings in force, for the whole process (every thread): citations re-read
# documents deep in the answering code, where settings do not flow, so
# `rag.store.open_store` sets them once.
CONFIG = _Config()
# (file name, pages done, pages in all): set by an ingest, in its thread, to show
# OCR's progress.
PAGE_PROGRESS: ContextVar[Callable[[str, int, int], None] | None] = ContextVar(
    "page_progress", default=None
)


def configure(options: FormatSettings, cache_dir: Path | None) -> None:
    CONFIG.options, CONFIG.cache_dir = options, cache_dir


def check_page_count(count: int, what: str) -> None:
    limit = CONFIG.options.max_pages
    if count > limit:
        raise DocumentError(f"{count:,} {what}, more than formats.max_pages ({limit:,}); refused")
