"""The webhook's inbox on SQLite and PostgreSQL: stored once, claimed in each chat's order,
taken back from a process that died."""

from __future__ import annotations

import datetime as dt

from bot.storage import NewUpdate, Storage

NOW = dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC)
LEASE = NOW + dt.timedelta(seconds=30)


def _update(update_id: int, chat_id: int | None) -> NewUpdate:
    return NewUpdate(update_id, chat_id, f'{{"update_id": {update_id}}}')


async def test_an_update_telegram_sends_twice_is_stored_once(storage: Storage) -> None:
    assert await storage.inbox.store_many([_update(1, 10)]) == 1
    assert await storage.inbox.store_many([_update(1, 10), _update(2, 10)]) == 1
    assert await storage.inbox.unfinished() == 2


async def test_a_chats_next_update_waits_until_the_earlier_one_is_done(storage: Storage) -> None:
    await storage.inbox.store_many(
        [_update(1, 10), _update(2, 10), _update(3, 20), _update(4, None)]
    )
    first = await storage.inbox.claim(NOW, LEASE, 10)
    assert [u.update_id for u in first] == [1, 3, 4]
    assert await storage.inbox.claim(NOW, LEASE, 10) == []
    await storage.inbox.mark_done([1], NOW)
    assert [u.update_id for u in await storage.inbox.claim(NOW, LEASE, 10)] == [2]


async def test_an_update_left_working_by_a_dead_process_is_claimed_after_its_lease(
    storage: Storage,
) -> None:
    await storage.inbox.store_many([_update(1, 10), _update(2, 10)])
    assert [u.update_id for u in await storage.inbox.claim(NOW, LEASE, 10)] == [1]
    assert await storage.inbox.claim(NOW + dt.timedelta(seconds=29), LEASE, 10) == []
    later = NOW + dt.timedelta(seconds=31)
    again = await storage.inbox.claim(later, later + dt.timedelta(seconds=30), 10)
    assert [(u.update_id, u.attempts) for u in again] == [(1, 2)]


async def test_done_updates_are_pruned_after_the_retention_and_unfinished_ones_never(
    storage: Storage,
) -> None:
    await storage.inbox.store_many([_update(1, 10), _update(2, 20)])
    await storage.inbox.claim(NOW, LEASE, 10)
    await storage.inbox.mark_done([1], NOW)
    pruned = await storage.retention.prune(NOW + dt.timedelta(days=1))
    assert pruned.inbox == 1
    assert await storage.inbox.unfinished() == 1
    # the pruned id is no longer known; the unfinished one still is
    assert await storage.inbox.store_many([_update(2, 20)]) == 0


async def test_the_webhook_secret_is_made_once_and_shared(storage: Storage) -> None:
    first = await storage.inbox.webhook_secret(lambda: "first-secret")
    second = await storage.inbox.webhook_secret(lambda: "second-secret")
    assert first == second == "first-secret"
