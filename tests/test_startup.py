"""Start-up stories: whatever stops the bot from starting is one line that names the problem.

Each story starts ``python -m bot run`` as a real process, as a newcomer would, against the
local Bot API server (or against nothing at all), and reads what it printed.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import sys
from pathlib import Path

import pytest

from bot.localapi import TEST_TOKEN, LocalBotApiServer

ROOT = Path(__file__).resolve().parents[1]
OTHER_TOKEN = "987654321:AAHsomeoneElsesTokenThatIsRefused-xyz"


def _env(tmp_path: Path, **settings: str) -> dict[str, str]:
    knowledge = tmp_path / "news.yaml"
    if not knowledge.exists():
        shutil.copy(ROOT / "knowledge" / "news.yaml", knowledge)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "NEWSBOT"))}
    env.update(
        TELEGRAM_BOT_TOKEN=TEST_TOKEN,
        KNOWLEDGE_FILE=str(knowledge),
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'newsbot.db'}",
        LOG_LEVEL="INFO",
    )
    env.update(settings)
    return env


async def _start(tmp_path: Path, **settings: str) -> asyncio.subprocess.Process:
    """``newsbot run`` in ``tmp_path``, its stderr piped."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=tmp_path,
        env=_env(tmp_path, **settings),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


async def _run(tmp_path: Path, **settings: str) -> tuple[int, list[str]]:
    """``newsbot run`` to its end: the exit code and the lines it printed on stderr."""
    process = await _start(tmp_path, **settings)
    _, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, err.decode().splitlines()


async def _run_until(tmp_path: Path, wanted: str, **settings: str) -> list[str]:
    """``newsbot run`` until a stderr line contains ``wanted``; then SIGINT, as Ctrl+C."""
    process = await _start(tmp_path, **settings)
    assert process.stderr is not None
    lines: list[str] = []
    try:
        while not any(wanted in line for line in lines):
            line = await asyncio.wait_for(process.stderr.readline(), 30)
            if not line:
                break
            lines.append(line.decode().rstrip("\n"))
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
        rest, _ = await asyncio.wait_for(process.communicate(), 30)
    lines.extend(rest.decode().splitlines() if rest else [])
    return lines


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_an_unreachable_bot_api_is_one_line_and_retried(tmp_path: Path) -> None:
    port = _closed_port()
    lines = await _run_until(
        tmp_path, "cannot reach", TELEGRAM_API_BASE_URL=f"http://127.0.0.1:{port}/bot"
    )
    assert lines[-1].endswith(
        f"WARNING bot.runner: cannot reach http://127.0.0.1:{port}: connection failed;"
        " retrying in 5 s"
    )
    assert not any("Traceback" in line for line in lines)


async def test_a_refused_token_stops_start_up_with_one_line_without_the_token(
    tmp_path: Path,
) -> None:
    async with LocalBotApiServer(token=TEST_TOKEN) as server:
        code, lines = await _run(
            tmp_path, TELEGRAM_BOT_TOKEN=OTHER_TOKEN, TELEGRAM_API_BASE_URL=server.base_url
        )
    origin = server.base_url.removesuffix("/bot")
    assert (code, lines) == (
        2,
        [
            f"newsbot run: TELEGRAM_BOT_TOKEN: {origin} refused the token (401 Unauthorized);"
            " copy it again from @BotFather"
        ],
    )


async def test_a_base_url_that_is_no_bot_api_stops_start_up_with_one_line(
    tmp_path: Path,
) -> None:
    async with LocalBotApiServer() as server:
        wrong = server.base_url.replace("/bot", "/api/bot")
        code, lines = await _run(tmp_path, TELEGRAM_API_BASE_URL=wrong)
    assert code == 2
    assert lines == [
        f"newsbot run: TELEGRAM_API_BASE_URL: {wrong} answered 404 Not Found;"
        " is it a Bot API server (https://api.telegram.org/bot)?"
    ]


