"""The bot as a real separate process, for stories where it is killed with SIGKILL."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from bot.localapi import TEST_TOKEN, LocalBotApiServer


class BotProcess:
    """``python -m bot run`` against the local server, with its own files in ``workdir``."""

    def __init__(
        self,
        server: LocalBotApiServer,
        workdir: Path,
        *,
        admin: int,
        database_url: str | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.server = server
        self.workdir = workdir
        self.admin = admin
        self._database_url = database_url
        self.extra_env = dict(env or {})
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0

    @property
    def database_url(self) -> str:
        """The SQLite file in ``workdir`` unless another URL was given."""
        return self._database_url or f"sqlite+aiosqlite:///{self.workdir / 'newsbot.db'}"

    @property
    def knowledge(self) -> Path:
        return self.workdir / "news.yaml"

    def _env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("TELEGRAM_", "NEWSBOT", "WEBHOOK_"))
        }
        env.update(
            TELEGRAM_BOT_TOKEN=TEST_TOKEN,
            TELEGRAM_API_BASE_URL=self.server.base_url,
            DATABASE_URL=self.database_url,
            KNOWLEDGE_FILE=str(self.knowledge),
            ADMIN_IDS=str(self.admin),
            LOG_LEVEL="WARNING",
        )
        env.update(self.extra_env)
        return env

    async def start(self) -> None:
        self.starts += 1
        log = (self.workdir / f"bot-{self.starts}.log").open("wb")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=self.workdir,
            env=self._env(),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
        log.close()

    async def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as when the machine loses power."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not stop in time."""
        if self.process is None or self.process.returncode is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), 15)
        except TimeoutError:
            await self.kill()

    def logs(self) -> str:
        return "\n".join(
            p.read_text(errors="replace") for p in sorted(self.workdir.glob("bot-*.log"))
        )
