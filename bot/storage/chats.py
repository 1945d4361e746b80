"""Chats the bot has seen, and whether it can still reach them."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.database import Database
from bot.storage.dialect import insert_for
from bot.storage.models import Chat, ChatCounts
from bot.storage.tables import chats


class ChatRepository:
    """Records every chat that talks to the bot; marks the ones that blocked or left it."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def upsert_seen(
        self, chat_id: int, user_id: int | None, chat_type: str, first_name: str | None
    ) -> Chat:
        """Record that the chat talked to the bot: creates it, or refreshes and reactivates it."""
        now = self._db.now()
        insert = insert_for(self._db.dialect, chats).values(
            chat_id=chat_id,
            user_id=user_id,
            chat_type=chat_type,
            first_name=first_name,
            active=True,
            inactive_reason=None,
            created_at=now,
            last_seen_at=now,
        )
        statement = insert.on_conflict_do_update(
            index_elements=[chats.c.chat_id],
            set_={
                "user_id": insert.excluded.user_id,
                "chat_type": insert.excluded.chat_type,
                "first_name": insert.excluded.first_name,
                "active": True,
                "inactive_reason": None,
                "last_seen_at": insert.excluded.last_seen_at,
            },
        ).returning(*chats.c)

        async def work(conn: AsyncConnection) -> Chat:
            row = (await conn.execute(statement)).mappings().one()
            return Chat.model_validate(dict(row))

        return await self._db.run("chats.upsert_seen", work)

    async def mark_inactive(self, chat_id: int, reason: str) -> bool:
        """The bot can no longer reach the chat (blocked, kicked, deleted); False if unknown."""
        statement = (
            update(chats)
            .where(chats.c.chat_id == chat_id)
            .values(active=False, inactive_reason=reason)
        )

        async def work(conn: AsyncConnection) -> bool:
            return (await conn.execute(statement)).rowcount > 0

        return await self._db.run("chats.mark_inactive", work)

    async def get(self, chat_id: int) -> Chat | None:
        """The chat, or None if the bot has never seen it."""
        statement = select(chats).where(chats.c.chat_id == chat_id)

        async def work(conn: AsyncConnection) -> Chat | None:
            row = (await conn.execute(statement)).mappings().one_or_none()
            return None if row is None else Chat.model_validate(dict(row))

        return await self._db.run("chats.get", work)

    async def counts(self) -> ChatCounts:
        """How many chats are active and inactive."""
        statement = select(chats.c.active, func.count()).group_by(chats.c.active)

        async def work(conn: AsyncConnection) -> ChatCounts:
            by_active = {bool(active): n for active, n in (await conn.execute(statement)).all()}
            return ChatCounts(active=by_active.get(True, 0), inactive=by_active.get(False, 0))

        return await self._db.run("chats.counts", work)
