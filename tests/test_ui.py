"""The UI's pieces without a browser: rendering, uploads, the document list."""

import json
import time
from pathlib import Path

import pytest

from rag.answer import Answer, Citation
from rag.errors import RagError
from rag.pipeline import Pipeline
from ui import documents
from ui.render import sources_html

PAYLOAD = '<script>alert(1)</script> <img src=x onerror="alert(2)"> ![t](http://203.0.113.9/t.png)'


def _citation(path: Path, start: int, end: int) -> Citation:
    text = path.read_text(encoding="utf-8")
    return Citation(
        n=1,
        support=1.0,
        chunk_id="c1",
        source=str(path),
        name=path.name,
        title=path.stem,
        chunk=0,
        start=start,
        end=end,
        score=0.5,
        text=text[start:end],
    )


def _answer(citations: list[Citation], refused: bool = False) -> Answer:
    return Answer(
        question="q",
        standalone_question="q",
        answer="The documents don't say." if refused else "It is so [1].",
        refused=refused,
        refusal_reason="no passage is close enough" if refused else None,
        citations=[] if refused else citations,
        passages=citations,
    )


def test_cited_span_is_highlighted_inside_its_escaped_surroundings(tmp_path):
    doc = tmp_path / "doc.txt"
    doc.write_text(f"Before the span. {PAYLOAD} The cited part. After it.", encoding="utf-8")
    text = doc.read_text(encoding="utf-8")
    start = text.index("The cited part.")
    html = sources_html(_answer([_citation(doc, start, start + len("The cited part."))]))
    assert '<mark class="cited">The cited part.</mark>' in html
    assert "Before the span." in html and "After it." in html
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;" in html and "&lt;img src=x" in html


def test_a_partial_answer_says_what_the_documents_do_not_cover(tmp_path):
    doc = tmp_path / "doc.txt"
    doc.write_text("The bridge opened in 1932. Tolls went in 1985.", encoding="utf-8")
    answer = _answer([_citation(doc, 0, 26)]).model_copy(
        update={
            "outcome": "partial",
            "unanswered": ["The documents don't say who <b>built</b> it."],
        }
    )
    html = sources_html(answer)
    assert '<div class="partial-title">Partly answered</div>' in html
    assert "who &lt;b&gt;built&lt;/b&gt; it" in html
    assert '<mark class="cited">The bridge opened in 1932.</mark>' in html
    assert "Partly answered" not in sources_html(_answer([_citation(doc, 0, 26)]))


def test_a_changed_file_shows_the_chunk_alone(tmp_path):
    doc = tmp_path / "doc.txt"
    doc.write_text("Alpha beta gamma. Delta epsilon.", encoding="utf-8")
    citation = _citation(doc, 0, 17)
    doc.write_text("Completely different text now, longer than before.", encoding="utf-8")
    html = sources_html(_answer([citation]))
    assert '<mark class="cited">Alpha beta gamma.</mark>' in html
    assert "Completely" not in html


def test_a_refusal_looks_different_and_lists_the_closest_passages(tmp_path):
    doc = tmp_path / "doc.txt"
    doc.write_text("Some unrelated passage.", encoding="utf-8")
    html = sources_html(_answer([_citation(doc, 0, 23)], refused=True))
    assert 'class="refused-card"' in html and "The documents don" in html
    assert "no passage is close enough" in html and "Closest passages" in html


@pytest.mark.parametrize(
    ("name", "expected"),
    [("../../etc/x.txt", "x.txt"), ("/abs/path/y.md", "y.md"), ("..\\win\\z.txt", "z.txt")],
)
def test_upload_names_lose_their_folders(name, expected):
    assert documents.safe_name(name) == expected


@pytest.mark.parametrize("name", ["", "..", ".hidden.txt", "/", "a/.."])
def test_unusable_upload_names_are_refused(name):
    with pytest.raises(RagError):
        documents.safe_name(name)


@pytest.fixture
def pipeline(settings, embeddings) -> Pipeline:
    from rag.store import open_store

    return Pipeline(settings, embeddings, open_store(settings, embeddings))


