"""Questions users asked, kept so an admin can see what the bot could not answer."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.database import Database
from bot.storage.models import QuestionRecord, UnansweredQuestion
from bot.storage.tables import questions
from bot.storage.values import clean_text

_MAX_NORMALIZED = 500


def normalize_question(text: str) -> str:
    """Case-folded, whitespace collapsed, end punctuation dropped: "Who won?" → "who won"."""
    collapsed = re.sub(r"\s+", " ", clean_text(text)).strip().casefold()
    return collapsed.strip(" ?!.,;:¿¡…\"'«»")[:_MAX_NORMALIZED]


@dataclass(frozen=True)
class NewQuestion:
    """A question to log."""

    chat_id: int
    text: str
    answered: bool
    top_score: float | None
    asked_at: dt.datetime


class QuestionRepository:
    """A log of questions and whether each was answered."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(
        self,
        chat_id: int,
        text: str,
        *,
        answered: bool,
        top_score: float | None,
        asked_at: dt.datetime | None = None,
    ) -> QuestionRecord:
        """Log a question; ``top_score`` is the best match's score, None if nothing matched."""
        statement = (
            questions.insert()
            .values(
                chat_id=chat_id,
                text=clean_text(text),
                normalized=normalize_question(text),
                answered=answered,
                top_score=top_score,
                asked_at=asked_at or self._db.now(),
            )
            .returning(
                questions.c.id,
                questions.c.chat_id,
                questions.c.text,
                questions.c.answered,
                questions.c.top_score,
                questions.c.asked_at,
            )
        )

        async def work(conn: AsyncConnection) -> QuestionRecord:
            row = (await conn.execute(statement)).mappings().one()
            return QuestionRecord.model_validate(dict(row))

        return await self._db.run("questions.record", work)

    async def record_many(self, records: Sequence[NewQuestion]) -> int:
        """Log many questions in one transaction; returns how many."""
        rows = [
            {
                "chat_id": r.chat_id,
                "text": clean_text(r.text),
                "normalized": normalize_question(r.text),
                "answered": r.answered,
                "top_score": r.top_score,
                "asked_at": r.asked_at,
            }
            for r in records
        ]
        if not rows:
            return 0

        async def work(conn: AsyncConnection) -> int:
            await conn.execute(questions.insert(), rows)
            return len(rows)

        return await self._db.run("questions.record_many", work)

    async def unanswered_since(self, since: dt.datetime, limit: int) -> list[UnansweredQuestion]:
        """Unanswered questions asked at or after ``since``, grouped by normalised text.

        Most asked first, then most recent. ``text`` is one of the group's original wordings.
        """
        count = func.count().label("count")
        last_asked_at = func.max(questions.c.asked_at).label("last_asked_at")
        statement = (
            select(
                questions.c.normalized,
                func.min(questions.c.text).label("text"),
                count,
                last_asked_at,
            )
            .where(questions.c.answered.is_(False), questions.c.asked_at >= since)
            .group_by(questions.c.normalized)
            .order_by(count.desc(), last_asked_at.desc(), questions.c.normalized)
            .limit(limit)
        )

        async def work(conn: AsyncConnection) -> list[UnansweredQuestion]:
            rows = (await conn.execute(statement)).mappings().all()
            return [UnansweredQuestion.model_validate(dict(row)) for row in rows]

        return await self._db.run("questions.unanswered_since", work)
