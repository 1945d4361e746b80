"""Values the storage keeps and checks on the way in: text, a time of day, an IANA time zone.

Pure and at the bottom of the layers, so configuration, commands and storage share one rule.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

# C0 controls but tab and newline, and DEL: PostgreSQL refuses NUL in text, no reader needs
# the others.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# Bidirectional overrides, embeddings, isolates and marks (Unicode UAX #9): in a topic they
# can make "gro.live" read as "evil.org".
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def clean_text(text: str) -> str:
    """``text`` without control characters (tab and newline stay)."""
    return _CONTROLS.sub("", text)


def clean_topic(text: str) -> str:
    """A followed topic: no control or bidirectional formatting characters, one line."""
    return _BIDI.sub("", _CONTROLS.sub("", text.replace("\t", " ").replace("\n", " ")))


def parse_clock(value: str) -> dt.time:
    """``"08:00"`` → 08:00; raises ValueError with a usable message otherwise."""
    match = re.fullmatch(r"\s*(\d{1,2})[:.h](\d{2})\s*", value)
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise ValueError(f"expected a time of day as HH:MM (00:00 to 23:59), got {value!r}")
    return dt.time(int(match.group(1)), int(match.group(2)))


# Files in the zone database that are not places: "Factory" means "local time not set" and
# shows as "-00"; the others are the system's aliases, not zone names.
_NOT_ZONES = frozenset({"factory", "localtime", "posixrules", "posix", "right"})


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
        if name.split("/")[0].casefold() in _NOT_ZONES:
            raise ValueError
        name = _zone_spellings().get(name.lower(), name)
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"expected an IANA time zone such as Europe/Berlin or Asia/Tokyo, got {value!r}"
        ) from None
    return name
