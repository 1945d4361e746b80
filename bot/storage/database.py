"""The database: one engine, migrated at open, and a bounded retry around every transaction.

``Database.open(url)`` works for SQLite (``sqlite+aiosqlite:///data/newsbot.db``, the
default; the parent directory is created) and PostgreSQL (``postgresql+asyncpg://...``)
with no code change. Repositories do their work through ``Database.run``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, InvalidRequestError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from bot.storage import migrate
from bot.storage.errors import DatabaseGone, MigrationError, StorageError, StorageUnavailable
from bot.storage.retry import RetryPolicy, transient_reason

log = logging.getLogger(__name__)

T = TypeVar("T")
Clock = Callable[[], dt.datetime]

SQLITE_BUSY_TIMEOUT_MS = 5000
SUPPORTED_BACKENDS = ("sqlite", "postgresql")
EXAMPLE_URLS = "sqlite+aiosqlite:///data/newsbot.db or postgresql+asyncpg://user:pw@host/db"


def utc_now() -> dt.datetime:
    """The current time, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


def _sqlite_file(url: URL) -> Path | None:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _create_engine(url: URL) -> AsyncEngine:
    if url.get_backend_name() == "sqlite":
        path = _sqlite_file(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url)
        _configure_sqlite(engine)
        return engine
    # pre_ping replaces a connection the server dropped (restart, idle timeout) at checkout,
    # instead of failing the first statement that uses it.
    connect_args = {"timeout": 10} if url.get_driver_name() == "asyncpg" else {}
    return create_async_engine(url, pool_pre_ping=True, connect_args=connect_args)


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take BEGIN away from the sqlite3 driver, which skips it before SELECT and DDL, so
        # transactions (and migrations) are real: SQLAlchemy's documented recipe,
        # https://docs.sqlalchemy.org/en/20/dialects/sqlite.html#sqlite-transactions
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # WAL: readers do not block the writer, nor the writer readers.
        cursor.execute("PRAGMA journal_mode=WAL")
        # In WAL mode NORMAL is durable against a killed process (only power loss can undo
        # the last commits), and a commit skips its fsync: the window between Telegram
        # accepting a message and our recording it stays as short as it can be.
        # https://www.sqlite.org/pragma.html#pragma_synchronous
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Wait for another connection's write lock instead of failing at once.
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN")


# The urgent lane's own connection waits at most this long for another process's write
# lock, because it blocks the event loop while it waits; then the ordinary path is taken.
URGENT_BUSY_TIMEOUT_MS = 20


