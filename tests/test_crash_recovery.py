"""Stories of a bot process killed with SIGKILL in the middle of its work, then restarted."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
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


DIGEST_SUBSCRIBERS = list(range(4001, 4081))
KILLS = 20


async def test_twenty_kills_at_random_points_of_a_digest_run_and_a_broadcast_lose_nothing(
    telegram: LocalBotApiServer, tmp_path: Path
) -> None:
    """80 digests due at once and a broadcast to the same 80, killed 20 times."""
    seed = random.randrange(10**6)
    chance = random.Random(seed)
    process = BotProcess(telegram, tmp_path, admin=ADMIN)
    shutil.copy(SEED_KNOWLEDGE, process.knowledge)
    storage = await Storage.open(process.database_url)
    due = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    try:
        for chat_id in DIGEST_SUBSCRIBERS:
            telegram.add_private_chat(chat_id)
            await storage.chats.upsert_seen(chat_id, chat_id, "private", "Reader")
            await storage.subscriptions.subscribe(chat_id, dt.time(8), "UTC", due)
    finally:
        await storage.close()
    telegram.add_private_chat(ADMIN)

    def counts(prefix: str) -> dict[int, int]:
        return {
            c: sum(m.text.startswith(prefix) for m in telegram.messages(c))
            for c in DIGEST_SUBSCRIBERS
        }

    def polls_seen() -> int:
        return sum(r.method == "getUpdates" for r in telegram.requests)

    def total() -> int:
        return sum(len(telegram.messages(c)) for c in DIGEST_SUBSCRIBERS)

    try:
        await process.start()
        telegram.user_sends(ADMIN, ONE_MESSAGE)
        preview = (await telegram.wait_for_messages(ADMIN, 2, timeout=30))[1]
        send = next(d for label, d in preview.buttons if label == "Send")
        assert send is not None
        telegram.user_presses(ADMIN, preview.message_id, send)
        await wait_for(
            lambda: any("Broadcast #" in m.text for m in telegram.messages(ADMIN)), 30, "Send"
        )
        for kill in range(KILLS):
            if kill:
                await process.start()
                # Up: it has polled Telegram since this start.
                polls = polls_seen()
                await wait_for(lambda p=polls: polls_seen() > p, 30, "the restarted bot to poll")
            before = total()
            # A random point: after a random number of deliveries (0 to 12) in this run.
            target = before + chance.randrange(0, 13)
            await wait_for(lambda t=target: total() >= min(t, 160), 60, "progress")
            await asyncio.sleep(chance.uniform(0.0, 0.3))
            telegram.inject("sendMessage", Fault.timeout(60), times=100_000)
            await asyncio.sleep(0.3)
            await process.kill()
            telegram.clear_faults()
        await process.start()
        await wait_for(lambda: total() >= 160, 120, "every digest and broadcast")
        await asyncio.sleep(1.0)
    finally:
        await process.stop()
    digests, news = counts("Your news digest"), counts("📰 News")
    problems = {
        c: (digests[c], news[c]) for c in DIGEST_SUBSCRIBERS if (digests[c], news[c]) != (1, 1)
    }
    assert problems == {}, f"seed {seed}: {problems}\n{process.logs()[-3000:]}"


async def test_a_broadcast_stopped_with_sigterm_while_sends_are_slow_sends_nothing_twice(
    bot_process: BotProcess,
) -> None:
    """SIGTERM while Telegram answers slowly: the courier stops, and records what is in
    flight, before python-telegram-bot closes its HTTP client; the restart sends the rest."""
    server = bot_process.server
    await bot_process.start()
    server.user_sends(ADMIN, ONE_MESSAGE)
    messages = await server.wait_for_messages(ADMIN, 2, timeout=30)
    send = next(d for label, d in messages[1].buttons if label == "Send")
    assert send is not None
    server.user_presses(ADMIN, messages[1].message_id, send)
    await wait_for(lambda: sum(delivered(server).values()) >= 40, 60, "40 deliveries")
    server.inject("sendMessage", Fault.slow(2.0), times=100_000)
    await asyncio.sleep(0.3)
    assert bot_process.process is not None
    await bot_process.stop()
    assert bot_process.process.returncode is not None
    server.clear_faults()
    await bot_process.start()
    await wait_for(lambda: all(n >= 1 for n in delivered(server).values()), 90, "every subscriber")
    await asyncio.sleep(1.0)
    counts = delivered(server)
    assert [c for c, n in counts.items() if n != 1] == [], bot_process.logs()
