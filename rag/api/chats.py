"""`GET /v1/chats`: the conversations the browser chat saved, as JSON or Markdown.

The API has one key, not users: its holder sees every user's chats (as the CLI does),
and may narrow them with `user`.
"""

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse

from rag.api.errors import ApiError
from rag.api.schemas import ChatList, ErrorResponse
from rag.chats.export import to_markdown
from rag.chats.records import SavedChat
from rag.chats.store import ChatStoreError, MissingChat, SavedChats

UNAVAILABLE = {503: {"model": ErrorResponse, "description": "The chat store cannot be opened"}}
MISSING = {404: {"model": ErrorResponse, "description": "No such chat"}}
MARKDOWN = {200: {"content": {"text/markdown": {"schema": {"type": "string"}}}}}


def add_chat_routes(router: APIRouter, chats: SavedChats) -> None:
    """On the API's own router (not an included one), so its 404/405 fallback knows them."""

    def store():  # noqa: ANN202  (the store, or a 503 naming why not)
        try:
            return chats.require()
        except ChatStoreError as exc:
            raise ApiError(503, str(exc), type="server_error", code="chats_unavailable") from None

    @router.get(
        "/chats",
        response_model=ChatList,
        responses=UNAVAILABLE,
        summary="Saved chats, newest first",
    )
    def list_chats(
        search: Annotated[str, Query(max_length=500)] = "",
        user: Annotated[str | None, Query(max_length=200)] = None,
    ) -> ChatList:
        return ChatList(data=store().chats(user, search))

    @router.get(
        "/chats/{chat_id}",
        response_model=SavedChat,
        responses={**MISSING, **UNAVAILABLE, **MARKDOWN},
        summary="One saved chat with every answer whole, or as Markdown",
    )
    def get_chat(
        chat_id: str, format: Literal["json", "md"] = "json"
    ) -> SavedChat | PlainTextResponse:
        try:
            chat = store().chat(chat_id, None)
        except MissingChat as exc:
            raise ApiError(404, str(exc), param="chat_id", code="chat_not_found") from None
        if format == "md":
            return PlainTextResponse(to_markdown(chat), media_type="text/markdown")
        return chat
