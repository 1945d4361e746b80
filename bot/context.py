"""Typed handler context: services are attributes, not ``bot_data["..."]`` lookups."""

from __future__ import annotations

from typing import Any

from telegram.ext import CallbackContext, ContextTypes, ExtBot

from bot.config import Settings
from bot.newsroom import Newsroom
from bot.throttle import QuestionThrottle


class Services:
    """What handlers need, opened in ``post_init`` and closed in ``post_shutdown``."""

    def __init__(self) -> None:
        self.settings: Settings | None = None
        self.newsroom: Newsroom | None = None
        self.throttle = QuestionThrottle(per_minute=20)
        self.bot_username: str = ""


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], Services]):
    """Handler context with typed access to the services."""

    @property
    def newsroom(self) -> Newsroom:
        newsroom = self.bot_data.newsroom
        if newsroom is None:
            raise RuntimeError("the knowledge is not loaded yet (post_init has not run)")
        return newsroom

    @property
    def settings(self) -> Settings:
        settings = self.bot_data.settings
        if settings is None:
            raise RuntimeError("settings are not set (post_init has not run)")
        return settings


CONTEXT_TYPES = ContextTypes(context=BotContext, bot_data=Services)
