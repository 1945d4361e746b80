"""The application factory: builds the python-telegram-bot ``Application`` from settings."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from telegram import BotCommand, Update
from telegram.ext import Application, ApplicationBuilder, Defaults

from bot.config import Settings
from bot.context import CONTEXT_TYPES, BotContext, Services
from bot.handlers import register_handlers
from bot.newsroom import Newsroom
from bot.ratelimit import ChatRateLimiter, Limits
from bot.throttle import QuestionThrottle

logger = logging.getLogger(__name__)

NewsbotApp = Application[Any, BotContext, dict[Any, Any], dict[Any, Any], Services, Any]

COMMANDS = [
    BotCommand("latest", "the newest items: /latest 5"),
    BotCommand("search", "search the news: /search child labour"),
    BotCommand("help", "what I can do"),
    BotCommand("start", "introduction"),
]
KNOWLEDGE_RELOAD_SECONDS = 5.0


def build_application(settings: Settings, *, token: str | None = None) -> NewsbotApp:
    """The bot for ``settings``; ``token`` overrides the configured one (console mode)."""
    secret = settings.telegram_bot_token
    bot_token = token or (secret.get_secret_value() if secret else None)
    if bot_token is None:
        raise ValueError("a bot token is needed: set TELEGRAM_BOT_TOKEN or use console mode")
    limits = Limits(overall_per_second=settings.send_rate_per_second)
    app: NewsbotApp = (
        ApplicationBuilder()
        .token(bot_token)
        .base_url(settings.telegram_api_base_url)
        .context_types(CONTEXT_TYPES)
        .rate_limiter(ChatRateLimiter(limits))
        .defaults(Defaults(tzinfo=dt.UTC))
        .concurrent_updates(True)
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
        .build()
    )
    app.bot_data.settings = settings
    app.bot_data.throttle = QuestionThrottle(settings.questions_per_minute)
    register_handlers(app)
    return app


async def _post_init(app: NewsbotApp) -> None:
    """Open resources: the knowledge (fails start-up if invalid) and the bot's command menu."""
    services = app.bot_data
    assert services.settings is not None
    services.newsroom = Newsroom.open(services.settings.knowledge_file)
    logger.info(
        "knowledge: %d items from %s", len(services.newsroom.items), services.newsroom.path
    )
    await app.bot.set_my_commands(COMMANDS)
    if app.job_queue is not None:
        app.job_queue.run_repeating(
            _reload_knowledge, interval=KNOWLEDGE_RELOAD_SECONDS, name="knowledge-reload"
        )


async def _reload_knowledge(context: BotContext) -> None:
    """Pick up edits of the knowledge file on disk."""
    await context.newsroom.reload_if_changed()


async def _post_shutdown(app: NewsbotApp) -> None:
    """Close what ``_post_init`` opened."""
    app.bot_data.newsroom = None


@asynccontextmanager
async def running(app: NewsbotApp, *, poll_timeout: int = 1) -> AsyncIterator[NewsbotApp]:
    """Run ``app`` with long polling inside the current event loop, as ``run_polling`` would.

    ``post_init`` and ``post_shutdown`` are called here too: python-telegram-bot calls
    them only from ``run_polling``/``run_webhook``, and console mode, tests and
    benchmarks need the same start-up as production.
    """
    async with app:
        if app.post_init is not None:
            await app.post_init(app)
        try:
            await app.start()
            assert app.updater is not None
            await app.updater.start_polling(allowed_updates=Update.ALL_TYPES, timeout=poll_timeout)
            try:
                yield app
            finally:
                if app.updater.running:
                    await app.updater.stop()
                if app.running:
                    await app.stop()
        finally:
            if app.post_shutdown is not None:
                await app.post_shutdown(app)
