"""Admin broadcasts: a new item joins the knowledge and goes to every active subscriber.

The order of the steps makes a kill at any point recoverable:

1. the broadcast record is created (status ``sending``);
2. the item is published (``Newsroom.publish``: a row in the database, never a write to
   the operator's knowledge file) and becomes searchable;
3. one outbox row per (item, chat) is queued in one transaction, dedupe key
   ``broadcast:<item>:<chat>``, and the courier delivers them.

On start, ``resume`` looks at every broadcast still ``sending``: if its item is in
the knowledge, step 3 is repeated (idempotent: queued rows are not queued again);
if the process died before step 2, the broadcast is closed as cancelled and the
admin is told to send it again. Nothing is half-sent silently.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from pydantic import ValidationError

from bot.errors import KnowledgeError, plain_reason
from bot.knowledge.models import NewsItem, date_problem, slugify
from bot.knowledge.newsroom import Newsroom
from bot.messages.render import escape, render_item
from bot.storage import Broadcast, NewOutboxMessage, Storage

logger = logging.getLogger(__name__)

FIELDS = ("title", "date", "summary", "url")
# Queues keyword alerts for new items, leaving out the chats given (the broadcast's audience).
Announce = Callable[[Sequence[NewsItem], frozenset[int]], Awaitable[None]]
ONE_MESSAGE_FORMAT = "/broadcast Title | YYYY-MM-DD or today | Summary | https://link (optional)"


@dataclass(frozen=True)
class Draft:
    """What an admin typed so far."""

    title: str = ""
    date: dt.date | None = None
    summary: str = ""
    url: str | None = None


def parse_date(text: str, today: dt.date) -> dt.date | None:
    """``today``, ``2021-06-11``; None if neither."""
    value = text.strip().lower()
    if value in {"", "today", "-"}:
        return today
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


_SEPARATOR = re.compile(r"(?<!\\)\|")


def escape_separator(field: str) -> str:
    """A field for the one-message form: its own ``|`` escaped with a backslash."""
    return field.replace("|", "\\|")


def date_refusal(date: dt.date, today: dt.date) -> str | None:
    """What to tell an admin whose item date is implausible, or None."""
    problem = date_problem(date, today)
    return (
        None if problem is None else f"The date is not valid: {problem}. Use YYYY-MM-DD or today."
    )


def parse_one_message(text: str, today: dt.date) -> Draft | str:
    """``Title | date | Summary | link`` → a draft, or what is wrong with it.

    A ``|`` inside a field is escaped with a backslash (the Edit button's form does so).
    """
    parts = [part.strip().replace("\\|", "|") for part in _SEPARATOR.split(text)]
    if len(parts) < 3 or len(parts) > 4:
        return f"Usage: {ONE_MESSAGE_FORMAT}\nOr send /broadcast alone to be asked step by step."
    title, date_text, summary = parts[:3]
    date = parse_date(date_text, today)
    if date is None:
        return f"The date “{date_text}” is not a date. Use YYYY-MM-DD or today."
    refused = date_refusal(date, today)
    if refused is not None:
        return refused
    url = parts[3] if len(parts) == 4 and parts[3] else None
    return Draft(title=title, date=date, summary=summary, url=url)


def draft_item(draft: Draft, existing_ids: Callable[[str], bool]) -> NewsItem | str:
    """Validate the draft with the knowledge file's own model; a message names the bad field."""
    date = draft.date or dt.date.today()
    base = slugify(draft.title or "item", date)
    item_id, n = base, 1
    while existing_ids(item_id):
        n += 1
        item_id = f"{base[:76]}-{n}"
    try:
        return NewsItem(
            id=item_id, title=draft.title, date=date, summary=draft.summary, url=draft.url
        )
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(p) for p in error["loc"]) or "item"
        reason = plain_reason(error)
        if field == "url":
            reason = "expected an http:// or https:// link without spaces"
        if reason.startswith("is "):  # "is empty", "is 301 characters, more than..."
            return f"The {field} {reason}."
        return f"The {field} is not valid: {reason}."


