"""Telegram's HTML parse mode: tags to entities, with tdlib's exact error descriptions.

A port of ``parse_html`` and ``decode_html_entity`` from tdlib (td/telegram/MessageEntity.cpp),
the code behind the Bot API: it walks the UTF-8 bytes, so "byte offset N" in an error is the
same number Telegram reports. Like Telegram, a bare ``&`` that starts no known entity is kept
as a literal character; ``strict_ampersand=True`` rejects it instead (stricter than Telegram,
for tests that want to catch unescaped text early).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.localapi.entities import (
    Entity,
    EntityParseError,
    ParsedText,
    checked_link,
    link_user_id,
    sort_entities,
)

_SUPPORTED_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
_SIMPLE_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "u": "underline",
    "ins": "underline",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}
_SPACE = frozenset(b" \t\r\n\v\f\0")  # tdlib's is_space treats the terminating NUL as space
_DIGITS = frozenset(b"0123456789")
_HEX = frozenset(b"0123456789abcdefABCDEF")
_ALPHA = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_NAMED = {b"lt": "<", b"gt": ">", b"amp": "&", b"quot": '"'}
_PLAIN_RUN = re.compile(rb"[^&<]+")


def _at(data: bytes, i: int) -> int:
    """The byte at ``i``, or 0 past the end (tdlib reads a NUL-terminated C string)."""
    return data[i] if i < len(data) else 0


def decode_entity(data: bytes, pos: int) -> tuple[int, int] | None:
    """Decode ``&...;`` at ``pos``: (code point, position after it), or None if not an entity."""
    end = pos + 1
    code = 0
    if _at(data, pos + 1) == ord("#"):
        end += 1
        if _at(data, pos + 2) == ord("x"):
            end += 1
            while _at(data, end) in _HEX:
                code = code * 16 + int(chr(data[end]), 16)
                end += 1
                if code >= 0x10FFFF:
                    return None
        else:
            while _at(data, end) in _DIGITS:
                code = code * 10 + data[end] - ord("0")
                end += 1
                if code >= 0x10FFFF:
                    return None
        if code == 0 or end - pos >= 10:
            return None
    else:
        while _at(data, end) in _ALPHA:
            end += 1
        named = _NAMED.get(data[pos + 1 : end])
        if named is None:
            return None
        code = ord(named)
    if _at(data, end) == ord(";"):
        end += 1
    return code, end


@dataclass
class _Open:
    tag: str
    argument: str
    utf16_offset: int
    result_pos: int
    expandable: bool = False


def parse_html(text: str, *, strict_ampersand: bool = False) -> ParsedText:
    """Parse Telegram HTML into plain text and entities, or raise :class:`EntityParseError`."""
    data = text.encode("utf-8")
    out = bytearray()
    entities: list[Entity] = []
    stack: list[_Open] = []
    utf16 = 0
    i = 0
    size = len(data)
    while i < size:
        c = data[i]
        if c == ord("&"):
            decoded = decode_entity(data, i)
            if decoded is not None:
                code, i = decoded
                if 0xD800 <= code <= 0xDFFF:
                    raise EntityParseError(
                        "Text contains invalid Unicode characters after decoding HTML entities, "
                        "check for unmatched surrogate code units"
                    )
                utf16 += 2 if code > 0xFFFF else 1
                out += chr(code).encode("utf-8")
                continue
            if strict_ampersand:
                raise EntityParseError(f'Unescaped "&" at byte offset {i}')
        if c == ord("&"):  # a bare "&", kept as text (tdlib does)
            utf16 += 1
            out.append(c)
            i += 1
            continue
        if c != ord("<"):
            # A run of plain text up to the next "&" or "<" (both ASCII, so never inside a
            # multi-byte character) is copied at once: the byte loop made this server, not
            # the bot, the largest cost in the end-to-end benchmark.
            run = _PLAIN_RUN.match(data, i)
            assert run is not None
            chunk = run.group()
            utf16 += len(chunk.decode("utf-8").encode("utf-16-le")) // 2
            out += chunk
            i = run.end()
            continue
        begin = i
        i += 1
        if _at(data, i) != ord("/"):
            i = _parse_start_tag(data, begin, i, stack, utf16, len(out))
        else:
            i = _parse_end_tag(data, begin, i, stack, entities, utf16, out)
        i += 1  # past the closing '>'
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].tag}"')
    entities = [
        Entity(
            e.type, e.offset, e.length, url=e.url, user=e.user, custom_emoji_id=e.custom_emoji_id
        )
        if e.type == "code"
        else e
        for e in entities
    ]
    return ParsedText(out.decode("utf-8"), sort_entities(entities))


def _parse_start_tag(
    data: bytes, begin: int, i: int, stack: list[_Open], utf16: int, result_pos: int
) -> int:
    """Parse ``<tag attr="v">`` from ``i``; push it on the stack; return the index of '>'."""
    while _at(data, i) not in _SPACE and _at(data, i) != ord(">"):
        i += 1
    if _at(data, i) == 0:
        raise EntityParseError(f"Unclosed start tag at byte offset {begin}")
    tag = data[begin + 1 : i].decode("utf-8", "replace").lower()
    if tag not in _SUPPORTED_TAGS:
        raise EntityParseError(f'Unsupported start tag "{tag}" at byte offset {begin}')
    argument = ""
    expandable = False
    while _at(data, i) != ord(">"):
        while _at(data, i) != 0 and _at(data, i) in _SPACE:
            i += 1
        if _at(data, i) == ord(">"):
            break
        name_begin = i
        # stopping at '>' lets a value-less attribute end the tag: <blockquote expandable>
        while _at(data, i) not in _SPACE and _at(data, i) not in (ord("="), ord(">")):
            i += 1
        name = data[name_begin:i].decode("utf-8", "replace")
        if not name:
            raise EntityParseError(
                f'Empty attribute name in the tag "{tag}" at byte offset {begin}'
            )
        while _at(data, i) != 0 and _at(data, i) in _SPACE:
            i += 1
        if _at(data, i) != ord("="):
            if tag == "blockquote" and name == "expandable":
                expandable = True
                continue
            raise EntityParseError(
                f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
                f"at byte offset {begin}"
            )
        i += 1
        while _at(data, i) != 0 and _at(data, i) in _SPACE:
            i += 1
        if _at(data, i) == 0:
            raise EntityParseError(f'Unclosed start tag "{tag}" at byte offset {begin}')
        value, i = _attribute_value(data, i)
        if _at(data, i) == 0:
            raise EntityParseError(f"Unclosed start tag at byte offset {begin}")
        if tag == "a" and name == "href":
            argument = value
        elif tag == "code" and name == "class" and value.startswith("language-"):
            argument = value[len("language-") :]
        elif tag == "span" and name == "class" and value.startswith("tg-"):
            argument = value[len("tg-") :]
        elif tag == "tg-emoji" and name == "emoji-id":
            argument = value
    if tag == "span" and argument != "spoiler":
        raise EntityParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {begin}')
    stack.append(_Open(tag, argument, utf16, result_pos, expandable))
    return i


def _attribute_value(data: bytes, i: int) -> tuple[str, int]:
    quote = _at(data, i)
    if quote not in (ord("'"), ord('"')):
        # a name token: letters, digits, periods, hyphens; not case sensitive
        token_begin = i
        while chr(_at(data, i)).isascii() and (
            chr(_at(data, i)).isalnum() or _at(data, i) in b".-"
        ):
            i += 1
        if _at(data, i) not in _SPACE and _at(data, i) != ord(">"):
            raise EntityParseError(f"Unexpected end of name token at byte offset {token_begin}")
        return data[token_begin:i].decode("utf-8", "replace").lower(), i
    i += 1
    value = bytearray()
    while _at(data, i) != quote and _at(data, i) != 0:
        if data[i] == ord("&"):
            decoded = decode_entity(data, i)
            if decoded is not None:
                code, i = decoded
                value += chr(code).encode("utf-8", "replace")
                continue
        value.append(data[i])
        i += 1
    if _at(data, i) == quote:
        i += 1
    return value.decode("utf-8", "replace"), i


def _parse_end_tag(
    data: bytes,
    begin: int,
    i: int,
    stack: list[_Open],
    entities: list[Entity],
    utf16: int,
    out: bytearray,
) -> int:
    """Parse ``</tag>`` from ``i``; pop the stack and emit its entity; return the index of '>'."""
    if not stack:
        raise EntityParseError(f"Unexpected end tag at byte offset {begin}")
    while _at(data, i) not in _SPACE and _at(data, i) != ord(">"):
        i += 1
    end_name = data[begin + 2 : i].decode("utf-8", "replace").lower()
    while _at(data, i) in _SPACE and _at(data, i) != 0:
        i += 1
    if _at(data, i) != ord(">"):
        raise EntityParseError(f"Unclosed end tag at byte offset {begin}")
    opened = stack[-1]
    if end_name and end_name != opened.tag:
        raise EntityParseError(
            f'Unmatched end tag at byte offset {begin}, expected "</{opened.tag}>", '
            f'found "</{end_name}>"'
        )
    if utf16 > opened.utf16_offset:
        entity = _entity_for(opened, utf16 - opened.utf16_offset, entities, out)
        if entity is not None:
            entities.append(entity)
    stack.pop()
    return i


def _entity_for(
    opened: _Open, length: int, entities: list[Entity], out: bytearray
) -> Entity | None:
    offset = opened.utf16_offset
    tag = opened.tag
    if tag in _SIMPLE_TAGS:
        return Entity(_SIMPLE_TAGS[tag], offset, length)
    if tag == "tg-emoji":
        if not opened.argument.isdigit() or int(opened.argument) == 0:
            raise EntityParseError("Invalid custom emoji identifier specified")
        return Entity("custom_emoji", offset, length, custom_emoji_id=opened.argument)
    if tag == "blockquote":
        kind = "expandable_blockquote" if opened.expandable else "blockquote"
        return Entity(kind, offset, length)
    if tag == "a":
        url = opened.argument or out[opened.result_pos :].decode("utf-8", "replace")
        user_id = link_user_id(url)
        if user_id is not None:
            user = {"id": user_id, "is_bot": False, "first_name": ""}
            return Entity("text_mention", offset, length, user=user)
        checked = checked_link(url)
        return Entity("text_link", offset, length, url=checked) if checked else None
    last = entities[-1] if entities else None
    same_span = last is not None and last.offset == offset and last.length == length
    if tag == "pre":
        if last is not None and same_span and last.type == "code" and last.language:
            entities.pop()
            return Entity("pre", offset, length, language=last.language)
        return Entity("pre", offset, length)
    # tag == "code": <pre><code class="language-x"> makes one pre entity with a language
    if last is not None and same_span and last.type == "pre" and opened.argument:
        entities.pop()
        return Entity("pre", offset, length, language=opened.argument)
    return Entity("code", offset, length, language=opened.argument or None)