@pytest.mark.parametrize(
    ("database", "expected"),
    [
        (
            "file:{tmp}/ro.db?mode=ro&uri=true",
            "DATABASE_URL: cannot use the database: the database sqlite+aiosqlite:///file",
        ),
        ("{tmp}/a-file/newsbot.db", "DATABASE_URL: cannot create the folder {tmp}/a-file:"),
        ("/proc/newsbot/newsbot.db", "DATABASE_URL: cannot create the folder /proc/newsbot:"),
        ("/proc/newsbot.db", "DATABASE_URL: cannot use the database: unable to open"),
    ],
    ids=["read-only", "through-a-file", "under-proc-folder", "under-proc"],
)
async def test_a_database_that_cannot_be_used_is_one_line_naming_database_url(
    tmp_path: Path, database: str, expected: str
) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    ro = tmp_path / "ro.db"
    ro.write_bytes(b"")  # an empty file is an empty SQLite database
    async with LocalBotApiServer() as server:
        code, lines = await _run(
            tmp_path,
            TELEGRAM_API_BASE_URL=server.base_url,
            DATABASE_URL="sqlite+aiosqlite:///" + database.format(tmp=tmp_path),
        )
    assert code == 2
    errors = [line for line in lines if "newsbot run:" in line or "Traceback" in line]
    assert len(errors) == 1 and errors == lines[-1:], lines
    assert lines[-1].startswith("newsbot run: " + expected.format(tmp=tmp_path)), lines
    if "mode=ro" in database:
        assert lines[-1].endswith("ro.db?mode=ro&uri=true is read-only"), lines


async def test_a_missing_knowledge_file_is_named_by_its_setting(tmp_path: Path) -> None:
    code, lines = await _run(tmp_path, KNOWLEDGE_FILE="knowledge/nope.yaml")
    assert (code, lines) == (
        2,
        ["newsbot run: KNOWLEDGE_FILE: knowledge/nope.yaml does not exist"],
    )


async def test_a_new_database_folder_is_said_in_the_log(tmp_path: Path) -> None:
    async with LocalBotApiServer() as server:
        lines = await _run_until(
            tmp_path,
            "storage: created",
            TELEGRAM_API_BASE_URL=server.base_url,
            DATABASE_URL="sqlite+aiosqlite:///data/new/newsbot.db",
        )
    assert any(
        line.endswith("storage: created the folder data for data/new/newsbot.db") for line in lines
    ), lines


async def test_a_second_bot_on_the_same_sqlite_file_is_refused_with_one_line_naming_postgresql(
    tmp_path: Path,
) -> None:
    async with LocalBotApiServer() as server:
        first = await _start(tmp_path, TELEGRAM_API_BASE_URL=server.base_url)
        assert first.stderr is not None
        try:
            line = b""
            while b"knowledge:" not in line:  # past opening the database
                line = await asyncio.wait_for(first.stderr.readline(), 30)
                assert line, "the first bot ended"
            code, lines = await _run(tmp_path, TELEGRAM_API_BASE_URL=server.base_url)
            assert code == 2
            assert lines[-1] == (
                f"newsbot run: DATABASE_URL: another newsbot (pid {first.pid}) is running on "
                f"{tmp_path / 'newsbot.db'}; an SQLite file serves one process (several "
                "processes need PostgreSQL: set DATABASE_URL=postgresql://user@host/db)"
            ), lines
            assert not any("Traceback" in line for line in lines)
            # The first one goes without a word: SIGKILL leaves no lock behind.
            first.kill()
            await first.wait()
            lines = await _run_until(tmp_path, "knowledge:", TELEGRAM_API_BASE_URL=server.base_url)
            assert any("knowledge:" in line for line in lines), lines
            assert not any("another newsbot" in line for line in lines), lines
        finally:
            if first.returncode is None:
                first.kill()
                await first.wait()
