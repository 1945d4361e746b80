"""Stories of the storage layer, each run on SQLite (a real file) and PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import sqlite3
import sys
import threading
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from conftest_storage import PostgresServer
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError, OperationalError, StatementError
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from bot.storage import (
    Database,
    MigrationError,
    NewOutboxMessage,
    RetryPolicy,
    Storage,
    StorageError,
    StorageUnavailable,
    UnknownChat,
)
from bot.storage.migrate import alembic_config, head_revision, scripts_head
from bot.storage.retry import transient_reason
from bot.storage.tables import metadata

T0 = dt.datetime(2026, 3, 2, 7, 0, tzinfo=dt.UTC)
FAST = RetryPolicy(attempts=3, first_delay=0.001, max_delay=0.01)
OPEN_AND_CLOSE = """
import asyncio, sys
from bot.storage import Database

async def main():
    db = await Database.open(sys.argv[1])
    await db.close()

asyncio.run(main())
"""


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def message(key: str, chat_id: int = 1, **fields: object) -> NewOutboxMessage:
    defaults = {"kind": "digest", "text": f"text of {key}", "not_before": T0}
    return NewOutboxMessage.model_validate(
        {**defaults, "dedupe_key": key, "chat_id": chat_id, **fields}
    )


async def subscriber(storage: Storage, chat_id: int, next_digest_at: dt.datetime = T0) -> None:
    await storage.chats.upsert_seen(chat_id, chat_id, "private", f"user {chat_id}")
    await storage.subscriptions.subscribe(chat_id, dt.time(8, 0), "Europe/Berlin", next_digest_at)


# --- schema and restarts -------------------------------------------------------------------


async def test_subscribing_twice_keeps_one_subscription_with_the_new_time(
    storage: Storage,
) -> None:
    await storage.chats.upsert_seen(42, 7, "private", "Ann")
    first = await storage.subscriptions.subscribe(42, dt.time(8, 0), "Europe/Berlin", at(60))
    await storage.subscriptions.set_send_empty(42, True)

    second = await storage.subscriptions.subscribe(42, dt.time(19, 30), "Asia/Tokyo", at(600))

    assert await storage.subscriptions.list_all() == [second]
    assert (second.digest_time, second.timezone, second.next_digest_at) == (
        dt.time(19, 30),
        "Asia/Tokyo",
        at(600),
    )
    assert second.send_empty is True  # a new time is not a new subscription
    assert second.created_at == first.created_at


async def test_subscribers_survive_a_restart(database_url: str) -> None:
    before = await Storage.open(database_url)
    try:
        await subscriber(before, 1)
        await before.follows.follow(1, "Elections")
    finally:
        await before.close()

    after = await Storage.open(database_url)
    try:
        subscription = await after.subscriptions.get(1)
        assert subscription is not None
        assert subscription.next_digest_at == T0
        assert await after.follows.all_follows() == {1: ["elections"]}
    finally:
        await after.close()


async def test_a_new_release_at_the_same_schema_migrates_nothing_and_keeps_subscribers(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    first = await Storage.open(database_url)
    try:
        await subscriber(first, 1)
        assert await first.database.schema_revision() == head_revision()
    finally:
        await first.close()

    with caplog.at_level(logging.INFO, logger="alembic"):
        second = await Storage.open(database_url)
    try:
        assert not [r for r in caplog.records if "Running upgrade" in r.getMessage()]
        assert await second.database.schema_revision() == head_revision()
        assert await second.subscriptions.count_active() == 1
    finally:
        await second.close()


OPEN_AND_SAY_IF_ALEMBIC_RAN = """
import asyncio, sys
from bot.storage import Database

async def main():
    db = await Database.open(sys.argv[1])
    await db.close()
    print("alembic" in sys.modules)

asyncio.run(main())
"""


async def run_script(script: str, url: str) -> tuple[int | None, bytes]:
    """``script`` run by a new Python process with ``url`` as its argument: its exit code and
    what it printed (errors too)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        script,
        url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    return process.returncode, output


