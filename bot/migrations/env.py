"""Alembic environment: run the packaged migrations on the connection we are handed.

``bot.storage.migrate`` passes its connection in ``config.attributes["connection"]``,
inside a transaction it commits. Without one (the Alembic CLI path, e.g. autogenerate),
an engine is made from ``sqlalchemy.url``.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection, pool
from sqlalchemy.ext.asyncio import async_engine_from_config

from bot.storage.tables import metadata

# Any constant shared by every newsbot process: the id of the migration advisory lock.
_PG_MIGRATION_LOCK = 0x6E657773626F74


def _run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Two processes starting together would both try to create the tables; the
            # second waits here, then finds the schema at head. Released at commit.
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})")
        context.run_migrations()


async def _run_with_own_engine() -> None:
    engine = async_engine_from_config(
        context.config.get_section(context.config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_run_migrations)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run them against a database")

_connection = context.config.attributes.get("connection")
if isinstance(_connection, Connection):
    _run_migrations(_connection)
else:
    asyncio.run(_run_with_own_engine())
