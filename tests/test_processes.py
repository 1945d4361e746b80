"""Stories of several bot processes on one PostgreSQL database.

Telegram's limits are per bot, the outbox and the digests are the bot's, an admin's draft
is the admin's: whichever process does the work, a subscriber gets each message once, the
bot as a whole keeps to its rate, and a killed process's work is finished by the others.
"""

from __future__ import annotations

import asyncio
import bisect
import datetime as dt
import shutil
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from harness import ADMIN, SEED_KNOWLEDGE
from processes import WebhookProcess
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.delivery.shared_budget import SharedBudget
from bot.digests.scheduler import DigestScheduler
from bot.knowledge.models import NewsItem
from bot.localapi import Fault, FloodLimits, LocalBotApiServer
from bot.localapi.balancer import free_port, round_robin
from bot.storage import NewOutboxMessage, Storage
from bot.storage.tables import chats, outbox, subscriptions

pytestmark = pytest.mark.postgres

ONE_MESSAGE = (
    "/broadcast Harbour workers win a pay rise | 2021-06-11 | Dock workers agreed a deal."
)
NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


async def seed_subscribers(
    storage: Storage, chat_ids: list[int], next_digest_at: dt.datetime
) -> None:
    """Subscribers who started the bot earlier, written in bulk."""
    now = dt.datetime.now(dt.UTC)

    async def work(conn: AsyncConnection) -> None:
        for start in range(0, len(chat_ids), 1000):
            part = chat_ids[start : start + 1000]
            await conn.execute(
                insert(chats),
                [
                    {
                        "chat_id": c,
                        "user_id": c,
                        "chat_type": "private",
                        "first_name": f"User{c}",
                        "active": True,
                        "created_at": now,
                        "last_seen_at": now,
                    }
                    for c in part
                ],
            )
            await conn.execute(
                insert(subscriptions),
                [
                    {
                        "chat_id": c,
                        "digest_time": dt.time(8),
                        "timezone": "UTC",
                        "send_empty": False,
                        "next_digest_at": next_digest_at,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for c in part
                ],
            )

    await storage.database.run("seed", work)


async def until(
    condition: Callable[[], bool],
    seconds: float,
    what: str,
    logs: str | Callable[[], str] = "",
    every: float = 0.05,
) -> None:
    """Wait for ``condition``; on a time-out, fail with the processes' ``logs`` (read then,
    when given as a function)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        if loop.time() > deadline:
            text = logs() if callable(logs) else logs
            raise AssertionError(f"timed out waiting for {what}\n{text[-4000:]}")
        await asyncio.sleep(every)


def busiest_second(times: list[float]) -> int:
    """The most of ``times`` (sorted) in any window of one second."""
    return max(bisect.bisect_left(times, t + 1.0) - i for i, t in enumerate(times))


@pytest.fixture
async def storages(postgres_url: str) -> AsyncIterator[tuple[Storage, Storage]]:
    """Two processes' storage on one PostgreSQL database."""
    one, two = await Storage.open(postgres_url), await Storage.open(postgres_url)
    try:
        yield one, two
    finally:
        await one.close()
        await two.close()


# --- the outbox's leases ---------------------------------------------------------------


async def test_a_starting_process_leaves_the_rows_a_live_one_is_sending_and_takes_a_dead_ones(
    storages: tuple[Storage, Storage],
) -> None:
    live, starting = storages
    lease = dt.timedelta(seconds=30)
    await live.outbox.enqueue_many(
        [
            NewOutboxMessage(
                kind="alert",
                dedupe_key=f"k{n}",
                chat_id=n,
                text="hi",
                not_before=NOW - dt.timedelta(hours=1),
            )
            for n in range(1, 5)
        ]
    )
    sending = await live.outbox.claim_due(NOW, 2, lease)  # a live process, in flight
    dead = await live.outbox.claim_due(NOW - dt.timedelta(minutes=5), 1, lease)
    fast = await live.outbox.claim_due(NOW + dt.timedelta(hours=3), 1, lease)  # clock ahead
    assert len(sending) == 2 and len(dead) == 1 and len(fast) == 1
    # The starting process's courier: only the dead one's and the fast clock's come back.
    assert await starting.outbox.requeue_expired(NOW, lease) == 2
    again = await starting.outbox.claim_due(NOW, 10, lease)
    assert sorted(m.id for m in again) == sorted([dead[0].id, fast[0].id])
    assert all(m.unknown_fate == 1 for m in again)
    await starting.outbox.mark_sent_many([(m.id, 1, NOW) for m in again])
    # The live one renews its leases while its sends are in flight: still its own later.
    later = NOW + dt.timedelta(seconds=25)
    assert await live.outbox.renew([m.id for m in sending], later + lease) == 2
    assert await starting.outbox.requeue_expired(later + dt.timedelta(seconds=10), lease) == 0
    # Past a lease without renewal (the process died), they are anyone's.
    past = later + lease + dt.timedelta(seconds=1)
    assert await starting.outbox.requeue_expired(past, lease) == 2


# --- the shared send budget -------------------------------------------------------------


async def test_two_processes_reserving_at_once_never_share_a_slot_of_the_overall_budget(
    storages: tuple[Storage, Storage],
) -> None:
    one, two = storages
    rate = 200.0
    budgets = [SharedBudget(one.send_budget), SharedBudget(two.send_budget)]
    loop = asyncio.get_running_loop()

    async def send(budget: SharedBudget) -> float:
        await asyncio.sleep(await budget.reserve("paid", 1 / rate, 1))
        return loop.time()

    times = sorted(await asyncio.gather(*(send(budgets[n % 2]) for n in range(400))))
    # Both took part, batching their reservations ...
    assert all(0 < b.statements < b.reservations for b in budgets)
    # ... and the slots they got are 1/rate apart: 400 sends take two seconds. (Slots
    # whose reservation came back late are used at once: a burst of at most a round
    # trip's worth, 0.1 s allowed here on a busy machine.)
    assert times[-1] - times[0] >= 399 / rate - 0.1
    assert busiest_second(times) <= rate * 1.05


# --- digests ----------------------------------------------------------------------------

DIGEST_READERS = list(range(100_001, 105_001))
ITEMS = [
    NewsItem(
        id=f"2026-03-0{d}-item", title=f"News of March {d}", date=dt.date(2026, 3, d), summary="S."
    )
    for d in (1, 2)
]


async def test_two_schedulers_racing_for_5000_due_subscribers_queue_each_digest_once(
    storages: tuple[Storage, Storage],
) -> None:
    one, two = storages
    await seed_subscribers(one, DIGEST_READERS, NOW - dt.timedelta(minutes=1))
    await one.known_items.record_many([i.id for i in ITEMS], NOW - dt.timedelta(hours=1))
    schedulers = [
        DigestScheduler(storage, lambda: ITEMS, lambda: NOW, lambda: None)
        for storage in (one, two)
    ]
    await asyncio.gather(*(s.tick() for s in schedulers))

    async def rows(conn: AsyncConnection) -> list[tuple[int, str]]:
        found = await conn.execute(
            select(outbox.c.chat_id, outbox.c.dedupe_key).where(outbox.c.kind == "digest")
        )
        return [(c, k) for c, k in found.all()]

    queued = await one.database.run("read", rows)
    per_chat: dict[int, int] = {}
    for chat_id, _ in queued:
        per_chat[chat_id] = per_chat.get(chat_id, 0) + 1
    assert sorted(per_chat) == DIGEST_READERS
    assert set(per_chat.values()) == {1}
    # Each was scheduled on once: tomorrow's digest, not another one today.
    nobody = await two.subscriptions.due(NOW + dt.timedelta(hours=12), 10)
    assert nobody == []


async def test_two_processes_share_one_askers_question_budget_and_a_refusal_takes_nothing(
    storages: tuple[Storage, Storage],
) -> None:
    one, two = storages
    now = 1_000_000.0

    async def take(storage: Storage, at: float, *keys: str) -> list[float]:
        waits = await storage.send_budget.admit(list(keys), 10.0, 3, at)
        return [waits[k] for k in keys]

    # Three at once, then one every 10 s, counted across both processes.
    takes = [(await take((one, two)[n % 2], now, "q:7"))[0] for n in range(5)]
    assert takes[:3] == [0.0, 0.0, 0.0]
    assert takes[3] == pytest.approx(10.0) and takes[4] == pytest.approx(10.0)
    assert (await take(one, now + 9.9, "q:7"))[0] > 0  # still refused: nothing moved
    # One statement for several askers: each decided on its own.
    assert await take(two, now + 10.0, "q:8", "q:7", "q:9") == [0.0, 0.0, 0.0]
    assert (await take(one, now + 10.0, "q:9", "q:7"))[1] == pytest.approx(10.0)


# --- several `newsbot run` processes ----------------------------------------------------


@pytest.fixture
async def telegram() -> AsyncIterator[LocalBotApiServer]:
    """The local server with its flood limits; paid broadcasts at most RATE a second.

    Telegram states the paid limit per second, so the bucket holds a second's worth (the
    server's default proportion); the story checks every one-second window itself.
    """
    limits = FloodLimits(paid_per_second=RATE, paid_burst=RATE)
    server = LocalBotApiServer(limits=limits, webhook_retry=(0.1, 0.5))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def process(
    telegram: LocalBotApiServer,
    workdir: Path,
    url: str,
    hook_port: int,
    *,
    port: int | None = None,
    env: dict[str, str] | None = None,
) -> WebhookProcess:
    bot = WebhookProcess(
        telegram,
        workdir,
        admin=ADMIN,
        database_url=url,
        hook_port=hook_port,
        port=port,
        env={"PAID_BROADCAST_RATE": str(RATE), "DELIVERY_LEASE_SECONDS": "3", **(env or {})},
    )
    shutil.copy(SEED_KNOWLEDGE, bot.knowledge)
    return bot


RATE = 200
READERS = list(range(200_001, 205_001))


async def test_three_processes_broadcast_to_5000_with_one_killed_midway_once_each_within_the_rate(
    telegram: LocalBotApiServer, postgres_url: str, tmp_path: Path
) -> None:
    storage = await Storage.open(postgres_url)
    try:
        # Their digests are due tomorrow: not during the story, and not "in the future".
        tomorrow = dt.datetime.now(dt.UTC) + dt.timedelta(hours=20)
        await seed_subscribers(storage, READERS, tomorrow)
    finally:
        await storage.close()
    for chat_id in READERS:
        telegram.add_private_chat(chat_id)
    telegram.add_private_chat(ADMIN)
    hook = free_port()
    bots = [
        process(telegram, tmp_path / "a", postgres_url, hook, port=hook),  # Telegram calls it
        process(telegram, tmp_path / "b", postgres_url, hook),
        process(telegram, tmp_path / "c", postgres_url, hook),
    ]
    logs = lambda: "\n".join(b.logs() for b in bots)  # noqa: E731

    def news() -> dict[int, int]:
        return {
            c: sum(m.text.startswith("📰 News") for m in telegram.messages(c)) for c in READERS
        }

    try:
        await asyncio.gather(*(b.start() for b in bots))
        await asyncio.gather(*(b.until_ready() for b in bots))
        telegram.user_sends(ADMIN, ONE_MESSAGE)
        preview = (await telegram.wait_for_messages(ADMIN, 2, timeout=30))[1]
        send = next(d for label, d in preview.buttons if label == "Send")
        assert send is not None
        telegram.user_presses(ADMIN, preview.message_id, send)
        # (counted every half second: the server shares this process and two cores)
        await until(lambda: sum(news().values()) >= 500, 60, "500 deliveries", logs(), 0.5)
        await bots[2].kill()  # mid-send: it has rows claimed and requests on the wire
        await until(lambda: min(news().values()) >= 1, 120, "every subscriber", logs(), 0.5)
        await asyncio.sleep(1.0)  # anything sent twice would arrive now
    finally:
        await asyncio.gather(*(b.stop() for b in bots))
    counts = news()
    storage = await Storage.open(postgres_url)
    try:

        async def doubtful(conn: AsyncConnection) -> set[int]:
            found = await conn.execute(select(outbox.c.chat_id).where(outbox.c.unknown_fate > 0))
            return {c for (c,) in found.all()}

        in_doubt = await storage.database.run("read", doubtful)
    finally:
        await storage.close()
    twice = {c for c, n in counts.items() if n > 1}
    assert all(n >= 1 for n in counts.values())
    # Only a send of the killed process can come twice (Telegram took it, the kill came
    # before the commit: the duplicate window), and only once more.
    assert twice <= in_doubt and max(counts.values()) <= 2, (twice, in_doubt)
    assert len(in_doubt) <= 64  # what the killed process had claimed, no more
    # The bot as a whole kept to the rate: no 429, and no second with more than RATE.
    assert [r for r in telegram.requests if r.status == 429] == [], logs()
    sent = sorted(m.sent_at for c in READERS for m in telegram.messages(c))
    assert all(m.paid for c in READERS[:50] for m in telegram.messages(c))
    # Over the whole broadcast the bot kept to RATE (the slots are 1/RATE apart across the
    # processes)...
    assert (len(sent) - 1) / (sent[-1] - sent[0]) <= RATE * 1.02
    # ... and in any one-second window, as the server saw it. What a window holds past RATE
    # is the sends' jitter on this machine (three bots, the server and this test on two
    # cores): a send held up d seconds lands in the next window, so a window holds up to
    # RATE × (1 + d); d stays under a quarter of a second. Without the shared budget each
    # process would take RATE for itself: three times as many.
    assert busiest_second(sent) <= RATE * 1.25, busiest_second(sent)
    assert "Traceback" not in logs()


async def test_a_guided_broadcast_started_on_one_process_is_finished_on_another(
    postgres_url: str, tmp_path: Path
) -> None:
    async with LocalBotApiServer(webhook_retry=(0.1, 0.5)) as telegram:
        telegram.add_private_chat(ADMIN)
        hook = free_port()
        first = process(telegram, tmp_path / "a", postgres_url, hook, port=hook)
        second = process(telegram, tmp_path / "b", postgres_url, hook, port=hook)
        try:
            await first.start()
            await first.until_ready()
            telegram.user_sends(ADMIN, "/broadcast")
            await telegram.wait_for_messages(ADMIN, 1, timeout=30)
            telegram.user_sends(ADMIN, "Harbour workers win a pay rise")
            (*_, ask_date) = await telegram.wait_for_messages(ADMIN, 2, timeout=30)
            assert "Date?" in ask_date.text
            await first.stop()  # the next answer reaches another process
            await second.start()
            await second.until_ready()
            telegram.user_sends(ADMIN, "2021-06-11")
            (*_, ask_summary) = await telegram.wait_for_messages(ADMIN, 3, timeout=30)
            assert ask_summary.text == "Summary?", second.logs()
            telegram.user_sends(ADMIN, "Dock workers agreed a deal.")
            await telegram.wait_for_messages(ADMIN, 4, timeout=30)
            telegram.user_sends(ADMIN, "skip")
            *_, note, item = await telegram.wait_for_messages(ADMIN, 6, timeout=30)
            assert note.text.startswith("Preview.")
            assert "Harbour workers win a pay rise" in item.text
            send = next(d for label, d in item.buttons if label == "Send")
            assert send is not None
            telegram.user_presses(ADMIN, item.message_id, send)
            await until(
                lambda: any("Broadcast" in m.text for m in telegram.messages(ADMIN)[6:]),
                30,
                "Send",
                second.logs(),
            )
        finally:
            await first.stop()
            await second.stop()


@dataclass
class Balanced:
    """Three ``newsbot run`` processes behind the round-robin balancer."""

    processes: list[WebhookProcess]
    served: list[int]
    """How many webhook requests each process got."""

    def logs(self) -> str:
        return "\n".join(p.logs() for p in self.processes)


@asynccontextmanager
async def three_behind_a_balancer(
    telegram: LocalBotApiServer, workdir: Path, url: str, env: dict[str, str] | None = None
) -> AsyncIterator[Balanced]:
    """Three processes on ``url`` behind a balancer Telegram calls, started and ready;
    stopped on the way out."""
    hook = free_port()
    bots = [process(telegram, workdir / n, url, hook, env=env) for n in "abc"]
    async with round_robin(hook, [b.port for b in bots]) as served:
        try:
            await asyncio.gather(*(b.start() for b in bots))
            await asyncio.gather(*(b.until_ready() for b in bots))
            yield Balanced(bots, served)
        finally:
            await asyncio.gather(*(b.stop() for b in bots))


QUESTIONERS = list(range(300_001, 300_031))
TOGGLERS = list(range(310_001, 310_051))


async def test_three_processes_behind_a_round_robin_proxy_answer_once_and_keep_each_chats_order(
    postgres_url: str, tmp_path: Path
) -> None:
    async with LocalBotApiServer(webhook_retry=(0.1, 0.5)) as telegram:
        for chat_id in [*QUESTIONERS, *TOGGLERS]:
            telegram.add_private_chat(chat_id)
        async with three_behind_a_balancer(telegram, tmp_path, postgres_url) as bots:
            for chat_id in QUESTIONERS:
                telegram.user_sends(chat_id, "what happened at the harbour?")
            for chat_id in TOGGLERS:  # back to back: the second lands on another process
                telegram.user_sends(chat_id, "/subscribe 08:00 UTC")
                telegram.user_sends(chat_id, "/unsubscribe")
            await until(
                lambda: (
                    all(len(telegram.messages(c)) >= 1 for c in QUESTIONERS)
                    and all(len(telegram.messages(c)) >= 2 for c in TOGGLERS)
                ),
                60,
                "every answer",
                bots.logs(),
            )
            await asyncio.sleep(1.5)  # an update handled twice would answer now
        logs = bots.logs
        assert min(bots.served) > 0, bots.served  # every process took part
        assert {c: len(telegram.messages(c)) for c in QUESTIONERS} == dict.fromkeys(
            QUESTIONERS, 1
        ), logs()
        assert {c: len(telegram.messages(c)) for c in TOGGLERS} == dict.fromkeys(TOGGLERS, 2)
        storage = await Storage.open(postgres_url)
        try:
            left = [c for c in TOGGLERS if await storage.subscriptions.get(c) is not None]
        finally:
            await storage.close()
        assert left == [], left  # /unsubscribe took effect after /subscribe, in every chat
        assert "Traceback" not in logs()


async def test_an_update_acknowledged_by_a_process_killed_at_once_is_answered_by_another(
    postgres_url: str, tmp_path: Path
) -> None:
    async with LocalBotApiServer(webhook_retry=(0.1, 0.5)) as telegram:
        reader = QUESTIONERS[0]
        telegram.add_private_chat(reader)
        hook = free_port()
        receiver = process(telegram, tmp_path / "a", postgres_url, hook, port=hook)
        other = process(telegram, tmp_path / "b", postgres_url, hook)  # no update reaches it
        logs = lambda: receiver.logs() + "\n" + other.logs()  # noqa: E731
        try:
            await asyncio.gather(receiver.start(), other.start())
            await asyncio.gather(receiver.until_ready(), other.until_ready())
            # The reply hangs at Telegram: the update is stored, acknowledged and in hand.
            telegram.inject("sendMessage", Fault.timeout(30), chat_id=reader)
            telegram.user_sends(reader, "child labour")
            await telegram.wait_for_webhook_calls(1, timeout=10, acknowledged=True)
            await until(lambda: telegram.world.faults.pending() == 0, 10, "the reply", logs())
            await receiver.kill()
            telegram.clear_faults()
            assert telegram.messages(reader) == []
            assert telegram.updates_pending() == []  # Telegram will not send it again
            # The receiver's lease passes; the process still running answers in its place.
            await until(lambda: bool(telegram.messages(reader)), 30, "the answer", logs)
            (answer,) = telegram.messages(reader)
            assert "child labour" in answer.text.lower(), answer.text
            await asyncio.sleep(1.5)  # a second answer would come now
            assert len(telegram.messages(reader)) == 1
        finally:
            await asyncio.gather(receiver.stop(), other.stop())
        assert "Traceback" not in other.logs()


FLOODER = 320_001


async def test_a_user_flooding_three_processes_gets_the_bots_limit_not_three_times_it(
    postgres_url: str, tmp_path: Path
) -> None:
    async with LocalBotApiServer(webhook_retry=(0.1, 0.5)) as telegram:
        telegram.add_private_chat(FLOODER)
        limit = {"QUESTIONS_PER_MINUTE": "4"}
        async with three_behind_a_balancer(telegram, tmp_path, postgres_url, limit) as bots:
            for n in range(15):  # one after another, each to the next process
                telegram.user_sends(FLOODER, f"child labour {n}")
            await until(lambda: len(telegram.messages(FLOODER)) >= 5, 30, "answers", bots.logs())
            await asyncio.sleep(2.0)  # anything more would come now
        logs = bots.logs
        assert min(bots.served) > 0, bots.served
        texts = [m.text for m in telegram.messages(FLOODER)]
        notices = [t for t in texts if t.startswith("You are sending messages very quickly")]
        # QUESTIONS_PER_MINUTE answered, then one notice for the bot, whatever the process.
        assert (len(texts) - len(notices), len(notices)) == (4, 1), texts
        assert "Traceback" not in logs()
