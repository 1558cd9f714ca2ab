"""A real Chroma server (`chroma run`) behind RAG_CHROMA_URL: same commands, same answers."""

from pathlib import Path

import chromadb
import pytest

from rag import chroma_server
from rag.cli import main
from rag.pipeline import Pipeline
from rag.settings import load_settings

from conftest import ARTICLE, CORPUS, free_port


@pytest.mark.slow
def test_ingest_and_ask_through_a_chroma_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model_file: Path, capsys
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    data = tmp_path / "data"
    server = chroma_server.start(tmp_path / "server", "127.0.0.1", port)
    try:
        chroma_server.wait_ready(server, url)
        monkeypatch.setenv("RAG_CHROMA_URL", url)
        assert main(["--data-dir", str(data), "ingest", str(CORPUS)]) == 0
        assert not (data / "chroma").exists()  # no embedded store was made
        settings = load_settings(data_dir=data, llm={"model_file": model_file})
        pipeline = Pipeline.from_settings(settings)
        indexed = pipeline.store.chunk_count()
        remote = chromadb.HttpClient(host="127.0.0.1", port=port)
        assert remote.get_collection(settings.store.collection).count() == indexed > 0

        answer = pipeline.chain.invoke("What did the Meta spokesperson say?")
        assert not answer.refused
        assert answer.citations
        assert {c.source for c in answer.citations} == {str(ARTICLE)}

        # --rebuild fills a new collection on the server, switches to it, drops the old.
        capsys.readouterr()
        assert main(["--data-dir", str(data), "ingest", "--rebuild", str(CORPUS)]) == 0
        assert f"{indexed} embedded" in capsys.readouterr().out
        assert [c.name for c in remote.list_collections()] == ["documents.1"]
        assert remote.get_collection("documents.1").count() == indexed
        assert pipeline.chain.invoke("What did the Meta spokesperson say?").citations
    finally:
        chroma_server.stop(server)
    assert server.returncode is not None

    capsys.readouterr()
    assert main(["--data-dir", str(data), "documents"]) == 1
    error = capsys.readouterr().err
    assert f"cannot reach the Chroma server at {url}" in error
    assert error.count("\n") == 1


def test_a_busy_port_is_one_line(tmp_path: Path, capsys) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = main(["--data-dir", str(tmp_path), "chroma-server", "--port", str(port)])
    assert code == 1
    assert f"cannot serve on 127.0.0.1:{port}" in capsys.readouterr().err
