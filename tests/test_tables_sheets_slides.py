"""Tables, spreadsheets, CSV and slides: kept as tables whose every chunk repeats the
header row, parts named in citations, and one clear line for each bad file. All from
files these tests generate."""

from pathlib import Path

import docx
import openpyxl
import pptx
import pytest
from fpdf import FPDF
from msoffcrypto.format.ooxml import OOXMLFile

from rag.answering.sentences import merge_chunks, number_sentences
from rag.cli import main
from rag.documents import DocumentError, check_document, document_text, read_chunks
from rag.embeddings import SentenceTransformerEmbeddings
from rag.evaluation.format_corpus import FLEET_HEADER, fleet_rows, write_corpus
from rag.formats import configure
from rag.formats.tables import BLOCK_CHARS, markdown_table
from rag.ingest import ingest
from rag.retrieval import HybridRetriever, Passage
from rag.settings import ChunkingSettings, FormatSettings, Settings
from rag.store import open_store

HEADER_LINE = "| " + " | ".join(FLEET_HEADER) + " |"


@pytest.fixture(autouse=True)
def _default_formats() -> None:
    configure(FormatSettings(), None)  # no test inherits another's limits


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_corpus(tmp_path_factory.mktemp("formats"))


def test_a_long_table_repeats_its_header_in_every_block() -> None:
    rows = [("Name", "Port")] + [(f"vessel {n}", f"port | {n}") for n in range(60)]
    text = markdown_table(rows)
    blocks = text.split("\n\n")
    assert len(blocks) > 2
    for block in blocks:
        assert block.startswith("| Name | Port |\n| --- | --- |\n")
        assert len(block) <= BLOCK_CHARS
    assert "port \\| 59" in text  # a pipe in a cell cannot open a column
    assert sum(block.count("vessel ") for block in blocks) == 60


def test_empty_rows_and_columns_go_and_numbers_read_as_people_write_them() -> None:
    text = markdown_table([(None, None, None), ("Year", None, "Revenue"), (2023, None, 11.0)])
    assert text == "| Year | Revenue |\n| --- | --- |\n| 2023 | 11 |"
    assert markdown_table([(None,), ("",)]) == ""


def test_every_chunk_of_a_csv_says_what_its_columns_are(corpus: dict[str, Path]) -> None:
    chunks = list(read_chunks(corpus["csv"], ChunkingSettings()))
    assert len(chunks) > 3
    text = document_text(corpus["csv"])
    for chunk in chunks:
        assert chunk.page_content.startswith(HEADER_LINE)
        assert text[chunk.metadata["start"] : chunk.metadata["end"]] == chunk.page_content
    last = fleet_rows()[-1]
    assert "| " + " | ".join(last) + " |" in chunks[-1].page_content


def test_a_semicolon_csv_is_sniffed_and_a_latin1_one_gets_one_line(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    path.write_text("Item;Price\nRope;12,50\nAnchor;89,00\n", encoding="utf-8")
    assert "| Rope | 12,50 |" in document_text(path)
    bad = tmp_path / "latin.csv"
    bad.write_bytes("Item;Price\nCr\xe8me;3\n".encode("latin-1"))
    with pytest.raises(DocumentError, match="not UTF-8 text") as caught:
        check_document(bad)
    assert "\n" not in str(caught.value)


def test_a_spreadsheet_is_a_part_per_sheet_with_values_not_formulas(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Q3"
    sheet.append(("Region", "Units", "Total"))
    sheet.append(("North", 1240, "=B2*2"))  # never calculated: no value, not the formula
    book.create_sheet("Empty")
    book.create_sheet("Q4").append(("Region", "Units"))
    book["Q4"].append(("South", 1102))
    path = tmp_path / "sales.xlsx"
    book.save(path)

    chunks = list(read_chunks(path, ChunkingSettings()))
    assert [c.metadata["place"] for c in chunks] == ["sheet Q3", "sheet Q4"]
    assert "page" not in chunks[0].metadata
    assert chunks[0].page_content.startswith("## Q3\n\n| Region | Units | Total |")
    assert "=B2" not in document_text(path)
    assert chunks[1].metadata["header"] == "Q4"


def test_a_deck_is_a_page_per_slide_with_its_notes_and_tables(tmp_path: Path) -> None:
    deck = pptx.Presentation()
    first = deck.slides.add_slide(deck.slide_layouts[1])
    first.shapes.title.text = "Budget"
    first.placeholders[1].text_frame.text = "The budget grows by 4 per cent."
    first.notes_slide.notes_text_frame.text = "Say that the board approved it on 2 May."
    second = deck.slides.add_slide(deck.slide_layouts[5])
    second.shapes.title.text = "Prices"
    grid = second.shapes.add_table(3, 2, 0, 2_000_000, 4_000_000, 1_000_000).table
    for r, (item, price) in enumerate([("Item", "Price"), ("Berth", "30"), ("Crane", "95")]):
        grid.cell(r, 0).text, grid.cell(r, 1).text = item, price
    path = tmp_path / "board.pptx"
    deck.save(str(path))

    chunks = list(read_chunks(path, ChunkingSettings()))
    assert [(c.metadata["place"], c.metadata["page"]) for c in chunks] == [
        ("slide 1", 1),
        ("slide 2", 2),
    ]
    assert "Speaker notes: Say that the board approved it on 2 May." in chunks[0].page_content
    assert "| Item | Price |\n| --- | --- |\n| Berth | 30 |" in chunks[1].page_content
    assert chunks[1].page_content.startswith("## Prices")


def test_a_pdf_table_is_kept_as_a_table_in_its_place(corpus: dict[str, Path]) -> None:
    text = document_text(corpus["table"])
    assert text.startswith("Harbour company results.")
    assert "| Year | Revenue (million euros) | Operating profit (million euros) | Staff |" in text
    assert "| 2023 | 11.2 | 1.8 | 121 |" in text


def test_docx_and_html_tables_repeat_their_header_across_chunks(tmp_path: Path) -> None:
    rows = [("Berth", "Length (m)", "Owner")] + [
        (f"B{n}", str(10 + n), f"Owner {n}") for n in range(40)
    ]
    document = docx.Document()
    document.add_heading("Berths", level=1)
    table = document.add_table(rows=len(rows), cols=3)
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    word = tmp_path / "berths.docx"
    document.save(str(word))
    cells = "".join(
        "<tr>" + "".join(f"<{t}>{v}</{t}>" for v in row) + "</tr>"
        for row, t in ((row, "th" if i == 0 else "td") for i, row in enumerate(rows))
    )
    web = tmp_path / "berths.html"
    web.write_text(f"<html><body><h1>Berths</h1><table>{cells}</table></body></html>")

    for path in (word, web):
        rows_chunks = [c for c in read_chunks(path, ChunkingSettings()) if "| B" in c.page_content]
        assert len(rows_chunks) > 1, path
        for chunk in rows_chunks:
            assert "| Berth | Length (m) | Owner |\n| --- | --- | --- |" in chunk.page_content


def test_a_cell_question_finds_its_row_with_its_header_and_cites_the_part(
    tmp_path: Path, corpus: dict[str, Path], embeddings: SentenceTransformerEmbeddings
) -> None:
    settings = Settings(data_dir=tmp_path / "index")
    store = open_store(settings, embeddings)
    paths = [corpus[kind] for kind in ("table", "sheet", "csv", "deck")]
    report = ingest(paths, store, embeddings, settings, progress=False)
    assert len(report.new) == 4 and not report.failed
    retriever = HybridRetriever(store=store, k=3)
    cases = {
        "What was the revenue in 2023?": ("company-results.pdf, p. 1", "| 2023 | 11.2 |"),
        "How many units did the North region sell in Q4?": (
            "chandlery-sales.xlsx, sheet Q4",
            "| North | 1515 |",
        ),
        "What is the home port of the vessel Aurora?": ("fleet-register.csv", "| Aurora |"),
        "When does release 2 ship?": ("app-roadmap.pptx, slide 2", "3 June"),
    }
    for question, (where, row) in cases.items():
        top = [Passage.from_document(d) for d in retriever.invoke(question)]
        hit = next((p for p in top if row in p.text), None)
        assert hit is not None, question
        assert hit.where == where
        if "|" in row:
            assert "| --- |" in hit.text  # the header row came with it


def _encrypted(source: Path, target: Path) -> Path:
    with source.open("rb") as plain, target.open("wb") as locked:
        OOXMLFile(plain).encrypt("secret", locked)
    return target


def test_bad_files_get_one_line_each_and_the_rest_of_the_folder_ingests(
    tmp_path: Path, corpus: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "fleet.csv").write_bytes(corpus["csv"].read_bytes())
    _encrypted(corpus["sheet"], folder / "locked.xlsx")
    _encrypted(corpus["deck"], folder / "locked.pptx")
    (folder / "broken.xlsx").write_bytes(b"PK\x03\x04 not really a zip")
    (folder / "broken.pptx").write_bytes(b"garbage")
    damaged = corpus["image"].read_bytes()
    (folder / "damaged.png").write_bytes(damaged[: len(damaged) // 3])
    (folder / "noise.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a jpeg at all")
    for suffix in (".pdf", ".xlsx", ".pptx", ".csv", ".png", ".docx"):
        (folder / f"empty{suffix}").write_bytes(b"")

    assert main(["ingest", "--no-progress", str(folder)]) == 1
    captured = capsys.readouterr()
    errors = {
        line.split(": ", 3)[2].split("/")[-1]: line.split(": ", 3)[3]
        for line in captured.err.splitlines()
        if line.startswith("rag: error: ")
    }
    assert "Traceback" not in captured.err
    assert "password-protected" in errors["locked.xlsx"]
    assert "password-protected" in errors["locked.pptx"]
    assert "not a readable XLSX" in errors["broken.xlsx"]
    assert "not a readable PPTX" in errors["broken.pptx"]
    assert "not a readable image" in errors["damaged.png"]
    assert "not a readable image" in errors["noise.jpg"]
    for suffix in (".pdf", ".xlsx", ".pptx", ".csv", ".png", ".docx"):
        assert "0 bytes" in errors[f"empty{suffix}"]
    assert "1 added" in captured.out  # fleet.csv
    assert main(["search", "home port of Aurora", "-k", "1"]) == 0
    assert "fleet.csv" in capsys.readouterr().out


def test_limits_refuse_a_bomb_in_one_line(tmp_path: Path) -> None:
    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for n in range(6):
        pdf.add_page()
        pdf.cell(0, 10, f"Page {n + 1}")
    path = tmp_path / "long.pdf"
    pdf.output(str(path))
    configure(FormatSettings(max_pages=5), None)
    with pytest.raises(DocumentError, match=r"6 pages, more than formats.max_pages \(5\)"):
        check_document(path)
    rows = "\n".join(f"{n},{n}" for n in range(2_000))
    sheet = tmp_path / "big.csv"
    sheet.write_text("a,b\n" + rows)
    configure(FormatSettings(max_cells=1_000), None)
    with pytest.raises(DocumentError, match="max_cells"):
        check_document(sheet)


def test_a_sentence_is_cited_by_its_own_sheet_in_a_passage_joined_across_sheets(
    corpus: dict[str, Path],
) -> None:
    chunks = list(read_chunks(corpus["sheet"], ChunkingSettings()))
    passages = [
        Passage.from_document(c.model_copy(update={"id": f"c{i}"})) for i, c in enumerate(chunks)
    ]
    (joined,) = merge_chunks(passages)  # the whole spreadsheet, as a small corpus is read
    assert joined.place == "sheet Q3" and "| North | 1515 | 44 |" in joined.text
    sentences = number_sentences([joined])
    row = next(s for s in sentences if "1515" in s.text)
    assert row.where == "chandlery-sales.xlsx, sheet Q4"
    assert row.citation(1, 1.0, [joined]).where == "chandlery-sales.xlsx, sheet Q4"
    first = next(s for s in sentences if "1240" in s.text)
    assert first.where == "chandlery-sales.xlsx, sheet Q3"
