"""Telegram's MarkdownV2 and legacy Markdown parse modes, with tdlib's error descriptions.

Ports of ``parse_markdown_v2`` and ``parse_markdown`` from tdlib
(td/telegram/MessageEntity.cpp). The error bots meet most often is MarkdownV2's
"Character '.' is reserved and must be escaped with the preceding '\\'".
Expandable block quotes (``**>``) are not supported here.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.localapi.entities import (
    Entity,
    EntityParseError,
    ParsedText,
    checked_link,
    is_first_code_unit,
    link_user_id,
    sort_entities,
    utf16_units_of_lead_byte,
)

_SPACE = frozenset(b" \t\r\n\v\f\0")
_RESERVED = frozenset(b"_*[]()~`>#+-=|{}.!\n")
_RESERVED_IN_CODE = frozenset(b"`")
# tdlib prints the entity type by its C++ name in "Can't find end of ... entity"
_TDLIB_NAME = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "pre_code": "PreCode",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
    "blockquote": "BlockQuote",
}


def _at(data: bytes, i: int) -> int:
    return data[i] if i < len(data) else 0


def _reserved(char: int) -> EntityParseError:
    return EntityParseError(
        f"Character '{chr(char)}' is reserved and must be escaped with the preceding '\\'"
    )


@dataclass
class _Open:
    kind: str  # a key of _TDLIB_NAME
    argument: str
    utf16_offset: int
    byte_offset: int
    result_pos: int


def _closes(opened: _Open, data: bytes, i: int, have_blockquote: bool) -> bool:
    c = data[i]
    if have_blockquote and c == ord("\n") and (i + 1 == len(data) or data[i + 1] != ord(">")):
        return True
    kind = opened.kind
    if kind == "bold":
        return c == ord("*")
    if kind == "italic":
        return c == ord("_") and _at(data, i + 1) != ord("_")
    if kind == "code":
        return c == ord("`")
    if kind in ("pre", "pre_code"):
        return c == ord("`") and _at(data, i + 1) == ord("`") and _at(data, i + 2) == ord("`")
    if kind in ("text_link", "custom_emoji"):
        return c == ord("]")
    if kind == "underline":
        return c == ord("_") and _at(data, i + 1) == ord("_")
    if kind == "strikethrough":
        return c == ord("~")
    if kind == "spoiler":
        return c == ord("|") and _at(data, i + 1) == ord("|")
    return False  # blockquote ends only at a line not starting with '>'


def parse_markdown_v2(text: str) -> ParsedText:
    """Parse MarkdownV2 into plain text and entities, or raise :class:`EntityParseError`."""
    data = text.encode("utf-8")
    out = bytearray()
    entities: list[Entity] = []
    stack: list[_Open] = []
    utf16 = 0
    have_blockquote = False
    i = -1
    while i + 1 < len(data):
        i += 1
        c = data[i]
        if c == ord("\\") and 0 < _at(data, i + 1) <= 126:
            i += 1
            utf16 += 1
            out.append(data[i])
            continue
        in_code = bool(stack) and stack[-1].kind in ("code", "pre", "pre_code")
        if c not in (_RESERVED_IN_CODE if in_code else _RESERVED):
            if is_first_code_unit(c):
                utf16 += utf16_units_of_lead_byte(c)
            out.append(c)
            continue
        if not (stack and _closes(stack[-1], data, i, have_blockquote)):
            kind, argument, start = "", "", i
            if c == ord("_"):
                kind = "italic"
                if _at(data, i + 1) == ord("_"):
                    kind, i = "underline", i + 1
            elif c == ord("*"):
                kind = "bold"
            elif c == ord("~"):
                kind = "strikethrough"
            elif c == ord("|"):
                if _at(data, i + 1) != ord("|"):
                    raise _reserved(c)
                kind, i = "spoiler", i + 1
            elif c == ord("["):
                kind = "text_link"
            elif c == ord("`"):
                kind, argument, i = _open_code(data, i)
            elif c == ord("!"):
                if _at(data, i + 1) != ord("["):
                    raise _reserved(c)
                kind, i = "custom_emoji", i + 1
            elif c == ord("\n"):
                utf16 += 1
                out.append(c)
                if _at(data, i + 1) == ord(">"):
                    i += 1
                    if not have_blockquote:
                        kind, have_blockquote = "blockquote", True
                if not kind:
                    continue
            elif c == ord(">") and i == 0:
                kind, have_blockquote = "blockquote", True
            else:
                raise _reserved(c)
            stack.append(_Open(kind, argument, utf16, start, len(out)))
            continue
        opened = stack[-1]
        if c == ord("\n") and opened.kind != "blockquote":
            raise _unclosed(opened)
        i, entity = _close(opened, data, i, utf16, out)
        if opened.kind == "blockquote":
            have_blockquote = False
            out.append(c)
            utf16 += 1
        if entity is not None:
            entities.append(entity)
        stack.pop()
    if have_blockquote and stack and stack[-1].kind == "blockquote":
        opened = stack.pop()
        if utf16 > opened.utf16_offset:
            entities.append(Entity("blockquote", opened.utf16_offset, utf16 - opened.utf16_offset))
    if stack:
        raise _unclosed(stack[-1])
    return ParsedText(out.decode("utf-8"), sort_entities(entities))


def _unclosed(opened: _Open) -> EntityParseError:
    name = _TDLIB_NAME[opened.kind]
    return EntityParseError(f"Can't find end of {name} entity at byte offset {opened.byte_offset}")


def _open_code(data: bytes, i: int) -> tuple[str, str, int]:
    """At a backtick: (kind, language, index of the last consumed byte)."""
    if not (_at(data, i + 1) == ord("`") and _at(data, i + 2) == ord("`")):
        return "code", "", i
    i += 3
    kind, language = "pre", ""
    end = i
    while _at(data, end) not in _SPACE and _at(data, end) != ord("`"):
        end += 1
    if i != end and end < len(data) and data[end] != ord("`"):
        kind, language, i = "pre_code", data[i:end].decode("utf-8", "replace"), end
    if _at(data, i) in (ord("\n"), ord("\r")):
        pair = _at(data, i + 1) in (ord("\n"), ord("\r")) and data[i] != _at(data, i + 1)
        i += 2 if pair else 1
    return kind, language, i - 1


def _read_url(data: bytes, i: int, what: str) -> tuple[str, int]:
    """Read ``(url)`` whose '(' is at i - 1; return the URL and the index of ')'."""
    url = bytearray()
    begin = i
    while i < len(data) and data[i] != ord(")"):
        if data[i] == ord("\\") and 0 < _at(data, i + 1) <= 126:
            url.append(data[i + 1])
            i += 2
            continue
        url.append(data[i])
        i += 1
    if _at(data, i) != ord(")"):
        raise EntityParseError(f"Can't find end of {what} at byte offset {begin}")
    return url.decode("utf-8", "replace"), i


def _close(
    opened: _Open, data: bytes, i: int, utf16: int, out: bytearray
) -> tuple[int, Entity | None]:
    """Close the innermost entity at ``i``: (index of its last byte, the entity or None)."""
    offset, length = opened.utf16_offset, utf16 - opened.utf16_offset
    skip = length == 0
    kind = opened.kind
    entity: Entity | None = None
    if kind in ("underline", "spoiler"):
        i += 1
    elif kind in ("pre", "pre_code"):
        i += 2
    if kind == "text_link":
        if _at(data, i + 1) != ord("("):
            url = out[opened.result_pos :].decode("utf-8", "replace")
        else:
            url, i = _read_url(data, i + 2, "a URL")
        user_id = link_user_id(url)
        checked = checked_link(url)
        if user_id is not None:
            user = {"id": user_id, "is_bot": False, "first_name": ""}
            entity = Entity("text_mention", offset, length, user=user)
        elif checked is not None:
            entity = Entity("text_link", offset, length, url=checked)
    elif kind == "custom_emoji":
        if _at(data, i + 1) != ord("("):
            raise EntityParseError("Custom emoji entity must contain a tg://emoji URL")
        url, i = _read_url(data, i + 2, "a custom emoji URL")
        emoji_id = url.removeprefix("tg://emoji?id=")
        if emoji_id == url or not emoji_id.isdigit():
            raise EntityParseError("Invalid custom emoji URL specified")
        entity = Entity("custom_emoji", offset, length, custom_emoji_id=emoji_id)
    elif kind == "pre_code":
        entity = Entity("pre", offset, length, language=opened.argument)
    elif kind == "blockquote":
        # the caller appends the closing line feed, which tdlib counts in the quote
        entity = Entity("blockquote", offset, length + 1)
    else:
        entity = Entity(kind, offset, length)
    return i, None if skip else entity


def parse_markdown(text: str) -> ParsedText:
    """Parse legacy Markdown (``parse_mode="Markdown"``), or raise :class:`EntityParseError`."""
    data = text.encode("utf-8")
    out = bytearray()
    entities: list[Entity] = []
    utf16 = 0
    size = len(data)
    i = 0
    while i < size:
        c = data[i]
        if c == ord("\\") and _at(data, i + 1) in b"_*`[":
            out.append(data[i + 1])
            utf16 += 1
            i += 2
            continue
        if c not in b"_*`[":
            if is_first_code_unit(c):
                utf16 += utf16_units_of_lead_byte(c)
            out.append(c)
            i += 1
            continue
        begin = i
        end_char = ord("]") if c == ord("[") else c
        i += 1
        is_pre = c == ord("`") and _at(data, i) == ord("`") and _at(data, i + 1) == ord("`")
        language = ""
        if is_pre:
            _, language, last = _open_code(data, begin)
            i = last + 1
        start = utf16
        while i < size and (
            data[i] != end_char
            or (is_pre and not (_at(data, i + 1) == ord("`") and _at(data, i + 2) == ord("`")))
        ):
            if is_first_code_unit(data[i]):
                utf16 += utf16_units_of_lead_byte(data[i])
            out.append(data[i])
            i += 1
        if i == size:
            raise EntityParseError(f"Can't find end of the entity starting at byte offset {begin}")
        length = utf16 - start
        if c == ord("[") and _at(data, i + 1) == ord("("):
            close = data.find(b")", i + 2)
            close = size if close < 0 else close
            url = data[i + 2 : close].decode("utf-8", "replace")
            i = close
        else:
            url = data[begin + 1 : i].decode("utf-8", "replace")
        if length:
            entity = _legacy_entity(c, start, length, url, language, is_pre)
            if entity is not None:
                entities.append(entity)
        i += 3 if is_pre else 1
    return ParsedText(out.decode("utf-8"), sort_entities(entities))


def _legacy_entity(
    c: int, offset: int, length: int, url: str, language: str, is_pre: bool
) -> Entity | None:
    if c == ord("_"):
        return Entity("italic", offset, length)
    if c == ord("*"):
        return Entity("bold", offset, length)
    if c == ord("`"):
        if is_pre:
            return Entity("pre", offset, length, language=language or None)
        return Entity("code", offset, length)
    checked = checked_link(url)
    return Entity("text_link", offset, length, url=checked) if checked else None
