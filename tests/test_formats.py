"""PDF, HTML and DOCX: text, titles, pages and offsets, from files these tests generate."""

from pathlib import Path

import docx
import pytest
from fpdf import FPDF
from pypdf import PdfReader, PdfWriter

from rag.cli import main
from rag.documents import DocumentError, check_document, document_text, read_chunks
from rag.embeddings import SentenceTransformerEmbeddings
from rag.ingest import ingest
from rag.retrieval import HybridRetriever, Passage
from rag.settings import ChunkingSettings, Settings
from rag.store import open_store

PAGES = [
    "Quarterly report. The committee met in March to review the budget of the harbour.",
    "The harbour dredging contract went to Nordvik Marine for 4.2 million euros.",
    "Next steps: the lighthouse will be repainted in a pale green colour next spring.",
]
CHUNKING = ChunkingSettings(size=200, overlap=20)


def make_pdf(path: Path, pages: list[str], title: str | None = "Harbour report") -> Path:
    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    if title:
        pdf.set_title(title)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 10, text)
    pdf.output(str(path))
    return path


def make_encrypted_pdf(path: Path, source: Path) -> Path:
    writer = PdfWriter(clone_from=PdfReader(source))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="AES-256")
    writer.write(path)
    return path


HTML = """<!DOCTYPE html><html><head><title>Tide tables | Harbour site</title>
<style>.x {color: red}</style><script>var tracking = "SCRIPT_TEXT";</script></head>
<body>
<header><div class="logo">SITE_HEADER</div></header>
<nav><a href="/">NAV_HOME</a> <a href="/about">NAV_ABOUT</a></nav>
<div class="sidebar">SIDEBAR_LINKS</div>
<main>
<h1>Tide tables</h1>
<p>High tide at the north pier is at 06:40 on Mondays.</p>
<h2>Safety</h2>
<ul><li>Wear a life vest.</li><li>Never swim near the locks.</li></ul>
<table><tr><th>Day</th><th>Low tide</th></tr><tr><td>Tuesday</td><td>13:05</td></tr></table>
</main>
<footer>FOOTER_COPYRIGHT</footer>
</body></html>"""


def make_docx(path: Path) -> Path:
    document = docx.Document()
    document.add_heading("Ferry timetable", level=1)
    document.add_paragraph("The first ferry to Skerry Island leaves at 07:15.")
    document.add_heading("Fares", level=2)
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Adult", "12 euros"
    table.cell(1, 0).text, table.cell(1, 1).text = "Child", "6 euros"
    document.add_paragraph("Bicycles travel free on weekdays.")
    document.save(str(path))
    return path


def _chunks(path: Path) -> list:
    return list(read_chunks(path, CHUNKING))


def test_a_pdf_chunk_knows_its_page_and_maps_back_to_the_text(tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "report.pdf", PAGES)
    text = document_text(pdf)
    chunks = _chunks(pdf)
    for chunk in chunks:
        meta = chunk.metadata
        assert text[meta["start"] : meta["end"]] == chunk.page_content
        assert meta["title"] == "Harbour report"
    pages = {c.metadata["page"] for c in chunks if "Nordvik" in c.page_content}
    assert pages == {2}
    assert any(c.metadata["page"] == 3 and "lighthouse" in c.page_content for c in chunks)


def test_an_encrypted_pdf_opens_with_the_empty_password_and_not_otherwise(tmp_path: Path) -> None:
    plain = make_pdf(tmp_path / "plain.pdf", PAGES)
    open_copy = tmp_path / "restricted.pdf"
    writer = PdfWriter(clone_from=PdfReader(plain))
    writer.encrypt(user_password="", owner_password="owner", algorithm="AES-256")
    writer.write(open_copy)
    assert "Nordvik" in document_text(open_copy)

    locked = make_encrypted_pdf(tmp_path / "locked.pdf", plain)
    with pytest.raises(DocumentError, match="encrypted PDF that needs a password"):
        check_document(locked)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("broken.pdf", b"%PDF-1.4\nthis is not really a pdf\n", "not a readable PDF"),
        ("broken.docx", b"PK\x03\x04 not a zip at all", "not a readable DOCX file"),
        ("empty.html", b"<html><body><nav>menu</nav></body></html>", "no text in this file"),
    ],
)
def test_an_unreadable_file_gets_one_clear_line(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DocumentError, match=message) as caught:
        check_document(path)
    assert "\n" not in str(caught.value)


