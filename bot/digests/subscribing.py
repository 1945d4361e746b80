"""Reading what a person types after /subscribe: a time of day and an IANA zone, in any order."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.digests.schedule import check_timezone, parse_clock

SUBSCRIBE_USAGE = (
    "Usage: /subscribe [HH:MM] [Area/City], for example /subscribe 08:00 Europe/Berlin"
)


# Abbreviations people type for a zone. Some are zone names too ("EST", "MST", "HST", "CET"),
# but fixed or European-rule ones: "EST" is UTC-5 all year, an hour off in a New York summer.
# Each is answered with the city zone meant, which follows that place's daylight saving.
ABBREVIATIONS = {
    "est": "America/New_York",
    "edt": "America/New_York",
    "cst": "America/Chicago",
    "cdt": "America/Chicago",
    "mst": "America/Denver",
    "mdt": "America/Denver",
    "pst": "America/Los_Angeles",
    "pdt": "America/Los_Angeles",
    "akst": "America/Anchorage",
    "hst": "Pacific/Honolulu",
    "bst": "Europe/London",
    "wet": "Europe/Lisbon",
    "west": "Europe/Lisbon",
    "cet": "Europe/Berlin",
    "cest": "Europe/Berlin",
    "met": "Europe/Berlin",
    "eet": "Europe/Athens",
    "eest": "Europe/Athens",
    "msk": "Europe/Moscow",
    "ist": "Asia/Kolkata",
    "jst": "Asia/Tokyo",
    "kst": "Asia/Seoul",
    "aest": "Australia/Sydney",
    "aedt": "Australia/Sydney",
    "nzst": "Pacific/Auckland",
}


@dataclass(frozen=True)
class DigestChoice:
    """A digest time and zone, validated."""

    digest_time: dt.time
    timezone: str


_TWELVE_HOUR = re.compile(r"(\d{1,2})(?:[:.h](\d{2}))?\s*([ap])\.?m\.?", re.IGNORECASE)


def _clock(text: str) -> dt.time:
    """ "08:00", or the twelve-hour "8pm", "8:30 am", "12 a.m."."""
    twelve = _TWELVE_HOUR.fullmatch(text.strip())
    if twelve is None:
        return parse_clock(text)
    hour, minute = int(twelve[1]), int(twelve[2] or 0)
    if not 1 <= hour <= 12 or minute > 59:
        raise ValueError(f"not a time of day: {text!r}")
    return dt.time(hour % 12 + (12 if twelve[3].lower() == "p" else 0), minute)


def _words(args: Sequence[str]) -> list[str]:
    """What was typed, with "8:00" "PM" one time and "America/New" "York" one zone."""
    words: list[str] = []
    for arg in args:
        last = words[-1] if words else ""
        if last[:1].isdigit() and arg.casefold().replace(".", "") in {"am", "pm"}:
            words[-1] = f"{last} {arg}"
            continue
        if "/" in last and "/" not in arg and arg[:1].isalpha():
            try:
                words[-1] = check_timezone(f"{last}_{arg}")
            except ValueError:
                pass
            else:
                continue
        words.append(arg)
    return words


def parse_subscribe_args(
    args: Sequence[str], default_time: dt.time, default_zone: str
) -> DigestChoice | str:
    """The choice, or a message saying what is wrong (with an example)."""
    args = _words(args)
    if len(args) > 2:
        return SUBSCRIBE_USAGE
    digest_time, zone = default_time, default_zone
    seen_time = seen_zone = False
    abbreviation = None
    for arg in args:
        if arg[:1].isdigit():
            if seen_time:
                return SUBSCRIBE_USAGE
            try:
                digest_time = _clock(arg)
            except ValueError:
                return (
                    f"“{arg}” is not a time of day. Use HH:MM from 00:00 to 23:59 (or 8pm).\n"
                    + (SUBSCRIBE_USAGE)
                )
            seen_time = True
        else:
            if seen_zone:
                return SUBSCRIBE_USAGE
            if arg.casefold() in ABBREVIATIONS:
                abbreviation = arg
                seen_zone = True
                continue
            try:
                zone = check_timezone(arg)
            except ValueError:
                return (
                    f"“{arg}” is not a time zone I know. Use an IANA name such as "
                    "Europe/Berlin, America/New_York or Asia/Tokyo.\n" + SUBSCRIBE_USAGE
                )
            seen_zone = True
    if abbreviation is not None:
        return (
            f"“{abbreviation}” is an abbreviation, not a place, and it does not follow "
            "daylight saving. Send the zone of a city instead, for example "
            f"/subscribe {digest_time:%H:%M} {ABBREVIATIONS[abbreviation.casefold()]}"
        )
    return DigestChoice(digest_time, zone)
