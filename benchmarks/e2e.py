"""End to end: questions answered per second and reply latency through the real stack.

The real python-telegram-bot ``Application`` long-polls the local Bot API server over HTTP on
loopback, in this process. Simulated users each ask ``N`` questions one after the other (send,
wait for the reply, ask the next). The peer is a minimal python-telegram-bot echo bot (one
``MessageHandler`` replying the same text) on the same server, under the same load, in the same
run. The server's flood limits are off, so the figures are the software's, not Telegram's.

newsbot paces its own sends (``bot.ratelimit.ChatRateLimiter``: 28/s overall, 1/s per chat
after a burst of 3). That pacing is Telegram's rule, not a cost, so the capacity rows run both
bots without a rate limiter, and a last row compares newsbot as configured with the echo bot
given the very same limiter.
"""

from __future__ import annotations

import asyncio
import cProfile
import pstats
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import Application, ApplicationBuilder, BaseRateLimiter, MessageHandler, filters

from bot.app import build_application, running
from bot.config import Settings
from bot.localapi import TEST_TOKEN, FloodLimits, LocalBotApiServer
from bot.ratelimit import ChatRateLimiter, Limits

ROOT = Path(__file__).resolve().parents[1]
KNOWLEDGE = ROOT / "knowledge" / "news.yaml"
SEND_RATE = 28.0
LOADS = ((1, 40), (50, 8))
"""(concurrent users, questions each): 40 and 400 questions per bot."""
PACED_LOAD = (50, 4)
"""The as-configured comparison: paced at ~1 reply/s per chat, so a short run says enough."""
PROFILE_LOAD = (50, 4)
REPLY_TIMEOUT = 60.0

# What readers type: topics, typos, dates, "latest", and questions the news cannot answer.
QUESTIONS = (
    "what's new on child labour?",
    "chlid labuor",
    "is child labour going down?",
    "news from 28 May 2021",
    "what happened on 10 June 2021",
    "news from last week",
    "latest news",
    "anything new today?",
    "sailors' pay",
    "minimum wage for seafarers",
    "seafarrers minimum wage",
    "jobs in tourism after covid",
    "tourism future",
    "teachers and new technologies",
    "women digital skills",
    "web developmnt for women",
    "safe water and decent work",
    "oceans and decent work",
    "refugees in Indonesia",
    "occupational safety and health covid lessons",
    "OSH resilient systems",
    "migrant workers resource center",
    "world employment and social outlook 2021",
    "agro-forestry in Timor-Leste",
    "TVET innovation",
    "May Day solidarity message",
    "bitcoin price",
    "who won the football match yesterday",
    "weather in Berlin tomorrow",
    "hello",
)


@dataclass(frozen=True)
class Load:
    """One bot under one load: rate and latencies."""

    users: int
    questions: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.questions / self.seconds

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


class _Users:
    """Hands out user ids no earlier run on the same server has used."""

    def __init__(self) -> None:
        self._next = 100_000

    def take(self, count: int) -> list[int]:
        ids = list(range(self._next, self._next + count))
        self._next += count
        return ids


async def _ask(server: LocalBotApiServer, user_id: int, count: int, into: list[float]) -> None:
    """One user: ``count`` questions in a row, each after the previous reply."""
    rng = random.Random(user_id)
    for _ in range(count):
        before = len(server.messages(user_id))
        asked = time.monotonic()
        server.user_sends(user_id, rng.choice(QUESTIONS), first_name=f"User{user_id}")
        replies = await server.wait_for_messages(user_id, before + 1, timeout=REPLY_TIMEOUT)
        into.append(replies[before].sent_at - asked)


async def drive(server: LocalBotApiServer, users: list[int], each: int) -> Load:
    """Every user asks ``each`` questions; all users at once."""
    latencies: list[float] = []
    started = time.perf_counter()
    await asyncio.gather(*(_ask(server, user, each, latencies) for user in users))
    seconds = time.perf_counter() - started
    replies = sum(len(server.messages(user)) for user in users)
    if replies != len(users) * each:
        raise AssertionError(f"{replies} replies to {len(users) * each} questions")
    return Load(len(users), len(users) * each, seconds, latencies)


