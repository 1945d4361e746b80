"""What a fetch's result means for its feed: when to fetch next, and what admins hear.

Pure: the feed as it was, the result and the time in; the columns to write and at most
one notice out. A working feed is fetched every ``poll`` seconds. A failing one backs
off exponentially (2, 4, 8, ... polls, at most ``MAX_BACKOFF`` or one poll if that is
longer), so a dead site costs a few requests a day. Once a feed has been failing for
``DOWN_AFTER``, admins are told once; when it works again, once more.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from bot.messages.render import escape
from bot.storage import Feed, FeedOutcome

MAX_BACKOFF = dt.timedelta(hours=4)
DOWN_AFTER = dt.timedelta(days=1)


@dataclass(frozen=True)
class Notice:
    """A message for every admin; ``key`` is the same in every process, so it goes once."""

    kind: Literal["down", "up"]
    key: str
    text: str


def backoff(failures: int, poll: dt.timedelta) -> dt.timedelta:
    """The wait after the ``failures``-th failure in a row."""
    ceiling = max(poll, MAX_BACKOFF)
    if failures >= 32:
        return ceiling
    wait: dt.timedelta = poll * (2**failures)
    return min(wait, ceiling)


def after_success(
    feed: Feed,
    now: dt.datetime,
    poll: dt.timedelta,
    *,
    etag: str | None,
    last_modified: str | None,
    title: str | None,
    found_new: bool,
) -> tuple[FeedOutcome, Notice | None]:
    """A 200 that parsed, or a 304."""
    notice = None
    if feed.reported_down and feed.failing_since is not None:
        notice = Notice(
            "up",
            f"feed:up:{feed.id}:{feed.failing_since.isoformat()}",
            f"✅ The feed {escape(feed.url)} works again.",
        )
    outcome = FeedOutcome(
        next_fetch_at=now + poll,
        last_fetch_at=now,
        etag=etag,
        last_modified=last_modified,
        last_success_at=now,
        last_new_at=now if found_new else feed.last_new_at,
        last_error=None,
        failures=0,
        failing_since=None,
        reported_down=False,
        title=title or feed.title,
    )
    return outcome, notice


def after_failure(
    feed: Feed, now: dt.datetime, poll: dt.timedelta, reason: str
) -> tuple[FeedOutcome, Notice | None]:
    """A fetch or a parse that failed with ``reason``."""
    failures = feed.failures + 1
    since = feed.failing_since or now
    notice = None
    reported = feed.reported_down
    if not reported and now - since >= DOWN_AFTER:
        reported = True
        notice = Notice(
            "down",
            f"feed:down:{feed.id}:{since.isoformat()}",
            f"⚠️ The feed {escape(feed.url)} has failed since "
            f"{since:%Y-%m-%d %H:%M} UTC: {escape(reason)}\n"
            "I keep trying, less often. /feeds shows its state.",
        )
    outcome = FeedOutcome(
        next_fetch_at=now + backoff(failures, poll),
        last_fetch_at=now,
        etag=feed.etag,
        last_modified=feed.last_modified,
        last_success_at=feed.last_success_at,
        last_new_at=feed.last_new_at,
        last_error=reason[:500],
        failures=failures,
        failing_since=since,
        reported_down=reported,
        title=feed.title,
    )
    return outcome, notice
