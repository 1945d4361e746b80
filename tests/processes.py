"""The bot as a real separate process, for stories where it is killed with SIGKILL."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from bot.localapi import TEST_TOKEN, LocalBotApiServer
from bot.localapi.balancer import free_port


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


class WebhookProcess(BotProcess):
    """``newsbot run`` in webhook mode, listening on ``port``; Telegram calls ``hook_port``.

    Several processes share one ``hook_port`` (the one a load balancer would have): the
    process listening there receives the updates, and every process's dispatcher takes them
    from the shared inbox. The others still deliver the outbox.
    """

    def __init__(
        self,
        server: LocalBotApiServer,
        workdir: Path,
        *,
        admin: int,
        database_url: str,
        hook_port: int,
        port: int | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = port if port is not None else free_port()
        settings = {
            "WEBHOOK_URL": f"http://127.0.0.1:{hook_port}/telegram/hook",
            "WEBHOOK_LISTEN": f"127.0.0.1:{self.port}",
            "WEBHOOK_LEASE_SECONDS": "2",
            **(env or {}),
        }
        super().__init__(server, workdir, admin=admin, database_url=database_url, env=settings)

    async def until_ready(self, seconds: float = 60.0) -> None:
        """Until ``/readyz`` says 200 (the knowledge and the database are there)."""
        import aiohttp

        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        async with aiohttp.ClientSession() as http:
            while loop.time() < deadline:
                if self.process is not None and self.process.returncode is not None:
                    raise AssertionError(f"the bot exited at start\n{self.logs()}")
                try:
                    async with http.get(f"http://127.0.0.1:{self.port}/readyz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError(f"not ready in {seconds} s\n{self.logs()}")