def newsbot_settings(workdir: Path, base_url: str) -> Settings:
    """The bot's settings for a benchmark run: its own SQLite file and knowledge copy."""
    knowledge = workdir / "news.yaml"
    shutil.copy(KNOWLEDGE, knowledge)
    return Settings(
        telegram_bot_token=None,
        telegram_api_base_url=base_url,
        knowledge_file=knowledge,
        database_url=f"sqlite+aiosqlite:///{workdir / 'newsbot.db'}",
        default_timezone="UTC",
        # The per-user question limit (default 20/min) would throttle the load itself.
        questions_per_minute=1000,
        send_rate_per_second=SEND_RATE,
        _env_file=None,  # type: ignore[call-arg]
    )


Runner = Callable[[LocalBotApiServer], Coroutine[Any, Any, None]]


@asynccontextmanager
async def newsbot(server: LocalBotApiServer, *, paced: bool) -> AsyncIterator[None]:
    """newsbot running against ``server``; without its rate limiter unless ``paced``."""
    with tempfile.TemporaryDirectory(prefix="newsbot-e2e-") as tmp:
        app = build_application(newsbot_settings(Path(tmp), server.base_url), token=TEST_TOKEN)
        if not paced:
            # ExtBot sends straight through when it has no rate limiter.
            app.bot._rate_limiter = None
        async with running(app, poll_timeout=1):
            yield


async def _echo(update: Update, _context: object) -> None:
    """Reply with the same text."""
    message = update.effective_message
    if message is not None and message.text:
        await message.reply_text(message.text)


@asynccontextmanager
async def echo_bot(server: LocalBotApiServer, *, paced: bool) -> AsyncIterator[None]:
    """The peer: python-telegram-bot's minimal echo bot, concurrent updates like newsbot."""
    builder = ApplicationBuilder().token(TEST_TOKEN).base_url(server.base_url)
    if paced:
        limiter: BaseRateLimiter[int] = ChatRateLimiter(Limits(overall_per_second=SEND_RATE))
        builder = builder.rate_limiter(limiter)
    app: Application[Any, Any, Any, Any, Any, Any] = builder.concurrent_updates(True).build()
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, _echo))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(allowed_updates=Update.ALL_TYPES, timeout=1)
        try:
            yield
        finally:
            await app.updater.stop()
            await app.stop()


Bot = Callable[..., Any]


async def _measure(
    server: LocalBotApiServer, ids: _Users, bot: Bot, *, paced: bool, load: tuple[int, int]
) -> Load:
    users, each = load
    async with bot(server, paced=paced):
        await drive(server, ids.take(2), 2)  # warm up: first search, first connections
        return await drive(server, ids.take(users), each)


async def measure_all() -> dict[str, Load]:
    """Every (bot, load) pair, one after the other on one server with flood limits off."""
    results: dict[str, Load] = {}
    ids = _Users()
    async with LocalBotApiServer(limits=FloodLimits.off()) as server:
        for users, each in LOADS:
            for name, bot in (("newsbot", newsbot), ("echo", echo_bot)):
                results[f"{name}/{users}"] = await _measure(
                    server, ids, bot, paced=False, load=(users, each)
                )
        for name, bot in (("newsbot", newsbot), ("echo", echo_bot)):
            results[f"{name}/paced"] = await _measure(
                server, ids, bot, paced=True, load=PACED_LOAD
            )
    return results


async def _profiled_load() -> cProfile.Profile:
    ids = _Users()
    profile = cProfile.Profile()
    async with LocalBotApiServer(limits=FloodLimits.off()) as server:
        async with newsbot(server, paced=False):
            await drive(server, ids.take(2), 2)
            users, each = PROFILE_LOAD
            profile.enable()
            await drive(server, ids.take(users), each)
            profile.disable()
    return profile


