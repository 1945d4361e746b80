"""Several processes on one PostgreSQL: a paid broadcast with 1, 2 and 3 processes, the cost
of the shared send budget, and how soon an item published on one process is known to another.

Broadcast: real ``newsbot run`` processes in webhook mode (the first one receives the
webhook; every one runs a courier), ``PAID_BROADCAST_RATE=1000``, against the local Bot API
server with its flood limits on (paid broadcasts 1000/s). The admin's ``/broadcast`` and
Send go through the webhook as in production; the figures come from the server's record
(messages per second between the first and the last delivery) and from ``/proc`` (CPU of
the bot processes from Send to the last delivery, per message delivered).
"""

from __future__ import annotations

import asyncio
import bisect
import dataclasses
import datetime as dt
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import asyncpg

from benchmarks.digest import seed_subscribers
from benchmarks.e2e import Load, world
from benchmarks.workspace import KNOWLEDGE, ROOT
from bot.delivery.ratelimit import LocalBudget
from bot.delivery.shared_budget import SharedBudget
from bot.knowledge.models import NewsItem
from bot.knowledge.newsroom import Newsroom
from bot.localapi import TEST_TOKEN, FloodLimits, LocalBotApiServer
from bot.localapi.balancer import free_port, round_robin
from bot.storage import Storage

SUBSCRIBERS = 20_000
RATE = 1000
PROCESSES = (1, 2, 3)
ADMIN = 9001
FIRST_CHAT = 5_000_000
FAR = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
ONE_MESSAGE = (
    "/broadcast Harbour workers win a pay rise | 2021-06-11 | Dock workers agreed a deal."
)
PG = ("127.0.0.1", 5432, "test")
TICKS = os.sysconf("SC_CLK_TCK")
PROPAGATIONS = 20
INBOUND_PROCESSES = (1, 3)
INBOUND_LOAD = (50, 20)
"""50 users asking 20 questions each, one after the other: 1,000 questions per round."""
INBOUND_ROUNDS = 2


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


async def _connect() -> tuple[asyncpg.Connection, str]:
    host, port, database = PG
    last: Exception | None = None
    for user in ("postgres", "root"):
        try:
            connection = await asyncpg.connect(
                host=host, port=port, user=user, database=database, timeout=5
            )
        except (OSError, asyncpg.PostgresError) as exc:
            last = exc
            continue
        return connection, user
    raise RuntimeError(f"no PostgreSQL at {host}:{port}: {last}")


@asynccontextmanager
async def postgres_database() -> AsyncIterator[str]:
    """A database of its own on the local server, dropped afterwards; its URL."""
    admin, user = await _connect()
    name = f"newsbot_bench_{uuid.uuid4().hex[:12]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+asyncpg://{user}@{PG[0]}:{PG[1]}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


class Bot:
    """One ``newsbot run`` in webhook mode."""

    def __init__(
        self,
        workdir: Path,
        base_url: str,
        url: str,
        hook: int,
        port: int,
        *,
        module: str = "bot",
        extra: dict[str, str] | None = None,
    ) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        shutil.copy(KNOWLEDGE, workdir / "news.yaml")
        self.workdir = workdir
        self.port = port
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WEBHOOK"))}
        env.update(
            TELEGRAM_BOT_TOKEN=TEST_TOKEN,
            TELEGRAM_API_BASE_URL=base_url,
            DATABASE_URL=url,
            KNOWLEDGE_FILE=str(workdir / "news.yaml"),
            ADMIN_IDS=str(ADMIN),
            LOG_LEVEL="WARNING",
            PAID_BROADCAST_RATE=str(RATE),
            WEBHOOK_URL=f"http://127.0.0.1:{hook}/telegram/hook",
            WEBHOOK_LISTEN=f"127.0.0.1:{port}",
            PYTHONPATH=str(ROOT),
        )
        env.update(extra or {})
        self.env = env
        self.command = ["-m", module] + (["run"] if module == "bot" else [])
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        log = (self.workdir / "bot.log").open("wb")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            *self.command,
            cwd=self.workdir,
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
        log.close()

    async def ready(self) -> None:
        async with aiohttp.ClientSession() as http, asyncio.timeout(120):
            while True:
                try:
                    async with http.get(f"http://127.0.0.1:{self.port}/readyz") as answer:
                        if answer.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)

    @property
    def cpu(self) -> float:
        assert self.process is not None
        return _cpu_seconds(self.process.pid)

    async def stop(self) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), 20)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


@dataclass(frozen=True)
class Run:
    processes: int
    delivered: int
    duplicated: int
    too_many_requests: int
    rate: float
    busiest_second: int
    cpu_ms_per_message: float
    server_cpu_ms_per_message: float


