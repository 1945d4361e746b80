"""Start the bot: long polling or webhook mode with a real token, or console mode against the
local server.

Before polling, the Bot API is asked who the bot is (getMe): an unreachable server is
retried with backoff, one log line per try, and a refused token or a wrong
``TELEGRAM_API_BASE_URL`` stops start-up with one line naming the setting.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path

from telegram import Bot, Update
from telegram.error import InvalidToken, NetworkError, TimedOut

from bot.app import bot_api_request, build_application
from bot.config import Settings
from bot.errors import ConfigError, NewsbotError
from bot.logs import REDACTED
from bot.runtime import heap

logger = logging.getLogger(__name__)

# Seconds between tries to reach the Bot API: quick at first (a network coming up with the
# machine), then once a minute.
RETRY_DELAYS: Sequence[float] = (5, 10, 20, 40, 60)


def run_bot(settings: Settings, *, retry_delays: Sequence[float] = RETRY_DELAYS) -> None:
    """Webhook mode with ``WEBHOOK_URL``; else long-poll Telegram until interrupted."""
    if settings.webhook_url is not None:
        run_webhook(settings, retry_delays=retry_delays)
        return
    asyncio.run(reach_bot_api(settings, retry_delays))
    app = build_application(settings, single_process=True)
    try:
        # run_polling calls deleteWebhook first (python-telegram-bot's bootstrap), so a bot
        # that ran in webhook mode before polls again: while a webhook is set Telegram
        # answers getUpdates with 409 Conflict.
        app.run_polling(allowed_updates=Update.ALL_TYPES, drop_pending_updates=False)
    except InvalidToken as exc:
        # python-telegram-bot's message quotes the token in full: say what is wrong instead.
        raise NewsbotError(token_rejected(settings, exc)) from None


def run_webhook(settings: Settings, *, retry_delays: Sequence[float] = RETRY_DELAYS) -> None:
    """Serve the webhook at ``WEBHOOK_URL``'s path on ``WEBHOOK_LISTEN`` until SIGTERM."""
    from bot.serving.mode import serve_webhook

    try:
        asyncio.run(
            serve_webhook(
                settings,
                lambda: build_application(settings, single_process=True),
                lambda: reach_bot_api(settings, retry_delays),
            )
        )
    except InvalidToken as exc:
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


def api_origin(base_url: str) -> str:
    """``https://api.telegram.org/bot`` → ``https://api.telegram.org``, for messages."""
    return base_url.removesuffix("/bot")


def network_reason(exc: BaseException) -> str:
    """Why a request never got an answer, in a few words ("name not resolved")."""
    text = str(exc)
    lowered = text.lower()
    if isinstance(exc, TimedOut) or "timed out" in lowered or "timeout" in lowered:
        return "no answer in time"
    if "name or service not known" in lowered or "name resolution" in lowered:
        return "name not resolved"
    if "nodename nor servname" in lowered or "no address associated" in lowered:
        return "name not resolved"
    if "connection refused" in lowered:
        return "connection refused"
    if "all connection attempts failed" in lowered:  # httpx, when every address refused
        return "connection failed"
    if "network is unreachable" in lowered:
        return "network unreachable"
    # PTB wraps httpx's error: "httpx.ConnectError: [Errno 113] No route to host".
    return text.split(": ", 1)[-1] or type(exc).__name__


async def reach_bot_api(settings: Settings, retry_delays: Sequence[float] = RETRY_DELAYS) -> str:
    """Ask the Bot API for the bot (getMe) until it answers; the bot's username.

    Raises ``ConfigError`` when the server refuses the token (401) or is no Bot API (404).
    """
    token = settings.telegram_bot_token
    if token is None:
        raise ConfigError("TELEGRAM_BOT_TOKEN: not set (console mode needs none)")
    base_url = settings.telegram_api_base_url
    origin = api_origin(base_url)
    attempt = 0
    while True:
        try:
            bot = Bot(
                token.get_secret_value(),
                base_url=base_url,
                request=bot_api_request(),
                get_updates_request=bot_api_request(connection_pool_size=1),
            )
            async with bot:
                logger.info("connected to %s as @%s", origin, bot.username)
                return bot.username
        except InvalidToken as exc:
            # Bot.initialize re-raises getMe's error with the token in the text: read the
            # server's own words from the cause (Telegram: 401 "Unauthorized" for a token
            # it does not know, 404 "Not Found" for a malformed one or a wrong URL).
            if "unauthorized" in str(exc.__cause__ or "").lower():
                raise ConfigError(
                    f"TELEGRAM_BOT_TOKEN: {origin} refused the token (401 Unauthorized); "
                    "copy it again from @BotFather"
                ) from None
            raise ConfigError(
                f"TELEGRAM_API_BASE_URL: {base_url} answered 404 Not Found;"
                " is it a Bot API server (https://api.telegram.org/bot)?"
            ) from None
        except NetworkError as exc:
            delay = retry_delays[min(attempt, len(retry_delays) - 1)]
            attempt += 1
            logger.warning(
                "cannot reach %s: %s; retrying in %g s", origin, network_reason(exc), delay
            )
            heap.collect_while_paused()
            await asyncio.sleep(delay)


def run_console(settings: Settings, log_file: Path | None = None) -> None:
    """Chat with the bot in this terminal, through the local Bot API server."""
    from bot.console import console

    asyncio.run(console(settings, log_file=log_file))
