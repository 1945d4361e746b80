"""Storage fixtures: a real database per test, SQLite (a file) and PostgreSQL.

``database`` (and ``storage``, ``database_url``) run each test twice: on a fresh SQLite
file in ``tmp_path`` and on PostgreSQL at 127.0.0.1:5432 (trust auth, user postgres or
root, maintenance database ``test``). The run creates its own ``newsbot_test_<hex>``
database and drops it at the end; each test starts from an empty schema there.

Without a server the PostgreSQL cases are skipped with the reason, unless ``CI=true``,
where a missing server fails them: CI must not pass by testing half the code.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from bot.storage import Database, Storage

PG_HOST = os.environ.get("NEWSBOT_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("NEWSBOT_TEST_PG_PORT", "5432"))
PG_USERS = ("postgres", "root")
PG_MAINTENANCE_DB = "test"


@dataclass(frozen=True)
class PostgresServer:
    """A reachable server and the user that got in."""

    host: str
    port: int
    user: str

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://{self.user}@{self.host}:{self.port}/{database}"

    async def connect(self, database: str = PG_MAINTENANCE_DB) -> asyncpg.Connection:
        return await asyncpg.connect(
            host=self.host, port=self.port, user=self.user, database=database, timeout=5
        )

    async def execute(self, sql: str, database: str = PG_MAINTENANCE_DB) -> None:
        connection = await self.connect(database)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()


async def _probe() -> tuple[PostgresServer | None, str]:
    reasons = []
    for user in PG_USERS:
        server = PostgresServer(PG_HOST, PG_PORT, user)
        try:
            connection = await server.connect()
        except (OSError, asyncpg.PostgresError) as exc:
            reasons.append(f"{user}: {exc}")
            continue
        await connection.close()
        return server, ""
    return None, "; ".join(reasons)


@pytest.fixture(scope="session")
def postgres_server() -> PostgresServer:
    """The local PostgreSQL server, or a skip (a failure when CI=true) saying why not."""
    server, reason = asyncio.run(_probe())
    if server is None:
        message = f"no PostgreSQL server at {PG_HOST}:{PG_PORT}: {reason}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true needs PostgreSQL: {message}")
        pytest.skip(message)
    return server


@pytest.fixture(scope="session")
def postgres_run_database(postgres_server: PostgresServer) -> Iterator[str]:
    """This run's own database, created at first use and dropped at the end."""
    name = f"newsbot_test_{uuid.uuid4().hex}"
    asyncio.run(postgres_server.execute(f'CREATE DATABASE "{name}"'))
    try:
        yield name
    finally:
        asyncio.run(postgres_server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def postgres_url(postgres_server: PostgresServer, postgres_run_database: str) -> str:
    """A URL to this run's database with an empty schema: no tables, no migrations."""
    # A connection a previous test leaked would make DROP wait forever; fail instead.
    await postgres_server.execute(
        "SET lock_timeout = '10s'; DROP SCHEMA public CASCADE; CREATE SCHEMA public;",
        database=postgres_run_database,
    )
    return postgres_server.url(postgres_run_database)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite file that does not exist yet, in a directory that does not exist yet."""
    return f"sqlite+aiosqlite:///{tmp_path / 'data' / 'newsbot.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """An empty database's URL, once per backend."""
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    url: str = request.getfixturevalue(name)
    return url


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """An open, migrated, empty database, once per backend; closed after the test."""
    db = await Database.open(database_url)
    try:
        yield db
    finally:
        await db.close()


@pytest.fixture
def storage(database: Database) -> Storage:
    """Every repository over ``database``."""
    return Storage.over(database)