def test_a_pdf_without_text_is_reported_as_such(tmp_path: Path) -> None:
    blank = make_pdf(tmp_path / "scan.pdf", ["", ""], title=None)
    with pytest.raises(DocumentError, match="no text in this file"):
        check_document(blank)


def test_html_keeps_headings_and_content_and_drops_the_page_furniture(tmp_path: Path) -> None:
    page = tmp_path / "tides.html"
    page.write_text(HTML, encoding="utf-8")
    text = document_text(page)
    assert "# Tide tables" in text and "## Safety" in text
    assert "High tide at the north pier is at 06:40" in text
    assert "- Never swim near the locks." in text
    assert "Tuesday | 13:05" in text
    for furniture in ("SCRIPT_TEXT", "NAV_HOME", "SIDEBAR_LINKS", "SITE_HEADER", "FOOTER_"):
        assert furniture not in text
    (chunk,) = _chunks(page)
    assert chunk.metadata["title"] == "Tide tables | Harbour site"
    assert "page" not in chunk.metadata


def test_docx_keeps_headings_paragraphs_and_tables_in_order(tmp_path: Path) -> None:
    path = make_docx(tmp_path / "ferry.docx")
    text = document_text(path)
    assert text.index("# Ferry timetable") < text.index("07:15") < text.index("## Fares")
    assert "Adult | 12 euros" in text and "Bicycles travel free" in text
    (chunk,) = _chunks(path)
    assert chunk.metadata["title"] == "Ferry timetable"


def test_a_mixed_folder_ingests_around_its_bad_files_and_cites_pages(
    tmp_path: Path, embeddings: SentenceTransformerEmbeddings
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    report = make_pdf(folder / "report.pdf", PAGES)
    make_encrypted_pdf(folder / "locked.pdf", report)
    (folder / "broken.pdf").write_bytes(b"%PDF-1.7 garbage")
    (folder / "tides.html").write_text(HTML, encoding="utf-8")
    make_docx(folder / "ferry.docx")
    settings = Settings(data_dir=tmp_path / "index", chunking=CHUNKING)
    store = open_store(settings, embeddings)

    result = ingest([folder], store, embeddings, settings, progress=False)

    assert sorted(Path(s).name for s in result.new) == ["ferry.docx", "report.pdf", "tides.html"]
    failed = {Path(p.path).name: p.reason for p in result.failed}
    assert set(failed) == {"broken.pdf", "locked.pdf"}
    assert "password" in failed["locked.pdf"]
    retriever = HybridRetriever(store=store, k=3)
    cases = {
        "Who won the harbour dredging contract?": "report.pdf, p. 2",
        "When does the first ferry to Skerry Island leave?": "ferry.docx",
        "When is high tide at the north pier?": "tides.html",
    }
    for question, where in cases.items():
        top = Passage.from_document(retriever.invoke(question)[0])
        assert top.where == where, question


def test_rag_cli_ingests_around_a_broken_pdf_and_names_the_page(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    make_pdf(folder / "report.pdf", PAGES)
    (folder / "broken.pdf").write_bytes(b"%PDF-1.7 garbage")
    assert main(["ingest", "--no-progress", str(folder)]) == 1
    err = capsys.readouterr().err
    assert "broken.pdf: not a readable PDF" in err and "Traceback" not in err
    assert main(["search", "lighthouse colour", "-k", "1"]) == 0
    assert "report.pdf, p. 3" in capsys.readouterr().out
