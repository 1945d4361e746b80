"""The initial schema: chats, subscriptions, follows, known items, broadcasts, outbox, questions.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

# A migration is a snapshot: it spells its types out instead of importing bot.storage.tables,
# which will have moved on by the time a later release runs this file.
_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _when(name: str, *, nullable: bool = False) -> sa.Column[dt.datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "chats",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("chat_type", sa.String(32), nullable=False),
        sa.Column("first_name", sa.String(256), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("inactive_reason", sa.Text(), nullable=True),
        _when("created_at"),
        _when("last_seen_at"),
        sa.PrimaryKeyConstraint("chat_id", name="pk_chats"),
    )
    op.create_table(
        "subscriptions",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("digest_time", sa.Time(), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("send_empty", sa.Boolean(), nullable=False),
        _when("last_digest_at", nullable=True),
        _when("next_digest_at"),
        _when("created_at"),
        _when("updated_at"),
        sa.ForeignKeyConstraint(
            ["chat_id"],
            ["chats.chat_id"],
            name="fk_subscriptions_chat_id_chats",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("chat_id", name="pk_subscriptions"),
    )
    op.create_index("ix_subscriptions_next_digest_at", "subscriptions", ["next_digest_at"])
    op.create_table(
        "follows",
        sa.Column("id", _Id, autoincrement=True, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("phrase", sa.String(100), nullable=False),
        _when("created_at"),
        sa.ForeignKeyConstraint(
            ["chat_id"], ["chats.chat_id"], name="fk_follows_chat_id_chats", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_follows"),
        sa.UniqueConstraint("chat_id", "phrase", name="uq_follows_chat_id_phrase"),
    )
    op.create_table(
        "known_items",
        sa.Column("item_id", sa.String(80), nullable=False),
        _when("first_seen_at"),
        sa.PrimaryKeyConstraint("item_id", name="pk_known_items"),
    )
    op.create_index("ix_known_items_first_seen_at", "known_items", ["first_seen_at"])
    op.create_table(
        "broadcasts",
        sa.Column("id", _Id, autoincrement=True, nullable=False),
        sa.Column("item_id", sa.String(80), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        _when("created_at"),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        _when("finished_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_broadcasts"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", _Id, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("dedupe_key", sa.String(200), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("parse_mode", sa.String(16), nullable=True),
        sa.Column("reply_markup", sa.Text(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _when("not_before"),
        _when("claimed_at", nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        _when("created_at"),
        _when("sent_at", nullable=True),
        sa.Column("telegram_message_id", sa.BigInteger(), nullable=True),
        sa.Column("broadcast_id", _Id, nullable=True),
        sa.ForeignKeyConstraint(
            ["broadcast_id"],
            ["broadcasts.id"],
            name="fk_outbox_broadcast_id_broadcasts",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.UniqueConstraint("dedupe_key", name="uq_outbox_dedupe_key"),
    )
    op.create_index("ix_outbox_status_not_before", "outbox", ["status", "not_before"])
    op.create_index("ix_outbox_broadcast_id", "outbox", ["broadcast_id"])
    op.create_table(
        "questions",
        sa.Column("id", _Id, autoincrement=True, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("normalized", sa.String(500), nullable=False),
        sa.Column("answered", sa.Boolean(), nullable=False),
        sa.Column("top_score", sa.Float(), nullable=True),
        _when("asked_at"),
        sa.PrimaryKeyConstraint("id", name="pk_questions"),
    )
    op.create_index("ix_questions_asked_at", "questions", ["asked_at"])


def downgrade() -> None:
    # Dropping the first migration would drop every subscriber; refuse instead.
    raise RuntimeError("0001 is the initial schema and is never downgraded")