async def broadcast(processes: int) -> Run:
    chat_ids = list(range(FIRST_CHAT, FIRST_CHAT + SUBSCRIBERS))
    with tempfile.TemporaryDirectory(prefix="newsbot-processes-") as tmp:
        async with (
            postgres_database() as url,
            LocalBotApiServer(limits=FloodLimits(), webhook_retry=(0.1, 0.5)) as server,
        ):
            storage = await Storage.open(url)
            try:
                await seed_subscribers(storage, chat_ids, due_at=FAR)
            finally:
                await storage.close()
            for chat_id in chat_ids:
                server.add_private_chat(chat_id)
            server.add_private_chat(ADMIN)
            hook = free_port()
            bots = [
                Bot(
                    Path(tmp) / f"p{n}",
                    server.base_url,
                    url,
                    hook,
                    hook if n == 0 else free_port(),
                )
                for n in range(processes)
            ]
            try:
                await asyncio.gather(*(b.start() for b in bots))
                await asyncio.gather(*(b.ready() for b in bots))
                server.user_sends(ADMIN, ONE_MESSAGE)
                preview = (await server.wait_for_messages(ADMIN, 2, timeout=60))[1]
                send = next(d for label, d in preview.buttons if label == "Send")
                assert send is not None
                cpu_before = [b.cpu for b in bots]
                server_before = time.process_time()
                server.user_presses(ADMIN, preview.message_id, send)
                deadline = time.monotonic() + 300
                while time.monotonic() < deadline:
                    if server.world.paid_messages >= SUBSCRIBERS:
                        break
                    await asyncio.sleep(0.2)
                cpu = sum(b.cpu - before for b, before in zip(bots, cpu_before, strict=True))
                server_cpu = time.process_time() - server_before
                await asyncio.sleep(1.0)  # a late duplicate would arrive now
            finally:
                await asyncio.gather(*(b.stop() for b in bots))
            counts = [len(server.messages(c)) for c in chat_ids]
            times = sorted(m.sent_at for c in chat_ids for m in server.messages(c))
            delivered = sum(1 for n in counts if n)
            return Run(
                processes=processes,
                delivered=delivered,
                duplicated=sum(n - 1 for n in counts if n > 1),
                too_many_requests=sum(
                    1 for r in server.requests if r.method == "sendMessage" and r.status == 429
                ),
                rate=(len(times) - 1) / (times[-1] - times[0]),
                busiest_second=max(
                    bisect.bisect_left(times, t + 1.0) - i for i, t in enumerate(times)
                ),
                cpu_ms_per_message=1000 * cpu / max(1, delivered),
                server_cpu_ms_per_message=1000 * server_cpu / max(1, delivered),
            )


async def inbound(processes: int) -> Load:
    """Questions per second through ``processes`` webhook processes behind a round-robin
    balancer (this process), "Telegram and its users" in a second process (as in
    ``benchmarks/e2e.py``); the CPU is the bot processes' (from /proc)."""
    users, each = INBOUND_LOAD
    best: Load | None = None
    with tempfile.TemporaryDirectory(prefix="newsbot-inbound-") as tmp:
        async with postgres_database() as url, world() as telegram:
            hook = free_port()
            bots = [
                Bot(
                    Path(tmp) / f"q{n}",
                    telegram.base_url,
                    url,
                    hook,
                    free_port(),
                    module="benchmarks.unpaced_webhook",
                    # The per-user question limit (20/min) would throttle the load itself.
                    extra={"QUESTIONS_PER_MINUTE": "1000"},
                )
                for n in range(processes)
            ]
            async with round_robin(hook, [b.port for b in bots]):
                try:
                    await asyncio.gather(*(b.start() for b in bots))
                    await asyncio.gather(*(b.ready() for b in bots))
                    await telegram.warm()
                    for _ in range(INBOUND_ROUNDS):
                        cpu_before = [b.cpu for b in bots]
                        load = await telegram.load(users, each)
                        cpu = sum(b.cpu - c for b, c in zip(bots, cpu_before, strict=True))
                        load = dataclasses.replace(load, cpu_seconds=cpu)
                        if best is None or load.rate > best.rate:
                            best = load
                finally:
                    await asyncio.gather(*(b.stop() for b in bots))
    assert best is not None
    return best


def _cores(figures: Sequence[Run | Load]) -> str:
    """The cores the bot processes used in each run, "0.63, 0.89 and 0.98"."""
    used = [
        f.cpu_ms_per_message * f.rate / 1000
        if isinstance(f, Run)
        else f.cpu_ms_per_question * f.rate / 1000
        for f in figures
    ]
    text = [f"{u:.2f}" for u in used]
    return ", ".join(text[:-1]) + " and " + text[-1] if len(text) > 1 else text[0]


