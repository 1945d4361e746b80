"""Flood control: token buckets for the bot overall, per private chat and per group.

The numbers come from the Bot API FAQ ("My bot is hitting limits, how do I avoid this?",
https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this):
about one message per second to one chat, "short bursts that go over this limit" tolerated,
20 messages per minute to one group, about 30 messages per second overall.

Telegram publishes no burst size. A private-chat bucket of 3 tolerates the common honest
burst (an answer split into two or three parts, or an answer plus a follow-up), while a
bot that loops over one chat gets 429 on the fourth quick message, as it would in
production after a few.

Paid broadcasts (Bot API 7.11, ``allow_paid_broadcast``): "up to 1000 messages per second",
past the free overall limit, for 0.1 Star each; per-chat limits still apply. A send with the
flag takes its token from a bucket of its own (``paid_per_second``) instead of the overall
one, and past it gets 429 with retry_after as any flood.

Edits are not counted by default: Telegram limits them separately and more loosely, and
counting them as sends would make a bot that edits a progress message look broken here
while it works there. ``FloodLimits(count_edits=True)`` counts them against the chat.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class FloodLimits:
    """Configuration of the flood limits; ``FloodLimits.off()`` disables them."""

    enabled: bool = True
    global_per_second: float = 30.0
    global_burst: int = 30
    private_per_second: float = 1.0
    private_burst: int = 3
    group_per_minute: float = 20.0
    group_burst: int = 20
    paid_per_second: float = 1000.0
    paid_burst: int = 1000
    count_edits: bool = False

    @classmethod
    def off(cls) -> FloodLimits:
        """No flood limits at all (``force_retry_after`` still works)."""
        return cls(enabled=False)


class TokenBucket:
    """A bucket of ``capacity`` tokens refilled at ``rate`` tokens per second."""

    def __init__(self, rate: float, capacity: int, now: float) -> None:
        self.rate = rate
        self.capacity = float(capacity)
        self.tokens = float(capacity)
        self.updated = now

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(self.capacity, self.tokens + elapsed * self.rate)
        self.updated = now

    def wait_time(self, now: float) -> float:
        """Seconds until one token is available (0 when one is available now)."""
        self._refill(now)
        if self.tokens >= 1.0:
            return 0.0
        return (1.0 - self.tokens) / self.rate

    def take(self, now: float) -> None:
        self._refill(now)
        self.tokens -= 1.0


class FloodControl:
    """Decides whether a message to a chat may be sent now, consuming tokens when it may."""

    def __init__(self, limits: FloodLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        self._global: TokenBucket | None = None
        self._paid: TokenBucket | None = None
        self._chats: dict[int, TokenBucket] = {}

    def _chat_bucket(self, chat_id: int, now: float) -> TokenBucket:
        bucket = self._chats.get(chat_id)
        if bucket is None:
            limits = self.limits
            if chat_id < 0:  # groups, supergroups and channels have negative ids
                bucket = TokenBucket(limits.group_per_minute / 60.0, limits.group_burst, now)
            else:
                bucket = TokenBucket(limits.private_per_second, limits.private_burst, now)
            self._chats[chat_id] = bucket
        return bucket

    def acquire(self, chat_id: int, paid: bool = False) -> float | None:
        """Take a token for ``chat_id`` and return None, or return the seconds to wait.

        ``paid``: the send carries ``allow_paid_broadcast``; the paid bucket replaces the
        overall one.
        """
        limits = self.limits
        if not limits.enabled:
            return None
        now = self._clock()
        if paid:
            if self._paid is None:
                self._paid = TokenBucket(limits.paid_per_second, limits.paid_burst, now)
            overall = self._paid
        else:
            if self._global is None:
                self._global = TokenBucket(limits.global_per_second, limits.global_burst, now)
            overall = self._global
        chat = self._chat_bucket(chat_id, now)
        wait = max(overall.wait_time(now), chat.wait_time(now))
        if wait > 0.0:
            return wait
        overall.take(now)
        chat.take(now)
        return None

    def reset(self) -> None:
        """Forget all buckets (every chat starts full again)."""
        self._global = None
        self._paid = None
        self._chats.clear()
