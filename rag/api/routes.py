"""The `/v1` routes: OpenAI-compatible chat completions, the model list, and search.

Answers come from the same `QAChain` as the chat and the CLI; this module only turns
OpenAI requests into a question with history, and the chain's events back into
OpenAI responses.
"""

import logging
import secrets
import time
import uuid
from collections.abc import Iterator
from itertools import chain, pairwise
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.types import ASGIApp, Receive, Scope, Send

from rag.answer import REFUSAL, Answer, Turn
from rag.answering.whole import resolve_documents
from rag.api.errors import ApiError
from rag.api.schemas import (
    MODEL_ID,
    AssistantMessage,
    ChatCompletion,
    ChatCompletionChunk,
    ChatMessage,
    ChatRequest,
    Choice,
    ChunkChoice,
    Delta,
    ErrorResponse,
    Model,
    ModelList,
    SearchRequest,
    SearchResponse,
)
from rag.chain import Delta as TextDelta
from rag.chain import Event, Retry, retrieve
from rag.errors import RagError
from rag.events import Progress
from rag.pipeline import Pipeline
from rag.retrieval import Passage, clean_query

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "Malformed request, or an unusable question"},
    401: {"model": ErrorResponse, "description": "Missing or wrong bearer token"},
}
LOADING: dict[int | str, dict[str, Any]] = {
    503: {
        "model": ErrorResponse,
        "description": "The model is loading, its server is down, or the index was built "
        "by other settings (rebuild it)",
    },
}
logger = logging.getLogger(__name__)
# OpenAPI 3.1 has a text/event-stream `schema` describe one event, as its fields.
SSE_EVENT = {
    "type": "object",
    "properties": {
        "data": {"type": "string", "description": "a chat.completion.chunk as JSON, or [DONE]"},
        "event": {"type": "string"},
        "id": {"type": "string"},
        "retry": {"type": "integer"},
    },
    "required": ["data"],
}
SSE = {200: {"content": {"text/event-stream": {"schema": SSE_EVENT}}}}


def message_text(message: ChatMessage) -> str:
    if message.content is None or isinstance(message.content, str):
        return message.content or ""
    if any(part.type != "text" for part in message.content):
        raise ApiError(400, "only text content is supported", param="messages")
    return "".join(part.text or "" for part in message.content)


def conversation(messages: list[ChatMessage], limit: int) -> tuple[str, list[Turn]]:
    """The question (the last user message) and the earlier exchanges it follows.

    System messages are ignored: the answer prompt is fixed, so a client cannot lift
    the rule that answers come only from the documents."""
    said = [(m.role, message_text(m)) for m in messages if m.role in ("user", "assistant")]
    if not said or said[-1][0] != "user":
        raise ApiError(400, "the last message must be the user's question", param="messages")
    try:
        question = clean_query(said[-1][1], limit)
    except RagError as exc:
        raise ApiError(400, str(exc), param="messages") from None
    history = [
        Turn(question=q, answer=a)
        for (asker, q), (answerer, a) in pairwise(said[:-1])
        if asker == "user" and answerer == "assistant"
    ]
    return question, history


def visible_text(events: Iterator[Event]) -> Iterator[str | Answer]:
    """What a streaming client is sent: the answer's text as it is generated, then the
    `Answer`. An attempt that begins as the plain refusal is held back, since the chain
    may retry it; a client cannot be told to forget text it has received."""
    held, live, sent = "", False, False
    for event in events:
        if isinstance(event, TextDelta):
            if live:
                yield event.text
                continue
            held += event.text
            if not REFUSAL.startswith(held.lstrip()):
                live = sent = True
                yield held
        elif isinstance(event, Retry):
            held, live = "", False
        elif isinstance(event, Progress):
            continue
        else:
            if not sent:
                yield event.answer
            yield event


def _service_error(exc: Exception) -> ApiError:
    """A failure while answering: the model's server is down or timed out (its message
    says which), or a bug, which is logged and not described to the client."""
    if isinstance(exc, RagError):
        return ApiError(503, str(exc), type="server_error", code="llm_unavailable")
    logger.error("answering failed", exc_info=exc)
    return ApiError(500, "internal error while answering; see the server log", type="server_error")


def api_router(pipeline: Pipeline, *, login_required: bool = False) -> APIRouter:
    """`login_required`: the browser UI asks for a login. Without an API key the API
    then stays closed rather than open to anyone who skips the login page."""
    settings = pipeline.settings
    started = int(time.time())
    bearer = HTTPBearer(auto_error=False, description="RAG_API_KEY, when the server sets one")

    def check_key(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> None:
        if settings.api_key is None:
            if login_required:
                raise ApiError(
                    401,
                    "the API is closed because the UI requires a login; set RAG_API_KEY",
                    code="api_closed",
                )
            return
        given = credentials.credentials if credentials else ""
        if not secrets.compare_digest(given.encode(), settings.api_key.get_secret_value().encode()):
            raise ApiError(
                401,
                "missing or wrong API key: send the header Authorization: Bearer <RAG_API_KEY>",
                code="invalid_api_key",
                headers={"WWW-Authenticate": "Bearer"},
            )

    router = APIRouter(prefix="/v1", dependencies=[Depends(check_key)], responses=ERRORS)

    def usable_index() -> None:
        if pipeline.store.problem:
            raise ApiError(503, pipeline.store.problem, type="server_error", code="index_mismatch")

    @router.post(
        "/chat/completions",
        response_model=ChatCompletion,
        responses={**LOADING, **SSE},
        summary="Answer the last user message from the documents, with citations",
    )
    def chat_completions(request: ChatRequest) -> Any:
        """OpenAI's chat completion. `choices[0].message.content` is the checked answer
        with `[n]` markers; `rag` holds its citations, `refused`, and the passages.
        With `stream`, server-sent `chat.completion.chunk` events carry the model's
        text as it is generated and the last one carries `rag`; `rag.answer` is the
        checked text, which can differ where a citation was corrected or the answer
        was refused."""
        question, history = conversation(request.messages, settings.answer.max_question_chars)
        usable_index()
        if not pipeline.model_ready.is_set():
            raise ApiError(
                503,
                "the model is still loading; retry in a few seconds",
                type="server_error",
                code="model_loading",
                headers={"Retry-After": "5"},
            )
        try:
            documents = resolve_documents(pipeline.store, request.documents)
        except RagError as exc:
            raise ApiError(400, str(exc), param="documents") from None
        events = pipeline.chain.stream(
            question, history, request.temperature, documents, request.route
        )
        try:  # up to the first event, so a dead backend gets a status code
            first = next(events)
        except Exception as exc:
            raise _service_error(exc) from None
        events = chain([first], events)
        reply_id, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        if request.stream:
            return StreamingResponse(
                _sse(events, reply_id, created),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )
        try:
            answer = next(e for e in events if isinstance(e, Answer))
        except Exception as exc:
            raise _service_error(exc) from None
        return ChatCompletion(
            id=reply_id,
            created=created,
            choices=[Choice(message=AssistantMessage(content=answer.answer))],
            rag=answer,
        )

    @router.get("/models", response_model=ModelList, summary="The one model: the document QA")
    def models() -> ModelList:
        return ModelList(data=[Model(created=started)])

    @router.get(
        "/models/{model}",
        response_model=Model,
        responses={404: {"model": ErrorResponse, "description": "No such model"}},
    )
    def model(model: str) -> Model:
        if model != MODEL_ID:
            raise ApiError(404, f"no model {model!r}; GET /v1/models lists it", param="model")
        return Model(created=started)

    @router.post(
        "/search",
        response_model=SearchResponse,
        responses=LOADING,
        summary="The passages a question retrieves, without asking the model",
    )
    def search(request: SearchRequest) -> SearchResponse:
        try:
            query = clean_query(request.query, settings.answer.max_question_chars)
        except RagError as exc:
            raise ApiError(400, str(exc), param="query") from None
        usable_index()
        passages: list[Passage] = retrieve(pipeline.retriever(request.k), query)
        return SearchResponse(query=query, data=passages)

    return router


def fallback(router: APIRouter) -> ASGIApp:
    """Mounted at `/v1` after the routes: 404 or 405 in the API's error shape, for any
    method, instead of falling through to the browser app mounted at `/`."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        path, method = scope["path"], scope["method"]
        allowed = sorted(
            allowed
            for route in router.routes
            if isinstance(route, APIRoute) and route.path_regex.match(path)
            for allowed in route.methods
        )
        error = (
            ApiError(
                405,
                f"{method} is not allowed on {path}; use {', '.join(allowed)}",
                code="method_not_allowed",
                headers={"Allow": ", ".join(allowed)},
            )
            if allowed
            else ApiError(404, f"no endpoint {path}; /openapi.json lists them", code="unknown_url")
        )
        await error.response()(scope, receive, send)

    return app


def _sse(events: Iterator[Event], reply_id: str, created: int) -> Iterator[str]:
    def chunk(delta: Delta, finish: bool = False, rag: Answer | None = None) -> str:
        body = ChatCompletionChunk(
            id=reply_id,
            created=created,
            choices=[ChunkChoice(delta=delta, finish_reason="stop" if finish else None)],
            rag=rag,
        )
        return f"data: {body.model_dump_json()}\n\n"

    yield chunk(Delta(role="assistant", content=""))
    try:
        for item in visible_text(events):
            if isinstance(item, Answer):
                yield chunk(Delta(), finish=True, rag=item)
            else:
                yield chunk(Delta(content=item))
    except Exception as exc:  # the status line is sent: report it the way OpenAI does
        yield f"data: {_service_error(exc).response().body.decode()}\n\n"
        return
    yield "data: [DONE]\n\n"
