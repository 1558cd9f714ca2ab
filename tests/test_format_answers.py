"""Real-model answers over the generated scans, table, spreadsheet, CSV and deck: each
cites the page, sheet or slide its answer is on."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.evaluation.format_corpus import write_corpus
from rag.ingest import ingest
from rag.pipeline import Pipeline
from rag.settings import Settings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory, model_file: Path) -> Iterator[Pipeline]:
    folder = tmp_path_factory.mktemp("format-answers")
    corpus = write_corpus(folder / "docs")
    settings = Settings(data_dir=folder / "index", llm={"model_file": model_file})
    pipeline = Pipeline.from_settings(settings)
    report = ingest(list(corpus.values()), pipeline.store, pipeline.embeddings, settings)
    assert len(report.new) == len(corpus) and not report.failed
    yield pipeline


CASES = [
    ("How much will repainting the lighthouse cost?", "38,000", "inspection-report-scan.pdf, p. 2"),
    ("What was the company's revenue in 2023?", "11.2", "company-results.pdf, p. 1"),
    ("How many returns did the South region have in Q3?", "12", "chandlery-sales.xlsx, sheet Q3"),
    ("What is the home port of the vessel Aurora?", "Kirkhamn", "fleet-register.csv"),
    ("When does release 2 of the harbour app ship?", "3 June", "app-roadmap.pptx, slide 2"),
    ("How far has the west channel buoy 7 been moved?", "40 metres", "notice-to-mariners.png"),
]


@pytest.mark.parametrize(("question", "fact", "where"), CASES)
def test_an_answer_cites_the_page_sheet_or_slide_it_comes_from(
    pipeline: Pipeline, question: str, fact: str, where: str
) -> None:
    answer = pipeline.chain.invoke(question)
    assert fact in answer.answer, answer.answer
    assert where in [c.where for c in answer.citations], [c.where for c in answer.citations]
