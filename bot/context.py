"""Typed handler context: services are attributes, not ``bot_data["..."]`` lookups."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable
from typing import Any, TypeVar

from telegram.ext import CallbackContext, ContextTypes, ExtBot

from bot.config import Settings
from bot.delivery.broadcast import Broadcaster
from bot.delivery.courier import Courier
from bot.digests.scheduler import TICK_SECONDS, DigestScheduler
from bot.feeds.poller import TICK_SECONDS as FEED_TICK_SECONDS
from bot.feeds.poller import FeedPoller
from bot.knowledge.newsroom import Newsroom
from bot.questions.question_log import QuestionLog
from bot.questions.throttle import QuestionThrottle
from bot.storage import Storage, utc_now
from bot.storage.single_process import ProcessLock

T = TypeVar("T")


class GroupAdmins:
    """Whether a user administers a group, as getChatMember said, remembered briefly.

    Briefly: a demoted administrator loses the right within ``ttl`` seconds, and a burst of
    commands in a group costs one getChatMember per member, not one per command.
    """

    def __init__(
        self,
        ttl: float = 60.0,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._known: dict[tuple[int, int], tuple[bool, float]] = {}

    def get(self, chat_id: int, user_id: int) -> bool | None:
        """What was said within ``ttl``; None when nothing was, or it is too old."""
        found = self._known.get((chat_id, user_id))
        if found is None or found[1] <= self._clock():
            return None
        return found[0]

    def put(self, chat_id: int, user_id: int, is_admin: bool) -> None:
        now = self._clock()
        if len(self._known) >= self.max_entries:
            self._known = {k: v for k, v in self._known.items() if v[1] > now}
            if len(self._known) >= self.max_entries:
                self._known.clear()
        self._known[(chat_id, user_id)] = (is_admin, now + self.ttl)


class Services:
    """What handlers need, opened in ``post_init`` and closed in ``post_shutdown``."""

    def __init__(self) -> None:
        self.settings: Settings | None = None
        self.clock: Callable[[], dt.datetime] = utc_now
        self.newsroom: Newsroom | None = None
        self.storage: Storage | None = None
        self.courier: Courier | None = None
        self.scheduler: DigestScheduler | None = None
        self.throttle = QuestionThrottle(per_minute=20)
        self.group_admins = GroupAdmins()
        self.tick_seconds = TICK_SECONDS
        self.broadcaster: Broadcaster | None = None
        self.question_log: QuestionLog | None = None
        self.poller: FeedPoller | None = None
        self.feed_tick_seconds = FEED_TICK_SECONDS
        # ``newsbot run`` on SQLite: the file is this process's alone (bot/storage/single_process).
        self.single_process = False
        self.database_lock: ProcessLock | None = None
        # Background tasks (broadcast progress) kept referenced until done.
        self.background: set[asyncio.Task[None]] = set()


def _ready(value: T | None, what: str) -> T:
    if value is None:
        raise RuntimeError(f"{what} is not open (post_init has not run)")
    return value


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], Services]):
    """Handler context with typed access to the services."""

    @property
    def settings(self) -> Settings:
        return _ready(self.bot_data.settings, "the configuration")

    @property
    def newsroom(self) -> Newsroom:
        return _ready(self.bot_data.newsroom, "the knowledge")

    @property
    def storage(self) -> Storage:
        return _ready(self.bot_data.storage, "the database")

    @property
    def courier(self) -> Courier:
        return _ready(self.bot_data.courier, "the courier")

    @property
    def scheduler(self) -> DigestScheduler:
        return _ready(self.bot_data.scheduler, "the digest scheduler")

    @property
    def broadcaster(self) -> Broadcaster:
        return _ready(self.bot_data.broadcaster, "the broadcaster")

    @property
    def question_log(self) -> QuestionLog:
        return _ready(self.bot_data.question_log, "the question log")

    @property
    def poller(self) -> FeedPoller:
        return _ready(self.bot_data.poller, "the feed poller")

    def now(self) -> dt.datetime:
        return self.bot_data.clock()


CONTEXT_TYPES = ContextTypes(context=BotContext, bot_data=Services)
