"""Dates and recency in a question: "news from 28 May 2021", "last week", "anything new on X?".

``parse_date_query`` finds at most one date expression, turns it into an inclusive range of days
relative to a passed-in ``today`` and returns what is left of the question as the topic. A day or
month without a year ("anything on 27 April?") takes the latest year in which the corpus has news
on that day or in that month, so a question about an archive does not jump to an empty year.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass

_MONTHS = {
    name: number
    for number in range(1, 13)
    for name in {calendar.month_name[number].lower(), calendar.month_abbr[number].lower()}
}
_MONTHS["sept"] = 9
# "may" and "march" are also a verb; alone they need a preposition ("in May") to be a month.
_AMBIGUOUS = {"may", "mar", "march"}
_MONTH = "(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>(?:19|20)\d{2})"
_WEEKDAYS = {name.lower(): i for i, name in enumerate(calendar.day_name)}

_RECENCY = re.compile(
    r"\b(?:latest|newest|most\s+recent|recent(?:ly)?|lately|fresh(?:est)?|just\s+in"
    r"|what(?:'s|\s+is)\s+new|anything\s+new|something\s+new|any\s+new|new\s+today"
    r"|what(?:'s|\s+is)\s+happening)\b"
)


# A question made only of words that ask for news ("news", "any news?", "headlines
# please", "what's going on today") asks for the latest news.
_NEWS_WORD = re.compile(r"\b(?:news|headlines?|updates?|stories|happening|going\s+on)\b")
_NEWS_ONLY = re.compile(
    r"(?:\W*\b(?:any|the|some|me|us|show|give|tell|send|please|pls|today|todays|top|news"
    r"|headlines?|updates?|stories|happening|what|whats|is|are|there|going|on|new|hi|hello"
    r"|hey|get|i|want|would|like|could|can|you)\b)+\W*"
)


@dataclass(frozen=True, slots=True)
class DateQuery:
    """What a question says about time, and the rest of it.

    ``start``/``end`` bound an inclusive range of publication days (both ``None``: no date);
    ``recency`` means "newest first"; ``topic`` is the question without the date expression.
    """

    start: dt.date | None
    end: dt.date | None
    recency: bool
    topic: str
    vague: bool = False
    """A month named bare among topic words ("bridge closed until april"): perhaps the
    publication month, perhaps part of the topic; the retriever tries both."""

    @property
    def has_range(self) -> bool:
        return self.start is not None and self.end is not None

    def contains(self, day: dt.date) -> bool:
        """Whether ``day`` is inside the range (always true without a range)."""
        if self.start is not None and day < self.start:
            return False
        return not (self.end is not None and day > self.end)


@dataclass(frozen=True, slots=True)
class _Rule:
    pattern: re.Pattern[str]
    build: Callable[[re.Match[str], dt.date, Collection[dt.date]], tuple[dt.date, dt.date] | None]


def _day(year: int, month: int, day: int) -> tuple[dt.date, dt.date] | None:
    try:
        d = dt.date(year, month, day)
    except ValueError:
        return None
    return d, d


def _month_range(year: int, month: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])


def _infer_year(
    today: dt.date, known: Collection[dt.date], month: int, day: int | None = None
) -> int:
    """The latest year with news on that day (or in that month); else the last one not ahead."""
    years = [d.year for d in known if d.month == month and (day is None or d.day == day)]
    if years:
        return max(years)
    try:
        ahead = dt.date(today.year, month, day or 1) > today
    except ValueError:
        ahead = False
    return today.year - 1 if ahead else today.year


def _month_number(text: str) -> int:
    return _MONTHS[text.lower().rstrip(".")]


def _iso(
    m: re.Match[str], today: dt.date, known: Collection[dt.date]
) -> tuple[dt.date, dt.date] | None:
    return _day(int(m["year"]), int(m["m"]), int(m["d"]))


def _numeric(
    m: re.Match[str], today: dt.date, known: Collection[dt.date]
) -> tuple[dt.date, dt.date] | None:
    a, b, year = int(m["a"]), int(m["b"]), int(m["y"])
    if year < 100:
        year += 2000
    # Day first (28/05/2021) as most of the world writes it; month first when it must be, or
    # when only that reading has news (03/12 in an American paper is the 12th of March).
    day, month = (b, a) if b > 12 >= a else (a, b)
    if a <= 12 and b <= 12 and a != b and known:
        first, second = _day(year, b, a), _day(year, a, b)
        if (
            first is not None
            and second is not None
            and first[0] not in known
            and second[0] in known
        ):
            return second
    return _day(year, month, day)


def _day_range(
    m: re.Match[str], today: dt.date, known: Collection[dt.date]
) -> tuple[dt.date, dt.date] | None:
    """ "between 1 and 15 September 2024", "from Sept 1 to 15", "1-15 September 2024"."""
    month = _month_number(m["month"])
    first, last = sorted((int(m["day"]), int(m["day2"])))
    year = int(m["year"]) if m["year"] else _infer_year(today, known, month, first)
    start, end = _day(year, month, first), _day(year, month, last)
    if start is None or end is None:
        return None
    return start[0], end[0]


def _month_part(
    m: re.Match[str], today: dt.date, known: Collection[dt.date]
) -> tuple[dt.date, dt.date] | None:
    """ "the first half of October 2024", "early March", "end of May"."""
    month = _month_number(m["month"])
    year = int(m["year"]) if m["year"] else _infer_year(today, known, month)
    start, end = _month_range(year, month)
    part = re.sub(r"\s+", " ", m["part"].lower())
    if part in {"first half of", "early", "beginning of", "start of"}:
        return start, start.replace(day=15 if "half" in part else 10)
    if part in {"second half of"}:
        return start.replace(day=16), end
    if part in {"mid", "mid-", "middle of"}:
        return start.replace(day=11), start.replace(day=20)
    return start.replace(day=21), end  # late, end of


_HOLIDAYS = {
    "valentine's day": (2, 14),
    "valentines day": (2, 14),
    "valentine's": (2, 14),
    "christmas day": (12, 25),
    "christmas eve": (12, 24),
    "christmas": (12, 25),
    "boxing day": (12, 26),
    "new year's day": (1, 1),
    "new years day": (1, 1),
    "new year's eve": (12, 31),
    "new years eve": (12, 31),
    "halloween": (10, 31),
    "independence day": (7, 4),
    "st patrick's day": (3, 17),
}


def _holiday(
    m: re.Match[str], today: dt.date, known: Collection[dt.date]
) -> tuple[dt.date, dt.date] | None:
    month, day = _HOLIDAYS[re.sub(r"\s+", " ", m["holiday"].lower())]
    year = int(m["year"]) if m["year"] else _infer_year(today, known, month, day)
    return _day(year, month, day)


def _day_month_year(
    m: re.Match[str], today: dt.date, known: Collection[dt.date]
) -> tuple[dt.date, dt.date] | None:
    month, day = _month_number(m["month"]), int(m["day"])
    year = int(m["year"]) if m["year"] else _infer_year(today, known, month, day)
    return _day(year, month, day)


def _month_year(
    m: re.Match[str], today: dt.date, known: Collection[dt.date]
) -> tuple[dt.date, dt.date] | None:
    return _month_range(int(m["year"]), _month_number(m["month"]))


def _bare_month(
    m: re.Match[str], today: dt.date, known: Collection[dt.date]
) -> tuple[dt.date, dt.date] | None:
    word = m["month"].lower().rstrip(".")
    if word in _AMBIGUOUS and not m["prep"]:
        return None
    month = _MONTHS[word]
    return _month_range(_infer_year(today, known, month), month)


def _year(m: re.Match[str], today: dt.date, known: Collection[dt.date]) -> tuple[dt.date, dt.date]:
    year = int(m["year"])
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


def _relative(
    m: re.Match[str], today: dt.date, known: Collection[dt.date]
) -> tuple[dt.date, dt.date] | None:
    text = re.sub(r"\s+", " ", m.group().lower())
    one = dt.timedelta(days=1)
    if text == "today":
        return today, today
    if text == "yesterday":
        return today - one, today - one
    if text == "tomorrow":
        return today + one, today + one
    if text == "this week":
        return today - dt.timedelta(days=today.weekday()), today
    if text in {"last week", "past week", "previous week", "last 7 days", "past 7 days"}:
        return today - dt.timedelta(days=7), today
    if text == "this month":
        return today.replace(day=1), today
    if text in {"last month", "previous month"}:
        last = today.replace(day=1) - one
        return _month_range(last.year, last.month)
    if text == "past month":
        return today - dt.timedelta(days=30), today
    if text == "this year":
        return dt.date(today.year, 1, 1), today
    if text in {"last year", "previous year"}:
        return dt.date(today.year - 1, 1, 1), dt.date(today.year - 1, 12, 31)
    return None


def _past_days(
    m: re.Match[str], today: dt.date, known: Collection[dt.date]
) -> tuple[dt.date, dt.date]:
    return today - dt.timedelta(days=_span_days(m)), today


def _days_ago(
    m: re.Match[str], today: dt.date, known: Collection[dt.date]
) -> tuple[dt.date, dt.date]:
    when = today - dt.timedelta(days=_span_days(m))
    if m["unit"].lower().startswith("day"):
        return when, when
    return when - dt.timedelta(days=6), when


def _span_days(m: re.Match[str]) -> int:
    unit = m["unit"].lower().rstrip("s")
    return min(int(m["n"]), 3660) * {"day": 1, "week": 7, "month": 30}[unit]


def _weekday(
    m: re.Match[str], today: dt.date, known: Collection[dt.date]
) -> tuple[dt.date, dt.date]:
    back = (today.weekday() - _WEEKDAYS[m["weekday"].lower()]) % 7
    if m["last"] and back == 0:
        back = 7
    when = today - dt.timedelta(days=back)
    return when, when


_PREP = r"(?P<prep>\b(?:in|during|from|of|for|on|since|throughout|published|last|this)\s+)?"
_DAY2 = r"(?P<day2>[0-3]?\d)(?:st|nd|rd|th)?"
_TO = r"\s*(?:-|–|to|and|until|till)\s*"
_HOLIDAY = (
    r"(?P<holiday>"
    + "|".join(re.escape(name) for name in sorted(_HOLIDAYS, key=len, reverse=True))
    + ")"
)
_RULES: tuple[_Rule, ...] = (
    _Rule(
        re.compile(
            rf"\b(?:between\s+|from\s+)?{_DAY}{_TO}{_DAY2}(?:\s+of)?\s+{_MONTH}(?:,?\s+{_YEAR})?\b",
            re.IGNORECASE,
        ),
        _day_range,
    ),
    _Rule(
        re.compile(
            rf"\b(?:between\s+|from\s+)?{_MONTH}\s+{_DAY}{_TO}{_DAY2}(?!\d)(?:,?\s+{_YEAR})?\b",
            re.IGNORECASE,
        ),
        _day_range,
    ),
    _Rule(
        re.compile(
            r"\b(?:the\s+|in\s+the\s+)?(?P<part>(?:first|second)\s+half\s+of|early|late|mid-?"
            r"|middle\s+of|beginning\s+of|start\s+of|end\s+of)\s*(?:the\s+)?"
            rf"{_MONTH}(?:,?\s+{_YEAR})?\b",
            re.IGNORECASE,
        ),
        _month_part,
    ),
    _Rule(
        re.compile(
            rf"\b(?:on|at|over|during)\s+(?:the\s+)?{_HOLIDAY}(?:\s+{_YEAR})?(?![\w'])",
            re.IGNORECASE,
        ),
        _holiday,
    ),
    _Rule(re.compile(r"\b(?P<year>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})\b"), _iso),
    _Rule(re.compile(r"\b(?P<a>\d{1,2})[/.](?P<b>\d{1,2})[/.](?P<y>\d{4}|\d{2})\b"), _numeric),
    _Rule(
        re.compile(rf"\b{_DAY}(?:\s+of)?\s+{_MONTH}(?:,?\s+{_YEAR})?\b", re.IGNORECASE),
        _day_month_year,
    ),
    _Rule(
        re.compile(rf"\b{_MONTH}\s+{_DAY}(?!\d)(?:,?\s+{_YEAR})?\b", re.IGNORECASE),
        _day_month_year,
    ),
    _Rule(re.compile(rf"\b{_MONTH},?\s+{_YEAR}\b", re.IGNORECASE), _month_year),
    _Rule(
        re.compile(
            r"\b(?:today|yesterday|tomorrow|(?:this|last|past|previous)\s+(?:week|month|year)"
            r"|(?:last|past)\s+7\s+days)\b",
            re.IGNORECASE,
        ),
        _relative,
    ),
    _Rule(
        re.compile(r"\b(?:last|past)\s+(?P<n>\d{1,4})\s+(?P<unit>days?|weeks?|months?)\b"),
        _past_days,
    ),
    _Rule(re.compile(r"\b(?P<n>\d{1,4})\s+(?P<unit>days?|weeks?|months?)\s+ago\b"), _days_ago),
    _Rule(
        re.compile(
            r"\b(?:on\s+)?(?P<last>last\s+)?(?P<weekday>" + "|".join(_WEEKDAYS) + r")\b",
            re.IGNORECASE,
        ),
        _weekday,
    ),
    _Rule(re.compile(rf"{_PREP}\b{_MONTH}\b(?!\s*\d)", re.IGNORECASE), _bare_month),
    _Rule(
        re.compile(r"\b(?:in|during|from|since|throughout|of)\s+(?P<year>(?:19|20)\d{2})\b"),
        _year,
    ),
)


# What is left of a dated question that asks only for that day's news ("what was reported
# on ...", "Dec 9, 2024 headlines", "what was in the paper on ...").
_DATE_ONLY = re.compile(
    r"(?:\W*\b(?:any|anything|the|some|me|us|show|give|tell|send|please|pls|top|news|headlines?"
    r"|updates?|stories|story|articles?|happening|happened|happen|what|whats|was|were|is|are"
    r"|there|going|on|in|new|get|i|want|would|like|could|can|you|reported|report|published"
    r"|posted|printed|written|came|come|out|paper|papers|newspaper|edition|did|do|say|said"
    r"|from|of|for|that|day|date|during|between|range|period|a|an|all|everything|list)\b)+\W*"
)

_LEFTOVER = re.compile(
    r"\b(?:from|on|in|of|for|during|since|throughout|published|posted|dated|between|at|around)\s*$"
)


def parse_date_query(
    text: str, *, today: dt.date, known_dates: Collection[dt.date] = ()
) -> DateQuery:
    """Split ``text`` into a date range, a recency flag and the remaining topic.

    ``text`` should already be normalised (lower case, no control characters); ``known_dates`` are
    the corpus's publication days, used only to give a year to "27 April" or "in April".
    """
    recency = False
    topic = text
    if _NEWS_WORD.search(topic) and _NEWS_ONLY.fullmatch(topic.replace("'", "")):
        return DateQuery(None, None, True, "")
    if _RECENCY.search(topic):
        recency = True
        topic = _RECENCY.sub(" ", topic)
    for rule in _RULES:
        for m in rule.pattern.finditer(topic):
            try:
                found = rule.build(m, today, known_dates)
            except (ValueError, OverflowError):  # a date beyond datetime's range is no date
                found = None
            if found is None:
                continue
            start, end = found
            before = _LEFTOVER.sub("", topic[: m.start()])
            rest = _squash(f"{before} {topic[m.end() :]}")
            if _DATE_ONLY.fullmatch(rest.replace("'", "")):
                rest = ""
            vague = rule.build is _bare_month and not m["prep"] and bool(rest)
            return DateQuery(start, end, recency, rest, vague)
    return DateQuery(None, None, recency, _squash(topic))


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip(" ,.;:!?-")
