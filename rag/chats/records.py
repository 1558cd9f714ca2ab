"""What the chat store hands out: plain pydantic records, never live database rows."""

from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel

from rag.answer import Answer, Turn

if TYPE_CHECKING:
    from rag.chats.tables import ChatRow, ExchangeRow


class ChatInfo(BaseModel):
    id: str
    user: str
    title: str
    created: datetime
    updated: datetime
    exchanges: int = 0

    @classmethod
    def of(cls, row: "ChatRow", exchanges: int) -> "ChatInfo":
        return cls(
            id=row.id,
            user=row.user,
            title=row.title,
            created=row.created,
            updated=row.updated,
            exchanges=exchanges,
        )


class SavedExchange(BaseModel):
    id: int
    chat_id: str
    position: int
    question: str
    answer: Answer
    created: datetime
    rating: int | None = None
    note: str | None = None

    @classmethod
    def of(cls, row: "ExchangeRow") -> "SavedExchange":
        return cls(
            id=row.id,
            chat_id=row.chat_id,
            position=row.position,
            question=row.question,
            answer=Answer.model_validate_json(row.answer),
            created=row.created,
            rating=row.rating,
            note=row.note,
        )


class SavedChat(ChatInfo):
    items: list[SavedExchange] = []

    @classmethod
    def whole(cls, row: "ChatRow") -> "SavedChat":
        items = [SavedExchange.of(e) for e in row.exchanges]
        return cls(**ChatInfo.of(row, len(items)).model_dump(), items=items)

    def turns(self, before: int | None = None) -> list[Turn]:
        """The conversation so far, as the chain takes it (before exchange `before`)."""
        return [
            Turn(question=e.question, answer=e.answer.answer)
            for e in self.items
            if before is None or e.position < before
        ]
