"""Daily digests: one scheduler tick that reads due subscribers from the database.

Why one tick and not a ``run_daily`` job per subscriber: the database is the
schedule. A tick every ``TICK_SECONDS`` asks for subscriptions whose
``next_digest_at`` has passed, so nothing has to be re-created at start-up, a
restart cannot lose or double a job, 100k subscribers cost one indexed query
instead of 100k timers, and a digest that fell due while the bot was down is
simply due at the first tick: it is sent once, folding everything new into it,
and the next one is scheduled from *now*, not once per missed day.

Per subscriber the order is: enqueue the digest (dedupe key = chat + the due
time), then advance ``next_digest_at`` with a compare-and-set. A kill between
the two re-enqueues the same key on restart, which the outbox ignores: never
twice, never lost.
"""

from __future__ import annotations

import datetime as dt
import heapq
import logging
from collections.abc import Callable, Sequence

from bot.delivery.courier import Clock
from bot.digests.digest import FIRST_DIGEST_ITEMS, DigestRequest, build_digest
from bot.digests.schedule import next_due
from bot.knowledge.models import NewsItem
from bot.storage import DigestClaim, NewOutboxMessage, Storage, Subscription

logger = logging.getLogger(__name__)

TICK_SECONDS = 20.0
# A daily digest is never further away than a day, plus an hour for a DST change.
DIGEST_HORIZON = dt.timedelta(hours=25)
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def digest_request(
    subscription: Subscription,
    *,
    send_empty: bool | None = None,
    received: frozenset[str] = frozenset(),
) -> DigestRequest:
    """What the pure digest builder needs to know of a subscription."""
    return DigestRequest(
        timezone=subscription.timezone,
        last_digest_at=subscription.last_digest_at,
        send_empty=subscription.send_empty if send_empty is None else send_empty,
        received=received,
    )


def digest_candidates(
    items: Sequence[NewsItem],
    first_seen: dict[str, dt.datetime],
    due: Sequence[Subscription],
    now: dt.datetime,
) -> list[NewsItem]:
    """The items any digest of this batch can show, found once per batch, not per subscriber.

    Those known since the batch's oldest last digest, plus the newest few for subscribers
    who never had one. ``build_digest`` picks the same items from this short list as from
    the whole knowledge, which at 100k items is what keeps a tick linear.
    """
    known = [i for i in items if i.id in first_seen and first_seen[i.id] <= now]
    floors = [sub.last_digest_at for sub in due]
    candidates: dict[str, NewsItem] = {}
    if None in floors:
        # The newest; of one day, the first in the file (as build_digest and /latest order).
        ranked = heapq.nlargest(
            FIRST_DIGEST_ITEMS, enumerate(known), key=lambda pair: (pair[1].date, -pair[0])
        )
        candidates.update((i.id, i) for _, i in ranked)
    floor = min((f for f in floors if f is not None), default=None)
    if floor is not None:
        candidates.update((i.id, i) for i in known if first_seen[i.id] > floor)
    return [i for i in known if i.id in candidates]  # in file order


def digest_messages(
    subscription: Subscription,
    items: Sequence[NewsItem],
    first_seen: dict[str, dt.datetime],
    now: dt.datetime,
    received: frozenset[str] = frozenset(),
) -> list[NewOutboxMessage]:
    """The outbox rows of one subscriber's digest due now (none if nothing to send).

    ``received``: items the subscriber got as a broadcast or alert, left out.
    """
    request = digest_request(subscription, received=received)
    texts = build_digest(request, items, first_seen, now)
    key = f"digest:{subscription.chat_id}:{subscription.next_digest_at.isoformat()}"
    return [
        NewOutboxMessage(
            kind="digest",
            dedupe_key=f"{key}:{part}",
            chat_id=subscription.chat_id,
            text=text,
            parse_mode="HTML",
        )
        for part, text in enumerate(texts)
    ]


class DigestScheduler:
    """Finds due digests, queues them in the outbox and schedules the next ones."""

    def __init__(
        self,
        storage: Storage,
        items: Callable[[], Sequence[NewsItem]],
        clock: Clock,
        wake_courier: Callable[[], None],
        *,
        batch: int = 500,
    ) -> None:
        self.storage = storage
        self.items = items
        self.clock = clock
        self.wake_courier = wake_courier
        self.batch = batch

    async def tick(self) -> int:
        """Queue every digest due now; returns how many subscribers were served."""
        now = self.clock()
        first_seen: dict[str, dt.datetime] | None = None
        served = 0
        while True:
            due = await self.storage.subscriptions.due(now, self.batch)
            if not due:
                break
            if first_seen is None:  # only when someone is due: most ticks find no one
                first_seen = await self._first_seen()
            items = digest_candidates(self.items(), first_seen, due, now)
            received = await self.storage.outbox.items_received([sub.chat_id for sub in due])
            rows = [
                row
                for sub in due
                for row in digest_messages(
                    sub, items, first_seen, now, frozenset(received.get(sub.chat_id, ()))
                )
            ]
            await self.storage.outbox.enqueue_many(rows)
            claims = [
                DigestClaim(
                    sub.chat_id, sub.next_digest_at, next_due(sub.digest_time, sub.timezone, now)
                )
                for sub in due
            ]
            served += await self.storage.subscriptions.mark_digests_done(claims, now)
            if rows:
                self.wake_courier()
            if len(due) < self.batch:
                break
        if served:
            logger.info("queued the digests of %d subscriber(s)", served)
        return served

    async def repair_clock_jump(self) -> int:
        """At start: nothing scheduled further ahead than a day survives a clock that ran fast.

        A ``next_digest_at`` more than a day (and a DST hour) ahead becomes the next local
        digest time from now; a last digest, an item's first sighting and a broadcast's
        start stamped in the future are brought back to now. Returns how many subscriptions
        were rescheduled.
        """
        now = self.clock()
        moved = await self.storage.subscriptions.pull_back_future(
            now,
            DIGEST_HORIZON,
            lambda sub: next_due(sub.digest_time, sub.timezone, now),
        )
        items = await self.storage.known_items.pull_back_future(now)
        broadcasts = await self.storage.broadcasts.pull_back_future(now)
        if moved or items or broadcasts:
            logger.warning(
                "the clock was ahead before this start: rescheduled %d digest(s), "
                "%d item(s) and %d broadcast(s) stamped in the future",
                moved,
                items,
                broadcasts,
            )
        return moved

    async def digest_now(self, subscription: Subscription) -> list[str]:
        """An on-demand digest (/digest): everything new since the last one, not recorded."""
        received = await self.storage.outbox.items_received([subscription.chat_id])
        request = digest_request(
            subscription,
            send_empty=True,
            received=frozenset(received.get(subscription.chat_id, ())),
        )
        return build_digest(request, self.items(), await self._first_seen(), self.clock())

    async def _first_seen(self) -> dict[str, dt.datetime]:
        known = await self.storage.known_items.known_since(EPOCH)
        return {k.item_id: k.first_seen_at for k in known}
