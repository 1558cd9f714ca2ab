"""Text out of files that are not plain text: PDF, images, HTML, DOCX, XLSX, PPTX, CSV.

Each reader takes the whole file at once (these formats cannot be decoded a block at
a time the way plain text is) and raises `DocumentError` with one line on a file it
cannot read, so the rest of a folder still ingests. `extract` keeps what it read in
<data_dir>/extracted, keyed by the file's bytes, so a citation shown later never reads
(or OCRs) the file again.
"""

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from rag.errors import DocumentError
from rag.formats.delimited import read_csv
from rag.formats.extracted import CONFIG, ExtractedText, Part, cannot_read, configure
from rag.formats.ocr import IMAGE_SUFFIXES, read_image_file
from rag.formats.office import read_docx, read_pptx, read_xlsx
from rag.formats.pdf import read_pdf
from rag.formats.web import read_html

__all__ = ["READERS", "ExtractedText", "Part", "configure", "extract"]

READERS: dict[str, Callable[[Path], ExtractedText]] = {
    ".pdf": read_pdf,
    ".html": read_html,
    ".htm": read_html,
    ".docx": read_docx,
    ".xlsx": read_xlsx,
    ".pptx": read_pptx,
    ".csv": read_csv,
    **dict.fromkeys(IMAGE_SUFFIXES, read_image_file),
}
READER_VERSION = "formats-2"  # bump when a reader's text changes: old cache entries go unused


def extract(path: Path) -> ExtractedText:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise cannot_read(exc) from None
    if size == 0:
        raise DocumentError("empty file (0 bytes), nothing to index")
    reader = READERS[path.suffix.lower()]
    if CONFIG.cache_dir is None:
        return reader(path)
    cached = CONFIG.cache_dir / f"{_key(path)}.json"
    try:
        return _loaded(json.loads(cached.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        pass
    extracted = reader(path)
    _store(cached, extracted)
    return extracted


def _key(path: Path) -> str:
    """The file's bytes and the settings that shape what is read from them."""
    digest = hashlib.sha256()
    options = CONFIG.options
    digest.update(
        f"{READER_VERSION}|{options.ocr}|{options.ocr_language}|{options.ocr_dpi}".encode()
    )
    try:
        with path.open("rb") as file:
            while block := file.read(1 << 20):
                digest.update(block)
    except OSError as exc:
        raise cannot_read(exc) from None
    return digest.hexdigest()


def _store(cached: Path, extracted: ExtractedText) -> None:
    """Written whole or not at all; a full disk only costs a later re-read."""
    temporary: Path | None = None
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=cached.parent, suffix=".tmp")
        temporary = Path(name)
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump(asdict(extracted), file)
        os.replace(temporary, cached)
    except OSError:
        if temporary is not None:
            temporary.unlink(missing_ok=True)


def _loaded(data: dict) -> ExtractedText:
    return ExtractedText(
        text=data["text"],
        title=data["title"],
        parts=[Part(**part) for part in data["parts"]],
        notes=list(data["notes"]),
        ocr=bool(data["ocr"]),
    )
