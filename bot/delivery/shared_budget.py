"""Telegram's flood budget shared by every process on one PostgreSQL database.

The GCRA state lives in the database's ``send_budget`` table (bot/storage/send_budget.py),
so the overall rate (28/s, or the paid-broadcast rate), one message a second per private
chat and 19 a minute per group hold for the bot as a whole, however many processes send.

Cost: a reservation is a database round trip. Reservations made while one is on its way
are sent together in the next statement (group reservation, as the courier's group
commit), so a busy process makes one statement per round trip, not one per message; see
BENCHMARKS.md for the measured cost. If the database does not answer, the process paces
by its own memory until it does (logged once): replies go on, within this process's share.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from bot.delivery.ratelimit import LocalBudget
from bot.storage import SendBudgetRepository

logger = logging.getLogger(__name__)

FORGET_SECONDS = 60.0

_Waiter = tuple[float, int, asyncio.Future[float]]


class SharedBudget:
    """The ``Budget`` of ``bot/delivery/ratelimit.py`` kept in the database."""

    def __init__(
        self, store: SendBudgetRepository, clock: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self.clock = clock  # Unix seconds: the one clock every process shares
        self.statements = 0
        self.reservations = 0
        self._waiting: dict[str, list[_Waiter]] = {}
        self._flusher: asyncio.Task[None] | None = None
        self._fallback = LocalBudget()
        self._failing = False
        self._forgotten_at = 0.0

    async def reserve(self, key: str, interval: float, burst: int) -> float:
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(key, []).append((interval, burst, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="send-budget")
        return await future

    async def pause(self, key: str, interval: float, burst: int, seconds: float) -> None:
        until = self.clock() + seconds + (burst - 1) * interval
        try:
            await self.store.pause(key, until)
        except Exception:
            logger.warning("could not share a 429's pause of %s; pausing here only", key)
            await self._fallback.pause(key, interval, burst, seconds)

    async def _flush(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, {}
            wanted = {key: (waiters[0][0], len(waiters)) for key, waiters in batch.items()}
            try:
                firsts = await self.store.reserve(wanted, self.clock())
            except Exception as exc:
                self._fall_back(batch, exc)
                continue
            self.statements += 1
            self.reservations += sum(len(w) for w in batch.values())
            if self._failing:
                logger.warning("the shared send budget answers again")
                self._failing = False
            now = self.clock()
            for key, waiters in batch.items():
                slot = firsts[key]
                for interval, burst, future in waiters:
                    if not future.done():
                        future.set_result(max(0.0, slot - (burst - 1) * interval - now))
                    slot += interval
            await self._forget_idle(now)

    def _fall_back(self, batch: dict[str, list[_Waiter]], exc: Exception) -> None:
        if not self._failing:
            logger.warning("the shared send budget does not answer (%s); pacing locally", exc)
            self._failing = True
        for key, waiters in batch.items():
            for interval, burst, future in waiters:
                if not future.done():
                    future.set_result(self._fallback.reserve_now(key, interval, burst))

    async def _forget_idle(self, now: float) -> None:
        if now - self._forgotten_at < FORGET_SECONDS:
            return
        self._forgotten_at = now
        try:
            await self.store.forget_idle(now)
        except Exception as exc:  # housekeeping: the next minute tries again
            logger.info("could not forget idle chats of the send budget: %s", exc)
