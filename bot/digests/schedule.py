"""When a daily digest is due: local wall-clock time in the subscriber's own zone.

Pure functions; the clock is passed in. Times are computed in the subscriber's
IANA zone with ``zoneinfo``, so a digest set for 08:00 stays at 08:00 local time
across daylight-saving changes. A local time that does not exist on the day the
clocks go forward (02:30 in Europe/Berlin on the last Sunday of March) resolves
with ``fold=0``, i.e. one hour later by the wall clock, which is what people expect.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

# Re-exported: the digest's rules for a time of day and a zone are the stored values' rules.
from bot.storage.values import check_timezone as check_timezone
from bot.storage.values import parse_clock as parse_clock


def next_due(digest_time: dt.time, timezone: str, after: dt.datetime) -> dt.datetime:
    """The first moment strictly after ``after`` when the local clock shows ``digest_time``.

    ``after`` must be timezone-aware; the result is in UTC.
    """
    if after.tzinfo is None:
        raise ValueError("after must be timezone-aware")
    zone = ZoneInfo(timezone)
    local = after.astimezone(zone)
    day = local.date()
    for offset in range(3):
        candidate = dt.datetime.combine(day + dt.timedelta(days=offset), digest_time, tzinfo=zone)
        # Round-trip through UTC to normalise times that fall in a DST gap.
        candidate_utc = candidate.astimezone(dt.UTC)
        if candidate_utc > after:
            return candidate_utc
    raise AssertionError("unreachable: a local time recurs within three days")


def describe_wait(now: dt.datetime, when: dt.datetime) -> str:
    """``in 5 h 12 min`` (or ``in 3 min``, ``in less than a minute``)."""
    minutes = int((when - now).total_seconds() // 60)
    if minutes < 1:
        return "in less than a minute"
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return f"in {hours} h {minutes} min"
    if hours:
        return f"in {hours} h"
    return f"in {minutes} min"
