"""Dates and recency in a question: "news from 28 May 2021", "last week", "anything new on X?".

``parse_date_query`` finds one date expression, or two that bound a range ("from 28 May to 5 June
2021") or one open at one end ("since 5 June 2021"), turns it into an inclusive range of days
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

# "latest 3 news", "the 5 most recent items", "top 10 headlines", "last five stories": how many.
_COUNT_WORDS = {
    word: number
    for number, word in enumerate(
        ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"], start=1
    )
}
_N = r"(?P<n{i}>\d{{1,3}}|" + "|".join(_COUNT_WORDS) + ")"
_RECENT = r"(?:latest|newest|most\s+recent|recent)"
_RANKED = r"(?:last|top)"
_NOUN = r"(?:news|items?|stories|story|headlines?|articles?|updates?|posts?|reports?)\b"
_UNIT = r"(?:days?|weeks?|months?|years?|hours?)\b"
_COUNT = re.compile(
    rf"\b(?:{_RECENT}\s+{_N.format(i=1)}\b(?!\s*{_UNIT})"
    rf"|{_RANKED}\s+{_N.format(i=2)}(?=\s+(?:{_RECENT}\s+)?{_NOUN})"
    rf"|{_N.format(i=3)}\s+{_RECENT}\b"
    rf"|{_N.format(i=4)}\s+{_RANKED}(?=\s+{_NOUN}))"
)
COUNT_MAX = 50


def _count(m: re.Match[str]) -> int | None:
    said = next(value for value in m.groups() if value is not None)
    number = _COUNT_WORDS.get(said) or int(said)
    return min(number, COUNT_MAX) if number > 0 else None


# A question made only of words that ask for news ("news", "any news?", "headlines
# please", "what's going on today") asks for the latest news.
_NEWS_WORD = re.compile(
    r"\b(?:news|headlines?|updates?|stories|items|articles|happening|going\s+on)\b"
)
_NEWS_ONLY = re.compile(
    r"(?:\W*\b(?:any|the|some|me|us|show|give|tell|send|please|pls|today|todays|top|news"
    r"|headlines?|updates?|stories|items|articles|happening|what|whats|is|are|there|going|on|new"
    r"|hi|hello"
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
    count: int | None = None
    """How many items were asked for ("the 3 latest news"), at most ``COUNT_MAX``."""

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


@dataclass(frozen=True, slots=True)
class _Found:
    """One date expression: where it is in the text, the days it names, and whether it
    gave its year (``explicit``; "28 May" did not, so "28 May to 5 June 2021" lends it one)."""

    first: int
    last: int
    start: dt.date
    end: dt.date
    explicit: bool


def _found(
    rule: _Rule, m: re.Match[str], today: dt.date, known: Collection[dt.date]
) -> _Found | None:
    try:
        days = rule.build(m, today, known)
    except (ValueError, OverflowError):  # a date beyond datetime's range is no date
        return None
    if days is None:
        return None
    groups = m.groupdict()
    explicit = rule.build is not _bare_month and not ("year" in groups and groups["year"] is None)
    return _Found(m.start(), m.end(), days[0], days[1], explicit)


def _scan(text: str, today: dt.date, known: Collection[dt.date]) -> tuple[_Found, bool] | None:
    """The first rule's first date expression in ``text``, and whether it is a bare month
    among other words (see ``DateQuery.vague``)."""
    for rule in _RULES:
        for m in rule.pattern.finditer(text):
            found = _found(rule, m, today, known)
            if found is not None:
                return found, rule.build is _bare_month and not m["prep"]
    return None


def _at(text: str, pos: int, today: dt.date, known: Collection[dt.date]) -> _Found | None:
    """A date expression that starts at ``pos`` (the longest)."""
    found = [
        f
        for rule in _RULES
        if (m := rule.pattern.match(text, pos)) is not None
        and (f := _found(rule, m, today, known)) is not None
    ]
    return max(found, key=lambda f: f.last, default=None)


def _ending_at(text: str, end: int, today: dt.date, known: Collection[dt.date]) -> _Found | None:
    """A date expression that ends at ``end`` (the longest)."""
    found = [
        f
        for rule in _RULES
        for m in rule.pattern.finditer(text, 0, end)
        if m.end() == end and (f := _found(rule, m, today, known)) is not None
    ]
    return min(found, key=lambda f: f.first, default=None)


def _with_year(
    text: str, part: _Found, year: int, today: dt.date, known: Collection[dt.date]
) -> _Found | None:
    """``part`` ("28 May") read again in ``year``."""
    again = _at(f"{text[part.first : part.last]} {year}", 0, today, known)
    if again is None or not again.explicit:
        return None
    return _Found(part.first, part.last, again.start, again.end, True)


_WRAP_DAYS = 183
"""A range read across new year ("28 December to 5 January 2025") is at most this long;
longer, the ends were given the wrong way round ("from 10 June to 1 May 2021")."""


def _lend_year(
    text: str, first: _Found, second: _Found, today: dt.date, known: Collection[dt.date]
) -> tuple[_Found, _Found]:
    """ "28 May to 5 June 2021": the year said once is both ends' year (and "28 December to
    5 January 2025" starts the year before)."""
    if second.explicit and not first.explicit:
        year = second.start.year
        lent = _with_year(text, first, year, today, known)
        if lent is not None and lent.start > second.end:
            wrapped = _with_year(text, first, year - 1, today, known)
            if wrapped is not None and (second.end - wrapped.start).days <= _WRAP_DAYS:
                lent = wrapped
        return (lent or first), second
    if first.explicit and not second.explicit:
        year = first.end.year
        lent = _with_year(text, second, year, today, known)
        if lent is not None and lent.end < first.start:
            wrapped = _with_year(text, second, year + 1, today, known)
            if wrapped is not None and (wrapped.end - first.start).days <= _WRAP_DAYS:
                lent = wrapped
        return first, (lent or second)
    return first, second


