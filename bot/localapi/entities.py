"""Message entities: the parsed-text value, UTF-16 offsets, sorting, trimming, auto-detection.

Telegram measures entity offsets and lengths in UTF-16 code units, while the parse errors
report byte offsets in the UTF-8 text. Both parsers (``html.py``, ``markdown.py``) walk the
UTF-8 bytes as tdlib does (td/telegram/MessageEntity.cpp) and produce a :class:`ParsedText`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

JsonDict = dict[str, Any]


class EntityParseError(ValueError):
    """The text could not be parsed; ``str(error)`` is tdlib's description."""


@dataclass(frozen=True)
class Entity:
    """One message entity, offsets in UTF-16 code units, ``type`` as the Bot API names it."""

    type: str
    offset: int
    length: int
    url: str | None = None
    language: str | None = None
    custom_emoji_id: str | None = None
    user: JsonDict | None = None

    def to_json(self) -> JsonDict:
        data: JsonDict = {"offset": self.offset, "length": self.length, "type": self.type}
        if self.url is not None:
            data["url"] = self.url
        if self.language is not None:
            data["language"] = self.language
        if self.custom_emoji_id is not None:
            data["custom_emoji_id"] = self.custom_emoji_id
        if self.user is not None:
            data["user"] = self.user
        return data


@dataclass(frozen=True)
class ParsedText:
    """Plain text plus its entities, as Telegram stores a message."""

    text: str
    entities: list[Entity] = field(default_factory=list)

    def entities_json(self) -> list[JsonDict]:
        return [entity.to_json() for entity in self.entities]


# tdlib's MessageEntity::get_type_priority: sort ties are broken by this priority.
_PRIORITY = {
    "mention": 50,
    "hashtag": 50,
    "bot_command": 50,
    "url": 50,
    "email": 50,
    "bold": 90,
    "italic": 91,
    "code": 20,
    "pre": 11,
    "text_link": 49,
    "text_mention": 49,
    "cashtag": 50,
    "phone_number": 50,
    "underline": 92,
    "strikethrough": 93,
    "blockquote": 0,
    "expandable_blockquote": 0,
    "spoiler": 94,
    "custom_emoji": 99,
}


def sort_entities(entities: list[Entity]) -> list[Entity]:
    """Order as tdlib does: by offset, longer first, then by type priority."""
    return sorted(entities, key=lambda e: (e.offset, -e.length, _PRIORITY.get(e.type, 50)))


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units (characters outside the BMP count twice)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def is_first_code_unit(byte: int) -> bool:
    """True for the first byte of a UTF-8 sequence."""
    return (byte & 0xC0) != 0x80


def utf16_units_of_lead_byte(byte: int) -> int:
    """UTF-16 units of the character starting with this UTF-8 byte (4-byte ones take 2)."""
    return 2 if byte >= 0xF0 else 1


# fix_formatted_text trims the text; a message of only whitespace becomes empty.
_TRIMMED = " \n\t\r"


def trim(parsed: ParsedText) -> ParsedText:
    """Strip leading/trailing whitespace and move or clip the entities to match."""
    text = parsed.text
    stripped_left = text.lstrip(_TRIMMED)
    shift = utf16_len(text) - utf16_len(stripped_left)
    result = stripped_left.rstrip(_TRIMMED)
    limit = utf16_len(result)
    entities: list[Entity] = []
    for entity in parsed.entities:
        start = max(entity.offset - shift, 0)
        end = min(entity.offset + entity.length - shift, limit)
        if end > start:
            entities.append(_moved(entity, start, end - start))
    return ParsedText(result, sort_entities(entities))


def _moved(entity: Entity, offset: int, length: int) -> Entity:
    return Entity(
        type=entity.type,
        offset=offset,
        length=length,
        url=entity.url,
        language=entity.language,
        custom_emoji_id=entity.custom_emoji_id,
        user=entity.user,
    )


_ALLOWED_SCHEMES = {"http", "https", "tg", "ton", "ftp"}


def checked_link(url: str) -> str | None:
    """A text_link URL as Telegram normalises it, or None when Telegram would drop it.

    Mirrors LinkManager::get_checked_link loosely: no scheme means http, unknown schemes
    and URLs with spaces are dropped, a bare host gets a trailing slash.
    """
    url = url.strip()
    if not url or any(ch.isspace() for ch in url):
        return None
    if "://" not in url and not url.startswith("tg:"):
        url = "http://" + url
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in _ALLOWED_SCHEMES:
        return None
    if parts.scheme.lower() in {"http", "https"}:
        if not parts.netloc:
            return None
        if not parts.path:
            url = f"{parts.scheme}://{parts.netloc}/" + url.split(parts.netloc, 1)[1]
    return url


_TG_USER = re.compile(r"^tg://user\?id=(\d+)$")


def link_user_id(url: str) -> int | None:
    """The user id of a ``tg://user?id=N`` link (a text_mention), else None."""
    match = _TG_USER.match(url.strip())
    return int(match.group(1)) if match else None


# tdlib match_bot_commands / match_mentions, as regular expressions over code points.
_BOT_COMMAND = re.compile(r"(?<![\w/<>])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/<>])")
_MENTION = re.compile(r"(?<!\w)@[A-Za-z0-9_]{2,32}(?!\w)")


def _utf16_offset(text: str, index: int) -> int:
    return utf16_len(text[:index])


def detect_entities(text: str) -> list[Entity]:
    """The entities Telegram finds by itself in a user's text: bot commands and @mentions."""
    found: list[Entity] = []
    for kind, pattern in (("bot_command", _BOT_COMMAND), ("mention", _MENTION)):
        for match in pattern.finditer(text):
            start = _utf16_offset(text, match.start())
            found.append(Entity(kind, start, utf16_len(match.group(0))))
    # a mention inside a command ("/start@newsbot") belongs to the command
    commands = [e for e in found if e.type == "bot_command"]
    kept = [
        e
        for e in found
        if e.type == "bot_command"
        or not any(c.offset <= e.offset < c.offset + c.length for c in commands)
    ]
    return sort_entities(kept)
