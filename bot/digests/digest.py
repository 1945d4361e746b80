"""The daily digest: a pure function from (subscriber, items, last sent, now) to messages.

Nothing here touches a clock, a database or Telegram, so every rule (what is
new, folding after downtime, the cap against a backlog flood, splitting within
4096 characters) is tested directly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot.knowledge.models import NewsItem
from bot.messages.render import render_item, split_blocks

# A digest after a long outage folds everything new into one digest, but shows at
# most this many items and says how many more there are: never a flood.
MAX_DIGEST_ITEMS = 10
# A first digest (nothing sent before) shows the latest news as a welcome.
FIRST_DIGEST_ITEMS = 5


@dataclass(frozen=True)
class DigestRequest:
    """What the digest of one subscriber is built from."""

    timezone: str
    last_digest_at: dt.datetime | None
    send_empty: bool
    # Items the subscriber already got as a broadcast or an alert: not again in the digest.
    received: frozenset[str] = frozenset()


def new_items(
    items: Sequence[NewsItem],
    first_seen: Mapping[str, dt.datetime],
    since: dt.datetime | None,
    until: dt.datetime,
) -> list[NewsItem]:
    """Items that became known in ``(since, until]``, newest first (``items`` in file order).

    With ``since`` None (a first digest), every item known by ``until``. The window is
    open at ``since`` and closed at ``until`` so consecutive digests neither repeat nor skip.
    """

    def fresh(item: NewsItem) -> bool:
        seen = first_seen.get(item.id)
        return seen is not None and seen <= until and (since is None or seen > since)

    chosen = [item for item in items if fresh(item)]
    # Newest first, one day's items in file order: the order of /latest and of answers
    # (Retriever.latest). sorted() is stable, also with reverse=True.
    return sorted(chosen, key=lambda item: item.date, reverse=True)


def build_digest(
    request: DigestRequest,
    items: Sequence[NewsItem],
    first_seen: Mapping[str, dt.datetime],
    now: dt.datetime,
) -> list[str]:
    """The digest's messages (HTML, each within Telegram's limit); empty means send nothing."""
    local_day = now.astimezone(ZoneInfo(request.timezone)).date()
    day = f"{local_day.day} {local_day:%B %Y}"
    fresh = new_items(items, first_seen, request.last_digest_at, now)
    fresh = [item for item in fresh if item.id not in request.received]
    if request.last_digest_at is None:
        fresh = fresh[:FIRST_DIGEST_ITEMS]
        header = f"<b>Your news digest, {day}</b>\nTo start with, the latest news:"
    else:
        header = f"<b>Your news digest, {day}</b>"
    if not fresh:
        if request.send_empty:
            return [f"{header}\nNothing new since your last digest."]
        return []
    shown = fresh[:MAX_DIGEST_ITEMS]
    blocks = [header, *(render_item(item, number=n) for n, item in enumerate(shown, start=1))]
    if len(fresh) > len(shown):
        more = len(fresh) - len(shown)
        blocks.append(f"…and {more} more new item{'s' if more != 1 else ''}: see /latest 20")
    return split_blocks(blocks)


def explain_silence(
    *,
    subscribed: bool,
    digest_time: str,
    timezone: str,
    last_digest_at: dt.datetime | None,
    next_due_in: str,
    new_since_last: int,
    send_empty: bool,
    queued: bool,
) -> str:
    """The answer to "why did I get nothing?", from the subscription's state."""
    if not subscribed:
        return (
            "You are not subscribed, so no digest comes. "
            "Send /subscribe 08:00 Europe/Berlin (your time and zone) to get one every day."
        )
    when = f"Your digest comes every day at {digest_time} ({timezone}); the next {next_due_in}."
    if queued:
        return f"Your digest is on its way: it is queued and being sent now. {when}"
    if last_digest_at is None:
        return f"You have not had a digest yet. {when}"
    last = last_digest_at.astimezone(ZoneInfo(timezone))
    since = f"since your last digest ({last:%d %b %H:%M})"
    if new_since_last == 0:
        if send_empty:
            return f"Nothing new has arrived {since}. {when}"
        return (
            f"Nothing new has arrived {since}, and a digest with nothing new is not sent. "
            f"Turn on “nothing new” messages in /settings to hear from me anyway. {when}"
        )
    items = f"{new_since_last} new item{'s' if new_since_last != 1 else ''}"
    return f"{items} arrived {since}: they come in your next digest, or now with /digest. {when}"
