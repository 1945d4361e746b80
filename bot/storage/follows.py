"""Phrases a chat follows, to be alerted when a new item mentions them."""

from __future__ import annotations

import re

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.database import Database
from bot.storage.dialect import insert_for
from bot.storage.errors import FollowLimitReached, UnknownChat
from bot.storage.models import Follow
from bot.storage.tables import chats, follows
from bot.storage.values import clean_topic

MAX_PHRASE_LENGTH = 100


def normalize_phrase(phrase: str) -> str:
    """Case-folded with runs of whitespace collapsed: "Climate  Change" → "climate change".

    Control and bidirectional formatting characters are dropped.
    """
    return re.sub(r"\s+", " ", clean_topic(phrase)).strip().casefold()


class FollowRepository:
    """Each chat's followed phrases; a phrase is stored once per chat, normalised."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def follow(self, chat_id: int, phrase: str, *, limit: int | None = None) -> bool:
        """Follow the phrase; False if the chat already follows it.

        Raises ValueError for an empty or over-long phrase, ``UnknownChat`` for a chat
        never recorded with ``ChatRepository.upsert_seen``, and ``FollowLimitReached`` when
        the chat follows ``limit`` phrases already: counted in the same transaction as the
        insert, with the chat's row locked, so rapid concurrent follows cannot pass the cap.
        """
        normalized = normalize_phrase(phrase)
        if not normalized or len(normalized) > MAX_PHRASE_LENGTH:
            raise ValueError(f"a phrase has 1 to {MAX_PHRASE_LENGTH} characters")
        statement = (
            insert_for(self._db.dialect, follows)
            .values(chat_id=chat_id, phrase=normalized, created_at=self._db.now())
            .on_conflict_do_nothing(index_elements=[follows.c.chat_id, follows.c.phrase])
        )

        async def work(conn: AsyncConnection) -> bool:
            if limit is not None:
                # FOR UPDATE on PostgreSQL; SQLite has one writer at a time anyway.
                lock = select(chats.c.chat_id).where(chats.c.chat_id == chat_id).with_for_update()
                if (await conn.execute(lock)).first() is None:
                    raise UnknownChat(chat_id)
                followed = select(func.count()).where(follows.c.chat_id == chat_id)
                already = select(follows.c.phrase).where(
                    follows.c.chat_id == chat_id, follows.c.phrase == normalized
                )
                if (await conn.execute(already)).first() is not None:
                    return False
                if (await conn.execute(followed)).scalar_one() >= limit:
                    raise FollowLimitReached(chat_id, limit)
            return (await conn.execute(statement)).rowcount == 1

        try:
            return await self._db.run("follows.follow", work)
        except IntegrityError as exc:
            # Duplicates are absorbed by ON CONFLICT; what is left is the foreign key.
            raise UnknownChat(chat_id) from exc

    async def unfollow(self, chat_id: int, phrase: str) -> bool:
        """Stop following the phrase; False if the chat did not follow it."""
        statement = delete(follows).where(
            follows.c.chat_id == chat_id, follows.c.phrase == normalize_phrase(phrase)
        )

        async def work(conn: AsyncConnection) -> bool:
            return (await conn.execute(statement)).rowcount > 0

        return await self._db.run("follows.unfollow", work)

    async def list_for_chat(self, chat_id: int) -> list[Follow]:
        """The chat's phrases, alphabetically."""
        statement = (
            select(follows.c.chat_id, follows.c.phrase)
            .where(follows.c.chat_id == chat_id)
            .order_by(follows.c.phrase)
        )

        async def work(conn: AsyncConnection) -> list[Follow]:
            rows = (await conn.execute(statement)).mappings().all()
            return [Follow.model_validate(dict(row)) for row in rows]

        return await self._db.run("follows.list_for_chat", work)

    async def all_follows(self, *, active_only: bool = True) -> dict[int, list[str]]:
        """Every followed phrase grouped by chat id (only reachable chats by default)."""
        statement = select(follows.c.chat_id, follows.c.phrase).order_by(
            follows.c.chat_id, follows.c.phrase
        )
        if active_only:
            statement = statement.join(chats, chats.c.chat_id == follows.c.chat_id).where(
                chats.c.active.is_(True)
            )

        async def work(conn: AsyncConnection) -> dict[int, list[str]]:
            grouped: dict[int, list[str]] = {}
            for chat_id, phrase in (await conn.execute(statement)).all():
                grouped.setdefault(chat_id, []).append(phrase)
            return grouped

        return await self._db.run("follows.all_follows", work)
