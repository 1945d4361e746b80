"""Who a broadcast reaches, and how each of its messages ended."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.database import Database
from bot.storage.tables import chats, outbox, subscriptions


class AudienceRepository:
    """Read-only questions about subscribers and a broadcast's outcomes."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def active_subscriber_ids(self) -> list[int]:
        """Chat ids of every subscription whose chat can still be reached, ascending."""
        statement = (
            select(subscriptions.c.chat_id)
            .join(chats, chats.c.chat_id == subscriptions.c.chat_id)
            .where(chats.c.active.is_(True))
            .order_by(subscriptions.c.chat_id)
        )

        async def work(conn: AsyncConnection) -> list[int]:
            return [int(chat_id) for chat_id in (await conn.execute(statement)).scalars()]

        return await self._db.run("audience.active_subscriber_ids", work)

    async def failure_reasons(self, broadcast_id: int) -> dict[str, int]:
        """Failed or skipped messages of a broadcast, counted by their recorded reason."""
        statement = (
            select(outbox.c.last_error, func.count())
            .where(
                outbox.c.broadcast_id == broadcast_id,
                outbox.c.status.in_(("failed", "skipped")),
            )
            .group_by(outbox.c.last_error)
        )

        async def work(conn: AsyncConnection) -> dict[str, int]:
            rows = (await conn.execute(statement)).all()
            return {str(reason or "unknown"): int(count) for reason, count in rows}

        return await self._db.run("audience.failure_reasons", work)