# Where the newsbot path spends its time: (label, a function's qualified name in pstats).
HOTSPOTS = (
    ("retrieval (Retriever.search)", "retrieval/retriever.py", "search"),
    ("reply rendering (answers.answer)", "bot/answers.py", "answer"),
    ("recording unanswered questions (SQLite)", "storage/questions.py", "record"),
    ("sending the reply (send_reply, PTB + httpx)", "handlers/replies.py", "send_reply"),
    ("PTB polling (getUpdates + Update.de_json)", "telegram/_bot.py", "get_updates"),
    ("local Bot API server (aiohttp handler)", "localapi/server.py", "_handle"),
)


def profile_findings() -> list[tuple[str, float]]:
    """Cumulative share of the profiled run's CPU time in each hotspot, largest first."""
    profile = asyncio.run(_profiled_load())
    stats = pstats.Stats(profile)
    table: dict[tuple[str, int, str], tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]
    total = float(stats.total_tt)  # type: ignore[attr-defined]
    shares = []
    for label, path, name in HOTSPOTS:
        cumulative = sum(
            row[3] for (file, _line, func), row in table.items() if path in file and func == name
        )
        shares.append((label, cumulative / total))
    return sorted(shares, key=lambda pair: pair[1], reverse=True)


def _row(label: str, users: int, ours: Load, peer: Load) -> str:
    return (
        f"| {label} | {users} | {ours.rate:.0f} | {peer.rate:.0f} | "
        f"**{ours.rate / peer.rate:.2f}** | {ours.percentile(0.5) * 1000:.0f} / "
        f"{ours.percentile(0.99) * 1000:.0f} | {peer.percentile(0.5) * 1000:.0f} / "
        f"{peer.percentile(0.99) * 1000:.0f} |"
    )


def run() -> str:
    results = asyncio.run(measure_all())
    findings = profile_findings()
    rows = [
        _row("capacity", users, results[f"newsbot/{users}"], results[f"echo/{users}"])
        for users, _ in LOADS
    ]
    users, each = PACED_LOAD
    rows.append(
        _row("as configured (both paced)", users, results["newsbot/paced"], results["echo/paced"])
    )
    capacity = [results[f"newsbot/{u}"].rate / results[f"echo/{u}"].rate for u, _ in LOADS]
    top = "; ".join(f"{label} {share:.0%}" for label, share in findings[:3])
    loads = ", ".join(f"{u} user(s) × {n} questions" for u, n in LOADS)
    median_per_question = statistics.median(
        [results[f"newsbot/{u}"].seconds / results[f"newsbot/{u}"].questions for u, _ in LOADS]
    )
    return "\n".join(
        [
            "## End to end: questions per second through python-telegram-bot",
            "",
            "The real newsbot `Application` long-polls the bundled local Bot API server over "
            "HTTP on loopback; simulated users each ask questions one after the other (send, "
            "wait for the reply, ask again), drawn from a list of topics, typos, dates, "
            "“latest news” and questions the news cannot answer. The peer is a minimal "
            "python-telegram-bot echo bot (one `MessageHandler` replying the same text, "
            "concurrent updates on like newsbot) on the same server under the same load. "
            f"The server's **flood limits are off**. Loads: {loads}. Latency is from the user's "
            "message to the bot's reply as the server recorded it. Capacity rows run both "
            "bots without a rate limiter; the last row runs newsbot as configured "
            f"({SEND_RATE:.0f}/s overall, 1/s per chat after a burst of 3) and the echo bot "
            f"with the same limiter ({users} users × {each} questions).",
            "",
            "```console",
            "make bench",
            "```",
            "",
            "| run | users | newsbot q/s | echo q/s | ratio | newsbot p50 / p99 ms "
            "| echo p50 / p99 ms |",
            "|---|---:|---:|---:|---:|---:|---:|",
            *rows,
            "",
            f"Profile of newsbot under {PROFILE_LOAD[0]} users (cProfile, cumulative share of "
            f"the process's CPU time, bot and server together): {top}.",
            "",
            f"newsbot answers at {min(capacity):.2f}–{max(capacity):.2f}× the echo bot's rate "
            f"(target ≥ 0.8), about {median_per_question * 1000:.0f} ms of wall time per "
            "question; paced as configured, both bots are held to the same per-chat and "
            "overall rate, so the answer costs nothing a user would notice.",
        ]
    )
