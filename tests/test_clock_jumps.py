"""Stories of a clock that jumped: the bot ran hours (or a year) fast, then was set right.

What a fast clock stamped (leases, retries, schedules, "first seen") must not strand
messages or digests once the clock is right again: at the next start, stranded rows are
requeued and digests resume at the subscriber's next local time.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from pathlib import Path

from harness import (
    ADMIN,
    ALICE,
    FakeClock,
    add_subscribers,
    make_settings,
    services,
    start_bot,
    tick,
)

from bot.knowledge.models import NewsItem
from bot.localapi import Fault, LocalBotApiServer

SUBSCRIBERS = list(range(2001, 2041))
HARBOUR = NewsItem(
    id="2021-06-11-harbour", title="Harbour deal", date=dt.date(2021, 6, 11), summary="S."
)


def news(server: LocalBotApiServer, chat_id: int) -> int:
    return sum(m.text.startswith("📰 News") for m in server.messages(chat_id))


async def test_a_broadcast_cut_off_while_the_clock_ran_3_hours_fast_finishes_after_restart(
    telegram: LocalBotApiServer, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path)
    right = dt.datetime.now(dt.UTC)
    fast = FakeClock(right + dt.timedelta(hours=3))
    async with start_bot(telegram, settings, clock=fast) as bot:
        await add_subscribers(bot, SUBSCRIBERS)
        telegram.add_private_chat(ADMIN)
        broadcaster = services(bot).broadcaster
        assert broadcaster is not None
        # Telegram hangs: the sends in flight are cut off when the process goes, as by a kill.
        telegram.inject("sendMessage", Fault.timeout(30), times=1_000_000)
        await broadcaster.send(HARBOUR, ADMIN)
        await asyncio.sleep(0.5)
        storage = services(bot).storage
        assert storage is not None
        counts = await storage.outbox.counts_by_status()
        assert counts["sending"] > 0 and counts["pending"] > 0
    telegram.clear_faults()
    async with start_bot(telegram, settings) as bot:  # the right clock, running
        courier = services(bot).courier
        assert courier is not None
        await courier.deliver_all(timeout=30)
        await asyncio.sleep(0.2)
        svc = services(bot)
        assert svc.broadcaster is not None
        progress = await svc.broadcaster.progress(1)
        assert progress is not None and progress.done and progress.rate > 0
    assert {c: news(telegram, c) for c in SUBSCRIBERS if news(telegram, c) != 1} == {}


async def test_a_subscriber_whose_clock_was_400_days_ahead_gets_the_next_digest_on_time(
    telegram: LocalBotApiServer, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path)
    right = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
    ahead = FakeClock(right + dt.timedelta(days=400))
    async with start_bot(telegram, settings, clock=ahead) as bot:
        await bot.say("/subscribe 08:00 UTC")
        ahead.advance(days=1)
        assert await tick(bot) == 1  # a digest while the clock was ahead
    clock = FakeClock(right)
    async with start_bot(telegram, settings, clock=clock) as bot:
        (when,) = await bot.say("/when")
        hours = re.search(r"in (\d+) h", when.text)
        assert hours is not None and int(hours.group(1)) <= 24, when.text
        (why,) = await bot.say("/why")
        assert "2027" not in why.text, why.text
        before = len(telegram.messages(ALICE))
        clock.advance(minutes=5)
        fresh = NewsItem(
            id="2026-03-02-ferry", title="Ferry crews strike", date=right.date(), summary="S."
        )
        newsroom = services(bot).newsroom
        assert newsroom is not None
        await newsroom.publish(fresh)
        from bot.app import items_added

        await items_added(services(bot), [fresh])
        clock.set(dt.datetime(2026, 3, 3, 8, 0, 1, tzinfo=dt.UTC))
        assert await tick(bot) == 1
        digest = telegram.messages(ALICE)[before:]
        assert any("Ferry crews strike" in m.text for m in digest), [m.text for m in digest]
