"""The duplicate window, measured the way it bites: SIGKILL a moment after Telegram took a
message, restart, and see whether that message comes again.

Per trial: a fresh bot process (``python -m bot run``, SQLite) broadcasts to SUBSCRIBERS
chats through the bundled local Bot API server. When the server has accepted the message
to the TARGET-th chat (its answer is being written to the socket), a timer SIGKILLs the
bot ``delay`` ms later. The bot is restarted, finishes the broadcast, and the trial counts
how many times the target chat got the news: 2 means the kill fell inside the window
between Telegram's acceptance and the commit that records it.

Run: ``.venv/bin/python -c 'from benchmarks.duplicate_window import run; print(run())'``
(about three minutes).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

from bot.localapi import TEST_TOKEN, LocalBotApiServer
from bot.storage import Storage

ROOT = Path(__file__).resolve().parents[1]
KNOWLEDGE = ROOT / "knowledge" / "news.yaml"
ADMIN = 9001
SUBSCRIBERS = list(range(3001, 3031))
TARGET = 12
DELAYS_MS = (0.0, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0)
TRIES = 3
ONE_MESSAGE = "/broadcast Harbour workers win a pay rise | 2021-06-11 | Dock workers agreed."


def _news(server: LocalBotApiServer, chat_id: int) -> int:
    return sum(m.text.startswith("📰 News") for m in server.messages(chat_id))


async def _wait(condition: object, seconds: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        if condition():  # type: ignore[operator]
            return
        await asyncio.sleep(0.02)
    raise TimeoutError("the bot did not get there in time")


async def _start(workdir: Path, server: LocalBotApiServer, run: int) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEGRAM_")}
    env.update(
        TELEGRAM_BOT_TOKEN=TEST_TOKEN,
        TELEGRAM_API_BASE_URL=server.base_url,
        DATABASE_URL=f"sqlite+aiosqlite:///{workdir / 'newsbot.db'}",
        KNOWLEDGE_FILE=str(workdir / "news.yaml"),
        ADMIN_IDS=str(ADMIN),
        LOG_LEVEL="WARNING",
    )
    with (workdir / f"bot-{run}.log").open("wb") as log:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=workdir, env=env,
            stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log,
        )  # fmt: skip


async def _trial(delay_ms: float) -> int:
    """How many times the target chat got the broadcast after a kill ``delay_ms`` after."""
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        shutil.copy(KNOWLEDGE, workdir / "news.yaml")
        async with LocalBotApiServer() as server:
            storage = await Storage.open(f"sqlite+aiosqlite:///{workdir / 'newsbot.db'}")
            far = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
            for chat_id in SUBSCRIBERS:
                server.add_private_chat(chat_id)
                await storage.chats.upsert_seen(chat_id, chat_id, "private", "Reader")
                await storage.subscriptions.subscribe(chat_id, dt.time(8), "UTC", far)
            await storage.close()
            server.add_private_chat(ADMIN)
            target = SUBSCRIBERS[TARGET]
            process = await _start(workdir, server, 1)
            loop = asyncio.get_running_loop()
            record = server.world.record_request

            def kill_after_accepting(
                method: str, chat_id: int | str | None, status: int, description: str | None
            ) -> None:
                record(method, chat_id, status, description)
                if method == "sendMessage" and chat_id == target and status == 200:
                    loop.call_later(delay_ms / 1000, os.kill, process.pid, signal.SIGKILL)

            server.world.record_request = kill_after_accepting  # type: ignore[method-assign]
            server.user_sends(ADMIN, ONE_MESSAGE)
            preview = (await server.wait_for_messages(ADMIN, 2, timeout=60))[1]
            send = next(d for label, d in preview.buttons if label == "Send")
            assert send is not None
            server.user_presses(ADMIN, preview.message_id, send)
            await asyncio.wait_for(process.wait(), 60)
            server.world.record_request = record  # type: ignore[method-assign]
            process = await _start(workdir, server, 2)
            try:
                await _wait(lambda: all(_news(server, c) >= 1 for c in SUBSCRIBERS), 60)
                await asyncio.sleep(0.5)
            finally:
                process.send_signal(signal.SIGTERM)
                await asyncio.wait_for(process.wait(), 30)
            return _news(server, target)


def run() -> str:
    rows = []
    for delay in DELAYS_MS:
        counts = [asyncio.run(_trial(delay)) for _ in range(TRIES)]
        twice = sum(count == 2 for count in counts)
        lost = sum(count == 0 for count in counts)
        rows.append(f"| {delay:g} ms | {twice} of {TRIES} | {lost} |")
    return "\n".join(
        [
            "## The duplicate window: SIGKILL just after Telegram took a message",
            "",
            f"{len(SUBSCRIBERS)} subscribers, kill timed from the local server's acceptance of "
            f"the message to subscriber {TARGET + 1}; restart; count that message.",
            "",
            "| kill after acceptance | sent twice | lost |",
            "|---|---|---|",
            *rows,
        ]
    )


if __name__ == "__main__":
    print(run())
