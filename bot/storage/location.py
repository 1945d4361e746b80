"""Where an SQLite database lives on disk, read from its URL, before anything is opened."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError


def sqlite_file(url: str) -> Path | None:
    """The file of an SQLite URL (``sqlite+aiosqlite:///data/newsbot.db``), else None."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def missing_folders(path: Path) -> Path | None:
    """The outermost folder above ``path`` that does not exist yet, if any."""
    missing = None
    for parent in path.parents:
        if parent.exists():
            break
        missing = parent
    return missing
