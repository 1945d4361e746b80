"""Webhook mode from start to stop, in the order that loses no update.

Start: the listener first (``/healthz`` answers at once, ``/readyz`` says 503 until the bot
is ready, updates get 503 and come again), then the bot's own start-up (knowledge,
database, courier), then the inbox's dispatcher, then updates are taken, then
``setWebhook`` (with the secret, every update type and ``WEBHOOK_MAX_CONNECTIONS``).

Stop (SIGTERM or SIGINT): new updates get 503 (Telegram keeps them and delivers them later,
to this process after a restart or to another one), the updates in hand finish (up to
``STOP_GRACE`` seconds), then the Application stops, then the courier, while the HTTP
client is still open (``post_stop``), then the rest. The webhook stays registered:
Telegram keeps delivering to the URL, which another process (or this one, restarted) serves.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from telegram import Update
from telegram.ext import Application

from bot.config import Settings
from bot.context import BotContext, Services
from bot.serving.dispatcher import InboxDispatcher
from bot.serving.webhook import WebhookListener
from bot.storage import InboxUpdate, StorageError

logger = logging.getLogger(__name__)

App = Application[Any, BotContext, dict[Any, Any], dict[Any, Any], Services, Any]

# How long a stop waits for the updates in hand (a reply waits at most for its chat's send
# slot and Telegram's answer); what is still running then is left to its lease.
STOP_GRACE = 20.0


async def readiness(services: Services) -> str | None:
    """Why this process should get no traffic now (None: ready)."""
    if services.newsroom is None or services.storage is None:
        return "starting: the knowledge is not loaded yet"
    try:
        await services.storage.inbox.unfinished()
    except (StorageError, OSError) as exc:
        return f"the database does not answer: {exc}"
    return None


async def serve_webhook(
    settings: Settings, build: Callable[[], App], prepare: Callable[[], Awaitable[object]]
) -> None:
    """Webhook mode until SIGTERM or SIGINT: the listener, then ``prepare()`` (reach the Bot
    API), then the Application that ``build()`` makes."""
    assert settings.webhook_url is not None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    services: Services | None = None

    async def ready() -> str | None:
        if services is None:
            return "starting: the Bot API has not answered yet"
        return await readiness(services)

    listener = WebhookListener(settings.webhook_path, ready)
    host, port = settings.listen_address
    await listener.start(host, port)
    try:
        await prepare()
        app = build()
        services = app.bot_data
        async with webhook_running(app, settings, listener):
            await stop.wait()
            logger.info("stopping: no new updates; finishing those in hand")
    finally:
        await listener.close()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)


@asynccontextmanager
async def webhook_running(
    app: App, settings: Settings, listener: WebhookListener
) -> AsyncIterator[InboxDispatcher]:
    """Run ``app`` on the started ``listener`` inside the current event loop; on exit, stop
    in the order the module docstring gives (tests and benchmarks use it too)."""
    dispatcher: InboxDispatcher | None = None
    async with app:
        try:
            if app.post_init is not None:
                await app.post_init(app)
            await app.start()
            dispatcher = await _take_updates(app, settings, listener)
            logger.info("webhook mode: Telegram calls %s", settings.webhook_url)
            yield dispatcher
        finally:
            listener.refuse()
            if dispatcher is not None:
                await dispatcher.stop(STOP_GRACE)
            if app.running:
                await app.stop()
            if app.post_stop is not None:
                await app.post_stop(app)
            if app.post_shutdown is not None:
                await app.post_shutdown(app)


async def _take_updates(
    app: App, settings: Settings, listener: WebhookListener
) -> InboxDispatcher:
    """Start the dispatcher, open the webhook to updates and register it with Telegram."""
    services = app.bot_data
    storage = services.storage
    assert storage is not None
    secret = (
        settings.webhook_secret.get_secret_value()
        if settings.webhook_secret is not None
        else await storage.inbox.webhook_secret()
    )
    if storage.database.dialect == "sqlite":
        # One process owns an SQLite file: what is still "working" was left by a dead one.
        requeued = await storage.inbox.requeue_working()
        if requeued:
            logger.info("webhook: %d update(s) left unfinished by the last run, again", requeued)

    async def handle(stored: InboxUpdate) -> None:
        update = Update.de_json(json.loads(stored.payload), app.bot)
        await app.update_processor.process_update(update, app.process_update(update))

    dispatcher = InboxDispatcher(
        storage.inbox, handle, services.clock, lease_seconds=settings.webhook_lease_seconds
    )
    dispatcher.start()
    listener.accept(storage.inbox, secret, dispatcher.wake)
    try:
        await app.bot.set_webhook(
            settings.webhook_url or "",
            secret_token=secret,
            allowed_updates=Update.ALL_TYPES,
            max_connections=settings.webhook_max_connections,
            drop_pending_updates=False,
        )
    except BaseException:
        with contextlib.suppress(Exception):
            await dispatcher.stop(0)
        raise
    return dispatcher
