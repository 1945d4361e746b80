"""Published items: what admins broadcast (and feeds bring) lives in the database;
outbox rows count their tries of unknown fate and name the item a broadcast or alert carries.

The operator's knowledge file is read-only to the bot; the bot's own additions are rows
here, merged with the file at load, so every process on the database sees them.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "published_items",
        sa.Column("seq", _Id, autoincrement=True, nullable=False),
        sa.Column("item_id", sa.String(80), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_published_items"),
        sa.UniqueConstraint("item_id", name="uq_published_items_item_id"),
    )
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(
            sa.Column("unknown_fate", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("item_id", sa.String(80), nullable=True))
        batch.create_index("ix_outbox_chat_id_item_id", ["chat_id", "item_id"])


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index("ix_outbox_chat_id_item_id")
        batch.drop_column("item_id")
        batch.drop_column("unknown_fate")
    op.drop_table("published_items")
