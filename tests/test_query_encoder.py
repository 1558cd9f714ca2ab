"""The question's embedding through ONNX Runtime: PyTorch's vectors, exported once."""

import logging

import numpy as np
import pytest

from rag.embeddings import SentenceTransformerEmbeddings, packaged_model_path
from rag.query_encoder import OnnxQueryEncoder

QUESTIONS = [
    "What did the Meta spokesperson say?",
    "Wer ist der Sprecher von Meta? Ça coûte combien ? 价格是多少",
    "behemoth " * 400,  # past MiniLM's 256 tokens: truncated as sentence-transformers does
]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> SentenceTransformerEmbeddings:
    embedder = SentenceTransformerEmbeddings(
        packaged_model_path(), onnx_dir=tmp_path_factory.mktemp("onnx")
    )
    embedder.embed_query("warm up: the export happens here")
    return embedder


def torch_vector(embedder: SentenceTransformerEmbeddings, text: str) -> np.ndarray:
    return embedder.model.encode([text], normalize_embeddings=True)[0]


def test_a_question_gets_pytorchs_vector_from_the_onnx_export(exported):
    assert isinstance(exported._query_encoder, OnnxQueryEncoder)
    (model_file,) = exported.onnx_dir.iterdir()
    assert model_file.name.startswith(exported.identity().sha256[:16])
    for question in QUESTIONS:
        vector = np.array(exported.embed_query(question))
        assert vector.shape == (384,)
        assert abs(np.linalg.norm(vector) - 1) < 1e-5
        assert float(vector @ torch_vector(exported, question)) > 0.99999
    # A question is not embedded like a neighbouring one: the vectors are the text's own.
    first, second = (np.array(exported.embed_query(q)) for q in QUESTIONS[:2])
    assert float(first @ second) < 0.9


def test_a_second_process_reuses_the_export(exported, monkeypatch):
    def no_export(*args: object) -> None:
        raise AssertionError("exported again")

    monkeypatch.setattr("rag.query_encoder.export", no_export)
    again = SentenceTransformerEmbeddings(packaged_model_path(), onnx_dir=exported.onnx_dir)
    question = QUESTIONS[0]
    assert np.allclose(again.embed_query(question), exported.embed_query(question), atol=1e-6)


def test_a_damaged_export_is_made_again(exported, tmp_path):
    (model_file,) = exported.onnx_dir.iterdir()
    folder = tmp_path / "onnx"
    folder.mkdir()
    (folder / model_file.name).write_bytes(b"not an onnx graph")
    embedder = SentenceTransformerEmbeddings(packaged_model_path(), onnx_dir=folder)
    # The damaged file is removed and the next question's embedder exports it anew.
    vector = embedder.embed_query(QUESTIONS[0])
    assert float(np.dot(vector, torch_vector(exported, QUESTIONS[0]))) > 0.99999
    fresh = SentenceTransformerEmbeddings(packaged_model_path(), onnx_dir=folder)
    fresh.embed_query(QUESTIONS[0])
    assert isinstance(fresh._query_encoder, OnnxQueryEncoder)
    assert (folder / model_file.name).stat().st_size > 1_000_000


def test_no_writable_cache_means_pytorch_and_one_warning(exported, tmp_path, caplog):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    embedder = SentenceTransformerEmbeddings(packaged_model_path(), onnx_dir=blocked / "onnx")
    with caplog.at_level(logging.WARNING, logger="rag.embeddings"):
        vectors = [embedder.embed_query(QUESTIONS[0]) for _ in range(2)]
    assert embedder.query_runtime == "torch" and embedder._query_encoder is None
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and "questions are embedded by PyTorch" in warnings[0]
    assert str(blocked) in warnings[0]
    assert float(np.dot(vectors[1], torch_vector(exported, QUESTIONS[0]))) > 0.99999


def test_the_torch_runtime_never_exports(tmp_path):
    folder = tmp_path / "onnx"
    embedder = SentenceTransformerEmbeddings(
        packaged_model_path(), query_runtime="torch", onnx_dir=folder
    )
    assert len(embedder.embed_query(QUESTIONS[0])) == 384
    assert embedder._query_encoder is None and not folder.exists()
