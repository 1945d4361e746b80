"""Values the storage keeps and checks on the way in: a time of day, an IANA time zone.

Pure and at the bottom of the layers, so configuration, commands and storage share one rule.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones


def parse_clock(value: str) -> dt.time:
    """``"08:00"`` → 08:00; raises ValueError with a usable message otherwise."""
    match = re.fullmatch(r"\s*(\d{1,2})[:.h](\d{2})\s*", value)
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise ValueError(f"expected a time of day as HH:MM (00:00 to 23:59), got {value!r}")
    return dt.time(int(match.group(1)), int(match.group(2)))


@functools.cache
def _zone_spellings() -> dict[str, str]:
    """Every known zone by its lower-case name: ``europe/berlin`` → ``Europe/Berlin``."""
    return {name.lower(): name for name in available_timezones()}


def check_timezone(value: str) -> str:
    """An IANA zone name in its IANA spelling, whatever the case typed (``utc`` → ``UTC``,
    ``europe/berlin`` → ``Europe/Berlin``); raises ValueError for an unknown zone."""
    name = value.strip()
    try:
        if not name or name.startswith(("/", ".")) or ".." in name:
            raise ValueError
        name = _zone_spellings().get(name.lower(), name)
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"expected an IANA time zone such as Europe/Berlin or Asia/Tokyo, got {value!r}"
        ) from None
    return name
