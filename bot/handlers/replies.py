"""Sending and editing replies: HTML first, plain text if Telegram rejects the markup."""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Sequence

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest

from bot.answers import Button, Reply

logger = logging.getLogger(__name__)

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
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


def _is_markup_error(exc: BadRequest) -> bool:
    # Bot API answers "Bad Request: can't parse entities: ..." for malformed HTML.
    return "parse entities" in exc.message.lower()


async def send_reply(
    bot: Bot, chat_id: int, reply: Reply, *, reply_to: int | None = None
) -> list[Message]:
    """Send every text of ``reply``; the buttons go under the last message."""
    sent: list[Message] = []
    last = len(reply.texts) - 1
    for index, text in enumerate(reply.texts):
        markup = keyboard(reply.buttons) if index == last else None
        try:
            message = await bot.send_message(
                chat_id,
                text,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                link_preview_options=NO_PREVIEW,
                reply_to_message_id=reply_to if index == 0 else None,
                allow_sending_without_reply=True,
            )
        except BadRequest as exc:
            if not _is_markup_error(exc):
                raise
            logger.warning("HTML rejected (%s); sending as plain text", exc.message)
            message = await bot.send_message(
                chat_id, plain_text(text), reply_markup=markup, link_preview_options=NO_PREVIEW
            )
        sent.append(message)
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
