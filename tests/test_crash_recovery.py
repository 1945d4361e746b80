"""Stories of a bot process killed with SIGKILL in the middle of its work, then restarted."""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from harness import ADMIN, SEED_KNOWLEDGE
from processes import BotProcess

from bot.localapi import Fault, LocalBotApiServer
from bot.storage import Storage

SUBSCRIBERS = list(range(3001, 3201))
ONE_MESSAGE = (
    "/broadcast Harbour workers win a pay rise | 2021-06-11 | Dock workers agreed a deal."
)


@pytest.fixture
async def bot_process(telegram: LocalBotApiServer, tmp_path: Path) -> AsyncIterator[BotProcess]:
    process = BotProcess(telegram, tmp_path, admin=ADMIN)
    shutil.copy(SEED_KNOWLEDGE, process.knowledge)
    storage = await Storage.open(process.database_url)
    far = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
    try:
        for chat_id in SUBSCRIBERS:
            telegram.add_private_chat(chat_id, first_name=f"User{chat_id}")
            await storage.chats.upsert_seen(chat_id, chat_id, "private", f"User{chat_id}")
            await storage.subscriptions.subscribe(chat_id, dt.time(8), "UTC", far)
    finally:
        await storage.close()
    telegram.add_private_chat(ADMIN, first_name="Admin")
    try:
        yield process
    finally:
        await process.stop()


def delivered(server: LocalBotApiServer) -> dict[int, int]:
    return {
        chat_id: sum(1 for m in server.messages(chat_id) if m.text.startswith("📰 News"))
        for chat_id in SUBSCRIBERS
    }


async def wait_for(condition: object, seconds: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        if condition():  # type: ignore[operator]
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def kill_while_sends_are_in_flight(process: BotProcess, after: int) -> None:
    """Kill once ``after`` messages arrived, while the next sends are on the wire.

    From that moment Telegram (the local server) holds every sendMessage unanswered, so
    at the kill the process has messages claimed, requests in flight and writes pending;
    what it had accepted it had time to record. Then the server works normally again.
    """
    server = process.server
    await wait_for(lambda: sum(delivered(server).values()) >= after, 60, f"{after} deliveries")
    server.inject("sendMessage", Fault.timeout(60), times=100_000)
    await asyncio.sleep(0.5)
    await process.kill()
    server.clear_faults()


async def test_a_broadcast_killed_twice_midway_completes_with_no_one_missed_or_served_twice(
    bot_process: BotProcess,
) -> None:
    server = bot_process.server
    await bot_process.start()
    server.user_sends(ADMIN, ONE_MESSAGE)
    messages = await server.wait_for_messages(ADMIN, 2, timeout=30)
    send = next(d for label, d in messages[1].buttons if label == "Send")
    assert send is not None
    server.user_presses(ADMIN, messages[1].message_id, send)

    await kill_while_sends_are_in_flight(bot_process, after=40)
    sent_at_first_kill = sum(delivered(server).values())
    assert 40 <= sent_at_first_kill < len(SUBSCRIBERS)

    await bot_process.start()
    await kill_while_sends_are_in_flight(bot_process, after=sent_at_first_kill + 50)

    await bot_process.start()
    await wait_for(lambda: all(n >= 1 for n in delivered(server).values()), 90, "every subscriber")
    await asyncio.sleep(1.0)  # anything sent twice would arrive now
    counts = delivered(server)
    assert [c for c, n in counts.items() if n != 1] == [], bot_process.logs()
    assert "Traceback" not in bot_process.logs()
