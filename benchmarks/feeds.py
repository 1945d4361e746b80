"""Feeds at scale: 500 feeds polled in one round from a local HTTP server.

The feed server runs in a child process (its CPU is not the bot's) and serves ``FEEDS``
RSS documents of ``ITEMS`` items each, with ETags. A fresh SQLite database follows them
all. The first round is every feed's back catalogue (200s, every item published). Then a
``CHANGED`` share of the feeds gains ``NEW_ITEMS`` items and the measured round runs:
the unchanged feeds answer 304, the changed ones are fetched, parsed, and their new items
published (searchable, known for digests, alerts queued for followers). Wall time, the
process's CPU time (the parse threads included) per fetch, and memory are reported.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import hashlib
import multiprocessing
import resource
import shutil
import tempfile
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from bot.feeds.fetcher import Fetcher, NotModified
from bot.feeds.poller import FeedPoller, PollPolicy, PollReport
from bot.feeds.publishing import FeedPublisher
from bot.knowledge.newsroom import Newsroom
from bot.storage import Storage

ROOT = Path(__file__).resolve().parents[1]
KNOWLEDGE = ROOT / "knowledge" / "news.yaml"
FEEDS = 500
ITEMS = 10
CHANGED = 0.2
NEW_ITEMS = 2
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
POLL_SECONDS = 900.0
WORDS = [
    "harbour",
    "strike",
    "workers",
    "port",
    "union",
    "wages",
    "talks",
    "minister",
    "climate",
    "flood",
    "school",
    "hospital",
    "election",
    "court",
    "river",
    "rail",
    "bridge",
    "budget",
    "energy",
    "wind",
    "solar",
    "farm",
    "market",
    "city",
    "council",
]


def _document(feed: int, items: int) -> bytes:
    parts = [
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>',
        f"<title>Feed {feed}</title><link>https://feed{feed}.example/</link>",
    ]
    for n in range(items, 0, -1):
        words = " ".join(WORDS[(feed + n + k) % len(WORDS)] for k in range(8))
        day = 1 + (feed + n) % 28
        parts.append(
            f"<item><title>Feed {feed} story {n}: {words}</title>"
            f"<link>/story/{n}</link><guid>f{feed}-{n}</guid>"
            f"<description>&lt;p&gt;{words} {words} and more about {words}.&lt;/p&gt;"
            f"</description><pubDate>{day:02d} Feb 2026 08:00:00 GMT</pubDate></item>"
        )
    parts.append("</channel></rss>")
    return "".join(parts).encode()


def _serve(pipe: Connection) -> None:
    """The child process: serve the feeds; b"change" makes the changed share gain items."""
    from aiohttp import web

    counts = {feed: ITEMS for feed in range(FEEDS)}
    bodies: dict[int, tuple[bytes, str]] = {}

    def body(feed: int) -> tuple[bytes, str]:
        if feed not in bodies:
            data = _document(feed, counts[feed])
            bodies[feed] = (data, '"' + hashlib.sha256(data).hexdigest()[:16] + '"')
        return bodies[feed]

    modified = email.utils.formatdate(usegmt=True)

    async def handle(request: web.Request) -> web.Response:
        feed = int(request.match_info["feed"])
        data, etag = body(feed)
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        headers = {"ETag": etag, "Last-Modified": modified}
        return web.Response(body=data, content_type="application/rss+xml", headers=headers)

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/f{feed:\\d+}.xml", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        assert site._server is not None
        pipe.send(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
        loop = asyncio.get_running_loop()
        while True:
            command = await loop.run_in_executor(None, pipe.recv)
            if command == "change":
                for feed in range(0, FEEDS, round(1 / CHANGED)):
                    counts[feed] += NEW_ITEMS
                    bodies.pop(feed, None)
                pipe.send("changed")
            else:
                break
        await runner.cleanup()

    asyncio.run(main())


@dataclass(frozen=True)
class Round:
    seconds: float
    cpu: float
    reports: list[PollReport]
    rss_growth_mb: float

    def count(self, status: str) -> int:
        return sum(1 for r in self.reports if r.status == status)

    @property
    def new_items(self) -> int:
        return sum(r.new_items for r in self.reports)


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def _round(poller: FeedPoller) -> Round:
    rss = _rss_mb()
    wall, cpu = time.perf_counter(), time.process_time()
    reports = await poller.poll_due()
    return Round(time.perf_counter() - wall, time.process_time() - cpu, reports, _rss_mb() - rss)


async def measure(
    port: int, pipe: Connection, workdir: Path
) -> tuple[Round, Round, Round, Round, float]:
    clock = [START]
    knowledge = workdir / "news.yaml"
    shutil.copy(KNOWLEDGE, knowledge)
    storage = await Storage.open(
        f"sqlite+aiosqlite:///{workdir / 'newsbot.db'}", clock=lambda: clock[0]
    )
    newsroom = Newsroom.open(knowledge, storage.published)
    await newsroom.pick_up_published()
    publisher = FeedPublisher(storage, lambda: newsroom, lambda: None, lambda: clock[0], _noop)
    policy = PollPolicy(poll_seconds=POLL_SECONDS)
    fetcher = Fetcher(timeout=20, allow_private=True, connections=policy.concurrency)
    poller = FeedPoller(storage, fetcher, publisher, lambda: clock[0], policy, (), _noop)
    try:
        for feed in range(FEEDS):
            await storage.feeds.add(f"http://127.0.0.1:{port}/f{feed}.xml", push=False, added_by=1)
        cold = await _round(poller)
        pipe.send("change")
        pipe.recv()
        clock[0] = START + dt.timedelta(seconds=POLL_SECONDS)
        steady = await _round(poller)
        clock[0] = START + dt.timedelta(seconds=2 * POLL_SECONDS)
        quiet = await _round(poller)
        gets = await _gets_alone(storage, policy.concurrency)
    finally:
        await poller.stop()
        await storage.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return cold, steady, quiet, gets, peak


async def _gets_alone(storage: Storage, concurrency: int) -> Round:
    """The same 500 conditional GETs with the fetcher alone: no claim, no database."""
    feeds = await storage.feeds.all()
    fetcher = Fetcher(timeout=20, allow_private=True, connections=concurrency)
    slots = asyncio.Semaphore(concurrency)

    async def one(url: str, etag: str | None) -> PollReport:
        async with slots:
            result = await fetcher.fetch(url, etag=etag)
        return PollReport(0, url, "not-modified" if isinstance(result, NotModified) else "failed")

    rss = _rss_mb()
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        reports = await asyncio.gather(*(one(f.url, f.etag) for f in feeds))
    finally:
        await fetcher.close()
    return Round(time.perf_counter() - wall, time.process_time() - cpu, reports, _rss_mb() - rss)


def _noop() -> None:
    return None


def run() -> str:
    parent, child = multiprocessing.Pipe()
    server = multiprocessing.get_context("spawn").Process(target=_serve, args=(child,))
    server.start()
    try:
        port = parent.recv()
        with tempfile.TemporaryDirectory() as tmp:
            cold, steady, quiet, gets, peak = asyncio.run(measure(port, parent, Path(tmp)))
        parent.send("stop")
    finally:
        server.join(timeout=10)
        if server.is_alive():
            server.kill()
    changed = steady.count("new")
    rows = [
        (
            f"first round: every feed's back catalogue ({ITEMS} items each)",
            cold,
            f"{cold.count('new')} × 200",
        ),
        (
            f"steady round: {changed} feeds with {NEW_ITEMS} new items, the rest unchanged",
            steady,
            f"{steady.count('not-modified')} × 304, {changed} × 200",
        ),
        ("quiet round: nothing changed", quiet, f"{quiet.count('not-modified')} × 304"),
        (
            "the quiet round's GETs alone (the fetcher, no database)",
            gets,
            f"{gets.count('not-modified')} × 304",
        ),
    ]
    table = [
        "| round | answers | items published | wall s | CPU ms per fetch | RSS growth MB |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for label, measured, answers in rows:
        items = measured.new_items
        table.append(
            f"| {label} | {answers} | {items:,} | {measured.seconds:.2f} | "
            f"{measured.cpu / FEEDS * 1000:.2f} | {measured.rss_growth_mb:.0f} |"
        )
    return "\n".join(
        [
            f"## Feeds: {FEEDS} feeds polled in one round",
            "",
            "A local HTTP server in a child process serves the feeds (RSS 2.0 with ETags); a "
            f"fresh SQLite database follows {FEEDS} of them; one `FeedPoller.poll_due()` "
            f"round runs with the default policy ({PollPolicy().concurrency} at once, a 5 MB "
            "cap, parsing in the poller's two threads). Items are published for real: the "
            "published-items table, the live index, known items, keyword alerts. CPU is the "
            "bot process's (parse threads included), not the server's.",
            "",
            "```console",
            "make bench  # or: .venv/bin/python -m benchmarks feeds",
            "```",
            "",
            *table,
            "",
            f"Peak RSS of the process: {peak:.0f} MB. A conditional GET answered 304 costs "
            f"{gets.cpu / FEEDS * 1000:.2f} ms of CPU; the rest of the quiet round's "
            f"{quiet.cpu / FEEDS * 1000:.1f} ms per feed is the database (the claim, one "
            "transaction per batch, and the outcome, one per feed). The first round's cost is "
            f"publishing: {cold.new_items:,} items, each a row, an index entry and a known item.",
        ]
    )


if __name__ == "__main__":
    print(run())
