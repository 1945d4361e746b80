"""The application factory: builds the python-telegram-bot ``Application`` from settings."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import ssl
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from telegram import Bot, BotCommand, BotCommandScopeChat, Update
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationBuilder
from telegram.request import HTTPXRequest

from bot.config import Settings
from bot.context import CONTEXT_TYPES, BotContext, Services
from bot.delivery.broadcast import Broadcaster
from bot.delivery.courier import STALL_AFTER, Courier
from bot.delivery.ratelimit import ChatRateLimiter, Limits
from bot.delivery.shared_budget import SharedBudget
from bot.delivery.telegram_sender import TelegramSender
from bot.digests.alerts import queue_alerts
from bot.digests.scheduler import TICK_SECONDS, DigestScheduler
from bot.errors import ConfigError
from bot.feeds.fetcher import Fetcher
from bot.feeds.poller import TICK_SECONDS as FEED_TICK_SECONDS
from bot.feeds.poller import FeedPoller, PollPolicy
from bot.feeds.publishing import FeedPublisher
from bot.handlers import admin, register_handlers
from bot.handlers.intake import THROTTLED_TEXT, CleanUpdatesRequest, FairUpdates
from bot.knowledge.models import NewsItem
from bot.knowledge.newsroom import Newsroom, ReloadOutcome
from bot.messages.render import MESSAGE_LIMIT
from bot.questions.question_log import FLUSH_SECONDS, QuestionLog
from bot.questions.throttle import QuestionThrottle, SharedThrottle
from bot.runtime import heap
from bot.storage import Storage, StorageError, StorageUnavailable, utc_now
from bot.storage.location import missing_folders, sqlite_file
from bot.storage.single_process import hold_sqlite_database

logger = logging.getLogger(__name__)

NewsbotApp = Application[Any, BotContext, dict[Any, Any], dict[Any, Any], Services, Any]

COMMANDS = [
    BotCommand("latest", "the newest items: /latest 5"),
    BotCommand("search", "search the news: /search child labour"),
    BotCommand("subscribe", "daily digest: /subscribe 08:00 Europe/Berlin"),
    BotCommand("when", "when your next digest comes"),
    BotCommand("why", "why no digest came"),
    BotCommand("digest", "your digest now"),
    BotCommand("settings", "your digest settings"),
    BotCommand("follow", "alerts on a topic: /follow child labour"),
    BotCommand("unfollow", "stop alerts on a topic"),
    BotCommand("unsubscribe", "stop the daily digest"),
    BotCommand("help", "what I can do"),
]
# Admins get these too, in their own chats' menus (BotCommandScopeChat), set at start-up.
ADMIN_COMMANDS = [
    BotCommand("broadcast", "admins: publish a new item to every subscriber"),
    BotCommand("stats", "admins: subscribers, digests, unanswered questions"),
    BotCommand("cancel", "admins: stop a /broadcast being written"),
    BotCommand("feeds", "admins: the feeds I follow: /feeds add URL"),
]
KNOWLEDGE_RELOAD_SECONDS = 5.0
# With several processes on one database, items another process published (a broadcast, a
# feed) are looked for this often: one indexed query; see BENCHMARKS.md for the latency.
SHARED_RELOAD_SECONDS = 1.0
PRUNE_SECONDS = 3600.0
PRUNE_FIRST_SECONDS = 60.0
POOL_SIZE = 12
POOL_TIMEOUT = 30.0
# The read timeout (TELEGRAM_READ_TIMEOUT_SECONDS, 60 s): PTB's default (5 s) is shorter than
# Telegram's slow answers (10-15 s are reported under load; a reviewer saw 30 s), and a
# timed-out send is of unknown fate: the message may have arrived. Waiting longer makes that
# rare; the courier bounds how many sends can be in that state (see bot/delivery/courier.py).


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The TLS context of every Bot API client of the process, made as httpx makes one
    (certifi's roots, or ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``). Left to itself httpx makes
    one per client, 60 ms each (reading the roots), and start-up makes four clients."""
    import httpx

    return httpx.create_ssl_context()


