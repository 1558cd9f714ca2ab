"""Tables as Markdown blocks that each start with the header row.

A chunk's text must be an exact slice of the document's (citations point into it), so
the header is repeated in the text itself: the rows are cut into blocks shorter than a
chunk, a blank line apart, and the splitter, which cuts at blank lines first, starts a
chunk at a block. A chunk of rows then still says what each column is, to the
embedder, the keyword index and the model. Blocks longer than `chunking.size` (a
smaller setting than `BLOCK_CHARS`, or one huge row) are cut between rows.
"""

import datetime
from collections.abc import Iterable, Sequence

BLOCK_CHARS = 400  # below the default chunk size (600), so one block fits one chunk


def cell_text(value: object) -> str:
    """A cell as a reader sees it: numbers without float noise, dates as dates."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:.10g}"
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat()
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return " ".join(str(value).split()).replace("|", "\\|")


def markdown_table(rows: Iterable[Sequence[object]]) -> str:
    """The first non-empty row is the header. Empty rows and columns are dropped."""
    cells = [[cell_text(value) for value in row] for row in rows]
    cells = [row for row in cells if any(row)]
    if not cells:
        return ""
    width = max(len(row) for row in cells)
    cells = [row + [""] * (width - len(row)) for row in cells]
    kept = [c for c in range(width) if any(row[c] for row in cells)]
    cells = [[row[c] for c in kept] for row in cells]
    header = _line(cells[0]) + "\n" + _line(["---"] * len(kept))
    if len(cells) == 1:
        return _line(cells[0])
    blocks: list[list[str]] = [[]]
    size = len(header)
    for row in cells[1:]:
        line = _line(row)
        if blocks[-1] and size + 1 + len(line) > BLOCK_CHARS:
            blocks.append([])
            size = len(header)
        blocks[-1].append(line)
        size += 1 + len(line)
    return "\n\n".join(header + "\n" + "\n".join(block) for block in blocks)


def _line(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"
