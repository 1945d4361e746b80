"""Retention: settled outbox rows and old questions are deleted after ``RETENTION_DAYS``.

Without it the outbox grows by about 1.2 KB per delivered message and the question log
by about 150 B per unanswered question, for ever. Deleted in small batches (one short
transaction each) so a prune never holds SQLite's write lock for long.

Never touched: rows still ``pending`` or ``sending``, every row of a broadcast that is
still ``sending`` (its counts and its resume depend on them), subscriptions, follows,
known items and broadcast records (small, and what makes an item "new" only once).
Webhook updates in the inbox are deleted once done and older than the retention (they stay
that long to recognise an update Telegram sends again, which it does for at most 24 hours);
unfinished ones never.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, Table, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.database import Database
from bot.storage.tables import broadcasts, inbox, outbox, questions

BATCH = 2000


@dataclass(frozen=True)
class Pruned:
    """How many rows a prune deleted."""

    outbox: int
    questions: int
    inbox: int = 0


class RetentionRepository:
    """Deletes what is older than the retention, batch by batch."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def prune(self, older_than: dt.datetime) -> Pruned:
        """Delete settled outbox rows created before ``older_than``, and questions asked
        before it (see the module docstring for what is never deleted)."""
        unfinished = select(broadcasts.c.id).where(broadcasts.c.status == "sending")
        settled_ids = (
            select(outbox.c.id)
            .where(
                outbox.c.status.in_(("sent", "failed", "skipped", "cancelled")),
                outbox.c.created_at < older_than,
                or_(outbox.c.broadcast_id.is_(None), outbox.c.broadcast_id.not_in(unfinished)),
            )
            .limit(BATCH)
        )
        old_questions = select(questions.c.id).where(questions.c.asked_at < older_than)
        deleted_outbox = await self._in_batches(
            "retention.outbox", outbox, outbox.c.id, settled_ids
        )
        deleted_questions = await self._in_batches(
            "retention.questions", questions, questions.c.id, old_questions.limit(BATCH)
        )
        done_updates = select(inbox.c.update_id).where(
            inbox.c.status == "done", inbox.c.done_at < older_than
        )
        deleted_inbox = await self._in_batches(
            "retention.inbox", inbox, inbox.c.update_id, done_updates.limit(BATCH)
        )
        return Pruned(deleted_outbox, deleted_questions, deleted_inbox)

    async def _in_batches(
        self, operation: str, table: Table, key: ColumnElement[int], ids: Select[tuple[int]]
    ) -> int:
        total = 0
        while True:

            async def work(conn: AsyncConnection) -> int:
                found = list((await conn.execute(ids)).scalars())
                if found:
                    await conn.execute(delete(table).where(key.in_(found)))
                return len(found)

            count = await self._db.run(operation, work)
            total += count
            if count < BATCH:
                return total