def bot_api_request(kind: type[HTTPXRequest] = HTTPXRequest, **options: Any) -> HTTPXRequest:
    """python-telegram-bot's HTTP client (or ``kind`` of it) with ``options``, on the shared
    ``tls_context``."""
    return kind(**options, httpx_kwargs={"verify": tls_context()})


def courier_concurrency(paid_rate: int) -> int:
    """Sends the courier keeps in flight: 32 carry 28/s; paid broadcasts get 48. Not more:
    past what the process can send, more sends in flight only queue in httpcore's pool,
    whose every assignment scans every queued request and connection (profiled: 100 in
    flight on 50 connections spent 40% of the CPU there)."""
    return 48 if paid_rate else 32


def connection_pool(paid_rate: int) -> int:
    """HTTP connections to the Bot API: see POOL_SIZE; 16 for paid broadcasts."""
    return 16 if paid_rate else POOL_SIZE


def build_application(
    settings: Settings,
    *,
    token: str | None = None,
    clock: Callable[[], dt.datetime] = utc_now,
    tick_seconds: float = TICK_SECONDS,
    feed_tick_seconds: float = FEED_TICK_SECONDS,
    single_process: bool = False,
) -> NewsbotApp:
    """The bot for ``settings``; ``token`` overrides the configured one (console mode).

    ``single_process``: on SQLite, refuse to start while another process runs on the file
    (``newsbot run``; console mode, tests and benchmarks pass False).
    """
    secret = settings.telegram_bot_token
    bot_token = token or (secret.get_secret_value() if secret else None)
    if bot_token is None:
        raise ValueError("a bot token is needed: set TELEGRAM_BOT_TOKEN or use console mode")
    limits = Limits(
        overall_per_second=settings.send_rate_per_second,
        paid_per_second=float(settings.paid_broadcast_rate),
    )
    throttle = QuestionThrottle(settings.questions_per_minute)
    intake = FairUpdates(throttle, _tell_throttled)
    app: NewsbotApp = (
        ApplicationBuilder()
        .token(bot_token)
        .base_url(settings.telegram_api_base_url)
        .context_types(CONTEXT_TYPES)
        .rate_limiter(ChatRateLimiter(limits))
        # httpcore scans every pooled connection for every request it places, so each pooled
        # connection costs CPU on every send (measured: 8 → 64 connections, +25% CPU per
        # answer). Telegram's limits allow 28 sends/s; 12 connections carry that at up to
        # 0.4 s per call. The courier's other in-flight sends wait in the rate
        # limiter, and one that finds the pool busy waits its turn (not PTB's 1 s timeout).
        # Parameters stay PTB's urlencoded form, which every Bot API implementation reads;
        # JSON bodies saved about 4% CPU per answer here, but not every server takes them.
        .request(
            bot_api_request(
                connection_pool_size=connection_pool(settings.paid_broadcast_rate),
                pool_timeout=POOL_TIMEOUT,
                read_timeout=settings.telegram_read_timeout_seconds,
                write_timeout=settings.telegram_read_timeout_seconds,
            )
        )
        # Throttling, one lane per sender and shared slots given back while a reply waits
        # for its chat's turn: see bot/handlers/intake.py.
        .concurrent_updates(intake)
        .get_updates_request(bot_api_request(CleanUpdatesRequest, connection_pool_size=1))
        .post_init(_post_init)
        .post_stop(_post_stop)
        .post_shutdown(_post_shutdown)
        .build()
    )
    services = app.bot_data
    services.settings = settings
    services.clock = clock
    services.throttle = throttle
    intake.accepting = lambda: app.running
    services.tick_seconds = tick_seconds
    services.single_process = single_process
    services.feed_tick_seconds = feed_tick_seconds
    register_handlers(app)
    return app


async def _tell_throttled(update: Update, wait: float) -> None:
    """The one notice a flooding user gets per window."""
    bot = update.get_bot()
    text = THROTTLED_TEXT.format(seconds=int(wait) + 1)
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(text)
        elif update.effective_message is not None and update.inline_query is None:
            await bot.send_message(update.effective_message.chat_id, text)
    except TelegramError as exc:
        logger.info("could not send the slow-down notice: %s", exc)


