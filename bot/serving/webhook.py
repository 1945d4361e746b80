"""The HTTP listener of webhook mode: the webhook itself, ``/healthz`` and ``/readyz``.

- ``POST <path of WEBHOOK_URL>``: Telegram's update. Without the right
  ``X-Telegram-Bot-Api-Secret-Token``: 403, logged once per source address. A body that
  is not an update: 400. Otherwise it is stored in the inbox and only then answered 200:
  Telegram sends again whatever got no 2xx (Bot API, setWebhook), so an update answered is
  an update kept. Handling happens afterwards (``dispatcher``), so a slow handler never
  holds Telegram's connection. Before start-up is done, on a database error and once
  stopping: 503, and Telegram tries again later (or the load balancer picks another process).
- ``GET /healthz``: 200 while the process runs.
- ``GET /readyz``: 200 when the database answers and the knowledge is loaded, else 503
  with the reason: for a load balancer to send traffic only to a ready process.

Stores are written in batches: requests that arrive while a write is in progress are
written together by the next one (one transaction, not one each), each answered once its
batch committed.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.handlers.intake import strip_control_escapes
from bot.storage import InboxRepository, NewUpdate

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Sources whose forged requests were logged; past this many, no more are remembered.
MAX_LOGGED_SOURCES = 10_000
READY_TIMEOUT = 2.0

Readiness = Callable[[], Awaitable[str | None]]


def order_key(update: dict[str, Any]) -> int | None:
    """Whose order an update keeps: its chat, else its sender; None for neither."""
    for key, value in update.items():
        if key == "update_id" or not isinstance(value, dict):
            continue
        chat = value.get("chat") or (value.get("message") or {}).get("chat")
        if isinstance(chat, dict) and isinstance(chat.get("id"), int):
            return int(chat["id"])
        sender = value.get("from") or value.get("user")
        if isinstance(sender, dict) and isinstance(sender.get("id"), int):
            return int(sender["id"])
    return None


class _Batches:
    """Group commit: stores waiting while one is written go in the next write, together."""

    def __init__(self, inbox: InboxRepository) -> None:
        self._inbox = inbox
        self._waiting: list[tuple[NewUpdate, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def store(self, update: NewUpdate) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((update, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write(), name="inbox-store")
        await asyncio.shield(future)

    async def _write(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            unique = list({u.update_id: u for u, _ in batch}.values())
            try:
                await self._inbox.store_many(unique)
            except Exception as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for _, future in batch:
                if not future.done():
                    future.set_result(None)


class WebhookListener:
    """The aiohttp application; it refuses updates until ``accept`` and after ``refuse``."""

    def __init__(self, path: str, readiness: Readiness) -> None:
        self.path = path
        self._readiness = readiness
        self._secret: bytes | None = None
        self._batches: _Batches | None = None
        self._stored: Callable[[], None] = lambda: None
        self._logged_sources: set[str] = set()
        self._runner: web.AppRunner | None = None
        self.stopping = False
        self.forged = 0

    def accept(self, inbox: InboxRepository, secret: str, stored: Callable[[], None]) -> None:
        """Take updates from now on: store them in ``inbox``, then call ``stored``."""
        self._secret = secret.encode()
        self._batches = _Batches(inbox)
        self._stored = stored

    def refuse(self) -> None:
        """Stop taking updates (SIGTERM): they get 503 and Telegram delivers them later."""
        self.stopping = True

    @property
    def accepting(self) -> bool:
        return self._batches is not None and not self.stopping

    async def start(self, host: str, port: int) -> None:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_post(self.path, self._update)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port, reuse_address=True)
        try:
            await site.start()
        except BaseException:
            await self._runner.cleanup()
            self._runner = None
            raise
        logger.info("webhook: listening on %s:%d, updates at %s", host, port, self.path)

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.Response(text="alive\n")

    async def _readyz(self, request: web.Request) -> web.Response:
        if self.stopping:
            return web.Response(status=503, text="stopping\n")
        try:
            async with asyncio.timeout(READY_TIMEOUT):
                problem = await self._readiness()
        except TimeoutError:
            problem = f"the database did not answer within {READY_TIMEOUT:g} s"
        if problem is not None:
            return web.Response(status=503, text=f"not ready: {problem}\n")
        return web.Response(text="ready\n")

    async def _update(self, request: web.Request) -> web.Response:
        if self._secret is None:
            return web.Response(status=503, text="starting\n")
        if not self._authentic(request):
            self.forged += 1
            source = request.remote or "unknown"
            if source not in self._logged_sources and len(self._logged_sources) <= (
                MAX_LOGGED_SOURCES
            ):
                # Past the cap, one last line: many sources must not flood the log either.
                self._logged_sources.add(source)
                last = len(self._logged_sources) > MAX_LOGGED_SOURCES
                logger.warning(
                    "webhook: refused a request from %s without the right secret token "
                    "(logged once per source%s)",
                    source,
                    f"; more than {MAX_LOGGED_SOURCES} sources, no more are logged"
                    if last
                    else "",
                )
            return web.Response(status=403, text="forbidden\n")
        if not self.accepting or self._batches is None:
            return web.Response(status=503, text="not taking updates now\n")
        body = strip_control_escapes(await request.read())
        try:
            data = json.loads(body)
        except ValueError:
            return web.Response(status=400, text="the body is not JSON\n")
        update_id = data.get("update_id") if isinstance(data, dict) else None
        if not isinstance(update_id, int) or isinstance(update_id, bool) or update_id < 0:
            return web.Response(status=400, text="not an update: no update_id\n")
        stored = NewUpdate(update_id, order_key(data), body.decode("utf-8", "replace"))
        try:
            await self._batches.store(stored)
        except Exception as exc:
            # Not stored, not acknowledged: Telegram delivers it again.
            logger.warning("webhook: could not store update %d: %s", update_id, exc)
            return web.Response(status=503, text="cannot store the update now\n")
        self._stored()
        return web.Response(text="")

    def _authentic(self, request: web.Request) -> bool:
        given = request.headers.get(SECRET_HEADER, "").encode()
        return self._secret is not None and hmac.compare_digest(given, self._secret)
