"""Text out of Office files: DOCX (headings, paragraphs and tables in order), XLSX
(one section per sheet, values rather than formulas) and PPTX (one part per slide,
with its speaker notes). Headings are marked as in Markdown, so `rag.sections` finds
a sheet's or a slide's title the way it finds a web page's."""

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rag.errors import DocumentError
from rag.formats.extracted import (
    CONFIG,
    ExtractedText,
    cannot_read,
    check_page_count,
    joined,
    reason,
    refuse_encrypted_office,
    tidy,
)
from rag.formats.tables import markdown_table


def _first_heading_title(text: str, title: str | None) -> str | None:
    if not title and (heading := re.search(r"^#+ (.+)$", text, re.MULTILINE)):
        return heading.group(1)
    return title or None


def read_docx(path: Path) -> ExtractedText:
    import docx
    from docx.table import Table

    refuse_encrypted_office(path)
    try:
        document = docx.Document(str(path))
        blocks: list[str] = []
        for item in document.iter_inner_content():
            if isinstance(item, Table):
                rows = [[cell.text for cell in row.cells] for row in item.rows]
                blocks.append(markdown_table(rows))
                continue
            style = item.style.name if item.style is not None else ""
            level = 1 if style == "Title" else _heading_level(style)
            blocks.append(f"{'#' * level} {item.text.strip()}" if level else item.text)
        title = document.core_properties.title
    except OSError as exc:
        raise cannot_read(exc) from None
    except Exception as exc:  # python-docx: not a zip, no document part, bad XML
        raise DocumentError(f"not a readable DOCX file ({reason(exc)})") from None
    text = tidy("\n\n".join(blocks))
    return ExtractedText(text, _first_heading_title(text, title))


def _heading_level(style: str) -> int:
    match = re.fullmatch(r"Heading (\d)", style)
    return int(match.group(1)) if match else 0


def read_xlsx(path: Path) -> ExtractedText:
    """Each sheet is a part ("sheet Q3") holding one table: its first non-empty row is
    the header. Cells hold what the spreadsheet last calculated (a file no spreadsheet
    program has saved since its formulas were written holds no values for them)."""
    import openpyxl

    refuse_encrypted_office(path)
    limit = CONFIG.options.max_cells
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except OSError as exc:
        raise cannot_read(exc) from None
    except Exception as exc:  # not a zip, no workbook part, bad XML
        raise DocumentError(f"not a readable XLSX file ({reason(exc)})") from None
    try:
        pieces, cells = [], 0
        for sheet in book.worksheets:
            rows = []
            for row in sheet.iter_rows(values_only=True):
                cells += len(row)
                if cells > limit:
                    raise DocumentError(f"more than formats.max_cells ({limit:,}) cells; refused")
                rows.append(row)
            if table := markdown_table(rows):
                pieces.append((f"## {sheet.title}\n\n{table}", f"sheet {sheet.title}", None))
        title = book.properties.title
    except DocumentError:
        raise
    except Exception as exc:
        raise DocumentError(f"not a readable XLSX file ({reason(exc)})") from None
    finally:
        book.close()
    return joined(pieces, title or None)


def read_pptx(path: Path) -> ExtractedText:
    """Each slide is a page ("slide 3"): its title as a heading, its text boxes and
    tables from top to bottom, then its speaker notes."""
    import pptx

    refuse_encrypted_office(path)
    try:
        deck = pptx.Presentation(str(path))
        slides = list(deck.slides)
        check_page_count(len(slides), "slides")
        pieces = []
        for number, slide in enumerate(slides, start=1):
            pieces.append((_slide_text(slide), f"slide {number}", number))
        title = deck.core_properties.title
    except DocumentError:
        raise
    except OSError as exc:
        raise cannot_read(exc) from None
    except Exception as exc:  # not a zip, no presentation part, bad XML
        raise DocumentError(f"not a readable PPTX file ({reason(exc)})") from None
    return joined(pieces, title or None)


def _slide_text(slide: Any) -> str:
    title_shape = slide.shapes.title
    blocks = [f"## {title_shape.text_frame.text.strip()}"] if title_shape is not None else []
    if blocks == ["## "]:
        blocks = []
    for shape in sorted(_shapes(slide.shapes), key=lambda s: (s.top or 0, s.left or 0)):
        if title_shape is not None and shape.shape_id == title_shape.shape_id:
            continue
        if shape.has_table:
            rows = [[cell.text for cell in row.cells] for row in shape.table.rows]
            blocks.append(markdown_table(rows))
        elif shape.has_text_frame and shape.text_frame.text.strip():
            blocks.append(shape.text_frame.text)
    notes = slide.notes_slide.notes_text_frame if slide.has_notes_slide else None
    if notes is not None and notes.text.strip():
        blocks.append(f"Speaker notes: {notes.text}")
    return "\n\n".join(blocks)


def _shapes(shapes: Any) -> Iterator[Any]:
    """Every shape, groups opened up."""
    for shape in shapes:
        if shape.shape_type is not None and hasattr(shape, "shapes"):  # a group
            yield from _shapes(shape.shapes)
        else:
            yield shape
