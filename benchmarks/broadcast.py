"""A broadcast to thousands of subscribers through the local server with Telegram's flood limits.

newsbot queues one outbox row per subscriber and its courier delivers them through the bot's
rate limiter (``send_rate_per_second``). The peer, on the same server in the same run, is the
naive sender: ``asyncio.gather`` over ``bot.send_message`` to the same chats, paced by
python-telegram-bot's own ``AIORateLimiter`` (its defaults). Each chat's messages are counted
from the server's record, so a lost or a doubled message shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from telegram.constants import ParseMode
from telegram.ext import AIORateLimiter, ExtBot

from benchmarks.digest import seed_subscribers
from benchmarks.workspace import bot_settings
from bot.app import build_application, running
from bot.config import Settings
from bot.delivery.broadcast import broadcast_text
from bot.knowledge.models import NewsItem
from bot.localapi import TEST_TOKEN, FloodLimits, LocalBotApiServer

SUBSCRIBERS = 2_000
SEND_RATE = 28.0
ADMIN = 9001
FIRST_CHAT = 3_000_000
FAR = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
DEADLINE = 100.0
"""Seconds a sender gets to finish (2,000 messages take about 70 s at 28/s)."""
ITEM = NewsItem(
    id="2021-06-11-harbour-workers-win-a-pay-rise",
    title="Harbour workers win a pay rise",
    date=dt.date(2021, 6, 11),
    summary="Dock workers in three ports agreed a new wage deal after two weeks of talks.",
    url="https://example.org/harbour",
)


@dataclass(frozen=True)
class Outcome:
    """What the server saw of one sender's broadcast."""

    sender: str
    delivered: int
    lost: int
    duplicated: int
    too_many_requests: int
    seconds: float
    """From the start of the broadcast to the last message recorded."""
    steady_rate: float
    """Messages per second between the first and the last message recorded."""


def outcome(
    sender: str, server: LocalBotApiServer, chat_ids: Sequence[int], started: float
) -> Outcome:
    counts = [len(server.messages(chat_id)) for chat_id in chat_ids]
    times = sorted(m.sent_at for chat_id in chat_ids for m in server.messages(chat_id))
    first, last = (times[0], times[-1]) if times else (started, started)
    return Outcome(
        sender=sender,
        delivered=sum(1 for count in counts if count >= 1),
        lost=sum(1 for count in counts if count == 0),
        duplicated=sum(count - 1 for count in counts if count > 1),
        too_many_requests=sum(
            1 for r in server.requests if r.method == "sendMessage" and r.status == 429
        ),
        seconds=last - started,
        steady_rate=(len(times) - 1) / (last - first) if last > first else 0.0,
    )


async def _all_reached(server: LocalBotApiServer, chat_ids: Sequence[int]) -> None:
    """Wait until every chat has a message (or the deadline passes)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE
    waiting = list(chat_ids)
    while waiting and loop.time() < deadline:
        waiting = [chat_id for chat_id in waiting if not server.messages(chat_id)]
        await asyncio.sleep(0.1)


def _settings(workdir: Path, base_url: str) -> Settings:
    return bot_settings(
        workdir, base_url, admin_ids=frozenset({ADMIN}), send_rate_per_second=SEND_RATE
    )


async def newsbot_broadcast(server: LocalBotApiServer, chat_ids: Sequence[int]) -> Outcome:
    """The admin's broadcast as the Send button starts it: ``Broadcaster.send``."""
    with tempfile.TemporaryDirectory(prefix="newsbot-broadcast-") as tmp:
        app = build_application(_settings(Path(tmp), server.base_url), token=TEST_TOKEN)
        async with running(app, poll_timeout=1):
            services = app.bot_data
            assert services.storage is not None and services.broadcaster is not None
            # Digests not due for decades: the broadcast is the only traffic.
            await seed_subscribers(services.storage, chat_ids, due_at=FAR)
            server.reset_recording()
            server.world.flood.reset()
            started = time.monotonic()
            broadcast = await services.broadcaster.send(ITEM, ADMIN)
            await _all_reached(server, chat_ids)
            # Settled in the outbox too, so a late duplicate would still be counted.
            for _ in range(50):
                counts = await services.storage.outbox.counts_by_status(broadcast.id)
                if counts["pending"] + counts["sending"] == 0:
                    break
                await asyncio.sleep(0.1)
            return outcome("newsbot (outbox + courier)", server, chat_ids, started)


