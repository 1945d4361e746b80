"""Start the bot: long polling with a real token, or console mode against the local server."""

from __future__ import annotations

import asyncio

from telegram import Update

from bot.app import build_application
from bot.config import Settings


def run_bot(settings: Settings) -> None:
    """Long-poll Telegram (or ``TELEGRAM_API_BASE_URL``) until interrupted."""
    app = build_application(settings)
    app.run_polling(allowed_updates=Update.ALL_TYPES, drop_pending_updates=False)


def run_console(settings: Settings) -> None:
    """Chat with the bot in this terminal, through the local Bot API server."""
    from bot.console import console

    asyncio.run(console(settings))
