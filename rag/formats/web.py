"""Text out of HTML: the page's content, without its furniture (menus, sidebars,
footers), with headings marked as in Markdown and tables kept as tables."""

import re
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from rag.formats.extracted import ExtractedText, cannot_read, tidy
from rag.formats.tables import markdown_table

if TYPE_CHECKING:
    from bs4 import Tag


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
    *("ul", "ol", "dl", "figure", "figcaption", "address", "hr"),
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
        raise cannot_read(exc) from None
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
    for table in root.find_all("table"):
        if table.find_parent("table") is None:  # a nested one is part of its cell
            table.replace_with(f"\n\n{markdown_table(_rows(table))}\n\n")
    for br in root.find_all("br"):
        br.replace_with("\n")
    for block in root.find_all(_HTML_BLOCKS):
        block.insert_before("\n")
        block.insert_after("\n")
    text = tidy(root.get_text())
    if not title and (h1 := re.search(r"^# (.+)$", text, re.MULTILINE)):
        title = h1.group(1)
    return ExtractedText(text, title or None)


def _rows(table: "Tag") -> list[list[str]]:
    rows = [r for r in table.find_all("tr") if r.find_parent("table") is table]
    return [
        [cell.get_text(" ", strip=True) for cell in row.find_all(["th", "td"], recursive=False)]
        for row in rows
    ]
