"""The one send path for digests, alerts and broadcasts: a persistent outbox and its courier.

Every outgoing message is first a row in the outbox (unique per dedupe key), and
is marked sent only after Telegram answered. The courier claims due rows, hands
them to a ``Sender`` (the Telegram adapter, which goes through the bot's rate
limiter), and records the outcome:

    Delivered      -> sent, with Telegram's message id
    Blocked        -> the chat is marked inactive, the row skipped (403, chat not found)
    RetryLater     -> pending again after a delay: 429's retry_after, or exponential
                      backoff with jitter for network errors and 5xx; retried for
                      ``retry_for`` (``DELIVERY_RETRY_HOURS``, 24 h) after it was queued,
                      failed only after that
    Unknown        -> the request went out and no answer came (our read timeout): the
                      message may have arrived. Pending again like a retry, but counted
                      (``unknown_fate``) so a report can say "may have arrived twice"
    Undeliverable  -> failed with the reason (a message Telegram will never accept)

Only Telegram's own permanent answers (400, 403) are final.

**Bounding sends of unknown fate.** A send in flight longer than ``stall_after`` (past
Telegram's slow answers) means the Bot API is hanging: the courier claims nothing new
until the sends in flight are answered or time out, so at most ``concurrency`` sends are
of unknown fate at once. After a send timed out or the Bot API was unreachable, the
courier probes with one send at a time until one is answered.

Crash safety: a claimed row is leased (``lease``, ``DELIVERY_LEASE_SECONDS``); the courier
renews the leases of its sends in flight every third of a lease. Rows left ``sending`` by a
killed process go back to pending (counted as of unknown fate): at start when the courier
owns its database alone (``exclusive``, SQLite: every ``sending`` row is a dead process's),
else once their lease has passed, by whichever process looks first (every courier looks
every third of a lease), so several processes on one PostgreSQL never take a row from a
live one. A lease ending further ahead than ``lease`` was stamped by a clock that ran fast,
and counts as passed. The one window left is between Telegram accepting a message and our
``mark_sent`` commit: a kill exactly there sends that one message again. We choose that
over losing it; see README for the measured window.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from bot.storage import ChatRepository, OutboxMessage, OutboxRepository, StorageUnavailable
from bot.storage.outbox import DEFAULT_LEASE

logger = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]


@dataclass(frozen=True)
class Delivered:
    message_id: int


@dataclass(frozen=True)
class Blocked:
    reason: str


@dataclass(frozen=True)
class RetryLater:
    """Try again: after ``seconds`` if Telegram said so (429), else after backoff.

    ``unreachable`` marks a failure of the Bot API itself (network, 5xx), not of one chat.
    """

    seconds: float | None
    reason: str
    unreachable: bool = False


@dataclass(frozen=True)
class Unknown:
    """The request went out and no answer came: the message may have arrived."""

    reason: str


@dataclass(frozen=True)
class Undeliverable:
    reason: str


SendOutcome = Delivered | Blocked | RetryLater | Unknown | Undeliverable


class Sender(Protocol):
    """Sends one message and classifies the answer; never raises for a Telegram error."""

    async def send(
        self,
        chat_id: int,
        text: str,
        parse_mode: str | None,
        reply_markup: str | None,
        *,
        paid: bool = False,
    ) -> SendOutcome:
        """``paid``: a paid broadcast (``allow_paid_broadcast``), paced by its own rate."""
        ...


FIRST_BACKOFF = 1.0
MAX_BACKOFF = 300.0
STALL_AFTER = 20.0
# Telegram's retry_after is seconds to minutes; our backoff is at most MAX_BACKOFF.
FUTURE_HORIZON = dt.timedelta(hours=1)


def backoff(attempts: int, first: float = FIRST_BACKOFF, ceiling: float = MAX_BACKOFF) -> float:
    """Seconds before the retry after ``attempts`` tries: exponential, capped, jittered.

    1, 2, 4 ... 300 s, each drawn from its upper half, so messages that failed together
    do not all come back in the same second.
    """
    top = min(ceiling, first * 2.0 ** max(0, attempts - 1))
    return top * (0.5 + random.random() / 2)


class Courier:
    """Delivers the outbox: keeps up to ``concurrency`` messages in flight, paced by the sender."""

    def __init__(
        self,
        outbox: OutboxRepository,
        chats: ChatRepository,
        sender: Sender,
        clock: Clock,
        *,
        concurrency: int = 32,
        retry_for: dt.timedelta = dt.timedelta(hours=24),
        first_backoff: float = FIRST_BACKOFF,
        max_backoff: float = MAX_BACKOFF,
        stall_after: float = STALL_AFTER,
        idle_poll: float = 1.0,
        lease: dt.timedelta = DEFAULT_LEASE,
        exclusive: bool = True,
        paid_kinds: frozenset[str] = frozenset(),
    ) -> None:
        self.outbox = outbox
        self.chats = chats
        self.sender = sender
        self.clock = clock
        self.concurrency = concurrency
        self.retry_for = retry_for
        self.first_backoff = first_backoff
        self.max_backoff = max_backoff
        self.stall_after = stall_after
        self.idle_poll = idle_poll
        self.lease = lease
        self.exclusive = exclusive
        self.paid_kinds = paid_kinds
        """Kinds of rows sent as paid broadcasts (``{"broadcast"}`` with PAID_BROADCAST_RATE)."""
        self._claim_batch = max(1, concurrency // 8)
        self.unreachable_since: dt.datetime | None = None
        """When the Bot API stopped answering (network errors, 5xx, timeouts); None if up."""
        self._probing = False
        self._started: dict[asyncio.Task[None], float] = {}
        self._to_mark: list[tuple[int, int, dt.datetime, asyncio.Future[None]]] = []
        self._marker: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._leases: asyncio.Task[None] | None = None
        self._in_flight: set[asyncio.Task[None]] = set()
        self._row_of: dict[asyncio.Task[None], int] = {}
        # One claim at a time: a row claimed in the database is in ``_in_flight`` before
        # anyone can look at ``_in_flight`` and conclude that nothing is being sent.
        self._claiming = asyncio.Lock()

    def wake(self) -> None:
        """New rows were queued: look now instead of at the next poll."""
        self._wake.set()

    async def recover(self) -> int:
        """Put rows a killed process left ``sending`` back in the queue (call before start).

        ``exclusive``: every ``sending`` row is requeued, whatever its lease says (no other
        process can be sending it). Otherwise only those whose lease has passed or was
        stamped by a clock that ran fast; the rest belong to live processes. Pending rows
        due further ahead than ``FUTURE_HORIZON`` are made due now (a clock that ran fast).
        """
        if self.exclusive:
            count = await self.outbox.requeue_stale_sending()
        else:
            count = await self.outbox.requeue_expired(self.clock(), self.lease)
        if count:
            logger.warning("requeued %d message(s) left in flight by the last run", count)
        # Longer than any backoff or retry_after we would set: a clock that ran fast set it.
        future = await self.outbox.pull_back_future(self.clock(), FUTURE_HORIZON)
        if future:
            logger.warning(
                "%d message(s) were due in the far future (a clock jump): due now", future
            )
        return count

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="courier")
        if self._leases is None:
            self._leases = asyncio.create_task(self._keep_leases(), name="courier-leases")

    async def _keep_leases(self) -> None:
        """Every third of a lease: renew the leases of the sends in flight, and (shared
        database) take back the rows of processes whose leases passed."""
        period = self.lease.total_seconds() / 3
        while True:
            await asyncio.sleep(period)
            try:
                await self.renew_leases()
                if not self.exclusive:
                    taken = await self.outbox.requeue_expired(self.clock(), self.lease)
                    if taken:
                        logger.warning(
                            "requeued %d message(s) whose sender stopped renewing its lease",
                            taken,
                        )
                        self.wake()
            except Exception:  # the database is away: the next round tries again
                logger.warning("courier could not renew its leases", exc_info=True)

    async def renew_leases(self) -> int:
        """Extend the leases of the sends in flight by one lease from now."""
        ids = sorted(self._row_of.values())
        return await self.outbox.renew(ids, self.clock() + self.lease)

    async def stop(self, grace: float = 10.0) -> None:
        """Stop claiming, and let messages in flight finish and be recorded (up to ``grace``).

        Call it while the HTTP client is still open (``post_stop``): a send cut off by a
        closed client would be of unknown fate. Sends still unanswered after ``grace`` are
        cancelled; their rows stay ``sending`` and the next start requeues them.
        """
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        try:
            await self._finish_in_flight(grace)
        finally:
            leases, self._leases = self._leases, None
            if leases is not None:
                leases.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await leases

    async def _finish_in_flight(self, grace: float) -> None:
        if self._in_flight:
            _, late = await asyncio.wait(self._in_flight, timeout=grace)
            for pending in late:
                pending.cancel()
            if late:
                logger.warning(
                    "%d send(s) unanswered at shutdown: requeued at start or when their lease"
                    " passes",
                    len(late),
                )
                await asyncio.gather(*late, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            try:
                claimed = await self._claim()
            except StorageUnavailable as exc:
                # Logged once as an error by the storage layer; retried every poll.
                logger.debug("courier cannot read the outbox: %s", exc)
                claimed = 0
            except Exception:
                logger.exception("courier could not read the outbox; retrying shortly")
                claimed = 0
            if claimed == 0:
                self._wake.clear()
                waiters: list[asyncio.Future[Any]] = [asyncio.ensure_future(self._wake.wait())]
                if self._in_flight:
                    waiters.append(
                        asyncio.ensure_future(
                            asyncio.wait(self._in_flight, return_when=asyncio.FIRST_COMPLETED)
                        )
                    )
                try:
                    await asyncio.wait(
                        waiters, timeout=self.idle_poll, return_when=asyncio.FIRST_COMPLETED
                    )
                finally:
                    for waiter in waiters:
                        waiter.cancel()

    def _room(self) -> int:
        """How many more sends may start now (see "Bounding sends of unknown fate")."""
        now = asyncio.get_running_loop().time()
        if any(now - started > self.stall_after for started in self._started.values()):
            return 0
        limit = 1 if self._probing else self.concurrency
        return limit - len(self._in_flight)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._started.pop(task, None)
        self._row_of.pop(task, None)

    async def _claim(self) -> int:
        async with self._claiming:
            free = self._room()
            if free <= 0 or (self._in_flight and free < self._claim_batch):
                # Claim in batches: one claim per finished send would be a statement (a
                # round trip to PostgreSQL) per message.
                return 0
            rows = await self.outbox.claim_due(self.clock(), free, self.lease)
            for row in rows:
                task = asyncio.create_task(self._deliver(row), name=f"deliver-{row.id}")
                self._in_flight.add(task)
                self._row_of[task] = row.id
                self._started[task] = asyncio.get_running_loop().time()
                task.add_done_callback(self._finished)
            return len(rows)

    async def deliver_all(self, timeout: float = 60.0) -> None:  # noqa: ASYNC109
        """Deliver until nothing due is left (for one-shot runs and tests)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            claimed = await self._claim()
            if not claimed and not self._in_flight:
                return
            if self._in_flight:
                await asyncio.wait(self._in_flight, return_when=asyncio.FIRST_COMPLETED)
        raise TimeoutError("the outbox did not drain in time")

    async def _deliver(self, row: OutboxMessage) -> None:
        try:
            outcome = await self.sender.send(
                row.chat_id,
                row.text,
                row.parse_mode,
                row.reply_markup,
                paid=row.kind in self.paid_kinds,
            )
        except Exception as exc:  # a bug in the sender must not lose the row
            logger.exception("sender failed on outbox row %d", row.id)
            outcome = RetryLater(None, f"internal error: {exc!r}")
        self._note_health(outcome)
        await self._record(row, outcome)

    def _note_health(self, outcome: SendOutcome) -> None:
        """Track whether the Bot API answers at all, for the admin's progress and probing."""
        if isinstance(outcome, Unknown) or (
            isinstance(outcome, RetryLater) and outcome.unreachable
        ):
            if self.unreachable_since is None:
                self.unreachable_since = self.clock()
                logger.warning("Telegram unreachable (%s); retrying with backoff", outcome)
            self._probing = True
        elif not isinstance(outcome, RetryLater):  # an answer from Telegram: it is up
            if self.unreachable_since is not None:
                logger.warning("Telegram reachable again")
            self.unreachable_since = None
            self._probing = False

    async def _record(self, row: OutboxMessage, outcome: SendOutcome) -> None:
        now = self.clock()
        match outcome:
            case Delivered(message_id=message_id):
                await self._mark_sent(row.id, message_id, now)
            case Blocked(reason=reason):
                logger.info("chat %s cannot be reached (%s): marked inactive", row.chat_id, reason)
                await self.chats.mark_inactive(row.chat_id, reason)
                await self.outbox.mark_skipped(row.id, f"blocked: {reason}")
            case RetryLater(seconds=seconds, reason=reason):
                await self._retry(row, now, seconds, reason, unknown_fate=False)
            case Unknown(reason=reason):
                await self._retry(row, now, None, reason, unknown_fate=True)
            case Undeliverable(reason=reason):
                logger.warning("outbox row %d undeliverable: %s", row.id, reason)
                await self.outbox.mark_failed(row.id, reason)

    async def _mark_sent(self, row_id: int, message_id: int, now: dt.datetime) -> None:
        """Record a delivery, committed together with the others that finish meanwhile.

        Group commit: the first delivery starts a transaction at once; deliveries that
        finish while it runs wait for the next one, which records them all. So recording
        one delivery waits for at most one transaction ahead of its own, not a queue of
        them: the duplicate window (a kill before this commit resends the message) stays
        as short as one or two small transactions, however many sends finish together.
        """
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._to_mark.append((row_id, message_id, now, done))
        if self._marker is None or self._marker.done():
            self._marker = asyncio.create_task(self._mark_pending(), name="mark-sent")
        await done

    async def _mark_pending(self) -> None:
        while self._to_mark:
            batch, self._to_mark = self._to_mark, []
            try:
                await self.outbox.mark_sent_many([(r, m, at) for r, m, at, _ in batch])
            except Exception as exc:
                for *_, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            for *_, done in batch:
                if not done.done():
                    done.set_result(None)

    async def _retry(
        self,
        row: OutboxMessage,
        now: dt.datetime,
        seconds: float | None,
        reason: str,
        *,
        unknown_fate: bool,
    ) -> None:
        if now - row.created_at >= self.retry_for:
            hours = self.retry_for.total_seconds() / 3600
            logger.warning("outbox row %d failed after %d tries", row.id, row.attempts)
            await self.outbox.mark_failed(
                row.id, f"{reason} (after {row.attempts} tries in {hours:g} h)"
            )
            return
        if seconds is None:
            seconds = backoff(row.attempts, self.first_backoff, self.max_backoff)
        when = now + dt.timedelta(seconds=seconds)
        await self.outbox.mark_retry(row.id, when, reason, unknown_fate=unknown_fate)
