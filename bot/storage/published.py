"""Items the bot published itself (broadcasts, feed entries), shared by every process.

The operator's knowledge file is never written by the bot: what the bot adds lives here
and is merged with the file at load (see ``bot.knowledge.newsroom``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence

from sqlalchemy import RowMapping, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.database import Database
from bot.storage.dialect import insert_for
from bot.storage.models import PublishedRecord
from bot.storage.tables import published_items


def _record(row: RowMapping) -> PublishedRecord:
    data = dict(row)
    data["tags"] = tuple(json.loads(data["tags"]))
    return PublishedRecord.model_validate(data)


class PublishedItemRepository:
    """Insert-if-absent by item id; read back in publishing order."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(
        self,
        *,
        item_id: str,
        title: str,
        date: dt.date,
        summary: str,
        url: str | None,
        tags: Sequence[str],
        source: str,
    ) -> PublishedRecord:
        """Store the item unless its id is stored already; returns the stored record.

        Idempotent: a retry after a commit of unknown outcome finds the row and returns
        it. The caller compares the returned fields to tell "already published" from
        "another item holds this id".
        """
        values = {
            "item_id": item_id,
            "title": title,
            "date": date,
            "summary": summary,
            "url": url,
            "tags": json.dumps(list(tags), ensure_ascii=False),
            "source": source,
            "published_at": self._db.now(),
        }
        insert = (
            insert_for(self._db.dialect, published_items)
            .values(values)
            .on_conflict_do_nothing(index_elements=[published_items.c.item_id])
        )
        read = select(published_items).where(published_items.c.item_id == item_id)

        async def work(conn: AsyncConnection) -> PublishedRecord:
            await conn.execute(insert)
            return _record((await conn.execute(read)).mappings().one())

        return await self._db.run("published_items.add", work)

    async def since(self, seq: int) -> list[PublishedRecord]:
        """Records with ``seq`` above ``seq``, in publishing order (all of them for 0)."""
        statement = (
            select(published_items)
            .where(published_items.c.seq > seq)
            .order_by(published_items.c.seq)
        )

        async def work(conn: AsyncConnection) -> list[PublishedRecord]:
            rows = (await conn.execute(statement)).mappings().all()
            return [_record(row) for row in rows]

        return await self._db.run("published_items.since", work)
