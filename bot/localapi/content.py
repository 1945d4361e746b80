"""A message's content as Telegram checks it: text and parse mode, entities, reply markup.

Pure functions: parameters in, ``ParsedText`` / markup dict out, or an :class:`ApiError`
with Telegram's description.
"""

from __future__ import annotations

from typing import Any

from bot.localapi.entities import (
    Entity,
    EntityParseError,
    ParsedText,
    checked_link,
    sort_entities,
    trim,
    utf16_len,
)
from bot.localapi.errors import bad_request
from bot.localapi.html import parse_html
from bot.localapi.markdown import parse_markdown, parse_markdown_v2

JsonDict = dict[str, Any]

MAX_TEXT_LENGTH = 4096  # characters (code points) after entity parsing; tdlib's utf8_length
MAX_CALLBACK_DATA_BYTES = 64
MAX_BUTTONS = 100

_ENTITY_TYPES = frozenset(
    {
        "mention",
        "hashtag",
        "cashtag",
        "bot_command",
        "url",
        "email",
        "phone_number",
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
        "blockquote",
        "expandable_blockquote",
        "code",
        "pre",
        "text_link",
        "text_mention",
        "custom_emoji",
    }
)
_BUTTON_ACTIONS = (
    "callback_data",
    "url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "login_url",
    "web_app",
    "callback_game",
    "pay",
    "copy_text",
)


def format_text(
    text: str | None,
    parse_mode: str | None,
    entities: Any,
    *,
    strict_html: bool = False,
    too_long: str = "message is too long",
) -> ParsedText:
    """Parse a message text as Telegram does; 400 on empty, too long or malformed text."""
    if text is None or text == "":
        raise bad_request("message text is empty")
    if entities is not None:
        parsed = ParsedText(text, explicit_entities(text, entities))
    else:
        parsed = _parse(text, parse_mode, strict_html)
    parsed = trim(parsed)
    if not parsed.text:
        raise bad_request("message text is empty")
    if len(parsed.text) > MAX_TEXT_LENGTH:
        raise bad_request(too_long)
    return parsed


def _parse(text: str, parse_mode: str | None, strict_html: bool) -> ParsedText:
    mode = (parse_mode or "").strip().lower()
    try:
        if mode == "":
            return ParsedText(text)
        if mode == "html":
            return parse_html(text, strict_ampersand=strict_html)
        if mode == "markdownv2":
            return parse_markdown_v2(text)
        if mode == "markdown":
            return parse_markdown(text)
    except EntityParseError as exc:
        raise bad_request(f"can't parse entities: {exc}") from exc
    raise bad_request("unsupported parse_mode")


def explicit_entities(text: str, entities: Any) -> list[Entity]:
    """Entities passed as a parameter, clipped to the text as Telegram does."""
    if not isinstance(entities, list):
        raise bad_request("can't parse entities JSON object")
    limit = utf16_len(text)
    found: list[Entity] = []
    for item in entities:
        if not isinstance(item, dict) or item.get("type") not in _ENTITY_TYPES:
            raise bad_request("can't parse MessageEntity: wrong entity type")
        offset, length = item.get("offset"), item.get("length")
        if not isinstance(offset, int) or not isinstance(length, int):
            raise bad_request('can\'t parse MessageEntity: field "offset" must be a Number')
        end = min(offset + length, limit)
        if offset < 0 or end <= offset:
            continue
        url = item.get("url")
        if item["type"] == "text_link":
            url = checked_link(str(url or ""))
            if url is None:
                continue
        found.append(
            Entity(
                item["type"],
                offset,
                end - offset,
                url=url,
                language=item.get("language"),
                custom_emoji_id=item.get("custom_emoji_id"),
                user=item.get("user"),
            )
        )
    return sort_entities(found)


def check_markup(markup: Any, *, inline_only: bool = False) -> JsonDict | None:
    """Validate a reply_markup; return it, or None when there is none."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        _check_inline_keyboard(markup["inline_keyboard"])
        return markup
    if inline_only:
        raise bad_request("inline keyboard expected")
    if "keyboard" in markup:
        _check_reply_keyboard(markup["keyboard"])
        return markup
    if markup.get("remove_keyboard") is True or markup.get("force_reply") is True:
        return markup
    raise bad_request("can't parse reply keyboard markup JSON object")


def _rows(keyboard: Any, what: str) -> list[list[Any]]:
    if not isinstance(keyboard, list) or not all(isinstance(row, list) for row in keyboard):
        raise bad_request(f'field "{what}" of the {what.replace("_", " ")} must be an Array')
    if sum(len(row) for row in keyboard) > MAX_BUTTONS:
        raise bad_request("reply markup is too long")
    return keyboard


def _check_inline_keyboard(keyboard: Any) -> None:
    for row in _rows(keyboard, "inline_keyboard"):
        for button in row:
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise bad_request(
                    'can\'t parse inline keyboard button: Field "text" must be of type String'
                )
            actions = [key for key in _BUTTON_ACTIONS if key in button]
            if not actions:
                raise bad_request("text buttons are unallowed in the inline keyboard")
            if "callback_data" in button:
                data = button["callback_data"]
                if not isinstance(data, str):
                    raise bad_request(
                        "can't parse inline keyboard button: "
                        'Field "callback_data" must be of type String'
                    )
                if not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES:
                    raise bad_request("BUTTON_DATA_INVALID")
            if "url" in button and checked_link(str(button["url"])) is None:
                raise bad_request("BUTTON_URL_INVALID")


def _check_reply_keyboard(keyboard: Any) -> None:
    for row in _rows(keyboard, "keyboard"):
        for button in row:
            if isinstance(button, str):
                continue
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise bad_request(
                    'can\'t parse keyboard button: Field "text" must be of type String'
                )


def inline_markup(markup: JsonDict | None) -> JsonDict | None:
    """The markup as it appears in a Message object: inline keyboards only."""
    if markup is not None and "inline_keyboard" in markup:
        return markup
    return None
