"""Several processes on one database: outbox leases, the shared send budget, admin drafts.

``outbox.lease_until``: a claimed row belongs to its process until then (renewed while the
send is in flight); past it any process may take it back. ``send_budget``: Telegram's flood
budget (per bot, not per process) as GCRA state per key. ``admin_drafts``: the guided
/broadcast in progress, so any process continues it.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "send_budget",
        sa.Column("key", sa.String(40), nullable=False),
        sa.Column("tat", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_send_budget"),
    )
    op.create_table(
        "admin_drafts",
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("step", sa.String(16), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("date", sa.Date(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("preview_ref", sa.String(32), nullable=True),
        sa.Column("preview", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_admin_drafts"),
    )


def downgrade() -> None:
    op.drop_table("admin_drafts")
    op.drop_table("send_budget")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("lease_until")
