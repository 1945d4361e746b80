"""Broadcasts: an admin sends one item to every active chat, through the outbox."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from sqlalchemy import RowMapping, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.database import Database
from bot.storage.models import Broadcast
from bot.storage.tables import broadcasts


def _broadcast(row: RowMapping) -> Broadcast:
    return Broadcast.model_validate(dict(row))


class BroadcastRepository:
    """The record of each broadcast; its messages are outbox rows with its ``broadcast_id``."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(self, item_id: str, created_by: int, total: int) -> Broadcast:
        """Start a broadcast of ``item_id`` to ``total`` chats, in status ``sending``.

        Not idempotent: if the commit fails with its outcome unknown, a retry can leave a
        second record. Enqueue its messages with dedupe keys naming the item, not the
        broadcast id, so such a twin never sends anything twice.
        """
        statement = (
            broadcasts.insert()
            .values(
                item_id=item_id,
                created_by=created_by,
                created_at=self._db.now(),
                status="sending",
                total=total,
                finished_at=None,
            )
            .returning(*broadcasts.c)
        )

        async def work(conn: AsyncConnection) -> Broadcast:
            return _broadcast((await conn.execute(statement)).mappings().one())

        return await self._db.run("broadcasts.create", work)

    async def finish(
        self,
        broadcast_id: int,
        finished_at: dt.datetime,
        status: Literal["done", "cancelled"] = "done",
    ) -> Broadcast | None:
        """Close a ``sending`` broadcast as done or cancelled; None if none is sending.

        A broadcast already finished keeps its first outcome and time.
        """
        statement = (
            update(broadcasts)
            .where(broadcasts.c.id == broadcast_id, broadcasts.c.status == "sending")
            .values(status=status, finished_at=finished_at)
            .returning(*broadcasts.c)
        )

        async def work(conn: AsyncConnection) -> Broadcast | None:
            row = (await conn.execute(statement)).mappings().one_or_none()
            return None if row is None else _broadcast(row)

        return await self._db.run("broadcasts.finish", work)

    async def get(self, broadcast_id: int) -> Broadcast | None:
        """One broadcast, or None."""
        statement = select(broadcasts).where(broadcasts.c.id == broadcast_id)

        async def work(conn: AsyncConnection) -> Broadcast | None:
            row = (await conn.execute(statement)).mappings().one_or_none()
            return None if row is None else _broadcast(row)

        return await self._db.run("broadcasts.get", work)

    async def latest(self) -> Broadcast | None:
        """The most recently created broadcast, or None."""
        statement = select(broadcasts).order_by(broadcasts.c.id.desc()).limit(1)

        async def work(conn: AsyncConnection) -> Broadcast | None:
            row = (await conn.execute(statement)).mappings().one_or_none()
            return None if row is None else _broadcast(row)

        return await self._db.run("broadcasts.latest", work)

    async def unfinished(self) -> list[Broadcast]:
        """Broadcasts still ``sending`` (to resume after a restart), oldest first."""
        statement = (
            select(broadcasts).where(broadcasts.c.status == "sending").order_by(broadcasts.c.id)
        )

        async def work(conn: AsyncConnection) -> list[Broadcast]:
            rows = (await conn.execute(statement)).mappings().all()
            return [_broadcast(row) for row in rows]

        return await self._db.run("broadcasts.unfinished", work)

    async def pull_back_future(self, now: dt.datetime) -> int:
        """Broadcasts "created" after ``now`` (a clock that ran fast) were created at ``now``,
        so their progress does not show 0 msg/s until the clock catches up."""
        statement = update(broadcasts).where(broadcasts.c.created_at > now).values(created_at=now)

        async def work(conn: AsyncConnection) -> int:
            return (await conn.execute(statement)).rowcount

        return await self._db.run("broadcasts.pull_back_future", work)
