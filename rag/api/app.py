"""The API as a FastAPI app; `rag ui` mounts the browser chat on the same app."""

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

import rag
from rag.api.chats import add_chat_routes
from rag.api.errors import install_error_handlers
from rag.api.routes import api_router, fallback
from rag.chats.store import SavedChats
from rag.pipeline import Pipeline

DESCRIPTION = """\
Answers from your documents, with the passages they come from.

`POST /v1/chat/completions` speaks OpenAI's chat completion protocol, so the official
clients work unchanged; the extra `rag` field carries citations, `refused` and the
passages. `POST /v1/search` returns passages without the model. Send
`Authorization: Bearer <RAG_API_KEY>` when the server sets a key.
"""


def create_api(
    pipeline: Pipeline, *, login_required: bool = False, chats: SavedChats | None = None
) -> FastAPI:
    # No /docs: Swagger UI loads its scripts from a CDN, and this runs offline.
    app = FastAPI(
        title="rag", version=rag.__version__, description=DESCRIPTION, docs_url=None, redoc_url=None
    )
    install_error_handlers(app)
    router = api_router(pipeline, login_required=login_required)
    add_chat_routes(router, chats or SavedChats.open(pipeline.settings.chats_db))
    app.include_router(router)
    app.mount("/v1", fallback(router))

    def openapi() -> dict[str, Any]:
        # Invalid requests get 400 in OpenAI's error shape, never FastAPI's 422.
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            for operations in schema["paths"].values():
                for operation in operations.values():
                    operation.get("responses", {}).pop("422", None)
            for name in ("HTTPValidationError", "ValidationError"):
                schema.get("components", {}).get("schemas", {}).pop(name, None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