def _server_cores(runs: Sequence[Run]) -> str:
    """The cores the local server used in each run."""
    used = [f"{r.server_cpu_ms_per_message * r.rate / 1000:.2f}" for r in runs]
    return ", ".join(used[:-1]) + " and " + used[-1] if len(used) > 1 else used[0]


@dataclass(frozen=True)
class BudgetCost:
    local_us: float
    shared_ms: float
    per_statement: float


async def budget_cost(url: str) -> BudgetCost:
    """A reservation in memory against one in the database, 64 requests waiting at once (a
    busy courier), 5,000 reservations of 5,000 keys (chats) and the overall key."""
    local = LocalBudget()
    started = time.perf_counter()
    for n in range(5000):
        await local.reserve(f"c:{n}", 1.0, 3)
        await local.reserve("paid", 1 / RATE, 1)
    local_us = (time.perf_counter() - started) / 10_000 * 1e6
    storage = await Storage.open(url)
    try:
        shared = SharedBudget(storage.send_budget)
        started = time.perf_counter()
        for round_ in range(0, 5000, 64):

            async def one(n: int) -> None:
                await shared.reserve(f"c:{n}", 1.0, 3)
                await shared.reserve("paid", 1e-9, 1)  # no waiting: the cost alone

            await asyncio.gather(*(one(round_ + k) for k in range(64)))
        elapsed = time.perf_counter() - started
        return BudgetCost(
            local_us=local_us,
            shared_ms=elapsed / 5000 * 1000,
            per_statement=shared.reservations / max(1, shared.statements),
        )
    finally:
        await storage.close()


async def propagation(url: str) -> list[float]:
    """Seconds from one process publishing an item until another answers from it, the other
    looking every ``SHARED_RELOAD_SECONDS`` as the app's job does."""
    from bot.app import SHARED_RELOAD_SECONDS

    one, two = await Storage.open(url), await Storage.open(url)
    publisher = Newsroom.open(KNOWLEDGE, one.published)
    reader = Newsroom.open(KNOWLEDGE, two.published)
    seen: dict[str, float] = {}
    arrived = asyncio.Event()

    async def poll() -> None:
        while True:
            for item in await reader.pick_up_published():
                seen[item.id] = time.monotonic()
                arrived.set()
            await asyncio.sleep(SHARED_RELOAD_SECONDS)

    poller = asyncio.create_task(poll())
    latencies: list[float] = []
    try:
        for n in range(PROPAGATIONS):
            await asyncio.sleep(0.37 * (n % 5) + 0.11)  # publishes fall anywhere in a poll
            item = NewsItem(
                id=f"2026-03-02-propagated-{n}",
                title=f"Ferry crews strike, day {n}",
                date=dt.date(2026, 3, 2),
                summary="Ferry crews walked out over rosters.",
            )
            arrived.clear()
            published = time.monotonic()
            await publisher.publish(item)
            while item.id not in seen:
                await arrived.wait()
                arrived.clear()
            assert reader.retriever.search("ferry crews strike").hits
            latencies.append(seen[item.id] - published)
    finally:
        poller.cancel()
        await one.close()
        await two.close()
    return latencies


async def measure() -> tuple[list[Run], list[Load], BudgetCost, list[float]]:
    runs = [await broadcast(n) for n in PROCESSES]
    loads = [await inbound(n) for n in INBOUND_PROCESSES]
    async with postgres_database() as url:
        cost = await budget_cost(url)
        latencies = await propagation(url)
    return runs, loads, cost, latencies


