"""Stored updates to the Application: claimed from the inbox, handled, marked done.

A claim takes the updates whose turn it is (every earlier update of their chat done, in any
process: ``InboxRepository.claim``), each under a lease this process renews while it
handles it. Handling runs concurrently across chats; a chat's next update is claimed only
after the one before is marked done, so ``/subscribe`` then ``/unsubscribe`` end
unsubscribed whichever process stored them. Marks are written in batches (one transaction
for every update that finished meanwhile), and each wakes the claimer.

The webhook wakes the claimer when it stored an update; a short poll finds what other
processes stored and what a dead process left (its lease passed).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Awaitable, Callable

from bot.storage import InboxRepository, InboxUpdate, StorageError

logger = logging.getLogger(__name__)

Handle = Callable[[InboxUpdate], Awaitable[None]]

# Updates in hand at once: like python-telegram-bot's 256 concurrent updates.
CAPACITY = 256
# How often the inbox is looked at without a wake-up: updates other processes stored,
# leases that passed.
POLL_SECONDS = 0.5
STORAGE_PAUSE = 1.0


class InboxDispatcher:
    """Claims, hands over and settles the inbox's updates until stopped."""

    def __init__(
        self,
        inbox: InboxRepository,
        handle: Handle,
        clock: Callable[[], dt.datetime],
        *,
        lease_seconds: float,
        capacity: int = CAPACITY,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self._inbox = inbox
        self._handle = handle
        self._clock = clock
        self._lease = dt.timedelta(seconds=lease_seconds)
        self._renew_every = lease_seconds / 3
        self._capacity = capacity
        self._poll = poll_seconds
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._in_hand: dict[int, asyncio.Task[None]] = {}
        self._finished: list[int] = []  # handled, not yet marked done
        self._marking: asyncio.Task[None] | None = None
        self._stopping = False
        self.handled = 0

    @property
    def in_hand(self) -> int:
        return len(self._in_hand)

    def start(self) -> None:
        self._loop_task = asyncio.create_task(self._run(), name="inbox-dispatcher")

    def wake(self) -> None:
        self._wake.set()

    async def stop(self, grace: float) -> None:
        """Claim nothing more; let the updates in hand finish (up to ``grace`` seconds) and
        mark them done. Updates still running then stay claimed: their lease passes and
        another process (or the next start) handles them again."""
        self._stopping = True
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
        running = list(self._in_hand.values())
        if running:
            logger.info("webhook: finishing %d update(s) in hand", len(running))
            _done, late = await asyncio.wait(running, timeout=grace)
            for task in late:
                task.cancel()
            if late:
                logger.warning(
                    "webhook: %d update(s) still running after %g s are left to the lease",
                    len(late),
                    grace,
                )
        if self._marking is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._marking
        if self._finished:
            await self._mark()

    async def _run(self) -> None:
        renewed = asyncio.get_running_loop().time()
        while not self._stopping:
            self._wake.clear()
            room = self._capacity - len(self._in_hand)
            claimed: list[InboxUpdate] = []
            if room > 0:
                now = self._clock()
                try:
                    claimed = await self._inbox.claim(now, now + self._lease, room)
                except StorageError as exc:
                    logger.warning("webhook: cannot claim updates: %s", exc)
                    await asyncio.sleep(STORAGE_PAUSE)
                    continue
            for update in claimed:
                self._in_hand[update.update_id] = asyncio.create_task(
                    self._one(update), name=f"update-{update.update_id}"
                )
            loop_time = asyncio.get_running_loop().time()
            if loop_time - renewed >= self._renew_every:
                renewed = loop_time
                await self._renew()
            if claimed and len(claimed) == room:
                continue  # there may be more waiting; room comes back as updates finish
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll)

    async def _one(self, update: InboxUpdate) -> None:
        try:
            await self._handle(update)
        except Exception:
            # The Application's error handler sees handler errors; this is anything else
            # (an update python-telegram-bot cannot read). Marked done: retrying cannot help.
            logger.exception("webhook: update %d could not be handled", update.update_id)
        finally:
            self.handled += 1
            self._finished.append(update.update_id)
            if self._marking is None or self._marking.done():
                self._marking = asyncio.create_task(self._mark_all(), name="inbox-mark-done")

    async def _mark_all(self) -> None:
        while self._finished:
            await self._mark()

    async def _mark(self) -> None:
        batch, self._finished = self._finished, []
        while True:
            try:
                await self._inbox.mark_done(batch, self._clock())
                break
            except StorageError as exc:
                logger.warning("webhook: cannot mark %d update(s) done: %s", len(batch), exc)
                if self._stopping:
                    return  # the lease passes; the next start handles them again
                await asyncio.sleep(STORAGE_PAUSE)
        for update_id in batch:
            self._in_hand.pop(update_id, None)
        self._wake.set()  # those chats' next updates may be claimed now

    async def _renew(self) -> None:
        if not self._in_hand:
            return
        try:
            await self._inbox.renew(list(self._in_hand), self._clock() + self._lease)
        except StorageError as exc:
            logger.warning("webhook: cannot renew the leases of updates in hand: %s", exc)
