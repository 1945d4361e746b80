"""Feeds admins follow, their fetch state, and every feed entry ever seen.

Several processes may poll the same database. A feed is fetched by one of them at a
time: ``claim_due`` moves a due feed's ``next_fetch_at`` to the end of a lease in one
conditional UPDATE (``... WHERE next_fetch_at <= now``), which only one transaction can
win on SQLite (one writer) and on PostgreSQL (``SKIP LOCKED`` passes over a row another
claim holds, and a row it committed fails the re-checked WHERE under READ COMMITTED).
``finish`` writes the outcome only while the claim's token is still the feed's, so a
process whose lease ran out cannot overwrite a newer claim. A process that dies
mid-fetch leaves its lease, which expires.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable, Sequence

from pydantic import AwareDatetime, BaseModel, ConfigDict
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.expression import Executable

from bot.storage.database import Database
from bot.storage.dialect import insert_for
from bot.storage.tables import feeds, seen_items

_CHUNK = 500


class Feed(BaseModel):
    """A followed feed and what its last fetches did."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: int
    url: str
    title: str | None
    push: bool
    added_by: int | None
    created_at: AwareDatetime
    etag: str | None
    last_modified: str | None
    next_fetch_at: AwareDatetime
    lease_token: str | None
    last_fetch_at: AwareDatetime | None
    last_success_at: AwareDatetime | None
    last_new_at: AwareDatetime | None
    last_error: str | None
    failures: int
    failing_since: AwareDatetime | None
    reported_down: bool


class FeedOutcome(BaseModel):
    """The columns a finished fetch writes (the poller decides them; see feeds/schedule.py)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    next_fetch_at: AwareDatetime
    last_fetch_at: AwareDatetime
    etag: str | None
    last_modified: str | None
    last_success_at: AwareDatetime | None
    last_new_at: AwareDatetime | None
    last_error: str | None
    failures: int
    failing_since: AwareDatetime | None
    reported_down: bool
    title: str | None


class SeenEntry(BaseModel):
    """A feed entry by its identity hash, and the news item id it became."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    identity: str
    item_id: str


