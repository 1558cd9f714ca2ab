"""CSV (and TSV) files as one table whose header row each block repeats."""

import csv
import io
from pathlib import Path

from rag.errors import DocumentError
from rag.formats.extracted import CONFIG, ExtractedText, cannot_read
from rag.formats.tables import markdown_table

_SNIFF_CHARS = 64 * 1024


def read_csv(path: Path) -> ExtractedText:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise cannot_read(exc) from None
    if b"\x00" in raw[:8192]:
        raise DocumentError("binary file, not CSV")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(
            f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
            "convert it to UTF-8"
        ) from None
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(
            text[:_SNIFF_CHARS], delimiters=",;\t|"
        )
    except csv.Error:  # one column, or too irregular to tell: commas
        dialect = csv.excel
    limit = CONFIG.options.max_cells
    rows, cells = [], 0
    try:
        for row in csv.reader(io.StringIO(text, newline=""), dialect):
            cells += len(row)
            if cells > limit:
                raise DocumentError(f"more than formats.max_cells ({limit:,}) cells; refused")
            rows.append(row)
    except csv.Error as exc:
        raise DocumentError(f"not a readable CSV file ({exc})") from None
    return ExtractedText(markdown_table(rows))
