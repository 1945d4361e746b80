"""When the bot first learned of each news item, so digests send only what is new."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.database import Database
from bot.storage.dialect import insert_for
from bot.storage.models import KnownItem
from bot.storage.tables import known_items

# Rows per INSERT: far below SQLite's and asyncpg's bound-parameter limits (32766, 32767).
_CHUNK = 500


class KnownItemRepository:
    """Item ids with the moment they first became known; re-recording changes nothing."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def record_many(self, item_ids: Iterable[str], seen_at: dt.datetime) -> list[str]:
        """Record the ids not yet known as first seen at ``seen_at``; returns those, in order.

        If a commit fails in a way that leaves its outcome unknown and the retry finds the
        ids already recorded, they are not returned again: "new" is reported at most once.
        """
        unique = list(dict.fromkeys(item_ids))
        if not unique:
            return []

        async def work(conn: AsyncConnection) -> list[str]:
            candidates = unique
            if len(unique) > _CHUNK:
                # A start with the whole knowledge: nearly every id is known already, and one
                # read of the ids (an index scan) is far cheaper than inserting them all again
                # (100,000 items: 2.5 s of INSERTs at every start). The INSERT below still
                # decides, so an id recorded meanwhile by another process is not new twice.
                known = set((await conn.execute(select(known_items.c.item_id))).scalars())
                candidates = [i for i in unique if i not in known]
            new: set[str] = set()
            for start in range(0, len(candidates), _CHUNK):
                chunk = candidates[start : start + _CHUNK]
                statement = (
                    insert_for(self._db.dialect, known_items)
                    .values([{"item_id": i, "first_seen_at": seen_at} for i in chunk])
                    .on_conflict_do_nothing(index_elements=[known_items.c.item_id])
                    .returning(known_items.c.item_id)
                )
                new.update((await conn.execute(statement)).scalars().all())
            return [item_id for item_id in unique if item_id in new]

        return await self._db.run("known_items.record_many", work)

    async def known_since(
        self, since: dt.datetime, until: dt.datetime | None = None
    ) -> list[KnownItem]:
        """Items first seen in the window ``(since, until]``, oldest first.

        The window is open at ``since`` and closed at ``until`` so consecutive digests,
        each from the previous digest's ``until`` to its own, neither repeat nor skip.
        """
        statement = select(known_items).where(known_items.c.first_seen_at > since)
        if until is not None:
            statement = statement.where(known_items.c.first_seen_at <= until)
        statement = statement.order_by(known_items.c.first_seen_at, known_items.c.item_id)

        async def work(conn: AsyncConnection) -> list[KnownItem]:
            rows = (await conn.execute(statement)).mappings().all()
            return [KnownItem.model_validate(dict(row)) for row in rows]

        return await self._db.run("known_items.known_since", work)

    async def pull_back_future(self, now: dt.datetime) -> int:
        """Items "first seen" after ``now`` (a clock that ran fast) are seen at ``now``.

        Otherwise no digest would include them until the clock reached that moment.
        """
        statement = (
            update(known_items).where(known_items.c.first_seen_at > now).values(first_seen_at=now)
        )

        async def work(conn: AsyncConnection) -> int:
            return (await conn.execute(statement)).rowcount

        return await self._db.run("known_items.pull_back_future", work)
