"""Feeds admins follow, and every feed entry ever seen (so an entry is new only once).

Revision ID: 0005
Revises: 0002 (the integrator re-chains)
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _when(name: str, *, nullable: bool = False) -> sa.Column[dt.datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "feeds",
        sa.Column("id", _Id, autoincrement=True, nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("title", sa.String(300), nullable=True),
        sa.Column("push", sa.Boolean(), nullable=False),
        sa.Column("added_by", sa.BigInteger(), nullable=True),
        _when("created_at"),
        sa.Column("etag", sa.Text(), nullable=True),
        sa.Column("last_modified", sa.Text(), nullable=True),
        _when("next_fetch_at"),
        sa.Column("lease_token", sa.String(32), nullable=True),
        _when("last_fetch_at", nullable=True),
        _when("last_success_at", nullable=True),
        _when("last_new_at", nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        _when("failing_since", nullable=True),
        sa.Column("reported_down", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_feeds"),
        sa.UniqueConstraint("url", name="uq_feeds_url"),
    )
    op.create_index("ix_feeds_next_fetch_at", "feeds", ["next_fetch_at"])
    op.create_table(
        "seen_items",
        sa.Column("identity", sa.String(64), nullable=False),
        sa.Column("feed_id", sa.BigInteger(), nullable=True),
        sa.Column("item_id", sa.String(80), nullable=False),
        _when("first_seen_at"),
        sa.PrimaryKeyConstraint("identity", name="pk_seen_items"),
    )


def downgrade() -> None:
    op.drop_table("seen_items")
    op.drop_index("ix_feeds_next_fetch_at", table_name="feeds")
    op.drop_table("feeds")
