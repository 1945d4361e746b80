"""The schema as SQLAlchemy Core tables, and the UTC datetime column type.

This describes the schema the code expects; the Alembic migrations in
``bot/migrations/versions`` build it. A test compares the two, so a change here
without a migration fails CI instead of a release.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Time,
    TypeDecorator,
    UniqueConstraint,
)

# Named constraints, so later migrations can drop or alter them by name on both dialects
# (SQLite's batch mode needs names to recreate a table).
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only autoincrements an INTEGER PRIMARY KEY (the rowid alias), not a BIGINT one.
AutoId = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC datetime on every dialect.

    PostgreSQL stores ``timestamptz``. SQLite has no time zones, so values are stored as
    naive UTC text in one fixed format (its comparisons are text comparisons) and come
    back with ``tzinfo=UTC`` attached. A naive datetime is refused rather than guessed.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware datetime (UTC)")
        utc = value.astimezone(dt.UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


chats = Table(
    "chats",
    metadata,
    Column("chat_id", BigInteger, primary_key=True, autoincrement=False),
    Column("user_id", BigInteger, nullable=True),
    Column("chat_type", String(32), nullable=False),
    Column("first_name", String(256), nullable=True),
    Column("active", Boolean, nullable=False),
    Column("inactive_reason", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column(
        "chat_id",
        BigInteger,
        ForeignKey("chats.chat_id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("digest_time", Time, nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("send_empty", Boolean, nullable=False),
    Column("last_digest_at", UtcDateTime, nullable=True),
    Column("next_digest_at", UtcDateTime, nullable=False, index=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

follows = Table(
    "follows",
    metadata,
    Column("id", AutoId, primary_key=True),
    Column("chat_id", BigInteger, ForeignKey("chats.chat_id", ondelete="CASCADE"), nullable=False),
    Column("phrase", String(100), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("chat_id", "phrase"),
)

known_items = Table(
    "known_items",
    metadata,
    Column("item_id", String(80), primary_key=True),
    # When the bot first learned of the item, not the item's news date: a digest sends
    # what became known since the subscriber's last digest.
    Column("first_seen_at", UtcDateTime, nullable=False, index=True),
)

broadcasts = Table(
    "broadcasts",
    metadata,
    Column("id", AutoId, primary_key=True),
    Column("item_id", String(80), nullable=False),
    Column("created_by", BigInteger, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("status", String(16), nullable=False),
    Column("total", Integer, nullable=False),
    Column("finished_at", UtcDateTime, nullable=True),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", AutoId, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("dedupe_key", String(200), nullable=False, unique=True),
    Column("chat_id", BigInteger, nullable=False),
    Column("text", Text, nullable=False),
    Column("parse_mode", String(16), nullable=True),
    Column("reply_markup", Text, nullable=True),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("not_before", UtcDateTime, nullable=False),
    Column("claimed_at", UtcDateTime, nullable=True),
    # A ``sending`` row is its claimer's until then (renewed while in flight); after it, the
    # claimer is presumed dead and any process takes the row back (bot/storage/outbox.py).
    Column("lease_until", UtcDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("sent_at", UtcDateTime, nullable=True),
    Column("telegram_message_id", BigInteger, nullable=True),
    # Tries whose outcome is unknown (a read timeout, a process killed mid-send): the
    # message may have arrived. Sent with unknown_fate > 0 means "may have arrived twice".
    Column("unknown_fate", Integer, nullable=False, server_default="0"),
    # The news item a broadcast or alert carries, so a digest leaves out what a chat got.
    Column("item_id", String(80), nullable=True),
    Column(
        "broadcast_id",
        AutoId,
        ForeignKey("broadcasts.id", ondelete="SET NULL"),
        nullable=True,
        index=True,
    ),
    Index("ix_outbox_status_not_before", "status", "not_before"),
    Index("ix_outbox_chat_id_item_id", "chat_id", "item_id"),
)

questions = Table(
    "questions",
    metadata,
    Column("id", AutoId, primary_key=True),
    Column("chat_id", BigInteger, nullable=False),
    Column("text", Text, nullable=False),
    # Lower-cased, whitespace-collapsed text, so "Who won?" and "who  won" count together.
    Column("normalized", String(500), nullable=False),
    Column("answered", Boolean, nullable=False),
    Column("top_score", Float, nullable=True),
    Column("asked_at", UtcDateTime, nullable=False, index=True),
)

published_items = Table(
    "published_items",
    metadata,
    # The order of publishing: a process picks up what others published by reading past
    # the highest ``seq`` it has seen (see ``PublishedItemRepository.since``).
    Column("seq", AutoId, primary_key=True),
    Column("item_id", String(80), nullable=False, unique=True),
    Column("title", String(300), nullable=False),
    Column("date", Date, nullable=False),
    Column("summary", Text, nullable=False),
    Column("url", Text, nullable=True),
    # A JSON list of strings.
    Column("tags", Text, nullable=False),
    # Who published it: "broadcast" (an admin), "feed" (a feed poller), ...
    Column("source", String(32), nullable=False),
    Column("published_at", UtcDateTime, nullable=False),
)

feeds = Table(
    "feeds",
    metadata,
    Column("id", AutoId, primary_key=True),
    Column("url", String(2000), nullable=False, unique=True),
    Column("title", String(300), nullable=True),
    # Each new item goes to every subscriber as a broadcast, not only to followers.
    Column("push", Boolean, nullable=False),
    Column("added_by", BigInteger, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("etag", Text, nullable=True),
    Column("last_modified", Text, nullable=True),
    # Due when next_fetch_at <= now. A claim moves it to the end of a lease and sets
    # lease_token, so one process fetches a feed at a time (see FeedRepository.claim_due).
    Column("next_fetch_at", UtcDateTime, nullable=False, index=True),
    Column("lease_token", String(32), nullable=True),
    Column("last_fetch_at", UtcDateTime, nullable=True),
    Column("last_success_at", UtcDateTime, nullable=True),
    Column("last_new_at", UtcDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("failures", Integer, nullable=False),
    Column("failing_since", UtcDateTime, nullable=True),
    Column("reported_down", Boolean, nullable=False),
)

seen_items = Table(
    "seen_items",
    metadata,
    # sha256 of the entry's identity (guid, else link, else title and date): an item is new
    # only the first time it is ever seen, whatever feed carries it and however it is edited.
    Column("identity", String(64), primary_key=True),
    Column("feed_id", BigInteger, nullable=True),
    Column("item_id", String(80), nullable=False),
    Column("first_seen_at", UtcDateTime, nullable=False),
)

inbox = Table(
    "inbox",
    metadata,
    # Telegram's update_id: unique, so an update Telegram sends again is stored once.
    Column("update_id", BigInteger, primary_key=True, autoincrement=False),
    # Whose updates must run in order: the chat, else the user (NULL: no order to keep).
    Column("chat_id", BigInteger, nullable=True),
    # The update's JSON as Telegram sent it; emptied once handled (the row stays a few days
    # as the marker that drops a late duplicate).
    Column("payload", Text, nullable=False),
    # pending -> working (claimed until lease_until) -> done
    Column("status", String(16), nullable=False),
    Column("lease_until", UtcDateTime, nullable=True),
    Column("attempts", Integer, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("done_at", UtcDateTime, nullable=True, index=True),
    Index("ix_inbox_status_update_id", "status", "update_id"),
    Index("ix_inbox_chat_id_status_update_id", "chat_id", "status", "update_id"),
)

webhook = Table(
    "webhook",
    metadata,
    # One row (id 1): the secret every process checks in X-Telegram-Bot-Api-Secret-Token.
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("secret", String(256), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

send_budget = Table(
    "send_budget",
    metadata,
    # Telegram's flood limits hold per bot, across processes: "overall", "paid", "c:<chat>".
    Column("key", String(40), primary_key=True),
    # GCRA's theoretical arrival time of the next request, in Unix seconds.
    Column("tat", Float, nullable=False),
)

admin_drafts = Table(
    "admin_drafts",
    metadata,
    # The guided /broadcast an admin is writing, one per admin: any process continues it.
    Column("user_id", BigInteger, primary_key=True, autoincrement=False),
    # title, date, summary, link: the answer awaited; preview: Send / Edit / Cancel shown.
    Column("step", String(16), nullable=False),
    Column("title", Text, nullable=True),
    Column("date", Date, nullable=True),
    Column("summary", Text, nullable=True),
    Column("url", Text, nullable=True),
    # The preview's buttons carry this reference; the item they would send, as JSON.
    Column("preview_ref", String(32), nullable=True),
    Column("preview", Text, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
)