async def _post_init(app: NewsbotApp) -> None:
    """Open resources in order: knowledge, database, courier, scheduler; then the menu."""
    services = app.bot_data
    assert services.settings is not None
    settings = services.settings
    storage = services.storage = await open_storage(settings.database_url, services.clock)
    if services.single_process:
        services.database_lock = hold_sqlite_database(settings.database_url)
    newsroom = services.newsroom = Newsroom.open(
        settings.knowledge_file, storage.published, cache_folder=settings.embedding_cache
    )
    await newsroom.pick_up_published()
    logger.info("knowledge: %d items from %s and published", len(newsroom.items), newsroom.path)
    await storage.known_items.record_many([i.id for i in newsroom.items], services.clock())
    services.question_log = QuestionLog(storage.questions)
    shared = storage.database.dialect != "sqlite"
    limiter = app.bot.rate_limiter
    if shared and isinstance(limiter, ChatRateLimiter):
        # Telegram's limits are per bot: every process on this database paces by one budget.
        limiter.share(SharedBudget(storage.send_budget))
    intake = app.update_processor
    if shared and settings.webhook_url is not None and isinstance(intake, FairUpdates):
        # QUESTIONS_PER_MINUTE is per user of the bot, whichever process an update reaches
        # (only webhook mode runs several processes: a second poller gets 409).
        intake.share(SharedThrottle(storage.send_budget, intake.throttle))
    courier = services.courier = Courier(
        storage.outbox,
        storage.chats,
        TelegramSender(app.bot),
        services.clock,
        retry_for=dt.timedelta(hours=settings.delivery_retry_hours),
        first_backoff=settings.delivery_first_backoff_seconds,
        # A send slower than this means the Bot API hangs: claim nothing new until it answers.
        stall_after=min(STALL_AFTER, settings.telegram_read_timeout_seconds / 2),
        concurrency=courier_concurrency(settings.paid_broadcast_rate),
        lease=dt.timedelta(seconds=settings.delivery_lease_seconds),
        # SQLite serves one process: what is left `sending` at start is a dead one's.
        exclusive=not shared,
        paid_kinds=frozenset({"broadcast"}) if settings.paid_broadcast_rate else frozenset(),
    )
    await courier.recover()
    courier.start()
    scheduler = services.scheduler = DigestScheduler(
        storage, lambda: newsroom.items, services.clock, courier.wake
    )
    await scheduler.repair_clock_jump()

    async def announce(items: Sequence[NewsItem], audience: frozenset[int]) -> None:
        await queue_alerts(storage, newsroom.retriever, items, exclude=audience)
        courier.wake()

    broadcaster = services.broadcaster = Broadcaster(
        storage,
        lambda: newsroom,
        services.clock,
        courier.wake,
        lambda: courier.unreachable_since,
        announce,
    )
    for broadcast in await broadcaster.resume():
        logger.info("resuming broadcast %d", broadcast.id)
        admin.watch(app.bot, services, broadcast.created_by, broadcast.id)
    services.poller = _feed_poller(services, settings)
    services.poller.start(services.feed_tick_seconds)
    try:
        await app.bot.set_my_commands(COMMANDS)
    except TelegramError as exc:
        # The menu is a convenience; a server that refuses it must not stop the bot.
        logger.warning("could not set the command menu: %s", exc)
    await set_admin_menus(app.bot, settings.admin_ids)
    if app.job_queue is not None:
        # A digest that fell due while the bot was down goes out a second after start,
        # once. (first=0 would not run at all: APScheduler drops a start date in the past.)
        app.job_queue.run_repeating(
            _digest_tick, interval=services.tick_seconds, first=1.0, name="digest-tick"
        )
        reload_seconds = SHARED_RELOAD_SECONDS if shared else KNOWLEDGE_RELOAD_SECONDS
        app.job_queue.run_repeating(
            _reload_knowledge, interval=reload_seconds, name="knowledge-reload"
        )
        app.job_queue.run_repeating(_flush_questions, interval=FLUSH_SECONDS, name="question-log")
        app.job_queue.run_repeating(
            _prune, interval=PRUNE_SECONDS, first=PRUNE_FIRST_SECONDS, name="retention"
        )
    heap.settle()


