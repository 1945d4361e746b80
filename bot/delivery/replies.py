"""Sending and editing replies: HTML first, plain text if Telegram rejects the markup."""

from __future__ import annotations

import asyncio
import functools
import html
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, NetworkError, TelegramError, TimedOut

from bot.messages.reply import Button, Reply

logger = logging.getLogger(__name__)

T = TypeVar("T")
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
# A reply that meets a passing network fault is tried again after these pauses.
RETRY_DELAYS = (0.5, 1.5, 3.0)
_TAG = re.compile(r"<[^>]+>")


def keyboard(rows: Sequence[Sequence[Button]]) -> InlineKeyboardMarkup | None:
    """Inline keyboard from button specs; ``None`` when there are none."""
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.label, callback_data=b.data) for b in row] for row in rows]
    )


def plain_text(html_text: str) -> str:
    """The text a reader sees, without markup: the fallback when HTML is rejected."""
    return html.unescape(_TAG.sub("", html_text))


def is_transient(exc: Exception) -> bool:
    """A failure worth another try: the network, a 5xx, an unreadable answer.

    ``BadRequest`` is a ``NetworkError`` in python-telegram-bot, but retrying it is futile.
    ``TimedOut`` is one too, but it is not a failure: the request went out and the answer
    did not come within the (long) read timeout, so the message may have arrived; sending
    it again could show the user the same answer twice.
    """
    if isinstance(exc, BadRequest | TimedOut):
        return False
    if isinstance(exc, NetworkError):
        return True
    return isinstance(exc, TelegramError) and "invalid server response" in exc.message.lower()


async def with_retries(call: Callable[[], Awaitable[T]]) -> T:
    """``call()``, tried again after a transient failure (a bounded number of times)."""
    for delay in RETRY_DELAYS:
        try:
            return await call()
        except TelegramError as exc:
            if not is_transient(exc):
                raise
            logger.warning("transient failure (%s); trying again in %.1f s", exc, delay)
            await asyncio.sleep(delay)
    return await call()


def _is_markup_error(exc: BadRequest) -> bool:
    # Bot API answers "Bad Request: can't parse entities: ..." for malformed HTML.
    return "parse entities" in exc.message.lower()


async def post_message(
    bot: Bot,
    chat_id: int,
    text: str,
    *,
    parse_mode: str | None = None,
    markup: InlineKeyboardMarkup | None = None,
    quote: int | None = None,
) -> int:
    """sendMessage without link previews; the new message's id.

    ``Bot.send_message`` parses the sent message back into a ``Message`` (its text, every
    entity, the chat, the keyboard): 130 µs for an answer of three items, some 6% of the
    bot's CPU per answer, for an object a reply never reads. This is the call it makes
    (``Bot._post``: the same parameters, errors and, on the application's bot, its rate
    limiter), keeping only ``message_id`` of the answer.
    """
    data: dict[str, object] = {
        "chat_id": chat_id,
        "text": text,
        "parse_mode": parse_mode,
        "link_preview_options": NO_PREVIEW,
        "reply_markup": markup,
    }
    if quote is not None:
        data["reply_parameters"] = ReplyParameters(quote, allow_sending_without_reply=True)
    sent = await bot._post("sendMessage", data)
    return int(sent["message_id"])


async def _send_one(
    bot: Bot, chat_id: int, text: str, markup: InlineKeyboardMarkup | None, quote: int | None
) -> int:
    """One message: HTML, or plain text if Telegram rejects the markup; retried if transient."""
    send = functools.partial(post_message, bot, chat_id, markup=markup, quote=quote)
    try:
        return await with_retries(functools.partial(send, text, parse_mode=ParseMode.HTML))
    except BadRequest as exc:
        if not _is_markup_error(exc):
            raise
        logger.warning("HTML rejected (%s); sending as plain text", exc.message)
        return await with_retries(functools.partial(send, plain_text(text)))


async def send_reply(
    bot: Bot, chat_id: int, reply: Reply, *, reply_to: int | None = None
) -> list[int]:
    """Send every text of ``reply``; the buttons go under the last message. The sent
    messages' ids, in order."""
    sent: list[int] = []
    last = len(reply.texts) - 1
    for index, text in enumerate(reply.texts):
        markup = keyboard(reply.buttons) if index == last else None
        quote = reply_to if index == 0 else None
        sent.append(await _send_one(bot, chat_id, text, markup, quote))
    return sent


async def edit_reply(message: Message, reply: Reply) -> None:
    """Show ``reply`` in place of ``message`` (its first text; buttons as given)."""
    text = reply.texts[0]
    markup = keyboard(reply.buttons)
    try:
        await message.edit_text(
            text, parse_mode=ParseMode.HTML, reply_markup=markup, link_preview_options=NO_PREVIEW
        )
    except BadRequest as exc:
        if "not modified" in exc.message.lower():
            return
        if not _is_markup_error(exc):
            raise
        await message.edit_text(plain_text(text), reply_markup=markup)
