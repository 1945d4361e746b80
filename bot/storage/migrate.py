"""Bring the schema to the newest migration, programmatically, at start-up.

The migration scripts ship inside the package (``bot/migrations``); the Alembic
``Config`` is built here, so no ``alembic.ini`` is needed. To write a new migration
against a development database::

    from alembic import command
    from bot.storage.migrate import alembic_config
    command.revision(alembic_config("sqlite+aiosqlite:///data/newsbot.db"),
                     message="add x", autogenerate=True, rev_id="0002")

Migrations only ever add: a release must never lose an existing subscriber.

A database already at ``HEAD`` (every start but the first of a release) is read with one
query and Alembic is not imported at all: its import took 0.2 s of the bot's start-up.
``HEAD`` is the newest script's revision; a test checks it is Alembic's head.
"""

from __future__ import annotations

import asyncio
import weakref
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import AsyncConnection

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
HEAD = "0007"
"""The newest migration in ``MIGRATIONS_DIR``: bump it with every new script."""
VERSION_TABLE = "alembic_version"

# Alembic keeps the running migration's context in module globals (``alembic.context``,
# ``alembic.op``), so two migrations interleaved on one event loop clobber each other.
# One at a time per loop; other processes are kept out by the database's own locks.
_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config for the packaged migrations; ``url`` only for the Alembic CLI path."""
    from alembic.config import Config

    config = Config()
    # ConfigParser interpolation: a literal % must be doubled.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str:
    """The newest migration this release knows."""
    return HEAD


def scripts_head() -> str | None:
    """The head of the migration scripts, as Alembic reads them (``HEAD`` must be it)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _at_head(connection: Connection) -> bool:
    if not inspect(connection).has_table(VERSION_TABLE):
        return False
    versions = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars()
    return list(versions) == [HEAD]


def _upgrade(connection: Connection) -> None:
    if _at_head(connection):
        return
    from alembic import command

    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def _current(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


async def upgrade(connection: AsyncConnection) -> None:
    """Run every migration newer than the database's revision, in the caller's transaction."""
    lock = _locks.setdefault(asyncio.get_running_loop(), asyncio.Lock())
    async with lock:
        await connection.run_sync(_upgrade)


async def current_revision(connection: AsyncConnection) -> str | None:
    """The database's revision, or None before the first migration."""
    return await connection.run_sync(_current)
