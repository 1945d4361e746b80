"""Telegram's flood budget shared by every process of the bot: GCRA state per key.

Telegram counts a bot's messages per bot, not per process: about 30 a second overall (or
the paid-broadcast rate), about one a second per private chat, 20 a minute per group. Each
key ("overall", "paid", "c:<chat id>"; "q:<user id>" and "qn:<user id>" for the question
throttle, see ``admit``) holds GCRA's theoretical arrival time (``tat``, Unix
seconds) of its next free slot. Reserving ``count`` slots ``interval`` apart is one
upsert that moves ``tat`` to ``max(tat, now) + count * interval`` and returns it; the
slots are the ``count`` before it. The row lock serialises concurrent reservations, so
two processes never get the same slot. Keys are locked in sorted order: two statements
never wait for each other's rows in opposite orders (no deadlock).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from bot.storage.database import Database
from bot.storage.dialect import insert_for
from bot.storage.tables import send_budget

# A chat whose next slot passed this long ago needs no row: a fresh one is the same.
FORGET_AFTER = 120.0


class SendBudgetRepository:
    """Reserve slots of the shared budget, pause a key after a 429, forget idle chats."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def _greatest(self, a: object, b: object) -> ColumnElement[Any]:
        # SQLite's two-argument max() is a scalar function; PostgreSQL spells it GREATEST.
        return func.greatest(a, b) if self._db.dialect == "postgresql" else func.max(a, b)

    async def reserve(
        self, wanted: Mapping[str, tuple[float, int]], now: float
    ) -> dict[str, float]:
        """For each key, ``count`` slots ``interval`` seconds apart: the first slot's time.

        ``wanted`` maps a key to (interval, count); ``now`` is Unix seconds.
        """
        if not wanted:
            return {}
        keys = sorted(wanted)
        rows = [{"key": k, "tat": now + wanted[k][0] * wanted[k][1]} for k in keys]
        insert = insert_for(self._db.dialect, send_budget).values(rows)
        # excluded.tat - now is this reservation's count * interval.
        statement = insert.on_conflict_do_update(
            index_elements=[send_budget.c.key],
            set_={"tat": self._greatest(send_budget.c.tat, now) + (insert.excluded.tat - now)},
        ).returning(send_budget.c.key, send_budget.c.tat)

        async def work(conn: AsyncConnection) -> dict[str, float]:
            found = {key: float(tat) for key, tat in (await conn.execute(statement)).all()}
            return {k: found[k] - wanted[k][0] * wanted[k][1] for k in keys}

        return await self._db.run("send_budget.reserve", work)

    async def admit(
        self, keys: Sequence[str], interval: float, burst: int, now: float
    ) -> dict[str, float]:
        """One slot of each key now where ``burst`` slots ``interval`` apart allow it: per
        key 0.0 when taken, else the seconds until one would be free (nothing taken then).

        The question throttle's GCRA, shared by every process: ``burst`` at once, then one
        per ``interval``. A refusal moves nothing, so a flood does not push the limit out.
        The keys must differ; they are taken in one statement, in sorted order.
        """
        if not keys:
            return {}
        ordered = sorted(keys)
        insert = insert_for(self._db.dialect, send_budget).values(
            [{"key": k, "tat": now + interval} for k in ordered]
        )
        start = self._greatest(send_budget.c.tat, now)
        statement = insert.on_conflict_do_update(
            index_elements=[send_budget.c.key],
            set_={"tat": start + interval},
            where=start - now <= (burst - 1) * interval,
        ).returning(send_budget.c.key)

        async def work(conn: AsyncConnection) -> dict[str, float]:
            taken = set((await conn.execute(statement)).scalars())
            waits = dict.fromkeys(taken, 0.0)
            refused = [k for k in ordered if k not in taken]
            if refused:
                read = select(send_budget.c.key, send_budget.c.tat).where(
                    send_budget.c.key.in_(refused)
                )
                for key, tat in (await conn.execute(read)).all():
                    waits[key] = max(0.001, float(tat) - now - (burst - 1) * interval)
            return waits

        return await self._db.run("send_budget.admit", work)

    async def pause(self, key: str, until: float) -> None:
        """No slot of ``key`` before ``until`` (Unix seconds): a 429's retry_after."""
        insert = insert_for(self._db.dialect, send_budget).values(key=key, tat=until)
        statement = insert.on_conflict_do_update(
            index_elements=[send_budget.c.key],
            set_={"tat": self._greatest(send_budget.c.tat, until)},
        )

        async def work(conn: AsyncConnection) -> None:
            await conn.execute(statement)

        await self._db.run("send_budget.pause", work)

    async def forget_idle(self, now: float) -> int:
        """Delete the rows of chats and askers whose next slot is long past; how many."""
        statement = delete(send_budget).where(
            or_(send_budget.c.key.like("c:%"), send_budget.c.key.like("q%:%")),
            send_budget.c.tat < now - FORGET_AFTER,
        )

        async def work(conn: AsyncConnection) -> int:
            return (await conn.execute(statement)).rowcount

        return await self._db.run("send_budget.forget_idle", work)

    async def reset(self) -> None:
        """Forget every key (tests and benchmarks start from a full budget)."""

        async def work(conn: AsyncConnection) -> None:
            await conn.execute(delete(send_budget))

        await self._db.run("send_budget.reset", work)
