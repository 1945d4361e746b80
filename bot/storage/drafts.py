"""The guided /broadcast an admin is writing, in the database so any process continues it.

Several processes behind one webhook (or one restarted between two answers) get an admin's
steps in turn: a draft in one process's memory would be lost at the next step. One row per
admin: the step awaited, the fields typed so far, and once the preview is shown, the item
it would send and the reference its buttons carry. ``take_preview`` deletes the row and
returns the item in one statement, so a Send pressed twice (or handled by two processes)
sends once.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict
from sqlalchemy import RowMapping, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.database import Database
from bot.storage.dialect import insert_for
from bot.storage.tables import admin_drafts

DraftStep = Literal["title", "date", "summary", "link", "preview"]


class AdminDraft(BaseModel):
    """One admin's broadcast in progress."""

    model_config = ConfigDict(frozen=True)

    user_id: int
    step: DraftStep
    title: str | None = None
    date: dt.date | None = None
    summary: str | None = None
    url: str | None = None
    preview_ref: str | None = None
    preview: str | None = None  # the item as JSON, once the preview is shown
    updated_at: AwareDatetime


def _draft(row: RowMapping) -> AdminDraft:
    return AdminDraft.model_validate(dict(row))


class DraftRepository:
    """Save, read, drop and take the admins' drafts."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def save(self, draft: AdminDraft) -> None:
        """Write the admin's draft, replacing the one there was."""
        values = draft.model_dump()
        insert = insert_for(self._db.dialect, admin_drafts).values(**values)
        statement = insert.on_conflict_do_update(
            index_elements=[admin_drafts.c.user_id],
            set_={k: v for k, v in values.items() if k != "user_id"},
        )

        async def work(conn: AsyncConnection) -> None:
            await conn.execute(statement)

        await self._db.run("drafts.save", work)

    async def get(self, user_id: int, newer_than: dt.datetime) -> AdminDraft | None:
        """The admin's draft last touched after ``newer_than`` (older ones have expired)."""
        statement = select(admin_drafts).where(
            admin_drafts.c.user_id == user_id, admin_drafts.c.updated_at > newer_than
        )

        async def work(conn: AsyncConnection) -> AdminDraft | None:
            row = (await conn.execute(statement)).mappings().one_or_none()
            return None if row is None else _draft(row)

        return await self._db.run("drafts.get", work)

    async def drop(self, user_id: int) -> bool:
        """Forget the admin's draft; False if there was none."""
        statement = delete(admin_drafts).where(admin_drafts.c.user_id == user_id)

        async def work(conn: AsyncConnection) -> bool:
            return (await conn.execute(statement)).rowcount > 0

        return await self._db.run("drafts.drop", work)

    async def take_preview(
        self, user_id: int, ref: str, newer_than: dt.datetime
    ) -> AdminDraft | None:
        """Delete and return the admin's shown preview whose buttons carry ``ref``: of two
        takers (a double press, two processes) exactly one gets it."""
        statement = (
            delete(admin_drafts)
            .where(
                admin_drafts.c.user_id == user_id,
                admin_drafts.c.step == "preview",
                admin_drafts.c.preview_ref == ref,
                admin_drafts.c.updated_at > newer_than,
            )
            .returning(*admin_drafts.c)
        )

        async def work(conn: AsyncConnection) -> AdminDraft | None:
            row = (await conn.execute(statement)).mappings().one_or_none()
            return None if row is None else _draft(row)

        return await self._db.run("drafts.take_preview", work)
