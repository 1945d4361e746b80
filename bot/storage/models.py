"""What the storage layer returns: frozen pydantic models, never rows or sessions.

Every datetime is timezone-aware UTC (``AwareDatetime`` refuses a naive one).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from bot.storage.values import check_timezone

OutboxKind = Literal["digest", "alert", "broadcast"]
OutboxStatus = Literal["pending", "sending", "sent", "failed", "skipped", "cancelled"]
BroadcastStatus = Literal["sending", "done", "cancelled"]

OUTBOX_STATUSES: tuple[OutboxStatus, ...] = (
    "pending",
    "sending",
    "sent",
    "failed",
    "skipped",
    "cancelled",
)
OUTBOX_KINDS: tuple[OutboxKind, ...] = ("digest", "alert", "broadcast")


def _check_json(value: str | None) -> str | None:
    if value is not None:
        json.loads(value)
    return value


def _check_wall_clock(value: dt.time) -> dt.time:
    if value.tzinfo is not None:
        raise ValueError("digest_time is a wall-clock time in the subscription's timezone")
    return value


IanaZone = Annotated[str, AfterValidator(check_timezone)]
JsonText = Annotated[str | None, AfterValidator(_check_json)]
WallClock = Annotated[dt.time, AfterValidator(_check_wall_clock)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Chat(_Frozen):
    """A private chat or group the bot has seen; inactive once it blocked or left the bot."""

    chat_id: int
    user_id: int | None
    chat_type: str
    first_name: str | None
    active: bool
    inactive_reason: str | None
    created_at: AwareDatetime
    last_seen_at: AwareDatetime


class ChatCounts(_Frozen):
    """How many chats can be reached, and how many cannot."""

    active: int
    inactive: int


class Subscription(_Frozen):
    """A chat's daily digest: when (wall clock in ``timezone``) and when it is next due."""

    chat_id: int
    digest_time: WallClock
    timezone: IanaZone
    send_empty: bool
    last_digest_at: AwareDatetime | None
    next_digest_at: AwareDatetime
    created_at: AwareDatetime
    updated_at: AwareDatetime


class Follow(_Frozen):
    """A phrase a chat follows; stored normalised (see ``normalize_phrase``)."""

    chat_id: int
    phrase: str


class KnownItem(_Frozen):
    """A news item id and when the bot first learned of it."""

    item_id: str
    first_seen_at: AwareDatetime


class NewOutboxMessage(_Frozen):
    """A message to enqueue; ``dedupe_key`` makes enqueueing it twice harmless.

    ``not_before`` defaults to the time of enqueueing.
    """

    kind: OutboxKind
    dedupe_key: str = Field(min_length=1, max_length=200)
    chat_id: int
    text: str = Field(min_length=1)
    parse_mode: str | None = None
    reply_markup: JsonText = None
    not_before: AwareDatetime | None = None
    broadcast_id: int | None = None
    item_id: str | None = None


class OutboxMessage(_Frozen):
    """A queued message and where it is in its life: pending → sending → sent (or not).

    ``attempts`` counts claims: each time a sender took the message to send it.
    """

    id: int
    kind: OutboxKind
    dedupe_key: str
    chat_id: int
    text: str
    parse_mode: str | None
    reply_markup: JsonText
    status: OutboxStatus
    attempts: int
    not_before: AwareDatetime
    claimed_at: AwareDatetime | None
    last_error: str | None
    created_at: AwareDatetime
    sent_at: AwareDatetime | None
    telegram_message_id: int | None
    broadcast_id: int | None
    unknown_fate: int = 0
    item_id: str | None = None
    lease_until: AwareDatetime | None = None


class Broadcast(_Frozen):
    """An admin's broadcast of one item to every active chat."""

    id: int
    item_id: str
    created_by: int
    created_at: AwareDatetime
    status: BroadcastStatus
    total: int
    finished_at: AwareDatetime | None


class QuestionRecord(_Frozen):
    """A question a user asked, and whether the bot had a good answer."""

    id: int
    chat_id: int
    text: str
    answered: bool
    top_score: float | None
    asked_at: AwareDatetime


class UnansweredQuestion(_Frozen):
    """Unanswered questions with the same normalised text, counted together."""

    text: str
    normalized: str
    count: int
    last_asked_at: AwareDatetime


class PublishedRecord(_Frozen):
    """An item the bot published (a broadcast, a feed entry), as stored.

    The fields are the knowledge item's; the layer above converts (storage does not know
    the knowledge's models). ``seq`` orders publishing across every process.
    """

    seq: int
    item_id: str
    title: str
    date: dt.date
    summary: str
    url: str | None
    tags: tuple[str, ...]
    source: str
    published_at: AwareDatetime
