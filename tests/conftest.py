from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest

from bot.localapi import LocalBotApiServer

pytest_plugins = ["conftest_storage", "conftest_bot"]

# python-telegram-bot 22.x warns (PTBDeprecationWarning) whenever a time period such as
# RetryAfter.retry_after is read as an int, and RetryAfter reads it in its own __init__.
# With filterwarnings = ["error"] every 429 would surface as that warning instead of
# RetryAfter. Opting in to the future behaviour makes those periods datetime.timedelta.
os.environ.setdefault("PTB_TIMEDELTA", "true")
# Item embeddings are kept in memory only (the process-wide encoder's cache), never in the
# work tree's data/; the tests of the disk cache give it a folder of their own.
os.environ.setdefault("NEWSBOT_EMBEDDING_CACHE", "")


@pytest.fixture
async def api_server() -> AsyncIterator[LocalBotApiServer]:
    """A local Bot API server on an ephemeral loopback port, stopped after the test."""
    server = LocalBotApiServer()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
