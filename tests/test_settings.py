from pathlib import Path

import pytest

from rag.errors import RagError
from rag.settings import load_settings


def test_defaults() -> None:
    settings = load_settings()
    assert settings.data_dir == Path(".rag")
    assert settings.store.collection == "documents"
    assert settings.retrieval.k == 3
    assert settings.chunking.overlap < settings.chunking.size


def test_toml_file_then_environment_then_arguments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "rag.toml").write_text(
        'data_dir = "/srv/rag"\n[retrieval]\nk = 7\n[chunking]\nsize = 900\n'
    )
    settings = load_settings()
    assert (settings.data_dir, settings.retrieval.k, settings.chunking.size) == (
        Path("/srv/rag"),
        7,
        900,
    )
    monkeypatch.setenv("RAG_RETRIEVAL__K", "9")
    assert load_settings().retrieval.k == 9
    assert load_settings(retrieval={"k": 2}).retrieval.k == 2


def test_rag_config_points_at_another_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "other.toml"
    other.write_text('[store]\ncollection = "papers"\n')
    monkeypatch.setenv("RAG_CONFIG", str(other))
    assert load_settings().store.collection == "papers"
    monkeypatch.setenv("RAG_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(RagError, match="config file not found"):
        load_settings()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"RAG_RETRIEVAL__K": "0"}, "invalid setting retrieval.k"),
        ({"RAG_RETRIEVAL__K": "many"}, "invalid setting retrieval.k"),
        ({"RAG_CHUNKING__SIZE": "100", "RAG_CHUNKING__OVERLAP": "100"}, "overlap (100)"),
        ({"RAG_STORE__COLLECTION": "a/b"}, "invalid setting store.collection"),
        ({"RAG_CHROMA_URL": "127.0.0.1:8000"}, "chroma_url: wants http://HOST:PORT"),
        ({"RAG_CHROMA_URL": "http://h:99999"}, "chroma_url: wants http://HOST:PORT"),
        (
            {"RAG_RETRIEVAL_K": "1"},
            "unknown setting RAG_RETRIEVAL_K (did you mean RAG_RETRIEVAL__K?)",
        ),
    ],
)
def test_bad_values_give_one_line(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(RagError) as raised:
        load_settings()
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_malformed_toml_is_reported(tmp_path: Path) -> None:
    (tmp_path / "rag.toml").write_text("[retrieval\nk = 3\n")
    with pytest.raises(RagError, match=r"cannot read rag\.toml"):
        load_settings()
