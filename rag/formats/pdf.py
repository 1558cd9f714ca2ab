"""Text out of PDFs, page by page: the text layer where there is one, with its tables
kept as tables, and OCR (`rag.formats.ocr`) for pages that are only an image.

pdfplumber reads both the text and the ruled tables in one pass; pypdfium2 renders a
scanned page for Tesseract.
"""

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.errors import DocumentError
from rag.formats import ocr
from rag.formats.extracted import (
    CONFIG,
    ExtractedText,
    cannot_read,
    check_page_count,
    joined,
    reason,
)
from rag.formats.tables import markdown_table

if TYPE_CHECKING:
    from PIL.Image import Image

for _name in ("pdfminer", "pypdf"):  # a damaged PDF is reported once, by us
    logging.getLogger(_name).setLevel(logging.ERROR)

_SCANNED_BELOW_CHARS = 20  # fewer letters than this on a page with an image: a scan


def read_pdf(path: Path) -> ExtractedText:
    import pdfplumber
    from pdfminer.pdfdocument import PDFPasswordIncorrect
    from pdfplumber.utils.exceptions import PdfminerException

    try:
        with pdfplumber.open(path, password="") as pdf:
            # Many PDFs are encrypted only to restrict printing: the empty password opens them.
            check_page_count(len(pdf.pages), "pages")
            texts = [_page_text(page) for page in _closing(pdf.pages)]
            scanned = [
                n for n, (text, images) in enumerate(texts, start=1) if _is_scan(text, images)
            ]
            title = pdf.metadata.get("Title")
    except PdfminerException as exc:
        cause = exc.args[0] if exc.args else exc
        if isinstance(cause, PDFPasswordIncorrect):
            raise DocumentError(
                "encrypted PDF that needs a password; add a decrypted copy instead"
            ) from None
        raise DocumentError(f"not a readable PDF ({reason(cause)})") from None
    except DocumentError:
        raise
    except OSError as exc:
        raise cannot_read(exc) from None
    except Exception as exc:  # pdfminer raises many types on damaged files
        raise DocumentError(f"not a readable PDF ({reason(exc)})") from None
    pages = [text for text, _ in texts]
    notes: list[str] = []
    if scanned:
        if why := ocr.unavailable():
            notes.append(f"{len(scanned)} scanned page(s) not read: {why}")
        else:
            for number, text in _ocr_pages(path, scanned, notes).items():
                pages[number - 1] = text
    title = title.decode(errors="replace") if isinstance(title, bytes) else title
    pieces = [(text, f"p. {n}", n) for n, text in enumerate(pages, start=1)]
    return joined(pieces, str(title).strip() or None if title else None, notes, bool(scanned))


def _closing(pages: list[Any]) -> Any:
    """Each page, freed once read: a long PDF is not held whole in memory."""
    for page in pages:
        yield page
        page.close()


def _page_text(page: Any) -> tuple[str, int]:
    """The page's text in reading order, each ruled table a Markdown table where it
    stands; and how many images the page holds."""
    tables = [t for t in page.find_tables() if len(t.rows) > 1]
    if not tables:
        return page.extract_text() or "", len(page.images)
    boxes = [t.bbox for t in tables]

    def outside(obj: dict) -> bool:
        x = (obj["x0"] + obj["x1"]) / 2
        y = (obj["top"] + obj["bottom"]) / 2
        return not any(x0 <= x <= x1 and top <= y <= bottom for x0, top, x1, bottom in boxes)

    blocks = [(line["top"], line["text"]) for line in page.filter(outside).extract_text_lines()]
    blocks += [(t.bbox[1], "\n" + markdown_table(t.extract()) + "\n") for t in tables]
    blocks.sort(key=lambda block: block[0])
    return "\n".join(text for _, text in blocks), len(page.images)


def _is_scan(text: str, images: int) -> bool:
    return images > 0 and sum(not c.isspace() for c in text) < _SCANNED_BELOW_CHARS


def _ocr_pages(path: Path, numbers: list[int], notes: list[str]) -> dict[int, str]:
    import pypdfium2

    dpi = CONFIG.options.ocr_dpi
    reader = ocr.PageReader(path.name, len(numbers))
    found: dict[int, str] = {}
    document = pypdfium2.PdfDocument(str(path), password="")
    try:
        for number in numbers:
            page = document[number - 1]
            width, height = page.get_size()  # points: 72 to the inch
            label = f"p. {number}"
            try:
                ocr.check_pixels(width * dpi / 72, height * dpi / 72, f"page {number}")
            except DocumentError as exc:
                notes.append(f"{label}: {exc}")
                continue
            found[number] = reader.read(lambda page=page: _render(page, dpi), label)
    finally:
        document.close()
    notes.extend(reader.notes)
    return found


def _render(page: Any, dpi: int) -> "Image":
    return page.render(scale=dpi / 72, grayscale=True).to_pil()
