"""The courier's ``Sender`` on python-telegram-bot: send one message, classify the answer."""

from __future__ import annotations

import json
import logging
from typing import Any

from telegram import InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import ExtBot

from bot.delivery.courier import (
    Blocked,
    Delivered,
    RetryLater,
    SendOutcome,
    Undeliverable,
    Unknown,
)
from bot.delivery.replies import NO_PREVIEW, plain_text

logger = logging.getLogger(__name__)

# Bot API answers that mean the chat cannot be reached until its user writes again.
_UNREACHABLE = ("chat not found", "user is deactivated", "bot was kicked", "not a member")


class TelegramSender:
    """Sends through ``bot`` (and so through its rate limiter); one try per call.

    The rate limiter does the pacing and pauses a chat on 429; here a 429 is handed
    back to the courier as ``RetryLater`` so the message waits in the outbox, not in
    memory, and the courier's slot is free for other chats.
    """

    def __init__(self, bot: ExtBot[Any]) -> None:
        self.bot = bot

    async def send(
        self,
        chat_id: int,
        text: str,
        parse_mode: str | None,
        reply_markup: str | None,
        *,
        paid: bool = False,
    ) -> SendOutcome:
        markup = None
        # Bot API 7.11: up to 1000 messages a second for 0.1 Star each; the rate limiter
        # paces requests carrying it by PAID_BROADCAST_RATE instead of the free limit.
        allow_paid = True if paid else None
        if reply_markup:
            markup = InlineKeyboardMarkup.de_json(json.loads(reply_markup), self.bot)
        try:
            try:
                message = await self.bot.send_message(
                    chat_id,
                    text,
                    parse_mode=parse_mode,
                    reply_markup=markup,
                    link_preview_options=NO_PREVIEW,
                    allow_paid_broadcast=allow_paid,
                    rate_limit_args=0,
                )
            except BadRequest as exc:
                if "parse entities" not in exc.message.lower() or parse_mode is None:
                    raise
                logger.warning("markup rejected for chat %s; sending plain text", chat_id)
                message = await self.bot.send_message(
                    chat_id,
                    plain_text(text),
                    reply_markup=markup,
                    link_preview_options=NO_PREVIEW,
                    allow_paid_broadcast=allow_paid,
                    rate_limit_args=0,
                )
        except RetryAfter as exc:
            seconds = exc.retry_after
            delay = seconds if isinstance(seconds, int | float) else seconds.total_seconds()
            return RetryLater(float(delay), f"rate limited: retry after {delay:g} s")
        except Forbidden as exc:
            return Blocked(exc.message)
        except BadRequest as exc:
            if any(phrase in exc.message.lower() for phrase in _UNREACHABLE):
                return Blocked(exc.message)
            return Undeliverable(exc.message)
        except TimedOut:
            # Our read timeout (SEND_READ_TIMEOUT, past Telegram's slow answers) ran out
            # with the request sent: Telegram may have taken the message. Not a failure.
            return Unknown("timed out waiting for Telegram's answer")
        except NetworkError as exc:
            # Connection refused or reset, 5xx: the Bot API itself is unreachable.
            return RetryLater(None, f"network error: {exc.message}", unreachable=True)
        except TelegramError as exc:
            # An answer we cannot read (a truncated body): it may have been a success.
            return Unknown(f"unreadable answer: {exc.message}")
        return Delivered(message.message_id)
