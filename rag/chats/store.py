"""The chat store: SQLite under the data dir, its schema kept by Alembic migrations.

Every method takes the user whose chats it may touch: with a login each user sees
only their own; `None` (the CLI, on the machine itself) sees every chat. A chat that
is not the user's is treated as missing, so its existence is not given away.
"""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Engine, create_engine, event, exc, func, or_, select
from sqlalchemy.orm import Session

from rag.answer import Answer
from rag.chats.records import ChatInfo, SavedChat, SavedExchange
from rag.chats.tables import ChatRow, ExchangeRow
from rag.errors import RagError

MIGRATIONS = Path(__file__).with_name("migrations")
TITLE_CHARS = 80


class ChatStoreError(RagError):
    """The saved chats cannot be read or written; the chat itself still works."""


class MissingChat(RagError):
    """No such chat (for this user)."""


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)  # SQLite keeps naive times: UTC


def _title(question: str) -> str:
    text = " ".join(question.split())
    return text if len(text) <= TITLE_CHARS else text[: TITLE_CHARS - 1].rstrip() + "…"


def _alembic() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head() -> str:
    """The newest schema version."""
    return str(ScriptDirectory.from_config(_alembic()).get_current_head())


class ChatStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.engine = self._engine(path)
            self._migrate()
        except (OSError, exc.SQLAlchemyError, CommandError) as error:
            raise ChatStoreError(self._unreadable(error)) from None

    @staticmethod
    def _engine(path: Path) -> Engine:
        engine = create_engine(
            f"sqlite:///{path}", connect_args={"check_same_thread": False, "timeout": 15}
        )

        @event.listens_for(engine, "connect")
        def _pragmas(connection: Any, _record: Any) -> None:
            connection.execute("PRAGMA foreign_keys = ON")

        return engine

    def _unreadable(self, error: Exception) -> str:
        reason = str(getattr(error, "orig", None) or error).splitlines()[0]
        if "Can't locate revision" in reason:
            reason = "it was made by a newer version of rag"
        return f"the saved chats in {self.path} cannot be opened ({reason}); chats are not saved"

    def _migrate(self) -> None:
        """Bring the file to the newest schema, keeping every row."""
        config = _alembic()
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def version(self) -> str | None:
        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    @contextmanager
    def _session(self) -> Iterator[Session]:
        try:
            with Session(self.engine, expire_on_commit=False) as session, session.begin():
                yield session
        except exc.SQLAlchemyError as error:
            raise ChatStoreError(self._unreadable(error)) from None

    @staticmethod
    def _owned(session: Session, chat_id: str, user: str | None) -> ChatRow:
        row = session.get(ChatRow, chat_id)
        if row is None or (user is not None and row.user != user):
            raise MissingChat(f"no saved chat {chat_id!r}")
        return row

    def create(self, user: str, question: str) -> ChatInfo:
        now = _now()
        title = _title(question)
        row = ChatRow(id=uuid.uuid4().hex, user=user, title=title, created=now, updated=now)
        with self._session() as session:
            session.add(row)
        return ChatInfo.of(row, 0)

    def add(self, chat_id: str, user: str | None, answer: Answer) -> int:
        """Saves one exchange at the end of the chat; returns its id."""
        with self._session() as session:
            chat = self._owned(session, chat_id, user)
            position = session.scalar(select(func.count()).where(ExchangeRow.chat_id == chat_id))
            now = _now()
            row = ExchangeRow(
                chat_id=chat_id,
                position=position or 0,
                question=answer.question,
                answer=answer.model_dump_json(),
                created=now,
            )
            session.add(row)
            chat.updated = now
            session.flush()
            return row.id

    def chats(self, user: str | None, search: str = "") -> list[ChatInfo]:
        """Newest first; `search` matches titles, questions and answers."""
        count = (
            select(func.count(ExchangeRow.id))
            .where(ExchangeRow.chat_id == ChatRow.id)
            .scalar_subquery()
        )
        query = select(ChatRow, count).order_by(ChatRow.updated.desc())
        if user is not None:
            query = query.where(ChatRow.user == user)
        if text := search.strip():
            pattern = f"%{text}%"
            answer_text = func.json_extract(ExchangeRow.answer, "$.answer")
            matching = select(ExchangeRow.chat_id).where(
                or_(ExchangeRow.question.ilike(pattern), answer_text.ilike(pattern))
            )
            query = query.where(or_(ChatRow.title.ilike(pattern), ChatRow.id.in_(matching)))
        with self._session() as session:
            return [ChatInfo.of(row, n) for row, n in session.execute(query)]

    def chat(self, chat_id: str, user: str | None) -> SavedChat:
        with self._session() as session:
            return SavedChat.whole(self._owned(session, chat_id, user))

    def rename(self, chat_id: str, user: str | None, title: str) -> None:
        if not (title := " ".join(title.split())):
            raise RagError("a chat's name cannot be empty")
        with self._session() as session:
            self._owned(session, chat_id, user).title = _title(title)

    def delete(self, chat_id: str, user: str | None) -> None:
        with self._session() as session:
            session.delete(self._owned(session, chat_id, user))

    def rate(self, exchange_id: int, user: str | None, rating: int | None, note: str = "") -> None:
        """Feedback on one answer: +1 or -1 with an optional note, or None to take it back."""
        if rating not in (1, -1, None):
            raise RagError("a rating is +1 or -1 (or none)")
        with self._session() as session:
            row = session.get(ExchangeRow, exchange_id)
            if row is None or (user is not None and row.chat.user != user):
                raise MissingChat(f"no saved answer {exchange_id}")
            row.rating, row.note = rating, (note.strip() or None) if rating else None
            row.rated = _now() if rating else None

    def flagged(self, user: str | None = None) -> list[tuple[ChatInfo, SavedExchange]]:
        """Answers rated down, oldest first, each with its chat (for the earlier turns)."""
        query = (
            select(ExchangeRow)
            .join(ChatRow)
            .where(ExchangeRow.rating == -1)
            .order_by(ExchangeRow.rated)
        )
        if user is not None:
            query = query.where(ChatRow.user == user)
        with self._session() as session:
            return [
                (ChatInfo.of(row.chat, 0), SavedExchange.of(row)) for row in session.scalars(query)
            ]


@dataclass
class SavedChats:
    """The chat store, or why it could not be opened: the chat answers either way, and
    the front ends say once that it is not saving."""

    store: ChatStore | None
    problem: str | None = None

    @classmethod
    def open(cls, path: Path) -> "SavedChats":
        try:
            return cls(ChatStore(path))
        except ChatStoreError as error:
            return cls(None, str(error))

    def require(self) -> ChatStore:
        if self.store is None:
            raise ChatStoreError(self.problem or "chats are not saved")
        return self.store
