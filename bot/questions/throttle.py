"""Per-user limit on questions, so one user cannot starve the others."""

from __future__ import annotations

from collections import deque


class QuestionThrottle:
    """A sliding one-minute window of question times per user; the clock is passed in."""

    WINDOW = 60.0

    def __init__(self, per_minute: int, max_users: int = 100_000) -> None:
        self.per_minute = per_minute
        self.max_users = max_users
        self._asked: dict[int, deque[float]] = {}

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
