"""Feed bodies into entries, and entries into news items: pure functions, no I/O.

RSS 0.9x/2.0, RSS 1.0 (RDF) and Atom go through feedparser, which knows their dialects
and date formats; JSON Feed (https://www.jsonfeed.org/version/1.1/) is read here.
Summaries lose their HTML by the importer's rules (``plain_text``); links are resolved
against the feed's final URL.

XML entity expansion is refused before feedparser sees the body: a document that
declares entities (``<!ENTITY``) is rejected whole. That is the billion-laughs
bomb and every external-entity trick, and no real feed needs its own entities.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import feedparser

from bot.knowledge.importers import plain_text
from bot.knowledge.models import NewsItem, slugify

_URL = re.compile(r"^https?://\S+$")
_ENTITY = re.compile(rb"<!ENTITY", re.IGNORECASE)
TITLE_LIMIT = 300
SUMMARY_LIMIT = 3000


class FeedFormatError(Exception):
    """The body is not a feed we read; the message says why, for the admin."""


@dataclass(frozen=True)
class Entry:
    """One feed entry, cleaned: ``identity`` is stable across edits of its text."""

    identity: str
    title: str
    summary: str
    link: str | None
    published: dt.datetime | None


@dataclass(frozen=True)
class ParsedFeed:
    title: str | None
    entries: tuple[Entry, ...]


def identity_of(
    feed_url: str, guid: str | None, link: str | None, title: str, published: dt.datetime | None
) -> str:
    """The entry's identity hash: by guid, else link, else title and date.

    A guid is unique only within its feed, so it is scoped by the feed's URL; a link is
    an address, the same story wherever it appears.
    """
    if guid and guid.strip():
        key = f"guid\n{feed_url}\n{guid.strip()}"
    elif link:
        key = f"link\n{link}"
    else:
        stamp = published.isoformat() if published else ""
        key = f"title\n{feed_url}\n{title}\n{stamp}"
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def _link(base: str, value: object) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    url = urljoin(base, value.strip())
    return url if _URL.match(url) else None


def _struct_time(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    try:
        year, month, day, hour, minute, second = (int(part) for part in value[:6])
        return dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC)
    except (TypeError, ValueError):
        return None


def _date_text(value: object) -> dt.datetime | None:
    """An ISO 8601 date (JSON Feed's), or any format feedparser's date parsers know."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return _struct_time(feedparser.datetimes._parse_date(value))
    return parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed.astimezone(dt.UTC)


def refuse_entities(body: bytes) -> None:
    """Raise ``FeedFormatError`` if the document declares entities.

    The whole body is searched, not only the prolog: a comment before the DOCTYPE could
    hide where the prolog ends. Outside a CDATA section the text cannot appear unescaped,
    so only a feed quoting a DTD in CDATA is refused needlessly.
    """
    # UTF-16 and UTF-32 put NULs between ASCII letters; without them the declaration shows.
    if _ENTITY.search(body) or (b"\x00" in body and _ENTITY.search(body.replace(b"\x00", b""))):
        raise FeedFormatError("the feed declares XML entities, which are not expanded")


def _is_json(body: bytes, content_type: str) -> bool:
    return "json" in content_type.lower() or body.lstrip()[:1] == b"{"


def parse_feed(body: bytes, feed_url: str, final_url: str, content_type: str = "") -> ParsedFeed:
    """Entries of a feed body; raises ``FeedFormatError`` if it is not a readable feed."""
    if _is_json(body, content_type):
        return _parse_json_feed(body, feed_url, final_url)
    refuse_entities(body)
    parsed = feedparser.parse(
        body,
        response_headers={"content-location": final_url, "content-type": content_type},
        sanitize_html=False,
        resolve_relative_uris=False,
    )
    if not parsed.entries and (parsed.bozo or not parsed.version):
        exception = parsed.get("bozo_exception") if parsed.version else None
        reason = str(exception) if exception else "no RSS, Atom or JSON Feed document found"
        raise FeedFormatError(f"not a readable feed: {reason}"[:300])
    base = final_url
    entries = []
    for entry in parsed.entries:
        title = plain_text(entry.get("title", ""))
        summary = entry.get("summary", "")
        if not summary and entry.get("content"):
            summary = entry["content"][0].get("value", "")
        published = (
            _struct_time(entry.get("published_parsed"))
            or _struct_time(entry.get("updated_parsed"))
            or _struct_time(entry.get("created_parsed"))
        )
        link = _link(base, entry.get("link"))
        made = _entry(feed_url, entry.get("id"), link, title, plain_text(summary), published)
        if made is not None:
            entries.append(made)
    feed_title = plain_text(parsed.feed.get("title", ""))[:TITLE_LIMIT]
    return ParsedFeed(title=feed_title or None, entries=tuple(entries))


def _entry(
    feed_url: str,
    guid: object,
    link: str | None,
    title: str,
    summary: str,
    published: dt.datetime | None,
) -> Entry | None:
    if not title and not summary:
        return None  # nothing to answer with
    if not title:
        words = summary.split()
        title = " ".join(words[:12]) + ("…" if len(words) > 12 else "")
    guid_text = str(guid) if isinstance(guid, str | int) else None
    return Entry(
        identity=identity_of(feed_url, guid_text, link, title, published),
        title=title[:TITLE_LIMIT].strip(),
        summary=(summary or title)[:SUMMARY_LIMIT].strip(),
        link=link,
        published=published,
    )


def _parse_json_feed(body: bytes, feed_url: str, final_url: str) -> ParsedFeed:
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FeedFormatError(f"not a readable JSON feed: {exc}"[:300]) from None
    if not isinstance(document, dict) or "jsonfeed.org" not in str(document.get("version", "")):
        raise FeedFormatError("not a JSON Feed (no https://jsonfeed.org/version/... version)")
    items = document.get("items")
    if not isinstance(items, list):
        raise FeedFormatError("the JSON feed has no items list")
    base = final_url
    entries = []
    for item in items:
        if not isinstance(item, dict):
            continue
        text = item.get("content_text")
        summary = item.get("summary") or (text if isinstance(text, str) else "")
        if not summary and isinstance(item.get("content_html"), str):
            summary = item["content_html"]
        title = item.get("title") if isinstance(item.get("title"), str) else ""
        published = _date_text(item.get("date_published")) or _date_text(item.get("date_modified"))
        link = _link(base, item.get("url")) or _link(base, item.get("external_url"))
        made = _entry(
            feed_url,
            item.get("id"),
            link,
            plain_text(title or ""),
            plain_text(summary if isinstance(summary, str) else ""),
            published,
        )
        if made is not None:
            entries.append(made)
    title = document.get("title")
    return ParsedFeed(
        title=plain_text(title)[:TITLE_LIMIT] or None if isinstance(title, str) else None,
        entries=tuple(entries),
    )


def to_news_item(entry: Entry, first_seen: dt.datetime) -> NewsItem:
    """The news item an entry becomes; an entry without a date takes ``first_seen``'s."""
    date = (entry.published or first_seen).date()
    slug = slugify(entry.title, date)
    return NewsItem(
        id=f"{slug[:69].rstrip('-')}-{entry.identity[:10]}",
        title=entry.title,
        date=date,
        summary=entry.summary,
        url=entry.link,
    )