# "from 1 June to 10 June 2021", "between 28 May 2021 and 5 June 2021", "May - June 2021".
_JOIN = re.compile(r"\s*(?:-|–|—|\bto\b|\band\b|\buntil\b|\btill\b|\bthrough\b|\bthru\b)\s*")
_JOIN_BEFORE = re.compile(r"(?:-|–|—|\bto|\band|\buntil|\btill|\bthrough|\bthru)\s*$")
_BETWEEN_BEFORE = re.compile(r"\bbetween\s+$")
# "since 5 June 2021", "before April 2021", "until 10 June", "after the 3rd of May".
_OPEN_BEFORE = re.compile(
    r"\b(?P<word>since|after|before|until|till|up\s+to|prior\s+to)\s+(?:the\s+)?$"
)
_SINCE_PREP = re.compile(r"since\b")


def _range_of(
    text: str, found: _Found, vague: bool, today: dt.date, known: Collection[dt.date]
) -> _Found:
    """``found`` widened to a range it is one end of: "from X to Y", or "since X"."""
    before = text[: found.first]
    join = _JOIN.match(text, found.last)
    second = _at(text, join.end(), today, known) if join is not None else None
    if join is not None and join.group().strip() == "and" and not _BETWEEN_BEFORE.search(before):
        second = None  # "on 1 June and 10 June": two days, not the days between
    first: _Found | None = found
    if second is None:
        joined = _JOIN_BEFORE.search(before)
        if joined is not None:
            end = len(before[: joined.start()].rstrip())
            first, second = _ending_at(text, end, today, known), found
            if (
                first is not None
                and joined.group().strip() == "and"
                and not _BETWEEN_BEFORE.search(text[: first.first])
            ):
                first = None
    if first is not None and second is not None:
        first, second = _lend_year(text, first, second, today, known)
        return _Found(
            min(first.first, second.first),
            max(first.last, second.last),
            min(first.start, second.start),
            max(first.end, second.end),
            True,
        )
    if vague:
        return found  # "closed until april": the month may be the topic's, not a bound
    opened = _OPEN_BEFORE.search(before)
    word = re.sub(r"\s+", " ", opened["word"]) if opened is not None else None
    if word is None and _SINCE_PREP.match(text, found.first):
        word = "since"  # "since may", "since 2020": the rule took the word with the date
    first_char = opened.start() if opened is not None else found.first
    if word == "since":
        return _Found(first_char, found.last, found.start, max(today, found.end), True)
    if word == "after":
        return _Found(
            first_char, found.last, found.end + dt.timedelta(days=1), max(today, found.end), True
        )
    if word in {"before", "prior to"}:
        return _Found(
            first_char, found.last, dt.date.min, found.start - dt.timedelta(days=1), True
        )
    if word in {"until", "till", "up to"}:
        return _Found(first_char, found.last, dt.date.min, found.end, True)
    return found


def _readings(rule: _Rule, m: re.Match[str]) -> tuple[int, list[tuple[int, int]]]:
    """The year and the (month, day) readings of a calendar date one of ``_RULES`` matched;
    a day and month without a year are read in a leap year (30 February is in none)."""
    if rule.build is _iso:
        return int(m["year"]), [(int(m["m"]), int(m["d"]))]
    if rule.build is _numeric:
        a, b, year = int(m["a"]), int(m["b"]), int(m["y"])
        return year + 2000 if year < 100 else year, [(b, a), (a, b)]
    year = int(m["year"]) if m["year"] else 2024
    return year, [(_month_number(m["month"]), int(m["day"]))]


def impossible_date(text: str) -> str | None:
    """A date in ``text`` that is in no calendar ("31/02/2025", "2025-13-01", "30 February"),
    as written; None if there is none."""
    for rule in _RULES:
        if rule.build not in (_iso, _numeric, _day_month_year):
            continue
        for m in rule.pattern.finditer(text):
            year, readings = _readings(rule, m)
            if all(_day(year, month, day) is None for month, day in readings):
                return m.group()
    return None


def parse_date_query(
    text: str, *, today: dt.date, known_dates: Collection[dt.date] = ()
) -> DateQuery:
    """Split ``text`` into a date range, a recency flag and the remaining topic.

    ``text`` should already be normalised (lower case, no control characters); ``known_dates`` are
    the corpus's publication days, used only to give a year to "27 April" or "in April".
    """
    recency = False
    topic = text
    count = None
    counted = _COUNT.search(topic)
    if counted is not None:
        count = _count(counted)
        recency = True
        topic = f"{topic[: counted.start()]} {topic[counted.end() :]}"
    if _NEWS_WORD.search(topic) and _NEWS_ONLY.fullmatch(topic.replace("'", "")):
        return DateQuery(None, None, True, "", count=count)
    if _RECENCY.search(topic):
        recency = True
        topic = _RECENCY.sub(" ", topic)
    scanned = _scan(topic, today, known_dates)
    if scanned is None:
        return DateQuery(None, None, recency, _squash(topic), count=count)
    found, vague = scanned
    widened = _range_of(topic, found, vague, today, known_dates)
    if widened.start > widened.end:  # "before 1 January 0001"
        return DateQuery(None, None, recency, _squash(topic), count=count)
    before = _LEFTOVER.sub("", topic[: widened.first])
    rest = _squash(f"{before} {topic[widened.last :]}")
    if _DATE_ONLY.fullmatch(rest.replace("'", "")):
        rest = ""
    vague = vague and widened is found and bool(rest)
    return DateQuery(widened.start, widened.end, recency, rest, vague, count)


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip(" ,.;:!?-")
