"""Loading source files and cutting them into chunks that remember where they came from.

Every chunk carries exact character offsets into the document's text (the decoded file
for .txt and .md, the text `rag.formats` reads out of any other kind; `document_text`
gives either), so a citation can always be shown in place:
`document_text(path)[start:end] == chunk.page_content`. Chunks of a PDF, deck or
spreadsheet also carry the page, slide or sheet they are on.
"""

import codecs
import functools
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from langchain_core.documents import Document
from langchain_text_splitters import RecursiveCharacterTextSplitter

from rag.errors import DocumentError
from rag.formats import READERS, ExtractedText, Part, extract
from rag.sections import Headings, first_heading
from rag.settings import ChunkingSettings

TEXT_SUFFIXES: frozenset[str] = frozenset({".txt", ".md"})
SUPPORTED_SUFFIXES: frozenset[str] = TEXT_SUFFIXES | READERS.keys()

# Paragraphs, then lines, then sentence ends (also before a closing quote), then clauses.
_SEPARATORS = [
    r"\n\s*\n",
    r"\n",
    r"(?:(?<=[.!?])|(?<=[.!?][\"'\u201d\u2019)\]]))\s+",  # re reads \u escapes
    r"(?<=[;:,])\s+",
    r"\s+",
    "",
]
_BINARY_SNIFF_BYTES = 8192
WINDOW_CHARS = 2_000_000  # files up to this size are split in one piece
_NOT_BLANK = re.compile(r"\S")


@dataclass(frozen=True)
class SourceText:
    source: str  # absolute path: the document's identity in the index
    name: str
    title: str
    text: str


def is_supported(path: Path) -> bool:
    return path.suffix.lower() in SUPPORTED_SUFFIXES


def check_suffix(path: Path) -> None:
    if not is_supported(path):
        supported = ", ".join(sorted(SUPPORTED_SUFFIXES))
        raise DocumentError(f"unsupported file type '{path.suffix or path.name}' ({supported})")


def read_blocks(path: Path, block_bytes: int = 1 << 20) -> Iterator[str]:
    """A text file's text, a block at a time, strictly: no guessing of encodings, no
    silent repairs. Raises `DocumentError` where the file stops being UTF-8 text."""
    if path.suffix.lower() not in TEXT_SUFFIXES:
        check_suffix(path)
        raise DocumentError(f"not a text file: {path.name}")
    decoder = codecs.getincrementaldecoder("utf-8-sig")("strict")
    consumed = 0
    try:
        with path.open("rb") as file:
            while True:
                data = file.read(block_bytes)
                if consumed == 0 and b"\x00" in data[:_BINARY_SNIFF_BYTES]:
                    raise DocumentError("binary file, not text")
                held = len(decoder.getstate()[0])  # a character split across blocks
                try:
                    text = decoder.decode(data, final=not data)
                except UnicodeDecodeError as exc:
                    offset = consumed - held + exc.start
                    raise DocumentError(
                        f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset "
                        f"{offset}); convert it to UTF-8"
                    ) from None
                consumed += len(data)
                if text:
                    yield text
                if not data:
                    return
    except OSError as exc:
        raise DocumentError(f"cannot read: {exc.strerror or exc}") from None


def _extract(path: Path) -> ExtractedText:
    """A PDF, image or office file's text; the whole file is read (no streaming)."""
    check_suffix(path)
    extracted = extract(path)
    if not extracted.text.strip():
        why = f" ({extracted.notes[0]})" if extracted.notes else ""
        raise DocumentError(f"no text in this file{why}; nothing to index")
    return extracted


def check_document(path: Path) -> None:
    """Raise `DocumentError` unless the file can be ingested and has text in it."""
    if path.suffix.lower() in READERS:
        _extract(path)
        return
    empty = True
    for block in read_blocks(path):  # every block: a bad byte may come late
        empty = empty and not block.strip()
    if empty:
        raise DocumentError("empty file, nothing to index")


