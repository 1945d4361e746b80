"""New feed items join the published items: searchable at once, in digests, alerted.

This is the one place that decides how a feed item is published, so the path can change
(the published items are moving into the database) without touching the poller.
Today it is the admin's path: the newsroom appends the item (searchable at once), known
items record when it arrived (the next digests), keyword alerts go to followers; a
``push`` feed's item is a broadcast to every subscriber (the same outbox and limits).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence

from bot.delivery.broadcast import Broadcaster
from bot.digests.alerts import queue_alerts
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
        fresh = [item for item in items if newsroom.get(item.id) is None]
        broadcaster = self.broadcaster()
        for item in fresh:
            if push and broadcaster is not None:
                await broadcaster.send(item, added_by or 0)
            else:
                await newsroom.publish(item)
        await self.storage.known_items.record_many([i.id for i in fresh], self.clock())
        if alert and not push:
            await queue_alerts(self.storage, newsroom.retriever, fresh)
        if fresh:
            logger.info("feeds: published %d item(s)%s", len(fresh), " (pushed)" if push else "")
            self.wake_courier()