async def naive_broadcast(server: LocalBotApiServer, chat_ids: Sequence[int]) -> Outcome:
    """``asyncio.gather`` over ``send_message``, paced by ``AIORateLimiter()``."""
    server.reset_recording()
    server.world.flood.reset()
    text = broadcast_text(ITEM)
    # AIORateLimiter logs every give-up with a traceback; the table counts them instead.
    limiter_log = logging.getLogger("telegram.ext.AIORateLimiter")
    level = limiter_log.level
    limiter_log.setLevel(logging.CRITICAL)
    try:
        return await _gather(server, chat_ids, text)
    finally:
        limiter_log.setLevel(level)


async def _gather(server: LocalBotApiServer, chat_ids: Sequence[int], text: str) -> Outcome:
    async with ExtBot(TEST_TOKEN, base_url=server.base_url, rate_limiter=AIORateLimiter()) as bot:
        started = time.monotonic()
        sends = [
            bot.send_message(chat_id, text, parse_mode=ParseMode.HTML) for chat_id in chat_ids
        ]
        # A send that fails (RetryAfter: no retries by default) is a lost message, counted below.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*sends, return_exceptions=True), DEADLINE)
    return outcome("naive gather + `AIORateLimiter`", server, chat_ids, started)


async def measure() -> tuple[Outcome, Outcome]:
    chat_ids = list(range(FIRST_CHAT, FIRST_CHAT + SUBSCRIBERS))
    async with LocalBotApiServer(limits=FloodLimits()) as server:
        for chat_id in chat_ids:
            server.add_private_chat(chat_id, first_name=f"User{chat_id}")
        ours = await newsbot_broadcast(server, chat_ids)
        peer = await naive_broadcast(server, chat_ids)
    return ours, peer


def _row(result: Outcome) -> str:
    return (
        f"| {result.sender} | {result.delivered:,} | {result.lost} | {result.duplicated} | "
        f"{result.too_many_requests} | {result.seconds:.1f} | {result.steady_rate:.1f} | "
        f"{result.steady_rate / SEND_RATE:.0%} |"
    )


def run() -> str:
    ours, peer = asyncio.run(measure())
    limits = FloodLimits()
    clean = ours.lost == 0 and ours.duplicated == 0
    return "\n".join(
        [
            "## Broadcast: 2,000 subscribers under Telegram's flood limits",
            "",
            f"{SUBSCRIBERS:,} subscribers (inserted straight into the database) get one "
            "broadcast through the local Bot API server with its flood limits **on** "
            f"({limits.global_per_second:.0f} messages/s overall, burst "
            f"{limits.global_burst}; 429 with `retry_after` beyond). newsbot is configured at "
            f"`send_rate_per_second={SEND_RATE:.0f}` and started with `Broadcaster.send`, as "
            "the admin's Send button does; its courier delivers the outbox. The peer, on the "
            "same server after newsbot, is `asyncio.gather` over `bot.send_message` with "
            "python-telegram-bot's `AIORateLimiter()` (defaults: 30/s overall, no retries). "
            "Lost and duplicated messages are counted per chat from the server's record; the "
            "share is the steady rate over newsbot's configured rate.",
            "",
            "```console",
            "make bench",
            "```",
            "",
            "| sender | chats reached | lost | duplicated | 429s | seconds | msg/s "
            f"| share of {SEND_RATE:.0f}/s |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
            _row(ours),
            _row(peer),
            f"| ratio newsbot / naive | | | | | | **{ours.steady_rate / peer.steady_rate:.2f}** "
            "| |",
            "",
            f"newsbot keeps {ours.steady_rate / SEND_RATE:.0%} of its configured rate "
            f"(aim ≥ 93%) with {ours.too_many_requests} 429s and "
            + (
                "no message lost or doubled"
                if clean
                else f"{ours.lost} lost and {ours.duplicated} doubled"
            )
            + f"; the naive sender runs at {peer.steady_rate:.1f}/s, meets "
            f"{peer.too_many_requests} 429s and loses {peer.lost} message(s) it never retries.",
        ]
    )
