"""Fixtures for stories of the whole bot: a local Bot API server and the bot running on it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from feedserver import FeedServer
from harness import BotUnderTest, make_settings, start_bot

from bot.localapi import FloodLimits, LocalBotApiServer


@pytest.fixture
async def telegram() -> AsyncIterator[LocalBotApiServer]:
    """The local Bot API server with Telegram's flood limits; always stopped."""
    server = LocalBotApiServer(limits=FloodLimits())
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def bot(telegram: LocalBotApiServer, tmp_path: Path) -> AsyncIterator[BotUnderTest]:
    """The bot, running against ``telegram`` with the seed knowledge and an SQLite file."""
    async with start_bot(telegram, make_settings(tmp_path)) as running_bot:
        yield running_bot


@pytest.fixture
async def feeds() -> AsyncIterator[FeedServer]:
    """A local feed server (RSS, Atom, JSON Feed over real HTTP); always stopped."""
    server = FeedServer()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
