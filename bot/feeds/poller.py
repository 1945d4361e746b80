"""The poller: claims due feeds, fetches, parses, publishes what is new, reschedules.

A round runs ``concurrency`` workers; each claims one due feed at a time (a lease in
the database, so several processes never fetch the same feed in one interval) until
none is due. A slow or broken feed holds one worker for at most the fetch timeout plus
the parse bound, and never the others. Parsing runs in a small thread pool of its own,
bounded in time: a pathological document can keep one of its threads busy, but never
the event loop, and never the default executor other parts of the bot use.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import logging
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal

from bot.feeds.fetcher import Fetched, Fetcher, FetchFailed, NotModified
from bot.feeds.parser import FeedFormatError, ParsedFeed, parse_feed, to_news_item
from bot.feeds.publishing import FeedPublisher
from bot.feeds.schedule import Notice, after_failure, after_success
from bot.messages.render import MESSAGE_LIMIT
from bot.storage import Feed, FeedOutcome, NewOutboxMessage, SeenEntry, Storage

logger = logging.getLogger(__name__)

# Entries published per fetch: a feed that suddenly lists thousands of entries is taken in
# over several fetches instead of one burst of alerts. The rest stay unseen until then.
MAX_NEW_PER_FETCH = 200
PARSE_THREADS = 2
TICK_SECONDS = 10.0

Status = Literal["new", "unchanged", "not-modified", "failed", "lost"]


@dataclass(frozen=True)
class PollPolicy:
    """How often and how hard to poll."""

    poll_seconds: float = 900.0
    concurrency: int = 16
    parse_seconds: float = 10.0
    fetch_seconds: float = 20.0

    @property
    def poll(self) -> dt.timedelta:
        return dt.timedelta(seconds=self.poll_seconds)

    @property
    def lease(self) -> dt.timedelta:
        """Longer than a fetch and a parse can take, so a live claim never expires."""
        return dt.timedelta(seconds=2 * (self.fetch_seconds + self.parse_seconds) + 60)


@dataclass(frozen=True)
class PollReport:
    """What polling one feed did."""

    feed_id: int
    url: str
    status: Status
    new_items: int = 0
    error: str | None = None


@dataclass
class _Round:
    reports: list[PollReport] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)


class FeedPoller:
    """Polls every due feed; ``start`` runs rounds in the background, ``poll_due`` one now."""

    def __init__(
        self,
        storage: Storage,
        fetcher: Fetcher,
        publisher: FeedPublisher,
        clock: Callable[[], dt.datetime],
        policy: PollPolicy,
        admin_ids: Collection[int],
        wake_courier: Callable[[], None],
    ) -> None:
        self.storage = storage
        self.fetcher = fetcher
        self.publisher = publisher
        self.clock = clock
        self.policy = policy
        self.admin_ids = tuple(sorted(admin_ids))
        self.wake_courier = wake_courier
        self._parsers = ThreadPoolExecutor(PARSE_THREADS, thread_name_prefix="feed-parse")
        self._loop_task: asyncio.Task[None] | None = None
        self._round: asyncio.Task[list[PollReport]] | None = None

    # --- running -----------------------------------------------------------------------

    def start(self, tick_seconds: float) -> None:
        """Start a round every ``tick_seconds`` unless one is still running."""
        if self._loop_task is None:
            self._loop_task = asyncio.create_task(self._run(tick_seconds), name="feed-poller")

    async def _run(self, tick_seconds: float) -> None:
        while True:
            await asyncio.sleep(tick_seconds)
            if self._round is None or self._round.done():
                self._round = asyncio.create_task(self._safe_round(), name="feed-round")

    async def _safe_round(self) -> list[PollReport]:
        try:
            return await self.poll_due()
        except Exception:  # a round must never take the bot down; the next one retries
            logger.exception("feed round failed")
            return []

    async def stop(self) -> None:
        """Stop the background rounds, close the HTTP client and the parse threads."""
        for task in (self._loop_task, self._round):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._loop_task = self._round = None
        await self.fetcher.close()
        self._parsers.shutdown(wait=False, cancel_futures=True)

    # --- one round -----------------------------------------------------------------------

    async def poll_due(self) -> list[PollReport]:
        """Poll every feed due now (in this process's share), and return what each did.

        One claimer keeps a queue of claimed feeds about two workers' worth deep, so a
        claim is one transaction per batch rather than per feed; ``concurrency`` workers
        take feeds from it, and a slow feed holds only its own worker.
        """
        await self.publisher.settle()
        state = _Round()
        workers = max(1, self.policy.concurrency)
        queue: asyncio.Queue[Feed | None] = asyncio.Queue()
        taken = asyncio.Event()
        tasks = [asyncio.create_task(self._worker(queue, taken, state)) for _ in range(workers)]
        try:
            while True:
                now = self.clock()
                wanted = 2 * workers - queue.qsize()
                claimed = await self.storage.feeds.claim_due(now, now + self.policy.lease, wanted)
                for feed in claimed:
                    queue.put_nowait(feed)
                if not claimed:
                    break
                while queue.qsize() >= workers:
                    taken.clear()
                    await taken.wait()
        except BaseException:
            # Stopping (or the claim failed): unfinished feeds keep their lease, which expires.
            for task in tasks:
                task.cancel()
            raise
        finally:
            for _ in tasks:
                queue.put_nowait(None)  # after the claimed feeds: each worker stops
            await asyncio.gather(*tasks, return_exceptions=True)
            # Also when stopping: the outcomes saying "told" are written already.
            await self._tell_admins(state.notices)
        return state.reports

    async def _worker(
        self, queue: asyncio.Queue[Feed | None], taken: asyncio.Event, state: _Round
    ) -> None:
        while (feed := await queue.get()) is not None:
            taken.set()
            try:
                report, notice = await self.poll_feed(feed)
            except Exception:  # the database failed writing the outcome; the lease expires
                logger.exception("feed %s: the outcome could not be recorded", feed.url)
                continue
            state.reports.append(report)
            if notice is not None:
                state.notices.append(notice)

    async def poll_feed(self, feed: Feed) -> tuple[PollReport, Notice | None]:
        """Fetch, parse and publish one claimed feed; every failure becomes its state.

        Returns what happened and the notice for admins it calls for, if any.
        """
        assert feed.lease_token is not None, "poll_feed takes a claimed feed"
        try:
            report, outcome, notice = await self._poll(feed)
        except Exception as exc:  # a bug or the database: the feed is retried after backoff
            logger.exception("feed %s: polling failed", feed.url)
            reason = f"internal error: {type(exc).__name__}"
            outcome, notice = after_failure(feed, self.clock(), self.policy.poll, reason)
            report = PollReport(feed.id, feed.url, "failed", error=reason)
        if not await self.storage.feeds.finish(feed.id, feed.lease_token, outcome):
            logger.warning("feed %s: lease lost before the result was written", feed.url)
            return PollReport(feed.id, feed.url, "lost", report.new_items, report.error), None
        return report, notice

    async def _poll(self, feed: Feed) -> tuple[PollReport, FeedOutcome, Notice | None]:
        poll = self.policy.poll
        result = await self.fetcher.fetch(
            feed.url, etag=feed.etag, last_modified=feed.last_modified
        )
        now = self.clock()
        if isinstance(result, NotModified):
            outcome, notice = after_success(
                feed,
                now,
                poll,
                etag=feed.etag,
                last_modified=feed.last_modified,
                title=None,
                found_new=False,
            )
            return PollReport(feed.id, feed.url, "not-modified"), outcome, notice
        if isinstance(result, FetchFailed):
            logger.info("feed %s: %s", feed.url, result.reason)
            outcome, notice = after_failure(feed, now, poll, result.reason)
            return PollReport(feed.id, feed.url, "failed", error=result.reason), outcome, notice
        try:
            parsed = await self._parse(feed, result)
        except FeedFormatError as exc:
            reason = str(exc)
            logger.info("feed %s: %s", feed.url, reason)
            outcome, notice = after_failure(feed, now, poll, reason)
            return PollReport(feed.id, feed.url, "failed", error=reason), outcome, notice
        published, complete = await self._publish_new(feed, parsed, now)
        # A feed taken in part is fetched whole next time, not answered 304 for the rest.
        outcome, notice = after_success(
            feed,
            now,
            poll,
            etag=result.etag if complete else None,
            last_modified=result.last_modified if complete else None,
            title=parsed.title,
            found_new=published > 0,
        )
        status: Status = "new" if published else "unchanged"
        return PollReport(feed.id, feed.url, status, published), outcome, notice

    async def _parse(self, feed: Feed, fetched: Fetched) -> ParsedFeed:
        loop = asyncio.get_running_loop()
        work = loop.run_in_executor(
            self._parsers, parse_feed, fetched.body, feed.url, fetched.url, fetched.content_type
        )
        try:
            return await asyncio.wait_for(work, self.policy.parse_seconds)
        except TimeoutError:
            raise FeedFormatError(
                f"reading the feed took longer than {self.policy.parse_seconds:g} s"
            ) from None

    async def _publish_new(
        self, feed: Feed, parsed: ParsedFeed, now: dt.datetime
    ) -> tuple[int, bool]:
        """Publish the entries never seen before, oldest first.

        Returns how many, and whether that was all of them (at most ``MAX_NEW_PER_FETCH``).
        """
        unseen = await self.storage.feeds.unseen(e.identity for e in parsed.entries)
        # Feeds list newest first: publish in the order they happened.
        fresh = [e for e in reversed(parsed.entries) if e.identity in unseen]
        unique = list({e.identity: e for e in fresh}.values())
        entries = unique[:MAX_NEW_PER_FETCH]
        if not entries:
            return 0, True
        items = [to_news_item(entry, now) for entry in entries]
        # The first fetch of a feed is its back catalogue: searchable and in digests,
        # but nobody is alerted or pushed about dozens of old items at once.
        first = feed.last_success_at is None
        await self.publisher.publish(
            items, push=feed.push and not first, alert=not first, added_by=feed.added_by
        )
        # Recorded after publishing: a crash in between publishes again on the next fetch,
        # which the publisher skips (same item ids) instead of losing the items.
        seen = [
            SeenEntry(identity=e.identity, item_id=i.id)
            for e, i in zip(entries, items, strict=True)
        ]
        await self.storage.feeds.mark_seen(feed.id, seen, now)
        return len(items), len(entries) == len(unique)

    async def _tell_admins(self, notices: list[Notice]) -> None:
        """One message per admin for the round's notices (Telegram allows a chat about one
        message a second; six broken feeds are one message, not six)."""
        if not notices or not self.admin_ids:
            return
        # The notices' keys are the same in any process that writes them, so a retried
        # round does not tell twice.
        digest = hashlib.sha256("\n".join(sorted(n.key for n in notices)).encode()).hexdigest()
        text = "\n\n".join(n.text for n in notices)
        rows = [
            NewOutboxMessage(
                kind="alert",
                dedupe_key=f"feeds:{digest[:32]}:{admin_id}",
                chat_id=admin_id,
                text=text[:MESSAGE_LIMIT],
                parse_mode="HTML",
            )
            for admin_id in self.admin_ids
        ]
        if await self.storage.outbox.enqueue_many(rows):
            self.wake_courier()
