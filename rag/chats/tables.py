"""The chat store's tables, as the newest migration leaves them (`migrations/`)."""

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class ChatRow(Base):
    __tablename__ = "chats"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user: Mapped[str] = mapped_column(String(200), index=True)  # "" without a login
    title: Mapped[str] = mapped_column(String(200))
    created: Mapped[datetime] = mapped_column(DateTime)
    updated: Mapped[datetime] = mapped_column(DateTime, index=True)
    exchanges: Mapped[list["ExchangeRow"]] = relationship(
        back_populates="chat",
        order_by="ExchangeRow.position",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class ExchangeRow(Base):
    """One question and the answer it got, whole (`Answer` as JSON)."""

    __tablename__ = "exchanges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    chat_id: Mapped[str] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(DateTime)
    # Feedback (schema 2): +1 or -1, an optional note, and when it was given.
    rating: Mapped[int | None] = mapped_column(Integer, nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    rated: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    chat: Mapped[ChatRow] = relationship(back_populates="exchanges")