def document_text(path: Path) -> str:
    """The whole text that a document's chunk offsets point into."""
    if path.suffix.lower() in READERS:
        return _extract(path).text
    return "".join(read_blocks(path))


@functools.lru_cache(maxsize=64)
def _cached_text(source: str, mtime_ns: int) -> str | None:
    try:
        return document_text(Path(source))
    except DocumentError:
        return None


def cached_document_text(source: str) -> str | None:
    """`document_text` of an indexed source, cached while the file is unchanged;
    None when it cannot be read any more."""
    try:
        return _cached_text(source, Path(source).stat().st_mtime_ns)
    except OSError:
        return None


def document_text_between(source: str, start: int, end: int) -> str:
    """The document's text between two offsets: only whitespace, between two chunks.
    A blank line stands in when the file is gone or changed."""
    text = cached_document_text(source)
    gap = text[start:end] if text is not None and len(text) >= end else ""
    return gap if gap and not gap.strip() else "\n\n"


def load_source(path: Path) -> SourceText:
    """A whole file in memory; ingestion streams with `read_chunks` instead."""
    text = document_text(path)
    if not text.strip():
        raise DocumentError("empty file, nothing to index")
    resolved = path.resolve()
    return SourceText(
        source=str(resolved), name=resolved.name, title=_title(resolved, text), text=text
    )


def _stated_title(path: Path, text: str) -> str | None:
    """The title a text file gives itself: a Markdown file's first heading."""
    return first_heading(text) if path.suffix.lower() == ".md" else None


def _title(path: Path, text: str) -> str:
    if heading := _stated_title(path, text):
        return heading
    words = re.sub(r"[-_]+", " ", path.stem).strip()
    return words[:1].upper() + words[1:] if words else path.name


def make_splitter(chunking: ChunkingSettings) -> RecursiveCharacterTextSplitter:
    return RecursiveCharacterTextSplitter(
        chunk_size=chunking.size,
        chunk_overlap=chunking.overlap,
        separators=_SEPARATORS,
        is_separator_regex=True,
        keep_separator="end",
        strip_whitespace=True,
    )


def _located(text: str, pieces: list[str], overlap: int) -> Iterator[tuple[int, str]]:
    """Where each piece starts in `text`: the splitter only returns strings.

    A chunk starts at most `overlap` characters before the previous one ends, and no
    later than the first non-blank character after it (nothing is dropped but
    whitespace). In repetitive text a piece occurs several times in that range; the
    last occurrence is taken, which never leaves text outside every chunk."""
    previous_start, previous_end = -1, 0
    for index, piece in enumerate(pieces):
        blank_run = _NOT_BLANK.search(text, previous_end)
        latest = blank_run.start() if blank_run else len(text)
        earliest = max(previous_start + 1, previous_end - overlap)
        start = text.rfind(piece, earliest, latest + len(piece))
        if start < 0:
            start = text.find(piece, previous_start + 1)
        if start < 0:  # the splitter never rewrites text; this would be a library bug
            raise DocumentError(f"chunk {index} not found in its source")
        yield start, piece
        previous_start, previous_end = start, start + len(piece)


def _chunk(
    document: dict[str, str],
    piece: str,
    start: int,
    index: int,
    part: Part | None = None,
    headings: Headings | None = None,
) -> Document:
    """`document`: the source's `source`, `name` and `title`, shared by its chunks.
    With `headings` (`chunking.header`), the chunk carries the header it is embedded
    and keyword-indexed under (`rag.store.KeywordedChroma`)."""
    metadata: dict[str, str | int] = {
        **document,
        "chunk": index,
        "start": start,
        "end": start + len(piece),
        "hash": hashlib.sha256(piece.encode()).hexdigest(),
    }
    if part is not None:  # Chroma stores no None: a page is there or absent
        metadata["place"] = part.label
        if part.page is not None:
            metadata["page"] = part.page
    if headings is not None and (line := headings.header_at(start)):
        metadata["header"] = line
    return Document(page_content=piece, metadata=metadata)


