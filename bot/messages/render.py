"""Render news items as Telegram HTML and split long replies.

Pure functions: no bot, no clock. Every piece of user or knowledge text is
HTML-escaped, so Telegram never answers "can't parse entities".
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from bot.knowledge.models import NewsItem

# Bot API: sendMessage text is 1-4096 characters after entity parsing.
# https://core.telegram.org/bots/api#sendmessage
MESSAGE_LIMIT = 4096
_TAG = re.compile(r"<[^>]+>")


def visible_length(html_text: str) -> int:
    """Length Telegram counts: the text after entity parsing, in UTF-16 code units.

    Counting UTF-16 units is conservative: an emoji counts as two.
    """
    plain = html.unescape(_TAG.sub("", html_text))
    return len(plain.encode("utf-16-le")) // 2


def escape(text: str) -> str:
    """Escape text for Telegram HTML (``<``, ``>``, ``&`` and quotes)."""
    return html.escape(text, quote=True)


def format_date(item: NewsItem) -> str:
    """``10 June 2021``: unambiguous in every locale."""
    return f"{item.date.day} {item.date:%B %Y}"


def render_item(item: NewsItem, *, number: int | None = None) -> str:
    """One item: bold title, date, summary, link."""
    prefix = f"{number}. " if number is not None else ""
    lines = [
        f"<b>{escape(prefix + item.title)}</b>",
        f"<i>{format_date(item)}</i>",
        escape(item.summary),
    ]
    if item.url:
        lines.append(f'<a href="{escape(item.url)}">Read more</a>')
    return "\n".join(lines)


def render_items(
    items: Sequence[NewsItem], *, header: str | None = None, start: int = 1
) -> list[str]:
    """A reply listing ``items``, split into messages within Telegram's limit."""
    blocks = [render_item(item, number=start + i) for i, item in enumerate(items)]
    if header:
        blocks.insert(0, header)
    return split_blocks(blocks)


def split_blocks(
    blocks: Sequence[str], limit: int = MESSAGE_LIMIT, sep: str = "\n\n"
) -> list[str]:
    """Join blocks into messages of at most ``limit`` visible characters, breaking between blocks.

    A block that alone exceeds the limit is split with ``split_plain`` after removing its
    markup (its text is kept, its formatting is not), so no content is ever lost.
    """
    messages: list[str] = []
    current = ""
    sep_len = visible_length(sep)
    for block in blocks:
        if not block.strip():
            continue
        if visible_length(block) > limit:
            if current:
                messages.append(current)
                current = ""
            plain = html.unescape(_TAG.sub("", block))
            messages.extend(escape(part) for part in split_plain(plain, limit))
            continue
        if current and visible_length(current) + sep_len + visible_length(block) <= limit:
            current = current + sep + block
        else:
            if current:
                messages.append(current)
            current = block
    if current:
        messages.append(current)
    return messages


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def split_plain(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split plain text into parts of at most ``limit`` UTF-16 units.

    Breaks at a paragraph, then a line, then a space; hard-cuts only a run with no space.
    Concatenating the parts gives back ``text`` exactly.
    """
    parts: list[str] = []
    rest = text
    while _units(rest) > limit:
        # Largest prefix within the limit (a surrogate pair is never cut).
        cut = min(len(rest), limit)
        while _units(rest[:cut]) > limit:
            cut -= 1
        window = rest[:cut]
        for breaker in ("\n\n", "\n", " "):
            at = window.rfind(breaker)
            if at > 0:
                cut = at + len(breaker)
                break
        parts.append(rest[:cut])
        rest = rest[cut:]
    if rest:
        parts.append(rest)
    return parts
