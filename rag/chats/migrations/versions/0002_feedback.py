"""Feedback on each answer: a rating (+1/-1), an optional note, and when.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("exchanges") as table:
        table.add_column(sa.Column("rating", sa.Integer, nullable=True))
        table.add_column(sa.Column("note", sa.Text, nullable=True))
        table.add_column(sa.Column("rated", sa.DateTime, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("exchanges") as table:
        table.drop_column("rated")
        table.drop_column("note")
        table.drop_column("rating")