def run() -> str:
    try:
        runs, loads, cost, latencies = asyncio.run(measure())
    except RuntimeError as exc:
        return f"## Several processes on one PostgreSQL\n\nNot measured: {exc}.\n"
    one = runs[0].rate
    rows = [
        f"| {r.processes} | {r.delivered:,} | {r.duplicated} | {r.too_many_requests} | "
        f"{r.rate:.0f} | {r.busiest_second} | {r.rate / one:.2f} | {r.cpu_ms_per_message:.2f} | "
        f"{r.server_cpu_ms_per_message:.2f} |"
        for r in runs
    ]
    latencies.sort()
    users, each = INBOUND_LOAD
    inbound_rows = [
        f"| {n} | {load.rate:.0f} | {load.rate / loads[0].rate:.2f} | "
        f"{load.cpu_ms_per_question:.2f} | {load.percentile(0.5) * 1000:.0f} / "
        f"{load.percentile(0.99) * 1000:.0f} | {load.world_busy:.0%} |"
        for n, load in zip(INBOUND_PROCESSES, loads, strict=True)
    ]
    return "\n".join(
        [
            "## Several processes on one PostgreSQL: a paid broadcast to 20,000",
            "",
            f"{SUBSCRIBERS:,} subscribers get one broadcast from 1, 2 and 3 `newsbot run` "
            f"processes in webhook mode on one PostgreSQL (`PAID_BROADCAST_RATE={RATE}`), "
            "through the local Bot API server with its flood limits on (paid broadcasts "
            "1000/s, 429 beyond). The admin's /broadcast and Send go through the webhook; "
            "every process's courier takes rows (`FOR UPDATE SKIP LOCKED`) and paces by the "
            "shared send budget. msg/s: between the first and the last delivery in the "
            "server's record; busiest second: the most deliveries in any one-second window; "
            "CPU: the bot processes' user + system time from Send to the last delivery (from "
            "/proc), per message; server CPU: the local server's (this process).",
            "",
            "```console",
            ".venv/bin/python -m benchmarks processes",
            "```",
            "",
            "| processes | delivered | duplicated | 429s | msg/s | busiest second | ratio to 1 "
            "| bot CPU ms/msg | server CPU ms/msg |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            *rows,
            "",
            "What bounds these figures on this machine: its **2 cores** are shared by the bot "
            "processes, the local Bot API server (one Python process: parsing, recording, "
            "answering each send), PostgreSQL and whatever else runs (the load average below). "
            f"The bot processes used {_cores(runs)} cores together (CPU per message × rate), "
            f"the server {_server_cores(runs)}: no run came near the paid limit of "
            f"{RATE}/s, so the shared budget never had to hold anyone back, and the rate is "
            "the machine's. More processes add CPU per message (more event loops, more "
            "pools, more claims) and, once the cores are taken, no rate. On a machine with a "
            "core per process (and the real Bot API elsewhere), the rate rises toward the "
            "paid limit, which the shared budget holds for the bot as a whole (the kill story "
            "in tests/test_processes.py checks every second of it).",
            "",
            "**Inbound questions per second** with 1 and 3 webhook processes on one "
            "PostgreSQL behind a round-robin balancer (`bot/localapi/balancer.py`, in the "
            "benchmark's process, where nginx would be): the local server and its simulated "
            f"users in a second process, {users} users asking {each} questions each, one "
            f"after the other, best of {INBOUND_ROUNDS} rounds after a warm-up. Each process "
            "is `newsbot run`'s webhook mode without the rate limiter "
            "(`benchmarks/unpaced_webhook.py`: capacity, not Telegram's 30/s); server busy: "
            "the server-and-users process's CPU over wall time.",
            "",
            "| processes | q/s | ratio to 1 | bot CPU ms/question (all processes) "
            "| p50 / p99 ms | server busy |",
            "|---:|---:|---:|---:|---:|---:|",
            *inbound_rows,
            "",
            "What bounds it: every update is stored in the inbox, claimed and marked done in "
            "PostgreSQL (three transactions), its sender's question budget is taken there "
            "(one statement for all the askers at once: `QUESTIONS_PER_MINUTE` holds for the "
            "bot, not per process), and the reply goes through the same server. "
            f"The bot processes used {_cores(loads)} cores together: on 2 cores the rest "
            "goes to the server and its users, the balancer, PostgreSQL and other work, so a "
            "third process adds CPU per question (three event loops and pools) and no rate. "
            "Several processes pay off where each has a core of its own; on one machine like "
            "this, one process is the better choice.",
            "",
            "**The shared budget's cost** (5,000 reservations of a chat key and the paid key, "
            "64 waiting at once as in a busy courier):",
            "",
            f"- in memory (SQLite, one process): {cost.local_us:.1f} µs per reservation",
            f"- in PostgreSQL: {cost.shared_ms:.3f} ms of wall time per message (two "
            f"reservations), {cost.per_statement:.0f} reservations per statement (group "
            "reservation: requests waiting at once share one upsert)",
            "",
            "**Knowledge propagation**: an item published by one process (a broadcast, a "
            f"feed) until another process can answer from it, {PROPAGATIONS} items published "
            "at points spread over the other's poll (every `SHARED_RELOAD_SECONDS`, 1 s, on "
            f"a shared database): median {statistics.median(latencies):.2f} s, worst "
            f"{latencies[-1]:.2f} s. Bounded by the poll interval; the query is one indexed "
            "read (LISTEN/NOTIFY would cut the wait but needs a connection held per process).",
        ]
    )
