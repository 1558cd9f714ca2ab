"""One process, one port: the API under `/v1` and the browser chat at `/`, both on one
FastAPI app served by uvicorn."""

import socket
import sys
import threading
import time

import gradio as gr
import uvicorn
from fastapi import FastAPI

from rag.api.app import create_api
from rag.chats.store import SavedChats
from rag.pipeline import Pipeline
from ui.app import build_app
from ui.render import CSS


def create_app(pipeline: Pipeline, *, auth: list[tuple[str, str]] | None = None) -> FastAPI:
    ui = pipeline.settings.ui
    chats = SavedChats.open(pipeline.settings.chats_db)  # one store for the chat and the API
    if chats.problem:
        print(f"rag ui: {chats.problem}", file=sys.stderr, flush=True)
    app = create_api(pipeline, login_required=auth is not None, chats=chats)
    blocks = build_app(pipeline, chats)
    blocks.queue(default_concurrency_limit=pipeline.settings.llm.parallel)
    return gr.mount_gradio_app(
        app,
        blocks,
        path="/",
        server_name=ui.host,
        server_port=ui.port,
        auth=auth,
        css=CSS,
        max_file_size=f"{ui.max_upload_mb}mb",
        footer_links=["api"],
        ssr_mode=False,
    )


def _listen(host: str, port: int) -> socket.socket:
    """Bound here rather than by uvicorn, which exits the process on a busy port."""
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    return socket.create_server((host, port), family=family)


def serve(pipeline: Pipeline, *, auth: list[tuple[str, str]] | None = None) -> None:
    """Serve until interrupted; prints the URLs once the page can be opened, then loads
    the model (the API answers 503 until it is ready)."""
    ui = pipeline.settings.ui
    sock = _listen(ui.host, ui.port)
    config = uvicorn.Config(
        create_app(pipeline, auth=auth), log_level="warning", timeout_graceful_shutdown=3
    )
    server = uvicorn.Server(config)

    def announce() -> None:
        while not server.started:
            if server.should_exit:
                return
            time.sleep(0.05)
        base = f"http://{ui.host}:{sock.getsockname()[1]}"
        print(f"rag ui: serving {base}/" + (" (login required)" if auth else ""), flush=True)
        key = "bearer token required" if pipeline.settings.api_key else "no API key set"
        print(f"rag ui: OpenAI-compatible API at {base}/v1 ({key})", flush=True)
        pipeline.warm()

    threading.Thread(target=announce, name="announce", daemon=True).start()
    server.run(sockets=[sock])
