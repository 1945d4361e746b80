"""New feed items join the published items: searchable at once, in digests, alerted.

The one place that decides how a feed item is published. ``Newsroom.publish`` stores it
in the database's published items (searchable here at once, picked up by every other
process); known items record when it arrived (the next digests, and other processes do
not alert on it again); keyword alerts go to followers. A ``push`` feed's item is a
broadcast to every subscriber instead, through the same outbox and limits.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence

from bot.delivery.broadcast import Broadcaster
from bot.digests.alerts import queue_alerts
from bot.errors import KnowledgeError
from bot.knowledge.models import NewsItem
from bot.knowledge.newsroom import Newsroom
from bot.storage import Storage

logger = logging.getLogger(__name__)


class FeedPublisher:
    """Publishes feed items; safe to repeat (an item already published is skipped)."""

    def __init__(
        self,
        storage: Storage,
        newsroom: Callable[[], Newsroom],
        broadcaster: Callable[[], Broadcaster | None],
        clock: Callable[[], dt.datetime],
        wake_courier: Callable[[], None],
    ) -> None:
        self.storage = storage
        self.newsroom = newsroom
        self.broadcaster = broadcaster
        self.clock = clock
        self.wake_courier = wake_courier
        self._pushed: set[int] = set()

    async def publish(
        self, items: Sequence[NewsItem], *, push: bool, alert: bool, added_by: int | None
    ) -> None:
        """Publish ``items``; ``push`` broadcasts each, ``alert`` tells followers.

        A pushed item is not alerted as well: every subscriber gets it already.
        """
        newsroom = self.newsroom()
        broadcaster = self.broadcaster()
        # Published by an earlier fetch that died before marking the entries seen: skipped.
        candidates = [item for item in items if newsroom.get(item.id) is None]
        if not candidates:
            return
        # Known before published: another process that picks the item up from the database
        # then finds it known and alerts nobody; this one alerts those it recorded first.
        first_seen = set(
            await self.storage.known_items.record_many([i.id for i in candidates], self.clock())
        )
        published: list[NewsItem] = []
        for item in candidates:
            try:
                if push and broadcaster is not None:
                    broadcast = await broadcaster.send(item, added_by or 0)
                    self._pushed.add(broadcast.id)
                elif not await newsroom.publish(item, source="feed"):
                    continue
            except KnowledgeError as exc:  # an id another item holds: leave this one out
                logger.warning("feeds: item %s not published: %s", item.id, exc)
                continue
            published.append(item)
        if alert and not push:
            fresh = [item for item in published if item.id in first_seen]
            await queue_alerts(self.storage, newsroom.retriever, fresh)
        if published:
            logger.info(
                "feeds: published %d item(s)%s", len(published), " (pushed)" if push else ""
            )
            self.wake_courier()

    async def settle(self) -> None:
        """Close the pushed broadcasts that are delivered (an admin's broadcast is closed by
        its progress display; a feed's has none), so a restart does not resume them."""
        broadcaster = self.broadcaster()
        if broadcaster is None:
            return
        for broadcast_id in list(self._pushed):
            progress = await broadcaster.progress(broadcast_id)
            if progress is None or progress.done:
                self._pushed.discard(broadcast_id)
