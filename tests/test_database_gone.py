"""Stories of the SQLite file taken away from under the running bot."""

from __future__ import annotations

import asyncio
import logging
import shutil
import subprocess
from pathlib import Path

import pytest
from harness import BotUnderTest


async def test_a_subscriber_is_told_nothing_can_be_saved_when_the_database_file_is_deleted(
    bot: BotUnderTest, caplog: pytest.LogCaptureFixture
) -> None:
    """Deleted while the bot runs: SQLite would write on into the deleted file and lose it
    all at the next start. Instead the bot logs it once and never claims success."""
    path = Path(bot.settings.database_url.removeprefix("sqlite+aiosqlite:///"))
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    with caplog.at_level(logging.WARNING):
        (first,) = await bot.say("/subscribe 08:00 UTC")
        (second,) = await bot.say("/subscribe 09:00 UTC")
    for reply in (first, second):
        assert "subscribed" not in reply.text.lower()
        assert "cannot save" in reply.text
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "was deleted" in errors[0].getMessage(), errors


async def test_a_database_file_replaced_under_the_bot_is_not_written_to(
    bot: BotUnderTest, caplog: pytest.LogCaptureFixture
) -> None:
    """A restore copied another file over the database: the bot's open handle still points
    at the old one, so it refuses to write rather than write into the void."""
    path = Path(bot.settings.database_url.removeprefix("sqlite+aiosqlite:///"))
    copy = path.with_name("copy.db")
    await asyncio.to_thread(shutil.copyfile, path, copy)
    await asyncio.to_thread(copy.replace, path)
    with caplog.at_level(logging.WARNING):
        (reply,) = await bot.say("/subscribe 08:00 UTC")
    assert "cannot save" in reply.text
    assert any("replaced" in r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR)


def _immutable(path: Path, on: bool) -> bool:
    """chattr +i / -i: read-only even to root, which ignores file modes."""
    flag = "+i" if on else "-i"
    done = subprocess.run(["chattr", flag, str(path)], capture_output=True, check=False)
    return done.returncode == 0


async def test_a_database_file_made_read_only_under_the_bot_is_said_so_and_nothing_claimed(
    bot: BotUnderTest, caplog: pytest.LogCaptureFixture
) -> None:
    """An operator (or a full disk's remount) makes the file read-only: each write would fail.
    The bot says it cannot save, logs the reason once, and recovers when the file is back."""
    path = Path(bot.settings.database_url.removeprefix("sqlite+aiosqlite:///"))
    if shutil.which("chattr") is None or not _immutable(path, True):
        pytest.skip("chattr +i is not available here (it needs root on ext4 or similar)")
    try:
        with caplog.at_level(logging.WARNING):
            (first,) = await bot.say("/subscribe 08:00 UTC")
            (second,) = await bot.say("/follow harbour")
    finally:
        _immutable(path, False)
    for reply in (first, second):
        assert "cannot save" in reply.text and "subscribed" not in reply.text.lower()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "read-only" in errors[0].getMessage(), errors
    (back,) = await bot.say("/subscribe 08:00 UTC")
    assert "You are subscribed" in back.text