async def opens_at_the_newest_schema(url: str) -> None:
    db = await Database.open(url)
    try:
        assert await db.schema_revision() == head_revision()
    finally:
        await db.close()


def test_the_release_knows_its_newest_migration() -> None:
    # HEAD is written by hand beside the scripts; a script added without it would never run
    # on a database that is at the old head.
    assert head_revision() == scripts_head()


async def test_a_restart_on_a_database_at_the_newest_schema_does_not_load_the_migrator(
    database_url: str,
) -> None:
    async def start() -> str:
        code, output = await run_script(OPEN_AND_SAY_IF_ALEMBIC_RAN, database_url)
        assert code == 0, output
        return output.decode().splitlines()[-1]  # what the script printed last

    assert await start() == "True"  # a new database: the migrations run
    assert await start() == "False"  # at the newest schema: one query, no Alembic
    await opens_at_the_newest_schema(database_url)


async def test_a_database_of_an_older_release_is_brought_to_the_newest_schema(
    database_url: str,
) -> None:
    def older_release(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "0006")  # the release before the newest migration

    if database_url.startswith("sqlite"):
        Path(database_url.split(":///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(older_release)
    finally:
        await engine.dispose()

    await opens_at_the_newest_schema(database_url)


async def test_two_processes_starting_at_once_on_a_new_database_both_come_up(
    database_url: str,
) -> None:
    results = await asyncio.gather(
        run_script(OPEN_AND_CLOSE, database_url), run_script(OPEN_AND_CLOSE, database_url)
    )

    assert [code for code, _ in results] == [0, 0], results
    await opens_at_the_newest_schema(database_url)


async def test_opening_twice_in_one_process_at_once_is_safe(database_url: str) -> None:
    first, second = await asyncio.gather(Database.open(database_url), Database.open(database_url))
    await first.close()
    await second.close()


async def test_the_migrations_build_exactly_the_schema_the_code_expects(
    database: Database,
) -> None:
    def differences(connection: Connection) -> list[object]:
        return list(compare_metadata(MigrationContext.configure(connection), metadata))

    async def compare(connection: AsyncConnection) -> list[object]:
        return await connection.run_sync(differences)

    assert await database.run("compare", compare) == []


async def test_sqlite_runs_in_wal_mode_in_a_directory_it_created(sqlite_url: str) -> None:
    db = await Database.open(sqlite_url)
    await db.close()
    path = sqlite_url.removeprefix("sqlite+aiosqlite:///")
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)


async def test_a_file_that_is_not_a_database_is_reported_as_a_migration_error(
    tmp_path: Path,
) -> None:
    path = tmp_path / "garbage.db"
    path.write_bytes(b"this is not a SQLite database file, just some bytes" * 100)
    with pytest.raises(MigrationError, match=r"garbage\.db"):
        await Database.open(f"sqlite+aiosqlite:///{path}")


@pytest.mark.parametrize(
    "url",
    ["not a url", "mysql+aiomysql://bot:secret@db/newsbot", "sqlite:///blocking-driver.db"],
)
async def test_a_database_url_the_bot_cannot_use_is_refused_without_its_password(
    url: str,
) -> None:
    with pytest.raises(StorageError, match="use sqlite\\+aiosqlite") as raised:
        await Database.open(url)
    assert "secret" not in str(raised.value)


# --- times -----------------------------------------------------------------------------------


async def test_times_come_back_as_the_same_instant_in_utc(storage: Storage) -> None:
    await storage.chats.upsert_seen(1, 1, "private", None)
    berlin = dt.timezone(dt.timedelta(hours=1))
    await storage.subscriptions.subscribe(
        1, dt.time(8, 0), "Europe/Berlin", dt.datetime(2026, 3, 2, 8, 0, tzinfo=berlin)
    )

    subscription = await storage.subscriptions.get(1)

    assert subscription is not None
    assert subscription.next_digest_at == T0
    assert subscription.next_digest_at.utcoffset() == dt.timedelta(0)
    assert subscription.created_at.tzinfo is not None


async def test_a_naive_datetime_is_refused(storage: Storage) -> None:
    await storage.chats.upsert_seen(1, 1, "private", None)
    with pytest.raises(StatementError, match="naive datetime"):
        await storage.subscriptions.subscribe(
            1, dt.time(8, 0), "UTC", dt.datetime(2026, 3, 2, 7, 0)
        )


# --- chats and subscriptions ------------------------------------------------------------------


async def test_a_chat_that_blocked_the_bot_is_reactivated_when_it_writes_again(
    storage: Storage,
) -> None:
    await storage.chats.upsert_seen(1, 1, "private", "Ann")
    await storage.chats.upsert_seen(2, 2, "private", "Bob")
    assert await storage.chats.mark_inactive(1, "blocked by the user")
    assert not await storage.chats.mark_inactive(99, "never seen")

    blocked = await storage.chats.get(1)
    assert blocked is not None
    assert (blocked.active, blocked.inactive_reason) == (False, "blocked by the user")
    assert (await storage.chats.counts()).model_dump() == {"active": 1, "inactive": 1}

    back = await storage.chats.upsert_seen(1, 1, "private", "Ann B.")
    assert (back.active, back.inactive_reason, back.first_name) == (True, None, "Ann B.")
    assert back.created_at == blocked.created_at
    assert (await storage.chats.counts()).model_dump() == {"active": 2, "inactive": 0}


async def test_the_next_digest_skips_a_subscriber_who_blocked_the_bot(storage: Storage) -> None:
    await subscriber(storage, 1, at(0))
    await subscriber(storage, 2, at(1))
    await subscriber(storage, 3, at(90))  # not due yet
    await storage.chats.mark_inactive(2, "blocked by the user")

    due = await storage.subscriptions.due(at(5), limit=10)

    assert [s.chat_id for s in due] == [1]
    assert await storage.subscriptions.count_active() == 2
    assert len(await storage.subscriptions.list_all()) == 3


async def test_a_digest_is_claimed_once_and_a_stale_claim_is_refused(storage: Storage) -> None:
    await subscriber(storage, 1, at(0))
    (due,) = await storage.subscriptions.due(at(1), limit=10)
    tomorrow = at(24 * 60)

    claims = await asyncio.gather(
        *(
            storage.subscriptions.mark_digest_done(
                1, due_at=due.next_digest_at, sent_at=at(1), next_digest_at=tomorrow
            )
            for _ in range(4)
        )
    )

    assert sorted(claims) == [False, False, False, True]
    after = await storage.subscriptions.get(1)
    assert after is not None
    assert (after.last_digest_at, after.next_digest_at) == (at(1), tomorrow)
    assert await storage.subscriptions.due(at(2), limit=10) == []
    # A scheduler still holding yesterday's read is refused, even much later.
    assert not await storage.subscriptions.mark_digest_done(
        1, due_at=due.next_digest_at, sent_at=at(3), next_digest_at=at(48 * 60)
    )


async def test_subscribing_needs_a_chat_the_bot_has_seen(storage: Storage) -> None:
    with pytest.raises(UnknownChat):
        await storage.subscriptions.subscribe(5, dt.time(8, 0), "UTC", T0)
    with pytest.raises(ValueError, match="IANA"):
        await storage.subscriptions.subscribe(5, dt.time(8, 0), "Mars/Olympus", T0)


async def test_unsubscribing_removes_the_subscription(storage: Storage) -> None:
    await subscriber(storage, 1)
    assert await storage.subscriptions.unsubscribe(1)
    assert not await storage.subscriptions.unsubscribe(1)
    assert await storage.subscriptions.get(1) is None
    assert not await storage.subscriptions.set_send_empty(1, True)


# --- follows, known items, questions -----------------------------------------------------------


async def test_following_a_phrase_twice_in_other_words_keeps_one(storage: Storage) -> None:
    await storage.chats.upsert_seen(1, 1, "private", None)
    await storage.chats.upsert_seen(2, 2, "private", None)
    assert await storage.follows.follow(1, "Climate  Change")
    assert not await storage.follows.follow(1, "climate change")
    assert await storage.follows.follow(1, "Elections")
    assert await storage.follows.follow(2, "elections")
    with pytest.raises(UnknownChat):
        await storage.follows.follow(3, "x")

    assert [f.phrase for f in await storage.follows.list_for_chat(1)] == [
        "climate change",
        "elections",
    ]
    await storage.chats.mark_inactive(2, "left the group")
    assert await storage.follows.all_follows() == {1: ["climate change", "elections"]}
    assert await storage.follows.unfollow(1, "ELECTIONS")
    assert not await storage.follows.unfollow(1, "elections")


async def test_recording_items_returns_only_the_newly_known(storage: Storage) -> None:
    assert await storage.known_items.record_many(["a", "b", "a"], at(0)) == ["a", "b"]
    assert await storage.known_items.record_many(["b", "c", "d"], at(10)) == ["c", "d"]
    assert await storage.known_items.record_many([], at(20)) == []

    window = await storage.known_items.known_since(at(0), until=at(10))
    assert [(k.item_id, k.first_seen_at) for k in window] == [("c", at(10)), ("d", at(10))]
    assert [k.item_id for k in await storage.known_items.known_since(at(-1))] == list("abcd")


async def test_a_restart_with_thousands_of_items_finds_only_the_ones_added_since(
    storage: Storage,
) -> None:
    first = [f"item-{n}" for n in range(3000)]
    assert await storage.known_items.record_many(first, at(0)) == first
    again = [*first, "item-new-1", *first[:10], "item-new-2"]
    assert await storage.known_items.record_many(again, at(10)) == ["item-new-1", "item-new-2"]
    window = await storage.known_items.known_since(at(0))
    assert [(k.item_id, k.first_seen_at) for k in window] == [
        ("item-new-1", at(10)),
        ("item-new-2", at(10)),
    ]


async def test_unanswered_questions_are_grouped_by_what_was_asked(storage: Storage) -> None:
    questions = storage.questions
    await questions.record(
        1, "Who won the election?", answered=False, top_score=0.1, asked_at=at(1)
    )
    await questions.record(
        2, "who won  the election", answered=False, top_score=None, asked_at=at(2)
    )
    await questions.record(3, "What is inflation?", answered=False, top_score=0.2, asked_at=at(3))
    await questions.record(
        4, "Who won the election?", answered=True, top_score=0.9, asked_at=at(4)
    )
    await questions.record(5, "Old question", answered=False, top_score=None, asked_at=at(-60))

    grouped = await questions.unanswered_since(at(0), limit=10)

    assert [(q.normalized, q.count, q.last_asked_at) for q in grouped] == [
        ("who won the election", 2, at(2)),
        ("what is inflation", 1, at(3)),
    ]
    assert await questions.unanswered_since(at(0), limit=1) == grouped[:1]


# --- outbox and broadcasts -----------------------------------------------------------------------


async def test_a_dedupe_key_enqueued_twice_makes_one_message(storage: Storage) -> None:
    assert await storage.outbox.enqueue_many([message("digest:1:2026-03-02")]) == 1
    assert await storage.outbox.enqueue_many([message("digest:1:2026-03-02", text="again")]) == 0
    assert await storage.outbox.enqueue_many([message("k2"), message("k2"), message("k3")]) == 2

    claimed = await storage.outbox.claim_due(at(1), limit=10)

    assert [m.dedupe_key for m in claimed] == ["digest:1:2026-03-02", "k2", "k3"]
    assert claimed[0].text == "text of digest:1:2026-03-02"


async def test_concurrent_claimers_never_get_the_same_message(database_url: str) -> None:
    first, second = await Storage.open(database_url), await Storage.open(database_url)
    try:
        total = 300
        await first.outbox.enqueue_many([message(f"m{i}", chat_id=i) for i in range(total)])
        claimed: list[int] = []

        async def sender(storage: Storage) -> None:
            while batch := await storage.outbox.claim_due(at(1), limit=7):
                assert len(batch) <= 7
                claimed.extend(m.id for m in batch)

        # Two "processes" (engines), each with three concurrent senders.
        await asyncio.gather(*(sender(s) for s in (first, second) for _ in range(3)))

        assert len(claimed) == total
        assert len(set(claimed)) == total
        counts = await first.outbox.counts_by_status()
        assert counts["sending"] == total and counts["pending"] == 0
    finally:
        await first.close()
        await second.close()


async def test_claiming_takes_due_messages_oldest_first_up_to_the_limit(storage: Storage) -> None:
    await storage.outbox.enqueue_many(
        [message("later", not_before=at(30)), message("a"), message("b"), message("c")]
    )

    batch = await storage.outbox.claim_due(at(1), limit=2)

    assert [(m.dedupe_key, m.status, m.attempts, m.claimed_at) for m in batch] == [
        ("a", "sending", 1, at(1)),
        ("b", "sending", 1, at(1)),
    ]
    assert [m.dedupe_key for m in await storage.outbox.claim_due(at(1), limit=10)] == ["c"]
    assert [m.dedupe_key for m in await storage.outbox.claim_due(at(31), limit=10)] == ["later"]


async def test_a_message_stuck_in_sending_after_a_crash_is_sent_again(storage: Storage) -> None:
    await storage.outbox.enqueue_many([message("crashed"), message("in-flight")])
    (crashed,) = await storage.outbox.claim_due(at(0), limit=1)
    (in_flight,) = await storage.outbox.claim_due(at(9), limit=1)

    assert await storage.outbox.requeue_stale_sending(older_than=at(5)) == 1

    again = await storage.outbox.claim_due(at(10), limit=10)
    assert [(m.id, m.attempts) for m in again] == [(crashed.id, 2)]
    still = await storage.outbox.get(in_flight.id)
    assert still is not None and still.status == "sending"


async def test_each_outcome_of_a_send_is_recorded(storage: Storage) -> None:
    await storage.chats.upsert_seen(1, 1, "private", None)
    keys = ["sent", "retry", "failed", "skipped"]
    await storage.outbox.enqueue_many(
        [message(k, kind="alert", reply_markup='{"inline_keyboard": []}') for k in keys]
    )
    sent, retry, failed, skipped = await storage.outbox.claim_due(at(0), limit=10)
    assert await storage.outbox.has_pending_for_chat(1)

    await storage.outbox.mark_sent(sent.id, telegram_message_id=555, sent_at=at(1))
    await storage.outbox.mark_retry(retry.id, not_before=at(30), error="429: retry after 30")
    await storage.outbox.mark_failed(failed.id, "403: bot was blocked by the user")
    await storage.outbox.mark_skipped(skipped.id, "chat inactive")

    assert await storage.outbox.claim_due(at(29), limit=10) == []
    retried = await storage.outbox.get(retry.id)
    assert retried is not None
    assert (retried.status, retried.last_error) == ("pending", "429: retry after 30")
    done = await storage.outbox.get(sent.id)
    assert done is not None
    assert (done.status, done.telegram_message_id, done.sent_at) == ("sent", 555, at(1))
    assert done.reply_markup == '{"inline_keyboard": []}'
    counts = await storage.outbox.counts_by_status()
    assert {k: v for k, v in counts.items() if v} == {
        "sent": 1,
        "pending": 1,
        "failed": 1,
        "skipped": 1,
    }
    assert await storage.outbox.sent_since(at(0)) == {"digest": 0, "alert": 1, "broadcast": 0}
    assert await storage.outbox.sent_since(at(2)) == {"digest": 0, "alert": 0, "broadcast": 0}
    assert await storage.outbox.has_pending_for_chat(1, kind="alert")
    assert not await storage.outbox.has_pending_for_chat(1, kind="digest")
    assert not await storage.outbox.has_pending_for_chat(2)


async def test_cancelling_a_broadcast_stops_its_pending_messages(storage: Storage) -> None:
    broadcast = await storage.broadcasts.create("2026-03-02-budget-vote", created_by=7, total=5)
    other = await storage.broadcasts.create("2026-03-02-other", created_by=7, total=1)
    await storage.outbox.enqueue_many(
        [
            message(f"broadcast:{broadcast.item_id}:{chat}", chat, broadcast_id=broadcast.id)
            for chat in range(5)
        ]
        + [message("broadcast:other:1", 1, broadcast_id=other.id)]
    )
    in_flight = await storage.outbox.claim_due(at(0), limit=2)

    assert await storage.outbox.cancel_broadcast(broadcast.id) == 3
    finished = await storage.broadcasts.finish(broadcast.id, at(1), status="cancelled")

    assert finished is not None and (finished.status, finished.finished_at) == ("cancelled", at(1))
    assert await storage.broadcasts.finish(broadcast.id, at(2)) is None  # keeps its outcome
    counts = await storage.outbox.counts_by_status(broadcast.id)
    assert (counts["cancelled"], counts["sending"], counts["pending"]) == (3, len(in_flight), 0)
    assert (await storage.outbox.counts_by_status(other.id))["pending"] == 1
    latest = await storage.broadcasts.latest()
    assert latest is not None and latest.id == other.id
    assert await storage.broadcasts.get(broadcast.id) == finished


# --- failures --------------------------------------------------------------------------------


async def test_a_writer_waits_for_another_process_holding_the_sqlite_lock(
    sqlite_url: str,
) -> None:
    storage = await Storage.open(sqlite_url)
    path = sqlite_url.removeprefix("sqlite+aiosqlite:///")
    other = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another process takes the write lock...
        release = threading.Timer(0.3, other.execute, args=("COMMIT",))
        release.start()  # ...and lets go 0.3 s later, well within the busy timeout

        chat = await storage.chats.upsert_seen(1, 1, "private", None)

        assert chat.active
        release.join()
    finally:
        other.close()
        await storage.close()


async def test_transient_errors_are_retried_then_reported_as_unavailable(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    db = await Database.open(database_url, retry=FAST)
    locked = OperationalError("UPDATE outbox", {}, Exception("database is locked"))
    calls = 0

    async def flaky(connection: AsyncConnection) -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise locked
        return "done"

    async def always_locked(connection: AsyncConnection) -> str:
        raise locked

    async def bug(connection: AsyncConnection) -> str:
        nonlocal calls
        calls += 1
        raise IntegrityError("INSERT", {}, Exception("NOT NULL constraint failed"))

    try:
        assert await db.run("flaky", flaky) == "done"
        assert calls == 3
        with pytest.raises(StorageUnavailable) as raised:
            await db.run("always_locked", always_locked)
        assert (raised.value.reason, raised.value.attempts) == ("database locked", 3)
        assert "giving up" in caplog.text

        calls = 0
        with pytest.raises(IntegrityError):
            await db.run("bug", bug)
        assert calls == 1  # a bug is not retried
    finally:
        await db.close()


async def test_a_database_that_cannot_be_reached_is_reported_as_unavailable() -> None:
    with pytest.raises(StorageUnavailable, match="unreachable"):
        await Database.open("postgresql+asyncpg://postgres@127.0.0.1:1/newsbot", retry=FAST)


def test_only_transient_errors_are_classified_as_retryable() -> None:
    def error(kind: type[OperationalError], text: str) -> OperationalError:
        return kind("SELECT 1", {}, Exception(text))

    assert transient_reason(error(OperationalError, "database is locked"), "sqlite")
    assert transient_reason(error(OperationalError, "no such table: chats"), "sqlite") is None
    assert transient_reason(error(OperationalError, "server closed"), "postgresql")
    assert transient_reason(ConnectionResetError(), "postgresql") == "database unreachable"
    assert transient_reason(ValueError("bad"), "postgresql") is None


@pytest.mark.postgres
async def test_a_dropped_postgres_connection_is_replaced(
    postgres_server: PostgresServer, postgres_url: str
) -> None:
    storage = await Storage.open(postgres_url)
    try:
        await storage.chats.upsert_seen(1, 1, "private", None)
        database = postgres_url.rsplit("/", 1)[1]
        # The server restarts, or a proxy drops idle connections: every pooled one dies.
        await postgres_server.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{database}' AND pid <> pg_backend_pid()"
        )

        chat = await storage.chats.upsert_seen(1, 1, "private", "after")

        assert chat.first_name == "after"
    finally:
        await storage.close()