def _upload(tmp_path: Path, name: str, data: bytes) -> tuple[Path, str]:
    folder = tmp_path / "gradio-temp" / name.replace("/", "_")
    folder.mkdir(parents=True)
    path = folder / "upload.bin"
    path.write_bytes(data)
    return path, name


def test_uploads_are_stored_under_the_data_dir_and_indexed(tmp_path, pipeline):
    good = _upload(tmp_path, "../../escape.txt", b"Kiwis are flightless birds of New Zealand.")
    report, problems = documents.add_uploads(pipeline, [good])
    assert problems == []
    assert report is not None and len(report.new) == 1
    stored = documents.uploads_dir(pipeline) / "escape.txt"
    assert stored.is_file() and not (tmp_path / "escape.txt").exists()
    assert documents.document_rows(pipeline) == [["escape.txt", 1, str(stored)]]


def test_duplicate_uploads_keep_one_document(tmp_path, pipeline):
    kiwi = b"Kiwis are flightless birds of New Zealand."
    first, _ = documents.add_uploads(pipeline, [_upload(tmp_path / "1", "kiwi.txt", kiwi)])
    again, problems = documents.add_uploads(pipeline, [_upload(tmp_path / "2", "kiwi.txt", kiwi)])
    assert problems == [] and len(first.new) == 1 and len(again.unchanged) == 1
    same_batch = [
        _upload(tmp_path / "3", "kiwi.txt", b"Kiwis lay very large eggs."),
        _upload(tmp_path / "4", "kiwi.txt", b"Another kiwi text."),
    ]
    report, problems = documents.add_uploads(pipeline, same_batch)
    assert len(report.updated) == 1 and len(problems) == 1 and "second file named" in problems[0]
    stored = documents.uploads_dir(pipeline) / "kiwi.txt"
    assert stored.read_bytes() == b"Kiwis lay very large eggs."
    assert [row[:2] for row in documents.document_rows(pipeline)] == [["kiwi.txt", 1]]


def test_bad_uploads_are_reported_and_leave_the_index_as_it_was(tmp_path, pipeline):
    documents.add_uploads(pipeline, [_upload(tmp_path, "keep.txt", b"A document to keep.")])
    before = pipeline.store.sources()
    bad = [
        _upload(tmp_path, "empty.txt", b""),
        _upload(tmp_path, "binary.txt", bytes(range(256)) * 4),
        _upload(tmp_path, "latin1.txt", "caf\xe9 cr\xe8me".encode("latin-1")),
        _upload(tmp_path, "tool.exe", b"MZ\x90\x00"),
    ]
    report, problems = documents.add_uploads(pipeline, bad)
    assert report is None
    assert [p.split(":")[0] for p in problems] == [
        "empty.txt",
        "binary.txt",
        "latin1.txt",
        "tool.exe",
    ]
    assert pipeline.store.sources() == before
    assert sorted(p.name for p in documents.uploads_dir(pipeline).iterdir()) == ["keep.txt"]


def test_an_oversized_upload_is_refused(tmp_path, pipeline):
    report, problems = documents.add_uploads(
        pipeline, [_upload(tmp_path, "big.txt", b"x " * 1000)], max_bytes=100
    )
    assert report is None and "larger than" in problems[0]


def test_listing_filters_and_delete_removes_an_upload(tmp_path, pipeline):
    documents.add_uploads(
        pipeline,
        [
            _upload(tmp_path, "alpha.txt", b"Alpha document text."),
            _upload(tmp_path, "beta.md", b"# Beta\n\nBeta document text."),
        ],
    )
    assert [r[0] for r in documents.document_rows(pipeline, "BETA")] == ["beta.md"]
    source = str(documents.uploads_dir(pipeline) / "alpha.txt")
    assert documents.delete_document(pipeline, source) == 1
    assert [r[0] for r in documents.document_rows(pipeline)] == ["beta.md"]
    assert not Path(source).exists()
    with pytest.raises(RagError, match="not in the index"):
        documents.delete_document(pipeline, source)


