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

    async def publish(
        self, items: Sequence[NewsItem], *, push: bool, alert: bool, added_by: int | None
    ) -> None:
        """Publish ``items``; ``push`` broadcasts each, ``alert`` tells followers.

        A pushed item is not alerted as well: every subscriber gets it already.
        """
        newsroom = self.newsroom()
        broadcaster = self.broadcaster()
        published: list[NewsItem] = []
        for item in items:
            if newsroom.get(item.id) is not None:
                continue  # published by an earlier fetch that died before marking it seen
            try:
                if push and broadcaster is not None:
                    await broadcaster.send(item, added_by or 0)
                elif not await newsroom.publish(item, source="feed"):
                    continue
            except KnowledgeError as exc:  # an id another item holds: leave this one out
                logger.warning("feeds: item %s not published: %s", item.id, exc)
                continue
            published.append(item)
        first_seen = set(
            await self.storage.known_items.record_many([i.id for i in published], self.clock())
        )
        fresh = [item for item in published if item.id in first_seen]
        if alert and not push:
            await queue_alerts(self.storage, newsroom.retriever, fresh)
        if published:
            logger.info(
                "feeds: published %d item(s)%s", len(published), " (pushed)" if push else ""
            )
            self.wake_courier()
