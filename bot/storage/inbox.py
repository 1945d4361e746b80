"""The inbox: every update Telegram delivered to the webhook, stored before it is acknowledged.

An update's life: ``pending`` (stored; Telegram got its 200) → ``working`` (claimed by one
process until ``lease_until``) → ``done``. A process killed mid-update leaves it
``working``; once the lease has passed any process claims it again (at start on SQLite,
where one process owns the file, at once). So an acknowledged update is handled at least
once; a kill between a handler's reply and ``mark_done`` handles it twice.

Order: a chat's update is claimed only when every earlier update of that chat (lower
``update_id``, Telegram's order) is done, in whichever process it ran; different chats
run in parallel. PostgreSQL: ``FOR UPDATE SKIP LOCKED`` lets processes claim disjoint rows
without waiting. SQLite: the claiming UPDATE holds the one write lock for its whole run.

Done rows keep no payload; they stay (pruned after ``RETENTION_DAYS``) so that an update
Telegram sends again, which it does for 24 hours while it gets no 2xx, is recognised.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pydantic import AwareDatetime, BaseModel, ConfigDict
from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.database import Database
from bot.storage.dialect import insert_for
from bot.storage.tables import inbox, webhook

_UNFINISHED = ("pending", "working")


class InboxUpdate(BaseModel):
    """A stored update, as a claimer gets it."""

    model_config = ConfigDict(frozen=True)

    update_id: int
    chat_id: int | None
    payload: str
    attempts: int
    received_at: AwareDatetime


@dataclass(frozen=True)
class NewUpdate:
    """An update to store: its id, whose order it keeps (chat, else user) and its JSON."""

    update_id: int
    chat_id: int | None
    payload: str


class InboxRepository:
    """Store, claim and settle webhook updates; safe with several processes."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def store_many(self, updates: Sequence[NewUpdate]) -> int:
        """Store the updates as ``pending`` in one transaction; returns how many were new.

        An update whose ``update_id`` is already stored (in any status) is left alone:
        Telegram sends an update again when it did not get our 200 in time.
        """
        if not updates:
            return 0
        now = self._db.now()
        rows = [
            {
                "update_id": u.update_id,
                "chat_id": u.chat_id,
                "payload": u.payload,
                "status": "pending",
                "attempts": 0,
                "received_at": now,
            }
            for u in updates
        ]

        async def work(conn: AsyncConnection) -> int:
            statement = (
                insert_for(self._db.dialect, inbox)
                .values(rows)
                .on_conflict_do_nothing(index_elements=[inbox.c.update_id])
                .returning(inbox.c.update_id)
            )
            return len((await conn.execute(statement)).all())

        return await self._db.run("inbox.store_many", work)

    async def claim(
        self, now: dt.datetime, lease_until: dt.datetime, limit: int
    ) -> list[InboxUpdate]:
        """Take up to ``limit`` updates whose turn it is, lowest ``update_id`` first.

        Claimable: pending, or working with its lease passed (the process died), and no
        earlier update of the same chat unfinished. At most one update per chat comes back.
        """
        earlier = inbox.alias("earlier")
        blocked = exists(
            select(earlier.c.update_id).where(
                earlier.c.chat_id == inbox.c.chat_id,
                earlier.c.status.in_(_UNFINISHED),
                earlier.c.update_id < inbox.c.update_id,
            )
        )
        claimable = or_(
            inbox.c.status == "pending",
            (inbox.c.status == "working") & (inbox.c.lease_until < now),
        )
        due = (
            select(inbox.c.update_id)
            .where(inbox.c.status.in_(_UNFINISHED), claimable, ~blocked)
            .order_by(inbox.c.update_id)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .cte("due")
            .prefix_with("MATERIALIZED")  # evaluated once, see OutboxRepository.claim_due
        )
        statement = (
            update(inbox)
            .where(inbox.c.update_id.in_(select(due.c.update_id)), claimable)
            .values(status="working", lease_until=lease_until, attempts=inbox.c.attempts + 1)
            .returning(
                inbox.c.update_id,
                inbox.c.chat_id,
                inbox.c.payload,
                inbox.c.attempts,
                inbox.c.received_at,
            )
        )

        async def work(conn: AsyncConnection) -> list[InboxUpdate]:
            rows = (await conn.execute(statement)).mappings().all()
            found = sorted((InboxUpdate.model_validate(dict(r)) for r in rows), key=_key)
            return found

        return await self._db.run("inbox.claim", work)

    async def renew(self, update_ids: Sequence[int], lease_until: dt.datetime) -> None:
        """Extend the lease of updates still being handled."""
        if not update_ids:
            return
        statement = (
            update(inbox)
            .where(inbox.c.update_id.in_(list(update_ids)), inbox.c.status == "working")
            .values(lease_until=lease_until)
        )

        async def work(conn: AsyncConnection) -> None:
            await conn.execute(statement)

        await self._db.run("inbox.renew", work)

    async def mark_done(self, update_ids: Sequence[int], done_at: dt.datetime) -> None:
        """The updates were handled: their chats' next updates may run."""
        if not update_ids:
            return
        statement = (
            update(inbox)
            .where(inbox.c.update_id.in_(list(update_ids)))
            .values(status="done", done_at=done_at, lease_until=None, payload="")
        )

        async def work(conn: AsyncConnection) -> None:
            await conn.execute(statement)

        await self._db.run("inbox.mark_done", work, urgent=True)

    async def release(self, update_ids: Sequence[int]) -> None:
        """Give updates back unhandled (a stop before they ran): pending again, at once."""
        if not update_ids:
            return
        statement = (
            update(inbox)
            .where(inbox.c.update_id.in_(list(update_ids)), inbox.c.status == "working")
            .values(status="pending", lease_until=None)
        )

        async def work(conn: AsyncConnection) -> None:
            await conn.execute(statement)

        await self._db.run("inbox.release", work)

    async def requeue_working(self) -> int:
        """Every ``working`` update back to ``pending``: for a start on SQLite, where this
        process is the only one on the file, so what is working was left by a dead one."""
        statement = (
            update(inbox)
            .where(inbox.c.status == "working")
            .values(status="pending", lease_until=None)
            .returning(inbox.c.update_id)
        )

        async def work(conn: AsyncConnection) -> int:
            return len((await conn.execute(statement)).all())

        return await self._db.run("inbox.requeue_working", work)

    async def unfinished(self) -> int:
        """How many updates are stored and not done (any process)."""
        statement = select(func.count()).select_from(inbox).where(inbox.c.status.in_(_UNFINISHED))

        async def work(conn: AsyncConnection) -> int:
            return int((await conn.execute(statement)).scalar_one())

        return await self._db.run("inbox.unfinished", work)

    async def webhook_secret(self, generate: Callable[[], str] | None = None) -> str:
        """The webhook's secret token, generated and stored by the first process that asks.

        Every process then reads the same one: Telegram sends one secret to whichever
        process the load balancer picks.
        """
        make = generate or _new_secret
        candidate = make()
        insert = (
            insert_for(self._db.dialect, webhook)
            .values(id=1, secret=candidate, created_at=self._db.now())
            .on_conflict_do_nothing(index_elements=[webhook.c.id])
        )
        read = select(webhook.c.secret).where(webhook.c.id == 1)

        async def work(conn: AsyncConnection) -> str:
            await conn.execute(insert)
            return str((await conn.execute(read)).scalar_one())

        return await self._db.run("inbox.webhook_secret", work)


def _new_secret() -> str:
    # Telegram takes 1-256 characters of A-Z a-z 0-9 _ - (setWebhook's secret_token).
    return secrets.token_urlsafe(48)


def _key(found: InboxUpdate) -> int:
    return found.update_id
