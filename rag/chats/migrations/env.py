"""Alembic's entry point: runs on the connection the chat store hands over."""

from alembic import context

from rag.chats.tables import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