def broadcast_text(item: NewsItem) -> str:
    """The message subscribers get (and the admin previews)."""
    return f"📰 <b>News</b>\n\n{render_item(item)}"


@dataclass(frozen=True)
class Progress:
    """Where a broadcast stands."""

    broadcast: Broadcast
    sent: int
    failed: int
    blocked: int
    cancelled: int
    left: int
    # ``elapsed``: seconds from the first message sent to the last (or to now, while sending);
    # the time spent publishing and queueing before it is not the sending's.
    elapsed: float
    reasons: dict[str, int]
    unreachable_since: dt.datetime | None = None
    maybe_twice: int = 0

    @property
    def done(self) -> bool:
        return self.left == 0

    @property
    def rate(self) -> float:
        """Messages per second between the first send and the last (or now)."""
        return (self.sent - 1) / self.elapsed if self.sent > 1 and self.elapsed > 0 else 0.0


_TAGS = re.compile(r"<[^>]*>")
# python-telegram-bot quotes a body it cannot parse: "Bad Gateway (502). Parsing the server
# response b'<html>...' failed". The page is a proxy's, not a reason anyone can act on.
_UNPARSED = re.compile(r"\.?\s*Parsing the server response .* failed", re.DOTALL)
REASON_CHARS = 120


def reason_line(reason: str) -> str:
    """A failure reason as one clean line: no quoted page, no markup, at most 120 characters."""
    text = _UNPARSED.sub(" (the answer was not Telegram's)", reason)
    text = " ".join(_TAGS.sub(" ", text).replace("\\r", " ").replace("\\n", " ").split())
    return text if len(text) <= REASON_CHARS else text[: REASON_CHARS - 1].rstrip() + "…"


def progress_text(progress: Progress) -> str:
    """The admin's progress message, and at the end the report."""
    b = progress.broadcast
    head = (
        f"<b>Broadcast #{b.id}</b> of {escape(b.item_id)} to {b.total} "
        f"subscriber{'' if b.total == 1 else 's'}"
    )
    counts = (
        f"sent {progress.sent} · blocked {progress.blocked} · failed {progress.failed}"
        f" · left {progress.left}"
    )
    if progress.cancelled:
        counts += f" · cancelled {progress.cancelled}"
    if progress.rate > 0:
        pace = f"rate {progress.rate:.1f} msg/s over {progress.elapsed:.1f} s"
    elif not progress.done:
        pace = "sending…"
    else:
        pace = (
            "no subscribers yet: the item is in the news, nothing to send" if not b.total else ""
        )
    lines = [line for line in (head, counts, pace) if line]
    if progress.unreachable_since is not None and not progress.done:
        since = progress.unreachable_since.astimezone(dt.UTC).strftime("%H:%M")
        lines.append(f"⚠️ Telegram unreachable since {since} UTC, retrying")
    if progress.maybe_twice:
        lines.append(
            f"{progress.maybe_twice} may have arrived twice (Telegram did not answer in time)"
        )
    if progress.done:
        state = "cancelled" if b.status == "cancelled" else "finished"
        lines.insert(0, f"✅ Broadcast {state}.")
        reasons: dict[str, int] = {}
        for reason, count in progress.reasons.items():
            line = reason_line(reason)
            reasons[line] = reasons.get(line, 0) + count
        lines.extend(f"• {escape(reason)}: {count}" for reason, count in reasons.items())
    return "\n".join(lines)


