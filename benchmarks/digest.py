"""Daily digests at scale: build and enqueue the digests of many subscribers due at once.

A fresh SQLite file gets the subscribers (chats and subscriptions, all due now, inserted in bulk
with SQLAlchemy Core on ``bot.storage.tables``) and the seed news as known items; then one
``DigestScheduler.tick()`` runs with a fixed clock: it reads the due subscribers in batches,
builds each digest, queues it in the outbox and schedules the next one. Sending is excluded.
The peer builds the same digests with the pure ``bot.digests.digest.build_digest`` in a
loop, without a database, so the ratio is the database's share of the work.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.digests.digest import DigestRequest, build_digest
from bot.digests.scheduler import DigestScheduler
from bot.knowledge.models import NewsItem
from bot.knowledge.store import load_knowledge
from bot.storage import Storage
from bot.storage.tables import chats, subscriptions

ROOT = Path(__file__).resolve().parents[1]
KNOWLEDGE = ROOT / "knowledge" / "news.yaml"
NOW = dt.datetime(2024, 3, 5, 7, 0, tzinfo=dt.UTC)
"""The fixed clock: subscribers are due at or just before it."""
SUBSCRIBERS = 100_000
FALLBACK = 20_000
"""Measured instead when the tick at SUBSCRIBERS would take longer than TICK_BUDGET."""
TICK_BUDGET = 120.0
PROBE = 2_000
"""A first, small tick that predicts the big one's duration (the tick is linear)."""
ZONES = ("UTC", "Europe/Berlin", "Asia/Tokyo", "America/New_York", "Australia/Sydney")
NEW_SINCE_LAST = 3
"""The newest items became known after yesterday's digest: each digest shows these."""
FIRST_CHAT = 10_000_000
SEED_CHUNK = 10_000


def news_items() -> list[NewsItem]:
    return load_knowledge(KNOWLEDGE)


def first_seen(items: Sequence[NewsItem]) -> dict[str, dt.datetime]:
    """Old items were known two days ago; the newest few arrived since the last digest."""
    newest = sorted(items, key=lambda item: (item.date, item.id), reverse=True)
    fresh = {item.id for item in newest[:NEW_SINCE_LAST]}
    return {
        item.id: NOW - (dt.timedelta(hours=3) if item.id in fresh else dt.timedelta(days=2))
        for item in items
    }


