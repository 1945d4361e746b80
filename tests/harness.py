"""Drive the real bot: the real ``Application`` over real HTTP to the local Bot API server.

A test is a user's story: ``await bot.say("latest news")`` sends a message as the
user would and returns what the bot replied, read back from the server's record.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from bot.app import NewsbotApp, build_application, running
from bot.config import Settings
from bot.context import Services
from bot.localapi import TEST_TOKEN, LocalBotApiServer, RecordedMessage

ROOT = Path(__file__).resolve().parents[1]
SEED_KNOWLEDGE = ROOT / "knowledge" / "news.yaml"
ALICE = 1001
BOB = 1002
ADMIN = 9001


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    """Settings for a test: a copy of the seed knowledge and a fresh SQLite file in tmp_path."""
    knowledge = tmp_path / "news.yaml"
    if not knowledge.exists():
        shutil.copy(SEED_KNOWLEDGE, knowledge)
    values: dict[str, object] = {
        "telegram_bot_token": None,
        "knowledge_file": knowledge,
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'newsbot.db'}",
        "admin_ids": frozenset({ADMIN}),
        "default_timezone": "UTC",
        "_env_file": None,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


class FakeClock:
    """The bot's clock in a test: it moves only when the story says so."""

    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def set(self, when: dt.datetime) -> None:
        self.now = when

    def advance(self, **delta: float) -> None:
        self.now = self.now + dt.timedelta(**delta)


@dataclass
class BotUnderTest:
    """A running bot and the server it talks to, with a user's-eye API."""

    server: LocalBotApiServer
    app: NewsbotApp
    settings: Settings

    async def say(
        self, text: str, *, user: int = ALICE, expect: int = 1, wait: float = 10.0
    ) -> list[RecordedMessage]:
        """Send ``text`` in the user's private chat; return the ``expect`` new bot messages."""
        before = len(self.server.messages(user))
        self.server.user_sends(user, text)
        messages = await self.server.wait_for_messages(user, before + expect, timeout=wait)
        return messages[before:]

    async def press(
        self, message: RecordedMessage, label_part: str, *, user: int = ALICE
    ) -> RecordedMessage:
        """Press the button whose label contains ``label_part``; return the edited message."""
        data = next(d for label, d in message.buttons if label_part in label and d is not None)
        edits = len(message.history)
        self.server.user_presses(user, message.message_id, data, chat_id=message.chat_id)
        return await self.server.wait_for_edit(
            message.chat_id, message.message_id, count=edits + 1, timeout=10.0
        )


@asynccontextmanager
async def start_bot(
    server: LocalBotApiServer, settings: Settings, clock: FakeClock | None = None
) -> AsyncIterator[BotUnderTest]:
    """Start the bot against ``server``; stop it (and close its resources) on exit.

    With a ``clock``, digests and feeds are driven by the test (``tick``, feed polls); the
    digest tick runs only once, at start, as after a restart.
    """
    local = settings.model_copy(update={"telegram_api_base_url": server.base_url})
    if clock is None:
        app = build_application(local, token=TEST_TOKEN)
    else:
        app = build_application(
            local,
            token=TEST_TOKEN,
            clock=clock,
            tick_seconds=24 * 3600,
            feed_tick_seconds=24 * 3600,
        )
    async with running(app, poll_timeout=1):
        yield BotUnderTest(server, app, local)


def services(bot: BotUnderTest) -> Services:
    return bot.app.bot_data


async def tick(bot: BotUnderTest) -> int:
    """Run the digest scheduler now, and deliver what it queued."""
    svc = services(bot)
    assert svc.scheduler is not None and svc.courier is not None
    served = await svc.scheduler.tick()
    await svc.courier.deliver_all()
    return served


async def add_subscribers(bot: BotUnderTest, chat_ids: list[int]) -> None:
    """Subscribers who started the bot earlier: known to Telegram and in the database."""
    storage = services(bot).storage
    assert storage is not None
    far = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
    for chat_id in chat_ids:
        bot.server.add_private_chat(chat_id, first_name=f"User{chat_id}")
        await storage.chats.upsert_seen(chat_id, chat_id, "private", f"User{chat_id}")
        await storage.subscriptions.subscribe(chat_id, dt.time(8, 0), "UTC", far)
