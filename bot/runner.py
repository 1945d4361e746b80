"""Start the bot: long polling with a real token, or console mode against the local server."""

from __future__ import annotations

import asyncio

from telegram import Update
from telegram.error import InvalidToken

from bot.app import build_application
from bot.config import Settings
from bot.errors import NewsbotError
from bot.logs import REDACTED


def run_bot(settings: Settings) -> None:
    """Long-poll Telegram (or ``TELEGRAM_API_BASE_URL``) until interrupted."""
    app = build_application(settings)
    try:
        app.run_polling(allowed_updates=Update.ALL_TYPES, drop_pending_updates=False)
    except InvalidToken as exc:
        # python-telegram-bot's message quotes the token in full: say what is wrong instead.
        raise NewsbotError(token_rejected(settings, exc)) from None


def token_rejected(settings: Settings, exc: InvalidToken) -> str:
    """One line for a token the server refused (401) or a base URL that is not the Bot API
    (404), without the token."""
    cause = exc.__cause__ if isinstance(exc.__cause__, InvalidToken) else exc
    reason = cause.message
    token = settings.telegram_bot_token
    if token is not None:
        reason = reason.replace(token.get_secret_value(), REDACTED)
    where = settings.telegram_api_base_url
    if "not found" in reason.lower():
        return (
            f"{where} answered 404 Not Found: check TELEGRAM_API_BASE_URL (the Bot API, "
            "ending in /bot) and TELEGRAM_BOT_TOKEN"
        )
    return f"the server at {where} rejected TELEGRAM_BOT_TOKEN ({reason}): check the token"


def run_console(settings: Settings) -> None:
    """Chat with the bot in this terminal, through the local Bot API server."""
    from bot.console import console

    asyncio.run(console(settings))
