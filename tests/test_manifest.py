"""The index manifest: what built an index, checked whenever it is opened."""

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

import rag
from rag.api.app import create_api
from rag.cli import main
from rag.embeddings import PACKAGED_NAME, SentenceTransformerEmbeddings
from rag.errors import RagError
from rag.ingest import ingest
from rag.manifest import MANIFEST_KEY, IndexMismatch, read_manifest
from rag.pipeline import Pipeline
from rag.settings import ChunkingSettings, Settings
from rag.store import open_store
from ui import documents

from conftest import ARTICLE


def indexed(settings: Settings, embeddings) -> int:
    store = open_store(settings, embeddings)
    ingest([ARTICLE], store, embeddings, settings, progress=False)
    return store.chunk_count()


def resized(settings: Settings, size: int = 800) -> Settings:
    return settings.model_copy(update={"chunking": ChunkingSettings(size=size, overlap=100)})


def another_model(folder: Path, dimension: int = 768) -> Path:
    """A sentence-transformers folder as the manifest reads it (no weights to load)."""
    (folder / "1_Pooling").mkdir(parents=True)
    (folder / "model.safetensors").write_bytes(b"other weights")
    (folder / "modules.json").write_text(json.dumps([{"path": "1_Pooling"}]))
    (folder / "1_Pooling" / "config.json").write_text(
        json.dumps({"word_embedding_dimension": dimension})
    )
    return folder


def test_a_new_index_records_what_built_it(settings, embeddings):
    indexed(settings, embeddings)
    manifest = read_manifest(open_store(settings, embeddings).vectors._collection)
    assert manifest is not None
    assert manifest.embedder.name == PACKAGED_NAME
    assert manifest.embedder.dimension == 384 and manifest.embedder.normalized
    assert len(manifest.embedder.sha256) == 64
    assert (manifest.chunker.size, manifest.chunker.overlap) == (600, 100)
    assert manifest.built_by == rag.__version__ and manifest.keywords


def test_a_changed_chunk_size_names_the_change_and_the_way_out(settings, embeddings):
    indexed(settings, embeddings)
    with pytest.raises(IndexMismatch) as raised:
        open_store(resized(settings), embeddings)
    message = str(raised.value)
    assert "chunk size 600 -> 800" in message and "rag ingest --rebuild" in message
    assert "\n" not in message and "embedding" not in message


def test_a_changed_model_is_refused_before_any_vector_meets_the_index(
    settings, embeddings, tmp_path
):
    chunks = indexed(settings, embeddings)
    other = SentenceTransformerEmbeddings(another_model(tmp_path / "e5-small"))
    with pytest.raises(IndexMismatch) as raised:
        open_store(settings, other)
    message = str(raised.value)
    assert f"embedding model {PACKAGED_NAME} (" in message and "e5-small" in message
    assert "embedding dimension 384 -> 768" in message
    assert other.documents_embedded == 0
    assert open_store(settings, embeddings).chunk_count() == chunks


def test_an_index_without_a_manifest_is_not_trusted(settings, embeddings):
    indexed(settings, embeddings)
    collection = open_store(settings, embeddings).vectors._collection
    collection.modify(metadata={MANIFEST_KEY: "not json"})
    with pytest.raises(IndexMismatch, match="records no manifest"):
        open_store(settings, embeddings)


def test_an_empty_index_adopts_the_settings_it_is_opened_with(settings, embeddings):
    open_store(settings, embeddings)  # empty: nothing to mix
    store = open_store(resized(settings), embeddings)
    assert read_manifest(store.vectors._collection).chunker.size == 800


def test_a_server_opens_a_mismatched_index_to_say_why_and_touches_nothing(
    settings, embeddings, tmp_path
):
    chunks = indexed(settings, embeddings)
    changed = resized(settings).model_copy(update={"api_key": SecretStr("k")})
    pipeline = Pipeline.from_settings(changed, on_mismatch="record")
    assert "chunk size 600 -> 800" in (pipeline.store.problem or "")
    with pytest.raises(RagError, match="chunk size"):
        pipeline.retriever()
    with pytest.raises(RagError, match="chunk size"):
        ingest([ARTICLE], pipeline.store, embeddings, changed, progress=False)

    api = TestClient(create_api(pipeline), raise_server_exceptions=False)
    auth = {"Authorization": "Bearer k"}
    for path, body in (
        ("/v1/search", {"query": "spokesperson"}),
        ("/v1/chat/completions", {"messages": [{"role": "user", "content": "Who?"}]}),
    ):
        reply = api.post(path, json=body, headers=auth)
        assert reply.status_code == 503, reply.text
        assert reply.json()["error"]["code"] == "index_mismatch"
        assert "rag ingest --rebuild" in reply.json()["error"]["message"]

    upload = tmp_path / "gradio" / "kiwi.txt"
    upload.parent.mkdir()
    upload.write_text("Kiwis are flightless birds.\n", encoding="utf-8")
    with pytest.raises(RagError, match="chunk size"):
        documents.add_uploads(pipeline, [(upload, "kiwi.txt")])
    assert not (documents.uploads_dir(pipeline) / "kiwi.txt").exists()
    assert open_store(settings, embeddings).chunk_count() == chunks


def test_the_page_shows_the_mismatch_in_a_banner(settings, embeddings):
    from ui.app import build_app

    indexed(settings, embeddings)
    app = build_app(Pipeline.from_settings(resized(settings), on_mismatch="record"))
    [banner] = [
        f.fn for f in app.fns.values() if getattr(f.fn, "__name__", "") == "index_banner_state"
    ]
    shown = banner()
    assert shown["visible"] is True
    assert shown["value"].startswith("**The index cannot be used:** the index in")
    assert "chunk size 600 -> 800" in shown["value"]


def test_a_server_follows_the_rebuild_that_mends_its_index(settings, embeddings):
    from rag.ingest import rebuild

    indexed(settings, embeddings)
    server = Pipeline.from_settings(resized(settings), on_mismatch="record")
    assert server.store.problem
    rebuild([ARTICLE], server.store, embeddings, resized(settings), progress=False)
    assert server.store.problem is None  # the banner and the 503s go
    assert server.retriever().invoke("What did the Meta spokesperson say?")
    assert read_manifest(server.store.vectors._collection).chunker.size == 800


def test_a_scratch_index_is_rebuilt_instead(settings, embeddings):
    indexed(settings, embeddings)
    store = open_store(resized(settings), embeddings, on_mismatch="rebuild")
    assert store.chunk_count() == 0 and store.sources() == {}
    assert read_manifest(store.vectors._collection).chunker.size == 800
    assert indexed(resized(settings), embeddings) > 0


def test_the_cli_says_it_in_one_line_then_rebuild_mends_it(settings, tmp_path, capsys):
    data = ["--data-dir", str(settings.data_dir)]
    assert main([*data, "ingest", str(ARTICLE)]) == 0
    capsys.readouterr()
    resize = {"RAG_CHUNKING__SIZE": "800"}
    with pytest.MonkeyPatch.context() as env:
        for name, value in resize.items():
            env.setenv(name, value)
        for command in (["search", "spokesperson"], ["ingest", str(ARTICLE)], ["documents"]):
            assert main([*data, *command]) == 1
            err = capsys.readouterr().err
            assert err.count("\n") == 1 and "chunk size 600 -> 800" in err, err
        assert main([*data, "ingest", "--rebuild", str(ARTICLE)]) == 0
        assert main([*data, "search", "spokesperson"]) == 0