def subscriber_rows(
    chat_ids: Sequence[int], due_at: dt.datetime = NOW
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Chats and subscriptions due at (or minutes before) ``due_at``, served a day earlier."""
    chat_rows, subscription_rows = [], []
    for n, chat_id in enumerate(chat_ids):
        chat_rows.append(
            {
                "chat_id": chat_id,
                "user_id": chat_id,
                "chat_type": "private",
                "first_name": f"User{chat_id}",
                "active": True,
                "inactive_reason": None,
                "created_at": NOW - dt.timedelta(days=30),
                "last_seen_at": NOW - dt.timedelta(days=1),
            }
        )
        due = due_at - dt.timedelta(seconds=n % 600)
        subscription_rows.append(
            {
                "chat_id": chat_id,
                "digest_time": dt.time(8, 0),
                "timezone": ZONES[n % len(ZONES)],
                "send_empty": False,
                "last_digest_at": due - dt.timedelta(days=1),
                "next_digest_at": due,
                "created_at": NOW - dt.timedelta(days=30),
                "updated_at": NOW - dt.timedelta(days=30),
            }
        )
    return chat_rows, subscription_rows


async def seed_subscribers(
    storage: Storage, chat_ids: Sequence[int], due_at: dt.datetime = NOW
) -> None:
    """Insert the subscribers in bulk (executemany in one transaction per chunk)."""
    chat_rows, subscription_rows = subscriber_rows(chat_ids, due_at)
    for start in range(0, len(chat_ids), SEED_CHUNK):
        end = start + SEED_CHUNK

        async def work(conn: AsyncConnection, start: int = start, end: int = end) -> None:
            await conn.execute(insert(chats), chat_rows[start:end])
            await conn.execute(insert(subscriptions), subscription_rows[start:end])

        await storage.database.run("benchmark.seed", work)


@dataclass(frozen=True)
class Tick:
    subscribers: int
    seconds: float
    seed_seconds: float
    phases: dict[str, float]
    """Wall seconds inside each storage call the tick makes (see ``PHASES``)."""


# The storage calls of a tick, timed by wrapping them (wall time: SQLite runs in aiosqlite's
# thread, where a profiler of the event loop's thread does not see it).
PHASES = (
    (
        "subscriptions",
        "mark_digests_done",
        "`mark_digests_done`: the compare-and-set of a batch of 500, one transaction",
    ),
    ("outbox", "enqueue_many", "`outbox.enqueue_many`: one transaction per batch of 500"),
    ("subscriptions", "due", "`subscriptions.due`: the batch query"),
)


def _timed(storage: Storage, phases: dict[str, float]) -> None:
    """Wrap the PHASES methods of ``storage``'s repositories to add up their wall time."""
    for repository_name, method, label in PHASES:
        repository = getattr(storage, repository_name)
        original = getattr(repository, method)

        async def timed(
            *args: Any, _original: Any = original, _label: str = label, **kwargs: Any
        ) -> Any:
            started = time.perf_counter()
            try:
                return await _original(*args, **kwargs)
            finally:
                phases[_label] = phases.get(_label, 0.0) + time.perf_counter() - started

        setattr(repository, method, timed)


async def _tick(workdir: Path, count: int) -> Tick:
    storage = await Storage.open(f"sqlite+aiosqlite:///{workdir / f'digest-{count}.db'}")
    try:
        items = news_items()
        seen = first_seen(items)
        for when in sorted(set(seen.values())):
            await storage.known_items.record_many([i for i, t in seen.items() if t == when], when)
        started = time.perf_counter()
        await seed_subscribers(storage, range(FIRST_CHAT, FIRST_CHAT + count))
        seed_seconds = time.perf_counter() - started
        phases: dict[str, float] = {}
        _timed(storage, phases)
        scheduler = DigestScheduler(storage, lambda: items, lambda: NOW, lambda: None)
        started = time.perf_counter()
        served = await scheduler.tick()
        seconds = time.perf_counter() - started
        queued = (await storage.outbox.counts_by_status())["pending"]
    finally:
        await storage.close()
    if served != count or queued != count:
        raise AssertionError(f"{count} due: served {served}, queued {queued}")
    return Tick(count, seconds, seed_seconds, phases)


def pure_digests(count: int) -> float:
    """Seconds to build ``count`` digests with ``build_digest`` alone, from the same inputs."""
    items = news_items()
    seen = first_seen(items)
    _, rows = subscriber_rows(range(FIRST_CHAT, FIRST_CHAT + count))
    started = time.perf_counter()
    built = 0
    for row in rows:
        request = DigestRequest(
            timezone=row["timezone"],
            last_digest_at=row["last_digest_at"],
            send_empty=row["send_empty"],
        )
        built += len(build_digest(request, items, seen, NOW))
    seconds = time.perf_counter() - started
    if built != count:
        raise AssertionError(f"{count} subscribers, {built} digest messages")
    return seconds


async def measure() -> tuple[Tick, Tick]:
    """A probe tick, then the largest tick that fits the budget."""
    with tempfile.TemporaryDirectory(prefix="newsbot-digest-") as tmp:
        probe = await _tick(Path(tmp), PROBE)
        predicted = probe.seconds / PROBE * SUBSCRIBERS
        count = SUBSCRIBERS if predicted <= TICK_BUDGET else FALLBACK
        return probe, await _tick(Path(tmp), count)


def run() -> str:
    probe, tick = asyncio.run(measure())
    pure = pure_digests(tick.subscribers)
    per_second = tick.subscribers / tick.seconds
    fell_back = tick.subscribers < SUBSCRIBERS
    scale = (
        f"At {SUBSCRIBERS:,} subscribers a tick would exceed {TICK_BUDGET:.0f} s on this machine "
        f"(a {PROBE:,}-subscriber probe predicted {probe.seconds / PROBE * SUBSCRIBERS:.0f} s; "
        f"the {tick.subscribers:,}-subscriber run extrapolates to "
        f"{tick.seconds / tick.subscribers * SUBSCRIBERS:.0f} s), so {tick.subscribers:,} "
        "were measured."
        if fell_back
        else f"{tick.subscribers:,} subscribers were measured."
    )
    shares = [(label, tick.phases.get(label, 0.0) / tick.seconds) for _, _, label in PHASES]
    rest = 1 - sum(share for _, share in shares)
    where = "; ".join(f"{label} {share:.0%}" for label, share in shares)
    mark, enqueue = shares[0][1], shares[1][1]
    return "\n".join(
        [
            "## Daily digests: building and queueing many at once",
            "",
            "A fresh SQLite file holds the subscribers (chats and subscriptions, all due now, "
            f"zones mixed, bulk-inserted with SQLAlchemy Core in {tick.seed_seconds:.1f} s) and "
            f"the seed news, {NEW_SINCE_LAST} items new since yesterday's digest. One "
            "`DigestScheduler.tick()` with a fixed clock reads the due subscribers in batches, "
            "builds each digest, queues it in the outbox and schedules the next one; sending "
            "is excluded. The peer builds the same digests with the pure "
            f"`bot.digests.digest.build_digest` in a loop, without a database. {scale}",
            "",
            "```console",
            "make bench",
            "```",
            "",
            "| | subscribers | seconds | subscribers/s |",
            "|---|---:|---:|---:|",
            f"| newsbot `DigestScheduler.tick()` (SQLite) | {tick.subscribers:,} | "
            f"{tick.seconds:.1f} | {per_second:,.0f} |",
            f"| `build_digest` in a loop (no database) | {tick.subscribers:,} | {pure:.2f} | "
            f"{tick.subscribers / pure:,.0f} |",
            f"| ratio tick / `build_digest` | | **{tick.seconds / pure:.0f}×** | |",
            "",
            f"Where the tick's wall time goes: {where}; building the digests and the rest "
            f"{rest:.0%}.",
            "",
            f"Building the digests is {pure / tick.seconds:.0%} of the tick; the database is "
            f"the rest: queueing the messages ({enqueue:.0%}) more than claiming the digests "
            f"({mark:.0%}), both one transaction per batch of 500 subscribers.",
        ]
    )