class FeedRepository:
    """Feeds (add, list, remove, claim, finish) and the seen-entries ledger."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def _one(self, operation: str, statement: Executable) -> Feed | None:
        """The one feed row ``statement`` selects or returns, or None."""

        async def work(conn: AsyncConnection) -> Feed | None:
            row = (await conn.execute(statement)).mappings().first()
            return Feed.model_validate(dict(row)) if row is not None else None

        return await self._db.run(operation, work)

    async def add(self, url: str, *, push: bool, added_by: int | None) -> Feed | None:
        """Follow ``url``, due at once; None if it is already followed."""
        now = self._db.now()
        statement = (
            insert_for(self._db.dialect, feeds)
            .values(
                url=url,
                push=push,
                added_by=added_by,
                created_at=now,
                next_fetch_at=now,
                failures=0,
                reported_down=False,
            )
            .on_conflict_do_nothing(index_elements=[feeds.c.url])
            .returning(*feeds.c)
        )

        try:
            return await self._one("feeds.add", statement)
        except IntegrityError:  # pragma: no cover - the conflict clause handles it
            return None

    async def remove(self, feed_id: int) -> Feed | None:
        """Stop following the feed; returns it, or None if it was not followed.

        Its seen entries stay: re-adding the feed does not alert on them again.
        """
        statement = delete(feeds).where(feeds.c.id == feed_id).returning(*feeds.c)

        return await self._one("feeds.remove", statement)

    async def by_url(self, url: str) -> Feed | None:
        statement = select(feeds).where(feeds.c.url == url)

        return await self._one("feeds.by_url", statement)

    async def get(self, feed_id: int) -> Feed | None:
        statement = select(feeds).where(feeds.c.id == feed_id)

        return await self._one("feeds.get", statement)

    async def all(self) -> list[Feed]:
        """Every followed feed, oldest first."""
        statement = select(feeds).order_by(feeds.c.id)

        async def work(conn: AsyncConnection) -> list[Feed]:
            rows = (await conn.execute(statement)).mappings().all()
            return [Feed.model_validate(dict(row)) for row in rows]

        return await self._db.run("feeds.all", work)

    async def claim_due(
        self, now: dt.datetime, lease_until: dt.datetime, limit: int
    ) -> list[Feed]:
        """Claim up to ``limit`` feeds due at ``now`` until ``lease_until``, most overdue first.

        The returned feeds carry this claim's ``lease_token``; no other claim gets them
        before the lease ends or ``finish`` reschedules them.
        """
        if limit < 1:
            return []
        token = secrets.token_hex(16)
        # One statement, so SQLite takes its write lock before reading (a SELECT first would
        # hold a read lock two connections cannot both upgrade). On PostgreSQL SKIP LOCKED
        # passes over rows another claim is taking, and the outer WHERE is re-checked on a
        # row that claim committed, so a feed is never claimed twice.
        due = (
            select(feeds.c.id)
            .where(feeds.c.next_fetch_at <= now)
            .order_by(feeds.c.next_fetch_at, feeds.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        claim = (
            update(feeds)
            .where(feeds.c.id.in_(due.scalar_subquery()), feeds.c.next_fetch_at <= now)
            .values(next_fetch_at=lease_until, lease_token=token)
            .returning(*feeds.c)
        )

        async def work(conn: AsyncConnection) -> list[Feed]:
            rows = (await conn.execute(claim)).mappings().all()
            return sorted((Feed.model_validate(dict(row)) for row in rows), key=lambda f: f.id)

        return await self._db.run("feeds.claim_due", work)

    async def finish(self, feed_id: int, token: str, outcome: FeedOutcome) -> bool:
        """Record a claimed fetch's outcome; False if the claim was lost (lease expired)."""
        statement = (
            update(feeds)
            .where(feeds.c.id == feed_id, feeds.c.lease_token == token)
            .values(**outcome.model_dump(), lease_token=None)
        )

        async def work(conn: AsyncConnection) -> bool:
            return (await conn.execute(statement)).rowcount == 1

        return await self._db.run("feeds.finish", work)

    async def unseen(self, identities: Iterable[str]) -> set[str]:
        """Which of ``identities`` were never recorded as seen."""
        wanted = list(dict.fromkeys(identities))

        async def work(conn: AsyncConnection) -> set[str]:
            seen: set[str] = set()
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start : start + _CHUNK]
                statement = select(seen_items.c.identity).where(seen_items.c.identity.in_(chunk))
                seen.update((await conn.execute(statement)).scalars().all())
            return set(wanted) - seen

        return await self._db.run("feeds.unseen", work) if wanted else set()

    async def mark_seen(
        self, feed_id: int, entries: Sequence[SeenEntry], seen_at: dt.datetime
    ) -> list[str]:
        """Record entries as seen; returns the identities that were not seen before."""
        unique = list({entry.identity: entry for entry in entries}.values())
        if not unique:
            return []

        async def work(conn: AsyncConnection) -> list[str]:
            new: list[str] = []
            for start in range(0, len(unique), _CHUNK):
                chunk = unique[start : start + _CHUNK]
                statement = (
                    insert_for(self._db.dialect, seen_items)
                    .values(
                        [
                            {
                                "identity": e.identity,
                                "feed_id": feed_id,
                                "item_id": e.item_id,
                                "first_seen_at": seen_at,
                            }
                            for e in chunk
                        ]
                    )
                    .on_conflict_do_nothing(index_elements=[seen_items.c.identity])
                    .returning(seen_items.c.identity)
                )
                new.extend((await conn.execute(statement)).scalars().all())
            return new

        return await self._db.run("feeds.mark_seen", work)
