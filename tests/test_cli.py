import io
import json
import re
import shutil
from pathlib import Path

import pytest

from rag.cli import main

from conftest import ARTICLE, CORPUS, run_rag

QUESTION = "what did the Meta spokesperson say?"


@pytest.mark.slow
def test_ingest_then_search_json_then_nothing_to_embed(tmp_path: Path) -> None:
    shutil.copytree(CORPUS, tmp_path / "corpus")
    first = run_rag("ingest", "corpus/", cwd=tmp_path)
    assert first.code == 0, first.stderr
    added = re.search(r"Chunks: (\d+) added, .* (\d+) embedded", first.stdout)
    assert added and int(added[1]) == int(added[2]) > 0, first.stdout
    assert (tmp_path / ".rag" / "chroma").is_dir()

    found = run_rag("search", QUESTION, "--json", "-k", "3", cwd=tmp_path)
    assert found.code == 0, found.stderr
    payload = json.loads(found.stdout)
    text = ARTICLE.read_text(encoding="utf-8")
    assert payload["k"] == 3 and len(payload["results"]) == 3
    for hit in payload["results"]:
        assert {"score", "source", "start", "end", "text"} <= hit.keys()
        assert text[hit["start"] : hit["end"]] == hit["text"]

    again = run_rag("ingest", "corpus/", cwd=tmp_path)
    assert again.code == 0, again.stderr
    assert "0 embedded" in again.stdout
    assert "1 skipped (unchanged)" in again.stdout


def test_default_path_is_corpus_and_help_explains(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "rag ingest" in out and "RAG_" in out
    assert main(["ingest"]) == 1  # cwd is an empty temp dir: no corpus/ here
    err = capsys.readouterr().err
    assert err.strip() == "rag: error: no such file or folder: corpus"


def _documents(data_dir: Path, capsys) -> str:
    assert main(["--data-dir", str(data_dir), "documents"]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (None, None, "no such file or folder"),
        ("empty.txt", b"", "empty file"),
        ("binary.txt", bytes(range(256)), "binary file"),
        ("latin1.txt", "cr\u00e8me br\u00fbl\u00e9e".encode("latin-1"), "not UTF-8 text"),
        ("slides.key", b"PK\x03\x04", "unsupported file type '.key'"),
    ],
)
def test_bad_input_one_line_error_and_index_unchanged(
    tmp_path: Path, capsys, name: str | None, content: bytes | None, message: str
) -> None:
    data = tmp_path / "index"
    assert main(["--data-dir", str(data), "ingest", str(CORPUS)]) == 0
    capsys.readouterr()
    before = _documents(data, capsys)

    bad = tmp_path / (name or "missing.txt")
    if content is not None:
        bad.write_bytes(content)
    code = main(["--data-dir", str(data), "ingest", str(bad)])
    captured = capsys.readouterr()
    assert code == 1
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rag: error: ") and message in lines[0]
    assert "Traceback" not in captured.err + captured.out
    assert _documents(data, capsys) == before


def test_folder_with_good_and_bad_files_reports_the_bad(tmp_path: Path, capsys) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(ARTICLE, docs)
    (docs / "empty.md").write_bytes(b"")
    (docs / "notes.txt").write_text("Kiwis are flightless birds from New Zealand.")
    code = main(["--data-dir", str(tmp_path / "index"), "ingest", str(docs)])
    captured = capsys.readouterr()
    assert code == 1
    assert "2 added" in captured.out
    assert captured.err.strip().splitlines() == [
        "rag: error: docs/empty.md: empty file, nothing to index"
    ]


def test_search_rejects_an_empty_query(tmp_path: Path, capsys) -> None:
    assert main(["search", "  "]) == 1
    assert capsys.readouterr().err.strip() == "rag: error: the question is empty"


@pytest.mark.parametrize(
    ("question", "message"),
    [
        ("", "the question is empty"),
        (" \n\t\x07 ", "the question is empty"),
        ("x" * 100_000, "the question is too long (100,000 characters; the limit is 4,000)"),
    ],
)
def test_ask_rejects_an_unusable_question_before_loading_anything(
    tmp_path: Path, capsys, question: str, message: str
) -> None:
    assert main(["--data-dir", str(tmp_path / "d"), "ask", question]) == 1
    assert capsys.readouterr().err.strip() == f"rag: error: {message}"
    assert not (tmp_path / "d").exists()  # no index opened, no model assembled


def test_ask_about_a_document_that_is_not_indexed_names_the_indexed_ones(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    data = str(tmp_path / "index")
    assert main(["--data-dir", data, "ingest", str(CORPUS)]) == 0
    capsys.readouterr()
    wanted = "rag: error: no indexed document is named 'x.pdf' (indexed: " + ARTICLE.name + ")"
    assert main(["--data-dir", data, "ask", "--doc", "x.pdf", "Summarize it."]) == 1
    assert capsys.readouterr().err.strip() == wanted
    monkeypatch.setattr("sys.stdin", io.StringIO("Summarize it.\n"))
    assert main(["--data-dir", data, "ask", "--json", "--doc", "x.pdf", "-"]) == 1
    assert capsys.readouterr().err.strip() == wanted


def test_ask_on_an_empty_index_says_how_to_fill_it(tmp_path: Path, capsys, monkeypatch) -> None:
    data = str(tmp_path / "empty")
    assert main(["--data-dir", data, "ask", "What did the spokesperson say?"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("rag: error: the index is empty") and "rag ingest PATH" in err
    monkeypatch.setattr("sys.stdin", io.StringIO("What did the spokesperson say?\n"))
    assert main(["--data-dir", data, "ask", "--json", "-"]) == 1
    assert "the index is empty" in capsys.readouterr().err


def test_remove_drops_a_document(tmp_path: Path, capsys) -> None:
    data = str(tmp_path / "index")
    assert main(["--data-dir", data, "ingest", str(CORPUS)]) == 0
    capsys.readouterr()
    assert main(["--data-dir", data, "remove", str(ARTICLE)]) == 0
    assert re.match(r"Removed 1 documents \(\d+ chunks\)", capsys.readouterr().out)
    assert "0 documents, 0 chunks" in _documents(Path(data), capsys)
    assert main(["--data-dir", data, "remove", str(ARTICLE)]) == 1
    assert "not in the index" in capsys.readouterr().err


def test_bad_input_in_a_real_process_prints_no_traceback(tmp_path: Path) -> None:
    (tmp_path / "blob.txt").write_bytes(b"\x00\x01\x02")
    done = run_rag("ingest", "blob.txt", cwd=tmp_path)
    assert done.code == 1
    assert done.stderr.strip() == "rag: error: blob.txt: binary file, not text"


@pytest.mark.parametrize("auth", ["nocolon", ":pw", "user:"])
def test_ui_refuses_malformed_credentials(tmp_path: Path, capsys, auth: str) -> None:
    assert main(["--data-dir", str(tmp_path / "d"), "ui", "--auth", auth]) == 1
    assert "--auth wants USER:PASSWORD" in capsys.readouterr().err


def test_ui_refuses_a_user_given_twice(tmp_path: Path, capsys) -> None:
    argv = ["--data-dir", str(tmp_path / "d"), "ui", "--auth", "ann:a,bob:b", "--auth", "ann:c"]
    assert main(argv) == 1
    assert capsys.readouterr().err.strip() == "rag: error: --auth names a user twice"


def test_ui_on_a_busy_port_says_so(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = run_rag("--data-dir", str(tmp_path / "d"), "ui", "--port", str(port), cwd=tmp_path)
    assert done.code == 1
    assert f"cannot serve on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr
