"""Callback data of inline buttons: encoded within Telegram's 64 bytes, decoded defensively.

Bot API: ``callback_data`` is 1-64 bytes. https://core.telegram.org/bots/api#inlinekeyboardbutton
Data may be stale (an old message) or forged (any client can send any bytes), so
decoding never trusts it: unknown shapes decode to ``None``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Re-exported: the key of a "did you mean" button is the knowledge's key of the item.
from bot.knowledge.models import item_key as item_key

CALLBACK_DATA_LIMIT = 64


@dataclass(frozen=True)
class MorePage:
    """Show page ``page`` of the results for ``query``."""

    query: str
    page: int


@dataclass(frozen=True)
class ShowItem:
    """Show the item whose id hashes to ``key`` (a "did you mean" choice)."""

    key: str


@dataclass(frozen=True)
class BroadcastAction:
    """An admin's Send / Edit / Cancel on a broadcast preview or a running broadcast."""

    action: str
    ref: str


@dataclass(frozen=True)
class SettingsAction:
    """A /settings button: ``time`` (value HHMM), ``empty`` (value 0 or 1), ``zone`` (the zone
    picker), ``tz`` (value a zone), ``region`` (value a region of bot.digests.zones), ``back``,
    ``subscribe`` (a chat without a digest takes the default one)."""

    setting: str
    value: str = ""


@dataclass(frozen=True)
class FeedAction:
    """An admin's button under /feeds: ``remove`` the feed with database id ``feed_id``."""

    action: str
    feed_id: int


Callback = MorePage | ShowItem | BroadcastAction | SettingsAction | FeedAction


def encode(callback: Callback) -> str | None:
    """The callback data string, or ``None`` if it cannot fit in 64 bytes."""
    match callback:
        case MorePage(query=query, page=page):
            data = f"m:{page}:{query}"
        case ShowItem(key=key):
            data = f"i:{key}"
        case BroadcastAction(action=action, ref=ref):
            data = f"b:{action}:{ref}"
        case SettingsAction(setting=setting, value=value):
            data = f"s:{setting}:{value}"
        case FeedAction(action=action, feed_id=feed_id):
            data = f"f:{action}:{feed_id}"
    return data if 0 < len(data.encode()) <= CALLBACK_DATA_LIMIT else None


def decode(data: str | None) -> Callback | None:
    """Parse callback data; anything unexpected gives ``None``."""
    if not data or len(data.encode()) > CALLBACK_DATA_LIMIT:
        return None
    if m := re.fullmatch(r"m:(\d{1,3}):(.+)", data, flags=re.DOTALL):
        return MorePage(query=m.group(2), page=int(m.group(1)))
    if m := re.fullmatch(r"i:([0-9a-f]{12})", data):
        return ShowItem(key=m.group(1))
    if m := re.fullmatch(r"b:(send|edit|cancel):([A-Za-z0-9_-]{1,40})", data):
        return BroadcastAction(action=m.group(1), ref=m.group(2))
    # A running broadcast's id: digits that fit the database's 64-bit integer.
    if m := re.fullmatch(r"b:stop:([1-9][0-9]{0,17})", data):
        return BroadcastAction(action="stop", ref=m.group(1))
    if m := re.fullmatch(r"s:(time:(?:[01]\d|2[0-3])[0-5]\d|empty:[01]|zone:|subscribe:)", data):
        setting, value = m.group(1).split(":")
        return SettingsAction(setting=setting, value=value)
    # A zone picked from the buttons, a region's list of zones, back to the settings.
    if m := re.fullmatch(r"s:(tz|region|back):([A-Za-z0-9_/+-]{0,50})", data):
        return SettingsAction(setting=m.group(1), value=m.group(2))
    if m := re.fullmatch(r"f:(remove):(\d{1,18})", data):
        return FeedAction(action=m.group(1), feed_id=int(m.group(2)))
    return None
