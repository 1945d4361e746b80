"""What admins see under /feeds: each feed's state in a few words (pure)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from bot.messages.render import escape
from bot.storage import Feed

USAGE = (
    "Usage: /feeds – the followed feeds\n"
    "/feeds add https://example.org/feed.xml [push] – follow a feed (push: send each new "
    "item to every subscriber)\n"
    "/feeds remove https://example.org/feed.xml – stop following it"
)


def ago(when: dt.datetime | None, now: dt.datetime) -> str:
    """``never``, ``just now``, ``5 min ago``, ``3 h ago``, ``2 days ago``."""
    if when is None:
        return "never"
    seconds = max(0.0, (now - when).total_seconds())
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 2 * 86400:
        return f"{int(seconds // 3600)} h ago"
    return f"{int(seconds // 86400)} days ago"


def feeds_text(feeds: Sequence[Feed], now: dt.datetime, limit: int = 20) -> str:
    """The /feeds list (HTML): numbered, each with last fetch, last new item, last error.

    The first ``limit`` feeds are listed; past them, a count says how many more there are.
    """
    if not feeds:
        return "No feeds yet.\n\n" + escape(USAGE)
    lines = [f"<b>Feeds</b> ({len(feeds)})"]
    for number, feed in enumerate(feeds[:limit], start=1):
        name = f"{escape(feed.title[:80])} – " if feed.title else ""
        push = " · push" if feed.push else ""
        url = feed.url if len(feed.url) <= 200 else feed.url[:199] + "…"
        lines.append(f"\n{number}. {name}{escape(url)}{push}")
        lines.append(
            f"   last fetch {ago(feed.last_fetch_at, now)} · "
            f"last new item {ago(feed.last_new_at, now)}"
        )
        if feed.last_error:
            since = f" (failing since {ago(feed.failing_since, now)})" if feed.failures else ""
            lines.append(f"   ⚠️ {escape(feed.last_error[:120])}{since}")
    if len(feeds) > limit:
        lines.append(f"\n… and {len(feeds) - limit} more: newsbot feeds list shows them all.")
    lines.append("\nAdd one: /feeds add URL [push]")
    return "\n".join(lines)
