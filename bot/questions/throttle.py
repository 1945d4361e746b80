"""Per-user limit on what a user sends, so one user cannot starve the others."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from enum import Enum
from typing import Protocol

logger = logging.getLogger(__name__)


class Admission(Enum):
    """What to do with a user's update: run it, drop it with one notice, or drop it."""

    ALLOW = "allow"
    WARN = "warn"  # the first refusal in a window: tell the user once
    DROP = "drop"  # refused again in the same window: not even a reply


class QuestionThrottle:
    """A sliding one-minute window of question times per user; the clock is passed in."""

    WINDOW = 60.0

    def __init__(self, per_minute: int, max_users: int = 100_000) -> None:
        self.per_minute = per_minute
        self.max_users = max_users
        self._asked: dict[int, deque[float]] = {}
        self._warned_until: dict[int, float] = {}

    def admit(self, user_id: int, now: float) -> tuple[Admission, float]:
        """Record an update; ALLOW it, or refuse it with the seconds left to wait.

        Only the first refusal in a window is a WARN, so a flood earns one notice.
        """
        wait = self.check(user_id, now)
        if not wait:
            return Admission.ALLOW, 0.0
        if now >= self._warned_until.get(user_id, 0.0):
            self._warned_until[user_id] = now + wait
            return Admission.WARN, wait
        return Admission.DROP, wait

    def check(self, user_id: int, now: float) -> float:
        """Record a question; return 0 if allowed, else the seconds to wait."""
        times = self._asked.get(user_id)
        if times is None:
            if len(self._asked) >= self.max_users:
                self._forget_idle(now)
            times = self._asked[user_id] = deque()
        while times and now - times[0] >= self.WINDOW:
            times.popleft()
        if len(times) >= self.per_minute:
            return max(1.0, self.WINDOW - (now - times[0]))
        times.append(now)
        return 0.0

    def _forget_idle(self, now: float) -> None:
        idle = [uid for uid, t in self._asked.items() if not t or now - t[-1] >= self.WINDOW]
        for uid in idle:
            del self._asked[uid]
            self._warned_until.pop(uid, None)


class SharedSlots(Protocol):
    """The shared budget's conditional take (``SendBudgetRepository.admit``)."""

    async def admit(
        self, keys: Sequence[str], interval: float, burst: int, now: float
    ) -> dict[str, float]: ...


class SharedThrottle:
    """``QuestionThrottle``'s limit for every process on one database, not each alone.

    A user may send ``per_minute`` updates at once, then one every ``60 / per_minute``
    seconds (GCRA, key ``q:<user>``), whichever process each lands on; the first refusal
    of a wait is a WARN for the whole bot (key ``qn:<user>``: one slot per wait). The
    updates that ask at once share one statement (one per user: a user's updates ask one
    after another, in their lane). If the database does not answer, this process's own
    ``QuestionThrottle`` decides.
    """

    def __init__(
        self,
        store: SharedSlots,
        local: QuestionThrottle,
        clock: Callable[[], float] = time.time,  # Unix seconds: every process's clock
    ) -> None:
        self.store = store
        self.local = local
        self.clock = clock
        self._waiting: dict[str, asyncio.Future[float]] = {}
        self._flusher: asyncio.Task[None] | None = None
        self._failing = False

    async def admit(self, user_id: int) -> tuple[Admission, float]:
        try:
            wait = await self._take(f"q:{user_id}")
            if not wait:
                return Admission.ALLOW, 0.0
            noticed = await self.store.admit([f"qn:{user_id}"], wait, 1, self.clock())
        except Exception as exc:
            if not self._failing:
                logger.warning(
                    "question throttle: the database does not answer (%s); each process "
                    "counts for itself until it does",
                    exc,
                )
                self._failing = True
            return self.local.admit(user_id, time.monotonic())
        if self._failing:
            logger.warning("question throttle: shared again")
            self._failing = False
        return (Admission.DROP if any(noticed.values()) else Admission.WARN), wait

    def _take(self, key: str) -> asyncio.Future[float]:
        future = self._waiting.get(key)
        if future is None:
            future = self._waiting[key] = asyncio.get_running_loop().create_future()
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="question-throttle")
        return future

    async def _flush(self) -> None:
        per_minute = self.local.per_minute
        while self._waiting:
            batch, self._waiting = self._waiting, {}
            try:
                waits = await self.store.admit(
                    list(batch), QuestionThrottle.WINDOW / per_minute, per_minute, self.clock()
                )
            except Exception as exc:
                for future in batch.values():
                    if not future.done():
                        future.set_exception(exc)
                continue
            for key, future in batch.items():
                if not future.done():
                    future.set_result(waits[key])