async def open_storage(url: str, clock: Callable[[], dt.datetime]) -> Storage:
    """Open the database; what stops it is one ``ConfigError`` line naming DATABASE_URL."""
    path = sqlite_file(url)
    created = None
    if path is not None:
        created = missing_folders(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            raise ConfigError(
                f"DATABASE_URL: cannot create the folder {path.parent}: a file is in the way"
            ) from None
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise ConfigError(
                f"DATABASE_URL: cannot create the folder {path.parent}: {reason}"
            ) from None
        if not path.parent.is_dir():
            raise ConfigError(f"DATABASE_URL: {path.parent} is not a folder")
    try:
        storage = await Storage.open(url, clock=clock)
    except (StorageError, OSError) as exc:
        raise ConfigError(f"DATABASE_URL: {_storage_reason(exc)}") from None
    if created is not None:
        logger.info("storage: created the folder %s for %s", created, path)
    return storage


def _storage_reason(exc: BaseException) -> str:
    """The database driver's own words ("attempt to write a readonly database"), one line."""
    if isinstance(exc, StorageUnavailable):  # the storage's own diagnosis (read-only, gone)
        return f"cannot use the database: {exc.reason}"
    cause: BaseException | None = exc
    while cause is not None:
        original = getattr(cause, "orig", None)
        if original is not None:
            reason = str(original).splitlines()[0]
            if "readonly" in reason or "read-only" in reason:
                reason += " (the file or its folder is read-only)"
            return f"cannot use the database: {reason}"
        cause = cause.__cause__
    if isinstance(exc, OSError):
        return f"cannot use the database: {exc.strerror or exc}"
    return str(exc).splitlines()[0]


async def set_admin_menus(bot: Bot, admin_ids: Iterable[int]) -> None:
    """Each admin's chat gets the menu with the admin commands (refreshed at every start).

    A removed admin keeps the menu until they clear the chat; the commands still refuse them.
    """
    for admin_id in sorted(admin_ids):
        try:
            await bot.set_my_commands(
                COMMANDS + ADMIN_COMMANDS, scope=BotCommandScopeChat(admin_id)
            )
        except TelegramError as exc:
            # Telegram says "chat not found" for an admin who has not started the bot yet.
            logger.info("no admin command menu for %s yet: %s", admin_id, exc)


def _feed_poller(services: Services, settings: Settings) -> FeedPoller:
    """The feed poller over the open storage, newsroom and courier."""
    assert services.storage is not None and services.courier is not None
    assert services.newsroom is not None
    storage, courier, newsroom = services.storage, services.courier, services.newsroom
    fetcher = Fetcher(
        timeout=settings.feed_timeout_seconds,
        allow_private=settings.feeds_allow_private,
        connections=settings.feed_concurrency,
    )
    publisher = FeedPublisher(
        storage, lambda: newsroom, lambda: services.broadcaster, services.clock, courier.wake
    )
    policy = PollPolicy(
        poll_seconds=settings.feed_poll_seconds,
        concurrency=settings.feed_concurrency,
        fetch_seconds=settings.feed_timeout_seconds,
    )
    return FeedPoller(
        storage, fetcher, publisher, services.clock, policy, settings.admin_ids, courier.wake
    )


async def _digest_tick(context: BotContext) -> None:
    """Queue the digests that are due."""
    await context.scheduler.tick()


async def _prune(context: BotContext) -> None:
    """Delete what is older than the retention (RETENTION_DAYS)."""
    await prune(context.bot_data)


async def prune(services: Services) -> None:
    """Delete settled outbox rows and questions older than the retention."""
    assert services.storage is not None and services.settings is not None
    cutoff = services.clock() - dt.timedelta(days=services.settings.retention_days)
    pruned = await services.storage.retention.prune(cutoff)
    if pruned.outbox or pruned.questions:
        logger.info(
            "retention: deleted %d message(s) and %d question(s) older than %s",
            pruned.outbox,
            pruned.questions,
            cutoff.date().isoformat(),
        )


async def _flush_questions(context: BotContext) -> None:
    """Write the buffered unanswered questions."""
    await context.question_log.flush()


async def _reload_knowledge(context: BotContext) -> None:
    """Pick up edits of the knowledge file on disk."""
    await refresh_knowledge(context.bot_data, context.bot)


async def refresh_knowledge(services: Services, bot: Bot | None = None) -> ReloadOutcome:
    """Reload the knowledge file if it changed, pick up items other processes published;
    record and alert on new items.

    An invalid edit keeps the last good knowledge, and the admins are told what is wrong.
    """
    assert services.newsroom is not None and services.settings is not None
    outcome = await services.newsroom.reload_if_changed()
    if outcome.changed:
        heap.settle()
    published = await services.newsroom.pick_up_published()
    if outcome.added or published:
        await items_added(services, [*outcome.added, *published])
    if outcome.problems and bot is not None:
        problems = "\n".join(f"• {p}" for p in outcome.problems[:20])
        head = (
            "The knowledge file was edited but the edit drops most items; I keep the last good"
            " one."
            if outcome.held_back
            else "The knowledge file was edited but is not valid; I keep the last good one."
        )
        text = f"{head}\n{problems}"
        for admin_id in services.settings.admin_ids:
            try:
                await bot.send_message(admin_id, text[:MESSAGE_LIMIT])
            except TelegramError as exc:
                logger.warning("could not tell admin %s about the bad edit: %s", admin_id, exc)
    return outcome


async def items_added(services: Services, items: Sequence[NewsItem]) -> None:
    """Items appeared: record the ids never seen before, and push keyword alerts for those.

    An item is new only the first time its id is ever seen, in any process: an item that
    left the file and came back, or that another process published and recorded, alerts
    no one again.
    """
    assert services.storage is not None and services.newsroom is not None
    first_seen = set(
        await services.storage.known_items.record_many([i.id for i in items], services.clock())
    )
    fresh = [item for item in items if item.id in first_seen]
    await queue_alerts(services.storage, services.newsroom.retriever, fresh)
    if services.courier is not None:
        services.courier.wake()


async def _post_stop(app: NewsbotApp) -> None:
    """Stop the feed poller and the courier while python-telegram-bot's HTTP client is open.

    ``post_shutdown`` runs after the client is closed: sends still in flight there would
    fail mid-request, of unknown fate, and be sent again after the restart.
    """
    services = app.bot_data
    for task in list(services.background):
        task.cancel()
    if services.poller is not None:
        await services.poller.stop()
        services.poller = None
    if services.courier is not None:
        await services.courier.stop()
        services.courier = None


async def _post_shutdown(app: NewsbotApp) -> None:
    """Close what ``_post_init`` opened, in reverse order."""
    heap.thaw()
    services = app.bot_data
    await _post_stop(app)  # if start-up failed before the application ran
    if services.question_log is not None:
        await services.question_log.flush()
        services.question_log = None
    if services.storage is not None:
        await services.storage.close()
        services.storage = None
    if services.database_lock is not None:
        services.database_lock.release()
        services.database_lock = None
    services.newsroom = None
    services.scheduler = None


@asynccontextmanager
async def running(app: NewsbotApp, *, poll_timeout: int = 1) -> AsyncIterator[NewsbotApp]:
    """Run ``app`` with long polling inside the current event loop, as ``run_polling`` would.

    ``post_init`` and ``post_shutdown`` are called here too: python-telegram-bot calls
    them only from ``run_polling``/``run_webhook``, and console mode, tests and
    benchmarks need the same start-up as production.
    """
    async with app:
        try:
            if app.post_init is not None:
                await app.post_init(app)
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
                if app.post_stop is not None:
                    await app.post_stop(app)
        finally:
            if app.post_shutdown is not None:
                await app.post_shutdown(app)
