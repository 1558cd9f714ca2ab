"""OCR with the real Tesseract: scanned reports, a mixed PDF, an image; page citations,
offsets into the OCR text, confidence reports, progress, the cache, limits, and what
happens without Tesseract. Every scan is text these tests render."""

from pathlib import Path

import pytest
from fpdf import FPDF

from rag.cli import main
from rag.documents import DocumentError, check_document, document_text, read_chunks
from rag.embeddings import SentenceTransformerEmbeddings
from rag.evaluation.format_corpus import (
    MIXED_SCAN_PAGE,
    MIXED_TEXT_PAGE,
    SCAN_PAGES,
    character_accuracy,
    ocr_accuracy,
    render_scan,
    write_corpus,
)
from rag.formats import configure, extract
from rag.formats import ocr as ocr_module
from rag.ingest import ingest
from rag.settings import ChunkingSettings, FormatSettings, Settings
from rag.store import open_store

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _default_formats() -> None:
    configure(FormatSettings(), None)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_corpus(tmp_path_factory.mktemp("scans"))


def test_a_scan_is_read_page_by_page_and_offsets_point_into_the_ocr_text(
    corpus: dict[str, Path],
) -> None:
    chunks = list(read_chunks(corpus["scan"], ChunkingSettings()))
    text = document_text(corpus["scan"])
    assert {c.metadata["place"] for c in chunks} == {"p. 1", "p. 2"}
    for chunk in chunks:
        assert text[chunk.metadata["start"] : chunk.metadata["end"]] == chunk.page_content
    second = " ".join(c.page_content for c in chunks if c.metadata["page"] == 2)
    assert character_accuracy(second, SCAN_PAGES[1]) > 0.95
    scores = ocr_accuracy(corpus)
    assert len(scores) == 4 and min(scores.values()) > 0.95, scores


def test_a_mixed_pdf_keeps_its_text_layer_and_reads_only_the_scanned_page(
    corpus: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    read: list[int] = []
    real = ocr_module.read_image

    def counting(image):  # type: ignore[no-untyped-def]
        read.append(1)
        return real(image)

    monkeypatch.setattr(ocr_module, "read_image", counting)
    extracted = extract(corpus["mixed"])
    assert len(read) == 1  # page 1 has a text layer
    first = extracted.text[extracted.parts[0].start : extracted.parts[1].start]
    assert " ".join(first.split()) == MIXED_TEXT_PAGE
    assert "18:30" in extracted.text[extracted.parts[1].start :]
    assert extracted.ocr


def test_a_page_read_with_low_confidence_is_reported_and_still_indexed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = render_scan("The quay wall needs new bollards before winter.", seed=3)
    image = tmp_path / "memo.png"
    page.save(image)
    (tmp_path / "rag.toml").write_text("[formats]\nocr_min_confidence = 99.9\n")
    assert main(["ingest", "--no-progress", str(image)]) == 0
    captured = capsys.readouterr()
    assert "rag: warning: " in captured.err and "OCR confidence" in captured.err
    assert "below 99.9%" in captured.err and "Traceback" not in captured.err
    assert "1 added" in captured.out
    assert main(["search", "bollards", "-k", "1"]) == 0
    assert "memo.png" in capsys.readouterr().out


def test_ocr_progress_is_shown_per_page_and_the_cache_spares_a_second_read(
    tmp_path: Path,
    corpus: dict[str, Path],
    embeddings: SentenceTransformerEmbeddings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = Settings(data_dir=tmp_path / "index")
    store = open_store(settings, embeddings)
    events: list[tuple[str, int, int, str]] = []
    report = ingest(
        [corpus["scan"]],
        store,
        embeddings,
        settings,
        progress=False,
        listener=lambda *event: events.append(event),
    )
    assert report.new and not report.failed
    pages = [e for e in events if e[0] == f"OCR {corpus['scan'].name}"]
    assert [(done, total, unit) for _, done, total, unit in pages][-2:] == [
        (1, 2, "pages"),
        (2, 2, "pages"),
    ]
    assert list(settings.extracted_dir.glob("*.json"))

    def no_ocr(image):  # type: ignore[no-untyped-def]
        raise AssertionError("OCR ran again")

    monkeypatch.setattr(ocr_module, "read_image", no_ocr)
    assert "38,000 euros" in document_text(corpus["scan"])  # what a citation shows


def test_without_tesseract_a_scan_and_an_image_say_what_to_install(
    corpus: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ocr_module, "_languages", lambda: None)
    with pytest.raises(DocumentError, match="apt-get install tesseract-ocr") as caught:
        check_document(corpus["scan"])
    assert "no text in this file" in str(caught.value)
    with pytest.raises(DocumentError, match="not installed"):
        check_document(corpus["image"])
    configure(FormatSettings(ocr=False), None)
    monkeypatch.undo()
    with pytest.raises(DocumentError, match=r"OCR is off \(formats.ocr = false\)"):
        check_document(corpus["image"])
    # The mixed PDF still gives its text layer, and says which page it could not read.
    extracted = extract(corpus["mixed"])
    assert "41,200" in extracted.text
    assert extracted.notes == ["1 scanned page(s) not read: OCR is off (formats.ocr = false)"]


def test_a_giant_page_is_skipped_with_a_note_and_the_rest_is_read(tmp_path: Path) -> None:
    pdf = FPDF(unit="pt", format=(595, 842))
    pdf.add_page()
    pdf.image(render_scan(MIXED_SCAN_PAGE, seed=1), x=0, y=0, w=595, h=842)
    pdf.add_page(format=(14_000, 14_000))  # 194 inches square: 2.4 billion pixels at 250 dpi
    pdf.image(render_scan("Unreadable giant page.", seed=2), x=0, y=0, w=14_000, h=14_000)
    path = tmp_path / "bomb.pdf"
    pdf.output(str(path))
    extracted = extract(path)
    assert "the last ferry leaves the harbour at 18:30" in " ".join(extracted.text.split())
    assert any("p. 2" in n and "max_page_pixels" in n for n in extracted.notes), extracted.notes


def test_rag_ingest_and_search_name_the_page_sheet_or_slide_of_every_format(
    corpus: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ingest", "--no-progress", *map(str, corpus.values())]) == 0
    assert f"{len(corpus)} added" in capsys.readouterr().out
    cases = {
        "cost of repainting the lighthouse": "inspection-report-scan.pdf, p. 2",
        "last ferry from 1 November": "ferry-operations.pdf, p. 2",
        "revenue 2023": "company-results.pdf, p. 1",
        "units sold North Q4": "chandlery-sales.xlsx, sheet Q4",
        "home port of Aurora": "fleet-register.csv",
        "when does release 2 ship": "app-roadmap.pptx, slide 2",
        "west channel buoy moved": "notice-to-mariners.png",
    }
    for query, where in cases.items():
        assert main(["search", query, "-k", "3"]) == 0
        assert where in capsys.readouterr().out, query
