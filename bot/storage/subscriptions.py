"""Daily digest subscriptions: one per chat, and which of them are due."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import RowMapping, bindparam, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.database import Database
from bot.storage.dialect import insert_for
from bot.storage.errors import UnknownChat
from bot.storage.models import Subscription
from bot.storage.tables import chats, subscriptions
from bot.storage.values import check_timezone


def _subscription(row: RowMapping) -> Subscription:
    return Subscription.model_validate(dict(row))


@dataclass(frozen=True)
class DigestClaim:
    """The digest of ``chat_id`` that was due at ``due_at`` is done; next at ``next_digest_at``."""

    chat_id: int
    due_at: dt.datetime
    next_digest_at: dt.datetime


class SubscriptionRepository:
    """Who gets a digest, at what wall-clock time in which zone, and when it is next due.

    Computing ``next_digest_at`` from the time and zone is the digest service's job; this
    stores it and hands out due subscriptions exactly once (``mark_digest_done``).
    """

    def __init__(self, db: Database) -> None:
        self._db = db

    async def subscribe(
        self, chat_id: int, digest_time: dt.time, timezone: str, next_digest_at: dt.datetime
    ) -> Subscription:
        """Subscribe the chat, or move its digest time: there is never a second row.

        Keeps ``send_empty`` and ``last_digest_at`` of an existing subscription. Raises
        ``UnknownChat`` if the chat was never recorded with ``ChatRepository.upsert_seen``.
        """
        check_timezone(timezone)
        if digest_time.tzinfo is not None:
            raise ValueError("digest_time is a wall-clock time in `timezone`, without tzinfo")
        now = self._db.now()
        insert = insert_for(self._db.dialect, subscriptions).values(
            chat_id=chat_id,
            digest_time=digest_time,
            timezone=timezone,
            send_empty=False,
            last_digest_at=None,
            next_digest_at=next_digest_at,
            created_at=now,
            updated_at=now,
        )
        statement = insert.on_conflict_do_update(
            index_elements=[subscriptions.c.chat_id],
            set_={
                "digest_time": insert.excluded.digest_time,
                "timezone": insert.excluded.timezone,
                "next_digest_at": insert.excluded.next_digest_at,
                "updated_at": insert.excluded.updated_at,
            },
        ).returning(*subscriptions.c)

        async def work(conn: AsyncConnection) -> Subscription:
            return _subscription((await conn.execute(statement)).mappings().one())

        try:
            return await self._db.run("subscriptions.subscribe", work)
        except IntegrityError as exc:
            # The only constraint an upsert can break here is the foreign key to chats.
            raise UnknownChat(chat_id) from exc

    async def unsubscribe(self, chat_id: int) -> bool:
        """Stop the digest; False if the chat was not subscribed."""
        statement = delete(subscriptions).where(subscriptions.c.chat_id == chat_id)

        async def work(conn: AsyncConnection) -> bool:
            return (await conn.execute(statement)).rowcount > 0

        return await self._db.run("subscriptions.unsubscribe", work)

    async def get(self, chat_id: int) -> Subscription | None:
        """The chat's subscription, or None."""
        statement = select(subscriptions).where(subscriptions.c.chat_id == chat_id)

        async def work(conn: AsyncConnection) -> Subscription | None:
            row = (await conn.execute(statement)).mappings().one_or_none()
            return None if row is None else _subscription(row)

        return await self._db.run("subscriptions.get", work)

    async def set_send_empty(self, chat_id: int, send_empty: bool) -> bool:
        """Whether a digest with no new items is still sent; False if not subscribed."""
        statement = (
            update(subscriptions)
            .where(subscriptions.c.chat_id == chat_id)
            .values(send_empty=send_empty, updated_at=self._db.now())
        )

        async def work(conn: AsyncConnection) -> bool:
            return (await conn.execute(statement)).rowcount > 0

        return await self._db.run("subscriptions.set_send_empty", work)

    async def due(self, now: dt.datetime, limit: int) -> list[Subscription]:
        """Subscriptions of active chats whose ``next_digest_at`` is at or before ``now``.

        Oldest first. Reading is not claiming: claim each with ``mark_digest_done``.
        """
        statement = (
            select(subscriptions)
            .join(chats, chats.c.chat_id == subscriptions.c.chat_id)
            .where(subscriptions.c.next_digest_at <= now, chats.c.active.is_(True))
            .order_by(subscriptions.c.next_digest_at, subscriptions.c.chat_id)
            .limit(limit)
        )

        async def work(conn: AsyncConnection) -> list[Subscription]:
            rows = (await conn.execute(statement)).mappings().all()
            return [_subscription(row) for row in rows]

        return await self._db.run("subscriptions.due", work)

    async def mark_digest_done(
        self,
        chat_id: int,
        *,
        due_at: dt.datetime,
        sent_at: dt.datetime,
        next_digest_at: dt.datetime,
    ) -> bool:
        """Claim the digest that was due at ``due_at`` and schedule the next one.

        A compare-and-set: it succeeds only while ``next_digest_at`` still equals ``due_at``
        (the value ``due()`` returned), so of two schedulers that read the same due
        subscription exactly one gets True; the other, and any claim made stale by a
        re-subscription in between, gets False and must not send.
        """
        statement = (
            update(subscriptions)
            .where(subscriptions.c.chat_id == chat_id, subscriptions.c.next_digest_at == due_at)
            .values(last_digest_at=sent_at, next_digest_at=next_digest_at)
        )

        async def work(conn: AsyncConnection) -> bool:
            return (await conn.execute(statement)).rowcount == 1

        return await self._db.run("subscriptions.mark_digest_done", work)

    async def mark_digests_done(self, claims: Sequence[DigestClaim], sent_at: dt.datetime) -> int:
        """``mark_digest_done`` for many subscriptions in one transaction (one statement
        executed for each claim, sent to the database together).

        Returns how many claims succeeded when the driver reports it (SQLite does);
        otherwise assumes all did. Each claim is still a compare-and-set on its own row.
        """
        if not claims:
            return 0
        statement = (
            update(subscriptions)
            .where(
                subscriptions.c.chat_id == bindparam("b_chat_id"),
                subscriptions.c.next_digest_at == bindparam("b_due_at"),
            )
            .values(last_digest_at=sent_at, next_digest_at=bindparam("b_next"))
        )
        params = [
            {"b_chat_id": c.chat_id, "b_due_at": c.due_at, "b_next": c.next_digest_at}
            for c in claims
        ]

        async def work(conn: AsyncConnection) -> int:
            result = await conn.execute(statement, params)
            return result.rowcount if result.rowcount >= 0 else len(claims)

        return await self._db.run("subscriptions.mark_digests_done", work)

    async def pull_back_future(
        self,
        now: dt.datetime,
        horizon: dt.timedelta,
        next_due: Callable[[Subscription], dt.datetime],
    ) -> int:
        """Reschedule what a clock that ran fast left in the future; returns how many.

        A ``next_digest_at`` later than ``now + horizon`` (a daily digest is never more than
        a day away) becomes ``next_due(subscription)``; a ``last_digest_at`` after ``now``
        becomes ``now``.
        """
        find = select(subscriptions).where(
            (subscriptions.c.next_digest_at > now + horizon)
            | (subscriptions.c.last_digest_at > now)
        )

        async def work(conn: AsyncConnection) -> int:
            rows = [_subscription(row) for row in (await conn.execute(find)).mappings().all()]
            for sub in rows:
                next_at = sub.next_digest_at
                if next_at > now + horizon:
                    next_at = next_due(sub)
                last = sub.last_digest_at
                if last is not None and last > now:
                    last = now
                await conn.execute(
                    update(subscriptions)
                    .where(subscriptions.c.chat_id == sub.chat_id)
                    .values(next_digest_at=next_at, last_digest_at=last)
                )
            return len(rows)

        return await self._db.run("subscriptions.pull_back_future", work)

    async def list_all(self) -> list[Subscription]:
        """Every subscription, active chat or not, by chat id."""
        statement = select(subscriptions).order_by(subscriptions.c.chat_id)

        async def work(conn: AsyncConnection) -> list[Subscription]:
            rows = (await conn.execute(statement)).mappings().all()
            return [_subscription(row) for row in rows]

        return await self._db.run("subscriptions.list_all", work)

    async def count_active(self) -> int:
        """How many subscriptions belong to chats the bot can still reach."""
        statement = (
            select(func.count())
            .select_from(subscriptions.join(chats, chats.c.chat_id == subscriptions.c.chat_id))
            .where(chats.c.active.is_(True))
        )

        async def work(conn: AsyncConnection) -> int:
            return int((await conn.execute(statement)).scalar_one())

        return await self._db.run("subscriptions.count_active", work)