def _urgent_engine(path: Path) -> Engine:
    """A synchronous SQLite engine on the same file, for ``run_urgent``.

    One pooled connection, configured like the async engine's (WAL, NORMAL, foreign keys,
    real BEGIN), with a short busy timeout.
    """
    engine = create_engine(f"sqlite:///{path}", poolclass=StaticPool)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={URGENT_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN")

    return engine


class _Turns:
    """SQLite's one writer, taken in order, with a lane that goes first.

    An ``urgent`` transaction (recording that Telegram accepted a message) is let in
    before every ordinary one waiting: until it commits, a kill sends that message again,
    so it must not queue behind claims and other bookkeeping.
    """

    def __init__(self) -> None:
        self._held = False
        self._urgent: collections.deque[asyncio.Future[None]] = collections.deque()
        self._normal: collections.deque[asyncio.Future[None]] = collections.deque()

    @contextlib.asynccontextmanager
    async def turn(self, urgent: bool) -> AsyncIterator[None]:
        if self._held or self._urgent or self._normal:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            (self._urgent if urgent else self._normal).append(waiter)
            try:
                await waiter
            except BaseException:
                if waiter.done() and not waiter.cancelled():
                    self._release()  # handed the turn just as it was cancelled: pass it on
                else:
                    with contextlib.suppress(ValueError):
                        (self._urgent if urgent else self._normal).remove(waiter)
                raise
        else:
            self._held = True
        try:
            yield
        finally:
            self._release()

    def _release(self) -> None:
        for queue in (self._urgent, self._normal):
            while queue:
                waiter = queue.popleft()
                if not waiter.done():
                    waiter.set_result(None)  # the turn passes on: still held
                    return
        self._held = False


class Database:
    """An open database at the newest schema. Make one with ``await Database.open(url)``."""

    def __init__(
        self, engine: AsyncEngine, *, clock: Clock, retry: RetryPolicy, display_url: str
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._retry = retry
        self.display_url = display_url
        self.dialect: str = engine.dialect.name
        self._sqlite_turns = _Turns()
        self._file: Path | None = None
        self._urgent: Engine | None = None
        self._identity: tuple[int, int] | None = None
        self._gone: str | None = None  # why the file is unusable, logged once

    @classmethod
    async def open(
        cls, url: str, *, clock: Clock = utc_now, retry: RetryPolicy | None = None
    ) -> Database:
        """Connect and run pending migrations; retries a database that is not up yet."""
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise StorageError(f"not a database URL: use {EXAMPLE_URLS}") from exc
        display_url = parsed.render_as_string(hide_password=True)
        if parsed.get_backend_name() not in SUPPORTED_BACKENDS:
            raise StorageError(f"unsupported database {display_url}: use {EXAMPLE_URLS}")
        try:
            engine = _create_engine(parsed)
        except (ArgumentError, ImportError, InvalidRequestError) as exc:
            # e.g. "postgresql://" without "+asyncpg": a sync driver, or none installed.
            raise StorageError(f"cannot use {display_url}: {exc}; use {EXAMPLE_URLS}") from exc
        db = cls(engine, clock=clock, retry=retry or RetryPolicy(), display_url=display_url)
        if parsed.get_backend_name() == "sqlite":
            db._file = _sqlite_file(parsed)
            if db._file is not None:
                db._urgent = _urgent_engine(db._file)
        try:
            await db.run("migrate", migrate.upgrade)
            db._remember_file()
        except StorageUnavailable:
            await db.close()
            raise
        except Exception as exc:
            await db.close()
            raise MigrationError(f"migrating {db.display_url} failed: {exc}") from exc
        log.info("storage: %s at schema %s", db.display_url, migrate.head_revision())
        return db

    def _remember_file(self) -> None:
        if self._file is not None:
            info = os.stat(self._file)
            self._identity = (info.st_dev, info.st_ino)

    def _check_file(self, operation: str) -> None:
        """Refuse to work on an SQLite file that was deleted, replaced or made read-only.

        SQLite keeps writing to a deleted file through its open descriptor, and every write
        is gone at the next start; a read-only file fails each write. One ``stat`` per
        transaction (microseconds) notices either before anything is claimed as saved.
        """
        if self._file is None or self._identity is None:
            return
        try:
            info = os.stat(self._file)
        except FileNotFoundError:
            reason = f"the database file {self._file} was deleted"
        else:
            if (info.st_dev, info.st_ino) != self._identity:
                reason = f"the database file {self._file} was replaced by another file"
            elif not os.access(self._file, os.W_OK):
                reason = f"the database file {self._file} is read-only"
            else:
                if self._gone is not None:
                    log.warning("storage: the database file is usable again")
                self._gone = None
                return
        self._refuse(operation, reason)

    def _refuse(self, operation: str, reason: str) -> None:
        if self._gone != reason:
            self._gone = reason
            log.error("storage: %s; nothing is saved until it is back (then restart)", reason)
        raise DatabaseGone(operation, reason)

    def _one_writer(self, urgent: bool) -> contextlib.AbstractAsyncContextManager[object]:
        """SQLite has one writer: transactions of this process take turns here, in order
        (urgent ones first), instead of waiting on the file lock across event-loop turns
        until busy_timeout runs out under load. PostgreSQL runs them concurrently."""
        if self.dialect == "sqlite":
            return self._sqlite_turns.turn(urgent)
        return contextlib.nullcontext()

    async def close(self) -> None:
        """Close every pooled connection. The database stays on disk or on the server."""
        if self._urgent is not None:
            self._urgent.dispose()
        await self._engine.dispose()

    async def run_urgent(self, operation: str, work: Callable[[Connection], None]) -> None:
        """Run a tiny write at once: for recording that Telegram accepted a message.

        Until that commits, a kill sends the message again, so it must not wait behind
        other transactions nor hop to a driver thread and back three times (each hop waits
        for a turn of a busy event loop). On SQLite it takes the writers' turn first and
        runs on its own synchronous connection, blocking the loop for the fraction of a
        millisecond a one-row UPDATE and commit take (WAL, no fsync). If another process
        holds the write lock, or on PostgreSQL, it is an ordinary urgent ``run``.
        """
        if self._urgent is not None:
            self._check_file(operation)
            async with self._sqlite_turns.turn(urgent=True):
                try:
                    with self._urgent.begin() as connection:
                        work(connection)
                    return
                except OperationalError as exc:
                    if "locked" not in str(exc.orig).lower():
                        raise
                    log.info("storage %s: another process writes; taking the queue", operation)

        async def queued(conn: AsyncConnection) -> None:
            await conn.run_sync(work)

        await self.run(operation, queued, urgent=True)

    def now(self) -> dt.datetime:
        """The injected clock: timezone-aware UTC."""
        return self._clock()

    async def schema_revision(self) -> str | None:
        """The database's migration revision (equals ``migrate.head_revision()`` once open)."""
        return await self.run("schema_revision", migrate.current_revision)

    async def run(
        self,
        operation: str,
        work: Callable[[AsyncConnection], Awaitable[T]],
        *,
        urgent: bool = False,
    ) -> T:
        """Run ``work`` in one transaction, retrying transient failures a bounded number of times.

        ``work`` may run more than once, so it should be safe to repeat: the writes in
        this package are upserts, inserts-if-absent and guarded status changes, so a
        repeat after a failed COMMIT (outcome unknown) finds the work done. The exceptions
        (logging a question, creating a broadcast record) say so in their docstrings.
        Raises ``StorageUnavailable`` when the last try fails transiently; any other error
        is raised at once.
        """
        attempts = self._retry.attempts
        for attempt in range(1, attempts + 1):
            self._check_file(operation)
            try:
                async with self._one_writer(urgent), self._engine.begin() as connection:
                    return await work(connection)
            except Exception as exc:
                if self.dialect == "sqlite" and "readonly" in str(exc).lower():
                    self._refuse(operation, f"the database {self.display_url} is read-only")
                reason = transient_reason(exc, self.dialect)
                if reason is None:
                    raise
                if attempt == attempts:
                    log.error(
                        "storage %s: %s; giving up after %d attempts: %s",
                        operation,
                        reason,
                        attempts,
                        exc,
                    )
                    raise StorageUnavailable(operation, reason, attempts) from exc
                delay = self._retry.delay(attempt)
                log.warning(
                    "storage %s: %s (attempt %d/%d), retrying in %.2fs: %s",
                    operation,
                    reason,
                    attempt,
                    attempts,
                    delay,
                    exc,
                )
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover - attempts >= 1
