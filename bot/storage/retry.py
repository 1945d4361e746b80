"""Which database errors are worth retrying, and how long to wait between tries.

Transient: SQLite's "database is locked" (another writer held the lock past the busy
timeout), a PostgreSQL connection that dropped or could not be made, and PostgreSQL
serialization failures and deadlocks. Everything else is a bug or bad data and is
raised at once: retrying it would only hide the error for a while.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

# SQLSTATE classes and codes: https://www.postgresql.org/docs/current/errcodes-appendix.html
_PG_CONFLICT = {"40001": "serialization failure", "40P01": "deadlock"}
_PG_SHUTDOWN = {"57P01", "57P02", "57P03"}  # admin shutdown, crash shutdown, cannot connect now


@dataclass(frozen=True)
class RetryPolicy:
    """A bounded retry: ``attempts`` tries in all, with jittered exponential backoff."""

    attempts: int = 4
    first_delay: float = 0.05
    max_delay: float = 2.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"attempts must be at least 1, got {self.attempts}")

    def delay(self, failed_attempt: int) -> float:
        """Seconds to wait after the ``failed_attempt``-th try (1-based)."""
        ceiling = min(self.max_delay, self.first_delay * 2.0 ** (failed_attempt - 1))
        # Jitter keeps two processes that collided from colliding again in lockstep.
        return ceiling * (0.5 + random.random() / 2)


def transient_reason(exc: BaseException, dialect: str) -> str | None:
    """A short reason if ``exc`` is transient and worth retrying, else None."""
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return "connection lost"
        sqlstate = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        if isinstance(sqlstate, str):
            if sqlstate in _PG_CONFLICT:
                return _PG_CONFLICT[sqlstate]
            if sqlstate.startswith("08") or sqlstate in _PG_SHUTDOWN:
                return "connection lost"
        if isinstance(exc, OperationalError):
            message = str(exc.orig).lower()
            if "locked" in message or "busy" in message:
                return "database locked"
            # SQLite's other OperationalErrors ("no such table", "unable to open database
            # file") are not transient; PostgreSQL's are about the server or the network.
            return None if dialect == "sqlite" else "database unavailable"
        if isinstance(exc, InterfaceError):
            return "connection lost"
        return None
    # asyncpg raises OSError (refused, reset; TimeoutError is one too) when connecting,
    # untranslated by SQLAlchemy.
    if isinstance(exc, OSError):
        return "database unreachable"
    return None