def _document(path: Path, title: str) -> dict[str, str]:
    """What every chunk of one document shares: where it is and what it is called."""
    return {"source": str(path), "name": path.name, "title": title}


def split(source: SourceText, chunking: ChunkingSettings) -> list[Document]:
    """Cut a whole text into chunks with exact offsets."""
    path = Path(source.source)
    document = _document(path, source.title)
    pieces = make_splitter(chunking).split_text(source.text)
    located = _located(source.text, pieces, chunking.overlap)
    stated = _stated_title(path, source.text)
    headings = Headings.of(source.text, path.suffix, stated) if chunking.header else None
    return [
        _chunk(document, piece, start, index, headings=headings)
        for index, (start, piece) in enumerate(located)
    ]


def read_chunks(
    path: Path,
    chunking: ChunkingSettings,
    window: int | None = None,
    notes: list[str] | None = None,
) -> Iterator[Document]:
    """A file's chunks with exact offsets, read and split a window at a time, so a file
    of any size costs about one window of memory. A file shorter than the window is
    split exactly as `split` would; in a longer one, each window's last chunks are left
    for the next window, which starts where the first of them starts. `notes` gets
    what the reader reports (a page OCR could hardly read)."""
    resolved = path.resolve()
    if path.suffix.lower() in READERS:
        yield from _extracted_chunks(resolved, chunking, notes)
        return
    window = window or WINDOW_CHARS
    splitter = make_splitter(chunking)
    margin = 2 * (chunking.size + chunking.overlap)
    blocks = read_blocks(path, block_bytes=max(1, window // 2))
    document: dict[str, str] = {}
    buffer, base, index, ended = "", 0, 0, False
    carried = Headings([], [])  # the last heading of the windows before (offset -1)
    stated: str | None = None
    while not ended:
        block = next(blocks, None)
        ended = block is None
        buffer += block or ""
        if not ended and len(buffer) < window:
            continue
        if not document:  # the title comes from the first window
            document = _document(resolved, _title(resolved, buffer))
            stated = _stated_title(resolved, buffer)
        located = list(_located(buffer, splitter.split_text(buffer), chunking.overlap))
        done = (
            located if ended else [(s, p) for s, p in located if s + len(p) <= len(buffer) - margin]
        )
        headings = None
        if chunking.header:
            found = Headings.of(buffer, resolved.suffix).shifted(base)
            starts, titles = carried.starts + found.starts, carried.titles + found.titles
            headings = Headings(starts, titles, stated)
        for start, piece in done:
            yield _chunk(document, piece, base + start, index, headings=headings)
            index += 1
        cut = located[len(done)][0] if len(done) < len(located) else len(buffer)
        if headings is not None and (title := headings.title_at(base + cut - 1)) is not None:
            carried = Headings([-1], [title])
        buffer, base = buffer[cut:], base + cut
    if index == 0:
        raise DocumentError("empty file, nothing to index")


def _extracted_chunks(
    path: Path, chunking: ChunkingSettings, notes: list[str] | None
) -> Iterator[Document]:
    """Split part by part (page, slide, sheet), so that a chunk, and the part its
    citation names, never runs across two."""
    extracted = _extract(path)
    if notes is not None:
        notes.extend(extracted.notes)
    text = extracted.text
    document = _document(path, extracted.title or _title(path, text))
    splitter = make_splitter(chunking)
    headings = Headings.of(text, path.suffix, extracted.title) if chunking.header else None
    index = 0
    for part, begin, end in extracted.part_spans():
        piece_text = text[begin:end]
        for start, piece in _located(piece_text, splitter.split_text(piece_text), chunking.overlap):
            yield _chunk(document, piece, begin + start, index, part, headings)
            index += 1