def test_reindex_picks_up_changed_files_and_drops_vanished_ones(tmp_path, pipeline):
    documents.add_uploads(
        pipeline,
        [_upload(tmp_path, "a.txt", b"First text."), _upload(tmp_path, "b.txt", b"Other.")],
    )
    folder = documents.uploads_dir(pipeline)
    (folder / "a.txt").write_text("First text, now changed.", encoding="utf-8")
    (folder / "b.txt").unlink()
    report = documents.reindex(pipeline)
    assert report.updated == [str(folder / "a.txt")]
    assert report.removed == [str(folder / "b.txt")]
    assert list(pipeline.store.sources()) == [str(folder / "a.txt")]


def test_the_evaluation_tab_lists_runs_newest_first_and_compares_two(tmp_path):
    from ui.evaluation import compare, reports

    assert compare(None, None)[0].startswith("No report yet")
    for name, started, hit in (("old", "2026-01-01", 0.8), ("new", "2026-02-02", 0.9)):
        folder = tmp_path / "eval" / "article" / name
        folder.mkdir(parents=True)
        report = {"name": name, "started": started, "seconds": 3, "summary": {"hit_at_3": hit}}
        (folder / "report.json").write_text(json.dumps(report), encoding="utf-8")
        (folder / "report.html").write_text(f"<h1>{name} & co</h1>", encoding="utf-8")
        time.sleep(0.01)
    newest, older = reports(tmp_path)
    assert newest.parent.name == "new" and older.parent.name == "old"
    heading, rows, frame = compare(newest, None)
    assert "`new`" in heading and rows == [["hit_at_3", 0.9]]
    assert 'sandbox=""' in frame and "&lt;h1&gt;new &amp; co" in frame
    heading, rows, _ = compare(newest, older)
    assert "compared with `old`" in heading and rows == [["hit_at_3", 0.9, 0.8]]


def test_an_uploaded_question_set_with_a_schema_error_names_line_and_field(tmp_path):
    from rag.errors import RagError
    from ui.evaluation import UPLOAD, load_set

    upload = tmp_path / "mine.yaml"
    upload.write_text("corpus: docs\nquestions:\n  - id: a\n    question: q\n    answerable: 3\n")
    with pytest.raises(RagError, match=r"line 5: questions\.0\.answerable"):
        load_set(UPLOAD, str(upload), "", tmp_path / "data")
    with pytest.raises(RagError, match="upload first"):
        load_set(UPLOAD, None, "", tmp_path / "data")
    path, article = load_set("article", None, "whole", tmp_path / "data")
    assert path.name == "article.yaml" and {q.id for q in article.questions} >= {"whole-summary"}


def test_a_long_document_list_is_paged() -> None:
    rows: list[list[object]] = [[f"doc{i:03}.txt", 1, f"/d/doc{i:03}.txt"] for i in range(120)]
    shown, page, label = documents.page_of(rows, 3)
    assert page == 3 and [r[0] for r in shown] == [f"doc{i:03}.txt" for i in range(100, 120)]
    assert label == "120 documents; page 3 of 3 (101-120)"
    assert documents.page_of(rows, 99)[1] == 3  # past the end: the last page
    assert documents.page_of(rows, 0)[0][0][0] == "doc000.txt"
    assert documents.page_of(rows[:1], 1)[2] == "1 document"
    assert documents.page_of([], 1)[2] == "No documents match."


def test_a_damaged_chat_store_is_one_line_in_the_page_and_the_chat_still_builds(tmp_path, pipeline):
    from rag.chats.store import SavedChats
    from ui.app import build_app

    bad = tmp_path / "chats.sqlite"
    bad.write_bytes(b"not sqlite" * 100)
    app = build_app(pipeline, SavedChats.open(bad))
    [banner] = [f.fn for f in app.fns.values() if getattr(f.fn, "__name__", "") == "chats_banner"]
    shown = banner()
    assert shown["visible"] is True
    assert shown["value"].startswith("**Chats are not saved:** the saved chats in")
    assert "file is not a database" in shown["value"] and "\n" not in shown["value"]
    assert bad.read_bytes() == b"not sqlite" * 100  # left for the user to look at