class Broadcaster:
    """Publishes items and queues them for every active subscriber."""

    def __init__(
        self,
        storage: Storage,
        newsroom: Callable[[], Newsroom],
        clock: Callable[[], dt.datetime],
        wake_courier: Callable[[], None],
        unreachable_since: Callable[[], dt.datetime | None] = lambda: None,
        announce: Announce | None = None,
    ) -> None:
        self.storage = storage
        self.newsroom = newsroom
        self.clock = clock
        self.wake_courier = wake_courier
        self.unreachable_since = unreachable_since
        self.announce = announce

    async def send(self, item: NewsItem, admin_id: int) -> Broadcast:
        """Publish ``item`` and queue it for every active subscriber.

        Raises ``KnowledgeError`` (and sends nothing) if another item already has its id.
        """
        audience = await self.storage.audience.active_subscriber_ids()
        broadcast = await self.storage.broadcasts.create(item.id, admin_id, len(audience))
        newsroom = self.newsroom()
        try:
            await newsroom.publish(item)
        except KnowledgeError:
            # Another process published an item with this id since the preview.
            await self.storage.broadcasts.finish(broadcast.id, self.clock(), "cancelled")
            raise
        await self.storage.known_items.record_many([item.id], self.clock())
        await self._queue(broadcast, item, audience)
        await self._announce(item, audience)
        return broadcast

    async def _announce(self, item: NewsItem, audience: Sequence[int]) -> None:
        """Followers outside the audience hear of the item as an alert (idempotent)."""
        if self.announce is not None:
            await self.announce([item], frozenset(audience))

    async def _queue(self, broadcast: Broadcast, item: NewsItem, audience: Sequence[int]) -> None:
        text = broadcast_text(item)
        rows = [
            NewOutboxMessage(
                kind="broadcast",
                dedupe_key=f"broadcast:{item.id}:{chat_id}",
                chat_id=chat_id,
                text=text,
                parse_mode="HTML",
                broadcast_id=broadcast.id,
                item_id=item.id,
            )
            for chat_id in audience
        ]
        queued = await self.storage.outbox.enqueue_many(rows)
        logger.info("broadcast %d: queued %d message(s)", broadcast.id, queued)
        self.wake_courier()

    async def resume(self) -> list[Broadcast]:
        """Finish what a killed process started (see the module docstring)."""
        resumed = []
        for broadcast in await self.storage.broadcasts.unfinished():
            item = self.newsroom().get(broadcast.item_id)
            if item is None:
                logger.warning("broadcast %d died before publishing: cancelled", broadcast.id)
                await self.storage.broadcasts.finish(broadcast.id, self.clock(), "cancelled")
                continue
            counts = await self.storage.outbox.counts_by_status(broadcast.id)
            if sum(counts.values()) == 0:
                audience = await self.storage.audience.active_subscriber_ids()
                audience = audience[: broadcast.total or None]
                await self._queue(broadcast, item, audience)
                await self._announce(item, audience)
            resumed.append(broadcast)
        return resumed

    async def cancel(self, broadcast_id: int) -> int:
        """Stop a broadcast: messages not yet sent are cancelled; returns how many."""
        cancelled = await self.storage.outbox.cancel_broadcast(broadcast_id)
        await self.storage.broadcasts.finish(broadcast_id, self.clock(), "cancelled")
        return cancelled

    async def progress(self, broadcast_id: int) -> Progress | None:
        """Counts so far; closes the broadcast as done when nothing is left."""
        broadcast = await self.storage.broadcasts.get(broadcast_id)
        if broadcast is None:
            return None
        counts = await self.storage.outbox.counts_by_status(broadcast_id)
        left = counts["pending"] + counts["sending"]
        if left == 0 and broadcast.status == "sending":
            broadcast = (
                await self.storage.broadcasts.finish(broadcast_id, self.clock()) or broadcast
            )
        reasons = await self.storage.audience.failure_reasons(broadcast_id) if left == 0 else {}
        window = await self.storage.outbox.sending_window(broadcast_id)
        elapsed = 0.0
        if window is not None:
            end = window[1] if left == 0 else self.clock()
            elapsed = max(0.0, (end - window[0]).total_seconds())
        return Progress(
            broadcast=broadcast,
            sent=counts["sent"],
            failed=counts["failed"],
            blocked=counts["skipped"],
            cancelled=counts["cancelled"],
            left=left,
            elapsed=elapsed,
            reasons=reasons,
            unreachable_since=self.unreachable_since(),
            maybe_twice=await self.storage.outbox.maybe_twice(broadcast_id),
        )
