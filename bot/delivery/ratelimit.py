"""Flood control for every request the bot makes: one rate limiter under python-telegram-bot.

Telegram's limits (Bot API FAQ, "My bot is hitting limits, how do I avoid this?",
https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this):
about 30 messages per second overall, about one per second to one private chat
(short bursts tolerated), at most 20 per minute to one group.

Unlike PTB's ``AIORateLimiter``, a 429 pauses only the chat it was about: the
answer names the chat's ``retry_after``, and holding every other chat for it is
what makes broadcasts stall. Pacing uses GCRA (a virtual-scheduling token
bucket): each request reserves the next free slot, so waiting is exact and FIFO.

The limits are Telegram's per bot, not per process. One process (SQLite) keeps the GCRA
state in memory (``LocalBudget``); several processes on one PostgreSQL share it in the
database (``bot/delivery/shared_budget.py``), behind the same ``Budget`` interface.

Paid broadcasts (``allow_paid_broadcast``, Bot API 7.11): up to 1000 messages a second for
0.1 Star each, past the free overall limit; per-chat limits still apply. A request that
carries the flag is paced by ``Limits.paid_per_second`` instead of the overall rate.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

logger = logging.getLogger(__name__)

JSONResult = bool | dict[str, Any] | list[dict[str, Any]]
MAX_TRACKED_CHATS = 10_000


class SharedSlot(Protocol):
    """The bot's shared concurrency held by the task that makes a request (an update's)."""

    async def give_back_while(self, wait: Awaitable[None]) -> None:
        """Await ``wait`` without holding the slot; hold it again afterwards."""


# Set by the update intake around each handler: waiting for a chat's turn gives it back, so
# replies queued for one busy chat never hold the slots every other chat's updates need.
current_slot: contextvars.ContextVar[SharedSlot | None] = contextvars.ContextVar(
    "current_slot", default=None
)


async def _pause(seconds: float) -> None:
    if seconds <= 0:
        await asyncio.sleep(0)
        return
    slot = current_slot.get()
    if slot is None:
        await asyncio.sleep(seconds)
    else:
        await slot.give_back_while(asyncio.sleep(seconds))


class Pace:
    """GCRA: ``rate`` requests per second with bursts of up to ``burst``."""

    def __init__(self, rate: float, burst: int = 1) -> None:
        self.interval = 1.0 / rate
        self.burst = max(1, burst)
        self.tat = 0.0  # theoretical arrival time of the next request

    def reserve(self, now: float) -> float:
        """Take the next slot; return how long to wait before using it."""
        tat = max(self.tat, now)
        delay = max(0.0, tat - (self.burst - 1) * self.interval - now)
        self.tat = tat + self.interval
        return delay

    def pause_until(self, when: float) -> None:
        """No slot before ``when`` (after a 429's retry_after)."""
        self.tat = max(self.tat, when + (self.burst - 1) * self.interval)


class Budget(Protocol):
    """Where the GCRA state lives: this process's memory, or the shared database."""

    async def reserve(self, key: str, interval: float, burst: int) -> float:
        """Take the next slot of ``key`` (``interval`` apart, bursts of ``burst``); return how
        long to wait before using it."""

    async def pause(self, key: str, interval: float, burst: int, seconds: float) -> None:
        """No slot of ``key`` for ``seconds`` (a 429's retry_after), then no burst."""


class LocalBudget:
    """The budget of a bot that runs in one process: ``Pace`` per key, in memory."""

    def __init__(self) -> None:
        self._paces: dict[str, Pace] = {}

    def _pace(self, key: str, interval: float, burst: int) -> Pace:
        pace = self._paces.get(key)
        if pace is None:
            if len(self._paces) >= MAX_TRACKED_CHATS:
                self._forget_idle()
            pace = self._paces[key] = Pace(1.0 / interval, burst)
        return pace

    def _forget_idle(self) -> None:
        """A key whose next slot is already free needs no state: a fresh Pace is the same."""
        now = asyncio.get_running_loop().time()
        for key in [k for k, pace in self._paces.items() if pace.tat <= now]:
            del self._paces[key]

    def reserve_now(self, key: str, interval: float, burst: int) -> float:
        return self._pace(key, interval, burst).reserve(asyncio.get_running_loop().time())

    async def reserve(self, key: str, interval: float, burst: int) -> float:
        return self.reserve_now(key, interval, burst)

    async def pause(self, key: str, interval: float, burst: int, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        self._pace(key, interval, burst).pause_until(loop.time() + seconds)


@dataclass(frozen=True)
class Limits:
    """Configured rates; defaults a little under Telegram's so we never touch them.

    ``paid_per_second``: the rate of sends with ``allow_paid_broadcast`` (0: none are paid).
    """

    overall_per_second: float = 28.0
    private_per_second: float = 1.0
    private_burst: int = 3
    group_per_minute: float = 19.0
    max_retries: int = 3
    paid_per_second: float = 0.0


class ChatRateLimiter(BaseRateLimiter[int]):
    """Overall pace, per-chat pace, and per-chat pauses on 429 with bounded retries.

    ``rate_limit_args`` (an int) overrides the number of retries for one call.
    """

    def __init__(self, limits: Limits | None = None, budget: Budget | None = None) -> None:
        self.limits = limits or Limits()
        self.budget: Budget = budget or LocalBudget()

    def share(self, budget: Budget) -> None:
        """Pace by ``budget`` from now on (the shared one, once the database is open)."""
        self.budget = budget

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    def _chat_rule(self, chat_id: int | str) -> tuple[str, float, int]:
        """The chat's budget key, interval and burst."""
        if isinstance(chat_id, int) and chat_id > 0:
            interval = 1.0 / self.limits.private_per_second
            return f"c:{chat_id}", interval, self.limits.private_burst
        # Groups, supergroups and channels (negative ids, @usernames).
        return f"c:{chat_id}", 60.0 / self.limits.group_per_minute, 3

    def _overall_rule(self, paid: bool) -> tuple[str, float]:
        if paid and self.limits.paid_per_second > 0:
            return "paid", 1.0 / self.limits.paid_per_second
        return "overall", 1.0 / self.limits.overall_per_second

    async def pause_chat(self, chat_id: int | str, seconds: float) -> None:
        """Hold requests to ``chat_id`` for ``seconds`` (a 429 about that chat)."""
        key, interval, burst = self._chat_rule(chat_id)
        await self.budget.pause(key, interval, burst, seconds)

    async def _wait_turn(self, chat_id: int | str | None, paid: bool = False) -> None:
        if chat_id is not None:
            key, interval, burst = self._chat_rule(chat_id)
            await _pause(await self.budget.reserve(key, interval, burst))
            # The overall slot only once the chat's turn has come: reserved together, a
            # chat's wait would waste overall slots that other chats could use.
            key, interval = self._overall_rule(paid)
            await _pause(await self.budget.reserve(key, interval, 1))

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, JSONResult]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> JSONResult:
        """Pace the request, and retry it after a 429 pauses its chat."""
        retries = self.limits.max_retries if rate_limit_args is None else rate_limit_args
        chat_id: int | str | None = data.get("chat_id")
        with contextlib.suppress(TypeError, ValueError):
            chat_id = int(chat_id)  # type: ignore[arg-type]
        # Answering a callback query or polling does not send a message.
        if endpoint in {"getUpdates", "answerCallbackQuery", "getMe", "sendChatAction"}:
            chat_id = None
        paid = data.get("allow_paid_broadcast") in (True, "true", "True")
        for attempt in range(retries + 1):
            await self._wait_turn(chat_id, paid)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                if chat_id is None:
                    raise
                seconds = exc.retry_after
                delay = seconds if isinstance(seconds, int | float) else seconds.total_seconds()
                logger.info("429 for chat %s: pausing it %.1f s", chat_id, delay)
                await self.pause_chat(chat_id, delay)
                if attempt == retries:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover
