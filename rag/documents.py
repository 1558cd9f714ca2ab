"""Loading source files and cutting them into chunks that remember where they came from.

Every chunk carries exact character offsets into the decoded source text, so a citation
can always be shown in place: `text[start:end] == chunk.page_content`.
"""

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from langchain_core.documents import Document
from langchain_text_splitters import RecursiveCharacterTextSplitter

from rag.errors import RagError
from rag.settings import ChunkingSettings

SUPPORTED_SUFFIXES: frozenset[str] = frozenset({".txt", ".md"})

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
_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


class DocumentError(RagError):
    """A file that cannot be ingested; the message says why in one line."""


@dataclass(frozen=True)
class SourceText:
    source: str  # absolute path: the document's identity in the index
    name: str
    title: str
    text: str


def is_supported(path: Path) -> bool:
    return path.suffix.lower() in SUPPORTED_SUFFIXES


def load_source(path: Path) -> SourceText:
    """Read a text or markdown file strictly: no guessing of encodings, no silent repairs."""
    if not is_supported(path):
        supported = ", ".join(sorted(SUPPORTED_SUFFIXES))
        raise DocumentError(f"unsupported file type '{path.suffix or path.name}' ({supported})")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DocumentError(f"cannot read: {exc.strerror or exc}") from None
    if b"\x00" in data[:_BINARY_SNIFF_BYTES]:
        raise DocumentError("binary file, not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad = data[exc.start]
        raise DocumentError(
            f"not UTF-8 text (byte 0x{bad:02x} at offset {exc.start}); convert it to UTF-8"
        ) from None
    if not text.strip():
        raise DocumentError("empty file, nothing to index")
    resolved = path.resolve()
    return SourceText(
        source=str(resolved), name=resolved.name, title=_title(resolved, text), text=text
    )


def _title(path: Path, text: str) -> str:
    if path.suffix.lower() == ".md" and (heading := _MD_HEADING.search(text)):
        return heading.group(1)
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


def split(source: SourceText, splitter: RecursiveCharacterTextSplitter) -> list[Document]:
    """Cut a source into chunks with exact offsets; the splitter only returns strings."""
    chunks: list[Document] = []
    cursor = 0
    for index, piece in enumerate(splitter.split_text(source.text)):
        start = source.text.find(piece, cursor)
        if start < 0:  # the splitter never rewrites text; this would be a library bug
            raise DocumentError(f"chunk {index} of {source.name} not found in its source")
        end = start + len(piece)
        chunks.append(
            Document(
                page_content=piece,
                metadata={
                    "source": source.source,
                    "name": source.name,
                    "title": source.title,
                    "chunk": index,
                    "start": start,
                    "end": end,
                    "hash": hashlib.sha256(piece.encode()).hexdigest(),
                },
            )
        )
        cursor = start + 1
    return chunks
