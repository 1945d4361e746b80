"""The webhook's inbox (every update Telegram delivered, stored before it is acknowledged)
and the webhook's shared secret (generated once, the same for every process).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "inbox",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("update_id", name="pk_inbox"),
    )
    op.create_index("ix_inbox_status_update_id", "inbox", ["status", "update_id"])
    op.create_index(
        "ix_inbox_chat_id_status_update_id", "inbox", ["chat_id", "status", "update_id"]
    )
    op.create_index("ix_inbox_done_at", "inbox", ["done_at"])
    op.create_table(
        "webhook",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("secret", sa.String(256), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_webhook"),
    )


def downgrade() -> None:
    op.drop_table("webhook")
    op.drop_index("ix_inbox_done_at", table_name="inbox")
    op.drop_index("ix_inbox_chat_id_status_update_id", table_name="inbox")
    op.drop_index("ix_inbox_status_update_id", table_name="inbox")
    op.drop_table("inbox")
