"""Text out of PDF, HTML and DOCX files, with what a citation needs: a title and, for a
PDF, where each page starts in the text.

Each reader takes the whole file at once (these formats cannot be decoded a block at a
time the way plain text is) and raises `DocumentError` with one line on a file it cannot
read, so the rest of a folder still ingests.
"""

import logging
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rag.errors import DocumentError

if TYPE_CHECKING:
    from bs4 import Tag

logging.getLogger("pypdf").setLevel(logging.ERROR)  # a damaged PDF is reported once, by us


@dataclass(frozen=True)
class ExtractedText:
    text: str
    title: str | None = None
    page_starts: list[int] = field(default_factory=list)  # PDF: offset of each page's text


_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def _tidy(text: str) -> str:
    """One space between words, at most one blank line between blocks."""
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def _reason(exc: Exception) -> str:
    return next(iter(str(exc).splitlines()), "") or type(exc).__name__


def read_pdf(path: Path) -> ExtractedText:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError

    try:
        reader = PdfReader(path)
        # Many PDFs are encrypted only to restrict printing: the empty password opens them.
        if reader.is_encrypted and not reader.decrypt(""):
            raise FileNotDecryptedError("password required")
        pages = [_tidy(page.extract_text() or "") for page in reader.pages]
        title = (reader.metadata or {}).get("/Title")
    except (FileNotDecryptedError, DependencyError):
        raise DocumentError(
            "encrypted PDF that needs a password; add a decrypted copy instead"
        ) from None
    except OSError as exc:
        raise DocumentError(f"cannot read: {exc.strerror or exc}") from None
    except Exception as exc:  # pypdf raises many types on damaged files
        raise DocumentError(f"not a readable PDF ({_reason(exc)})") from None
    text, starts = "", []
    for page in pages:
        starts.append(len(text))
        text += page + "\n\n"
    return ExtractedText(text.rstrip(), str(title).strip() if title else None, starts)


# Page furniture: never the content a question is about.
_HTML_DROP = [
    "script",
    "style",
    "noscript",
    "template",
    "svg",
    "iframe",
    "form",
    "button",
    "nav",
    "aside",
]
_HTML_DROP_ROLES = ("navigation", "banner", "contentinfo", "search", "complementary")
_HTML_DROP_NAMES = re.compile(
    r"(^|[-_ ])(nav|navbar|menu|sidebar|sphinxsidebar|breadcrumbs?|footer|cookie|"
    r"related|toc|skip)([-_ ]|$)",
    re.IGNORECASE,
)
_HTML_BLOCKS = [
    *("p", "div", "section", "article", "main", "li", "dt", "dd", "pre", "blockquote"),
    *("table", "tr", "ul", "ol", "dl", "figure", "figcaption", "address", "hr"),
]


def _is_furniture(tag: "Tag") -> bool:
    if tag.name in ("header", "footer"):  # the site's, not an article's own
        return tag.find_parent(["main", "article"]) is None
    if tag.get("role") in _HTML_DROP_ROLES:
        return True
    names = " ".join([tag.get("id") or "", *(tag.get("class") or [])])
    return bool(names.strip()) and _HTML_DROP_NAMES.search(names) is not None


def read_html(path: Path) -> ExtractedText:
    from bs4 import BeautifulSoup, XMLParsedAsHTMLWarning

    try:
        with warnings.catch_warnings():  # XHTML is HTML enough for this
            warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
            soup = BeautifulSoup(path.read_bytes(), "lxml")
    except OSError as exc:
        raise DocumentError(f"cannot read: {exc.strerror or exc}") from None
    title_tag = soup.find("title")
    title = title_tag.get_text(" ", strip=True) if title_tag else ""
    for tag in soup.find_all(_HTML_DROP):
        tag.decompose()
    for tag in soup.find_all(_is_furniture):
        if not tag.decomposed:  # an ancestor may have gone already
            tag.decompose()
    root = soup.find("main") or soup.find(attrs={"role": "main"}) or soup.body or soup
    for heading in root.find_all(["h1", "h2", "h3", "h4", "h5", "h6"]):
        level = int(heading.name[1])
        heading.replace_with(f"\n\n{'#' * level} {heading.get_text(' ', strip=True)}\n\n")
    for item in root.find_all("li"):
        item.insert(0, "- ")
    for cell in root.find_all(["td", "th"]):
        cell.append(" | ")
    for br in root.find_all("br"):
        br.replace_with("\n")
    for block in root.find_all(_HTML_BLOCKS):
        block.insert_before("\n")
        block.insert_after("\n")
    text = _tidy(root.get_text())
    if not title and (h1 := re.search(r"^# (.+)$", text, re.MULTILINE)):
        title = h1.group(1)
    return ExtractedText(text, title or None)


def read_docx(path: Path) -> ExtractedText:
    import docx
    from docx.table import Table

    try:
        document = docx.Document(str(path))
        blocks: list[str] = []
        for item in document.iter_inner_content():
            if isinstance(item, Table):
                rows = (" | ".join(cell.text.strip() for cell in row.cells) for row in item.rows)
                blocks.append("\n".join(rows))
                continue
            style = item.style.name if item.style is not None else ""
            level = 1 if style == "Title" else _heading_level(style)
            blocks.append(f"{'#' * level} {item.text.strip()}" if level else item.text)
        title = document.core_properties.title
    except OSError as exc:
        raise DocumentError(f"cannot read: {exc.strerror or exc}") from None
    except Exception as exc:  # python-docx: not a zip, no document part, bad XML
        raise DocumentError(f"not a readable DOCX file ({_reason(exc)})") from None
    text = _tidy("\n\n".join(blocks))
    if not title and (heading := re.search(r"^#+ (.+)$", text, re.MULTILINE)):
        title = heading.group(1)
    return ExtractedText(text, title or None)


def _heading_level(style: str) -> int:
    match = re.fullmatch(r"Heading (\d)", style)
    return int(match.group(1)) if match else 0


READERS: dict[str, Callable[[Path], ExtractedText]] = {
    ".pdf": read_pdf,
    ".html": read_html,
    ".htm": read_html,
    ".docx": read_docx,
}
