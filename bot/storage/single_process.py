"""One ``newsbot run`` per SQLite file: an OS lock held for the life of the process.

SQLite has one writer and no way for two processes to share the outbox's leases, the send
budget or the inbox fairly, so a second bot on the same file is refused at start.
PostgreSQL is the engine for several processes. The lock is ``fcntl.flock`` on a file
beside the database: the kernel drops it when the process ends, however it ends (a
SIGKILL or a power cut leaves no stale lock to clean up by hand).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from bot.errors import ConfigError
from bot.storage.location import sqlite_file

MOVE_TO_POSTGRES = "several processes need PostgreSQL: set DATABASE_URL=postgresql://user@host/db"


class ProcessLock:
    """Held until ``release`` or the end of the process."""

    def __init__(self, path: Path, descriptor: int) -> None:
        self.path = path
        self._descriptor: int | None = descriptor

    def release(self) -> None:
        if self._descriptor is not None:
            os.close(self._descriptor)  # closing the descriptor drops the flock
            self._descriptor = None


def lock_path(database: Path) -> Path:
    """The lock file beside the database (``newsbot.db`` → ``newsbot.db.lock``)."""
    return database.with_name(database.name + ".lock")


def hold_sqlite_database(url: str) -> ProcessLock | None:
    """Take the SQLite file of ``url`` for this process; None for PostgreSQL. Call it once
    the database is open (its folder exists).

    Raises ``ConfigError`` (one line: why, and how to move to PostgreSQL) when another
    process holds it.
    """
    database = sqlite_file(url)
    if database is None:
        return None
    path = lock_path(database.resolve())
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        # The database opened, so its folder is there: a read-only folder, say.
        raise ConfigError(
            f"DATABASE_URL: cannot create the lock file {path}: {exc.strerror or exc}"
        ) from None
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _read_holder(descriptor)
        os.close(descriptor)
        raise ConfigError(
            f"DATABASE_URL: another newsbot{holder} is running on {database}; an SQLite "
            f"file serves one process ({MOVE_TO_POSTGRES})"
        ) from None
    os.ftruncate(descriptor, 0)
    os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)
    return ProcessLock(path, descriptor)


def _read_holder(descriptor: int) -> str:
    """`` (pid 1234)`` from the lock file, when the holder wrote it."""
    try:
        text = os.pread(descriptor, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return ""
    return f" (pid {text})" if text.isdigit() else ""
