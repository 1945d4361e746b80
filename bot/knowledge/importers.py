"""Turn news listings in other formats into knowledge items.

Each format is an ``Importer``: a name, a sniffing test and a parser. Formats
register in ``IMPORTERS`` (RSS/Atom feeds through feedparser, numbered listings
like the seed's) and ``newsbot import`` picks the first that recognises the source.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import feedparser

from bot.errors import ImportFormatError
from bot.knowledge.models import NewsItem, date_problem, slugify

_HEADING = re.compile(r"^\s*(\d{1,5})\.\s+(\S.*?)\s*$")
_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_DAY_MONTH_YEAR = re.compile(r"^\s*(\d{1,2})\s+([A-Za-z]+)\.?,?\s+(\d{4})\s*$")
_MONTH_DAY_YEAR = re.compile(r"^\s*([A-Za-z]+)\.?\s+(\d{1,2}),?\s+(\d{4})\s*$")
_URL = re.compile(r"^https?://\S+$")
_ISO = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})\s*$")


def parse_listing_date(text: str) -> dt.date | None:
    """A date line of a listing ("10 June 2021", "June 10, 2021", "2021-06-10"), else None."""
    try:
        if m := _DAY_MONTH_YEAR.match(text):
            month = _MONTHS.get(m.group(2).lower())
            return dt.date(int(m.group(3)), month, int(m.group(1))) if month else None
        if m := _MONTH_DAY_YEAR.match(text):
            month = _MONTHS.get(m.group(1).lower())
            return dt.date(int(m.group(3)), month, int(m.group(2))) if month else None
        if m := _ISO.match(text):
            return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None
    return None


@dataclass
class _Draft:
    title: str
    line: int
    date: dt.date | None = None
    summary: list[str] | None = None
    url: str | None = None


def _finish(draft: _Draft, source: str) -> NewsItem:
    if draft.date is None:
        raise ImportFormatError(source, draft.line, f"item {draft.title!r} has no date line")
    if not draft.summary:
        raise ImportFormatError(source, draft.line, f"item {draft.title!r} has no summary")
    problem = date_problem(draft.date)
    if problem is not None:
        raise ImportFormatError(source, draft.line, f"item {draft.title!r}: date: {problem}")
    summary = " ".join(draft.summary)
    # Scraped listings end with the text of a link that was lost ("Find out more: &"):
    # drop a lone trailing symbol, then a short lead-in ending in a colon.
    summary = re.sub(r"\s+[&|>»]+\s*$", "", summary).strip()
    summary = re.sub(r"(?<=[.!?])\s+[^.!?:]{1,40}:$", "", summary).strip()
    return NewsItem(
        id=slugify(draft.title, draft.date),
        title=draft.title,
        date=draft.date,
        summary=summary,
        url=draft.url,
    )


def parse_numbered_listing(text: str, source: str = "<listing>") -> list[NewsItem]:
    """Parse "N. Title", a date line, then a summary that may wrap over several lines."""
    items: list[NewsItem] = []
    draft: _Draft | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        heading = _HEADING.match(raw)
        if heading and (draft is None or draft.summary):
            if draft is not None:
                items.append(_finish(draft, source))
            draft = _Draft(title=heading.group(2), line=number)
            continue
        if draft is None:
            raise ImportFormatError(source, number, 'expected an item heading such as "1. Title"')
        if draft.date is None:
            date = parse_listing_date(line)
            if date is None:
                raise ImportFormatError(
                    source, number, f'expected a date such as "10 June 2021", got {line[:40]!r}'
                )
            draft.date = date
            continue
        if _URL.match(line) and draft.summary:
            draft.url = line
            continue
        draft.summary = [*(draft.summary or []), line]
    if draft is None:
        raise ImportFormatError(source, 1, "no news items found")
    items.append(_finish(draft, source))
    return _unique_ids(items)


def _unique_ids(items: list[NewsItem]) -> list[NewsItem]:
    """Two items with the same date and title prefix get -2, -3 suffixes, stable by order."""
    seen: dict[str, int] = {}
    unique = []
    for item in items:
        count = seen.get(item.id, 0) + 1
        seen[item.id] = count
        unique.append(item if count == 1 else item.model_copy(update={"id": f"{item.id}-{count}"}))
    return unique


@dataclass(frozen=True)
class Importer:
    """A source format: ``sniff`` says whether a text looks like it, ``parse`` converts it."""

    name: str
    sniff: Callable[[str], bool]
    parse: Callable[[str, str], list[NewsItem]]


_FEED = re.compile(r"<(?:rss|feed|rdf:RDF)\b", re.IGNORECASE)
_TAGS = re.compile(r"<[^>]+>")


_BLOCK_TAG = re.compile(
    r"</?(?:p|div|br|li|ul|ol|h[1-6]|blockquote|tr|td|th|table|pre|hr)\b[^>]*>", re.IGNORECASE
)


def plain_text(markup: str) -> str:
    """Feed summaries are HTML: the text a reader sees, on one line.

    Block tags (``<p>``, ``<br>``) separate words; inline ones (``<b>``, ``<a>``) do not, so
    ``<b>two weeks</b>.`` stays "two weeks." and not "two weeks .".
    """
    return " ".join(html.unescape(_TAGS.sub("", _BLOCK_TAG.sub(" ", markup))).split())


def parse_feed(text: str, source: str = "<feed>") -> list[NewsItem]:
    """Parse an RSS (0.9x, 1.0, 2.0) or Atom feed with feedparser, the well-kept parser."""
    feed = feedparser.parse(text)
    if feed.bozo and not feed.entries:
        reason = getattr(feed.bozo_exception, "getMessage", lambda: str(feed.bozo_exception))()
        line = getattr(feed.bozo_exception, "getLineNumber", lambda: 1)()
        raise ImportFormatError(source, int(line or 1), f"not a readable feed: {reason}")
    items: list[NewsItem] = []
    problems: list[str] = []
    for number, entry in enumerate(feed.entries, start=1):
        title = plain_text(entry.get("title", ""))
        stamp = entry.get("published_parsed") or entry.get("updated_parsed")
        where = f"entry {number} ({title[:40]!r})" if title else f"entry {number}"
        if not title:
            problems.append(f"{where} has no title")
        if stamp is None:
            problems.append(f"{where} has no date (pubDate or updated)")
        if not title or stamp is None:
            continue
        date = dt.date(stamp.tm_year, stamp.tm_mon, stamp.tm_mday)
        problem = date_problem(date)
        if problem is not None:
            raise ImportFormatError(source, 0, f"{where}: date: {problem}")
        summary = plain_text(entry.get("summary", "")) or title
        link = entry.get("link") or None
        url = link if link and re.match(r"^https?://\S+$", link) else None
        items.append(
            NewsItem(
                id=slugify(title, date),
                title=title[:300],
                date=date,
                summary=summary[:3000],
                url=url,
            )
        )
    if problems:
        # A feed has no useful line numbers (it is often one line): entries go by number.
        raise ImportFormatError(source, None, *problems)
    if not items:
        raise ImportFormatError(source, None, "the feed has no entries")
    return _unique_ids(items)


IMPORTERS: Sequence[Importer] = (
    Importer(
        name="rss-atom", sniff=lambda text: bool(_FEED.search(text[:2000])), parse=parse_feed
    ),
    Importer(
        name="numbered-listing",
        sniff=lambda text: any(_HEADING.match(line) for line in text.splitlines()[:20]),
        parse=parse_numbered_listing,
    ),
)


def import_text(text: str, source: str) -> list[NewsItem]:
    """Convert ``text`` with the first importer that recognises it."""
    for importer in IMPORTERS:
        if importer.sniff(text):
            return importer.parse(text, source)
    formats = ", ".join(i.name for i in IMPORTERS)
    raise ImportFormatError(source, None, f"unrecognised format (known: {formats})")
