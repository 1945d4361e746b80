"""The one send path for digests, alerts and broadcasts: a persistent outbox and its courier.

Every outgoing message is first a row in the outbox (unique per dedupe key), and
is marked sent only after Telegram answered. The courier claims due rows, hands
them to a ``Sender`` (the Telegram adapter, which goes through the bot's rate
limiter), and records the outcome:

    Delivered      -> sent, with Telegram's message id
    Blocked        -> the chat is marked inactive, the row skipped (403, chat not found)
    RetryLater     -> pending again after a delay (429's retry_after, network errors,
                      backoff), failed after ``max_attempts``
    Undeliverable  -> failed with the reason (a message Telegram will never accept)

Crash safety: rows left ``sending`` by a killed process go back to pending on
start. The one window left is between Telegram accepting a message and our
``mark_sent`` commit (a response parse and one small transaction, about a
millisecond): a kill exactly there sends that one message again. We choose that
over losing it; nothing else can duplicate or lose a message.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from bot.storage import ChatRepository, OutboxMessage, OutboxRepository

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
    seconds: float
    reason: str


@dataclass(frozen=True)
class Undeliverable:
    reason: str


SendOutcome = Delivered | Blocked | RetryLater | Undeliverable


class Sender(Protocol):
    """Sends one message and classifies the answer; never raises for a Telegram error."""

    async def send(
        self, chat_id: int, text: str, parse_mode: str | None, reply_markup: str | None
    ) -> SendOutcome: ...


def backoff(attempts: int) -> float:
    """Seconds before retry number ``attempts`` after a network error: 2, 4, 8 ... 300."""
    return float(min(300, 2**attempts))


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
        max_attempts: int = 5,
        idle_poll: float = 1.0,
    ) -> None:
        self.outbox = outbox
        self.chats = chats
        self.sender = sender
        self.clock = clock
        self.concurrency = concurrency
        self.max_attempts = max_attempts
        self.idle_poll = idle_poll
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._in_flight: set[asyncio.Task[None]] = set()
        # One claim at a time: a row claimed in the database is in ``_in_flight`` before
        # anyone can look at ``_in_flight`` and conclude that nothing is being sent.
        self._claiming = asyncio.Lock()

    def wake(self) -> None:
        """New rows were queued: look now instead of at the next poll."""
        self._wake.set()

    async def recover(self) -> int:
        """Put rows a killed process left ``sending`` back in the queue (call before start)."""
        count = await self.outbox.requeue_stale_sending(older_than=self.clock())
        if count:
            logger.warning("requeued %d message(s) left in flight by the last run", count)
        return count

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="courier")

    async def stop(self) -> None:
        """Stop claiming, and let messages already in flight finish and be recorded."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            try:
                claimed = await self._claim()
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

    async def _claim(self) -> int:
        async with self._claiming:
            free = self.concurrency - len(self._in_flight)
            if free <= 0:
                return 0
            rows = await self.outbox.claim_due(self.clock(), free)
            for row in rows:
                task = asyncio.create_task(self._deliver(row), name=f"deliver-{row.id}")
                self._in_flight.add(task)
                task.add_done_callback(self._in_flight.discard)
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
                row.chat_id, row.text, row.parse_mode, row.reply_markup
            )
        except Exception as exc:  # a bug in the sender must not lose the row
            logger.exception("sender failed on outbox row %d", row.id)
            outcome = RetryLater(backoff(row.attempts), f"internal error: {exc!r}")
        await self._record(row, outcome)

    async def _record(self, row: OutboxMessage, outcome: SendOutcome) -> None:
        now = self.clock()
        match outcome:
            case Delivered(message_id=message_id):
                await self.outbox.mark_sent(row.id, message_id, now)
            case Blocked(reason=reason):
                logger.info("chat %s cannot be reached (%s): marked inactive", row.chat_id, reason)
                await self.chats.mark_inactive(row.chat_id, reason)
                await self.outbox.mark_skipped(row.id, f"blocked: {reason}")
            case RetryLater(seconds=seconds, reason=reason):
                if row.attempts >= self.max_attempts:
                    logger.warning("outbox row %d failed after %d tries", row.id, row.attempts)
                    await self.outbox.mark_failed(row.id, f"{reason} (after {row.attempts} tries)")
                else:
                    when = now + dt.timedelta(seconds=seconds)
                    await self.outbox.mark_retry(row.id, when, reason)
            case Undeliverable(reason=reason):
                logger.warning("outbox row %d undeliverable: %s", row.id, reason)
                await self.outbox.mark_failed(row.id, reason)
