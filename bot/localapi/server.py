"""The local Bot API server: real HTTP on loopback, Telegram's URLs, answers and errors.

python-telegram-bot talks to it unchanged: ``Bot(token, base_url=server.base_url)``
requests ``{base_url}{token}/{method}``. Answers are ``{"ok": true, "result": ...}`` or
Telegram's error objects (``errors.py``); injected faults (``faults.py``) replace the answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import struct
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from aiohttp import web

from bot.localapi.controls import Controls
from bot.localapi.errors import NOT_FOUND, UNAUTHORIZED, ApiError
from bot.localapi.faults import MALFORMED_BODY, Fault, FaultKind, error_body
from bot.localapi.limits import FloodLimits
from bot.localapi.methods import BotApi
from bot.localapi.params import Params, read_params
from bot.localapi.simulate import SimulatedUsers
from bot.localapi.state import World
from bot.localapi.webhook import WebhookDelivery

_LOGGER = logging.getLogger(__name__)


def _json_response(status: int, body: Any) -> web.Response:
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return web.Response(status=status, text=text, content_type="application/json")


def _chat_id(params: Params) -> int | str | None:
    """The chat a request is about, for the request log (an int when it is one)."""
    number = params.get_int("chat_id")
    return number if number is not None else params.get_str("chat_id")


def _reset(request: web.Request) -> None:
    """Drop the connection with a TCP reset, answering nothing."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


class LocalBotApiServer(SimulatedUsers, Controls):
    """A Telegram Bot API look-alike for tests, benchmarks and console runs.

    - ``token``: the one token accepted; by default the first well-formed token used
      becomes the bot's (its numeric prefix is the bot's user id).
    - ``callback_query_ttl``: seconds after which answerCallbackQuery is "too old" (None:
      never). Telegram publishes no number; reports put it at about 10 to 15 seconds.
    - ``group_privacy``: in groups the bot sees only commands, mentions and replies.
    - ``strict_html``: reject a bare ``&`` in HTML, which Telegram itself tolerates.
    - ``clock``: monotonic seconds for flood buckets, recorded times and the callback TTL;
      pass a fake one for exact flood tests.
    - ``webhook_retry``: (first, longest) seconds between deliveries of an update the webhook
      did not acknowledge; Telegram's are about (1, 60), tests shorten them.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        limits: FloodLimits | None = None,
        bot_username: str = "newsbot_local_bot",
        token: str | None = None,
        callback_query_ttl: float | None = 10.0,
        group_privacy: bool = True,
        strict_html: bool = False,
        clock: Callable[[], float] = time.monotonic,
        webhook_retry: tuple[float, float] = (1.0, 60.0),
    ) -> None:
        self.world = World(
            limits=limits if limits is not None else FloodLimits(),
            bot_username=bot_username,
            token=token,
            callback_query_ttl=callback_query_ttl,
            group_privacy=group_privacy,
            strict_html=strict_html,
            clock=clock,
        )
        self.api = BotApi(self.world)
        self.webhook = WebhookDelivery(
            self.world, first_retry=webhook_retry[0], max_retry=webhook_retry[1]
        )
        self.world.queue.on_push = self.webhook.wake
        self.world.on_webhook_change = self.webhook.forget_retries
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self._closing: asyncio.Event | None = None

    # --- lifecycle --------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on ``host:port`` (port 0: an ephemeral port, see ``base_url``)."""
        if self._runner is not None:
            raise RuntimeError("the server is already running")
        self._closing = asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        # access_log=None: request lines carry the bot token
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        self.webhook.start()
        _LOGGER.info("local Bot API server listening on %s", self.base_url)

    async def stop(self) -> None:
        """Stop listening; a waiting getUpdates is answered first, hung faults are dropped."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        self.world.queue.release()
        await self.webhook.stop()
        if self._closing is not None:
            self._closing.set()
        await asyncio.sleep(0)  # let released handlers write their answers
        await runner.cleanup()

    async def __aenter__(self) -> LocalBotApiServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        """For ``Bot(token, base_url=...)``: ``http://127.0.0.1:PORT/bot``."""
        return f"http://{self._host}:{self._port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://{self._host}:{self._port}/file/bot"

    @property
    def bot_id(self) -> int:
        return self.world.bot_id

    # --- HTTP -------------------------------------------------------------------------

    async def _not_found(self, request: web.Request) -> web.Response:
        return _json_response(404, NOT_FOUND.to_json())

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        if not self.world.accept_token(request.match_info["token"]):
            self.world.record_request(method, None, 401, UNAUTHORIZED.description)
            return _json_response(401, UNAUTHORIZED.to_json())
        if not self.api.knows(method):
            self.world.record_request(method, None, 404, NOT_FOUND.description)
            return _json_response(404, NOT_FOUND.to_json())
        try:
            params = await read_params(request)
        except ApiError as error:
            self.world.record_request(method, None, error.status, error.description)
            return _json_response(error.status, error.to_json())
        target = _chat_id(params)
        fault = self.world.faults.take(method, target if isinstance(target, int) else None)
        if fault is not None:
            return await self._fail(request, method, params, fault)
        status, body = await self._answer(method, params)
        return _json_response(status, body)

    async def _answer(self, method: str, params: Params) -> tuple[int, Any]:
        """Run the method; (HTTP status, body); records the request."""
        chat_id = _chat_id(params)
        try:
            result = await self.api.call(method, params)
        except ApiError as error:
            self.world.record_request(method, chat_id, error.status, error.description)
            return error.status, error.to_json()
        self.world.record_request(method, chat_id, 200, None)
        return 200, {"ok": True, "result": result}

    async def _sleep(self, seconds: float) -> None:
        """Sleep, cut short when the server stops."""
        assert self._closing is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), seconds)

    async def _fail(
        self, request: web.Request, method: str, params: Params, fault: Fault
    ) -> web.StreamResponse:
        chat_id = _chat_id(params)
        if fault.kind is FaultKind.SLOW:
            await self._sleep(fault.seconds)
            status, body = await self._answer(method, params)
            return _json_response(status, body)
        if fault.process:
            await self._answer(method, params)
            self.world.requests.pop()  # recorded below, as the client saw it
        if fault.kind is FaultKind.HTTP_ERROR:
            content_type, text = error_body(fault.status)
            self.world.record_request(method, chat_id, fault.status, "injected")
            return web.Response(status=fault.status, text=text, content_type=content_type)
        if fault.kind is FaultKind.MALFORMED:
            self.world.record_request(method, chat_id, 200, "injected malformed body")
            return web.Response(text=MALFORMED_BODY, content_type="application/json")
        if fault.kind is FaultKind.TIMEOUT:
            await self._sleep(fault.seconds)
        self.world.record_request(method, chat_id, 0, f"injected {fault.kind.value}")
        _reset(request)
        return web.Response(status=500)  # never reaches the client: the socket is gone
