"""A small round-robin load balancer for webhook mode with several processes.

Stands where nginx would (see the README): the local server calls one URL, each request
goes to the next bot process in turn. Tests and benchmarks run several ``newsbot run``
processes behind it.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from aiohttp import web


def free_port() -> int:
    """A loopback port nobody listens on (now)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def round_robin(port: int, upstreams: list[int]) -> AsyncIterator[list[int]]:
    """A load balancer on ``port``: each webhook request to the next process in turn.

    Yields how many requests each upstream got. A process that does not answer gets a 502
    back to Telegram (the local server), which delivers the update again.
    """
    served = [0] * len(upstreams)
    turn = 0

    async def forward(request: web.Request) -> web.Response:
        nonlocal turn
        index, turn = turn, (turn + 1) % len(upstreams)
        served[index] += 1
        headers = {k: v for k, v in request.headers.items() if k.lower().startswith("x-")}
        headers["Content-Type"] = "application/json"
        try:
            async with http.post(
                f"http://127.0.0.1:{upstreams[index]}{request.path}",
                data=await request.read(),
                headers=headers,
            ) as answer:
                return web.Response(status=answer.status, body=await answer.read())
        except aiohttp.ClientError:
            return web.Response(status=502)

    app = web.Application()
    app.router.add_post("/{tail:.*}", forward)
    runner = web.AppRunner(app)
    async with aiohttp.ClientSession() as http:
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            yield served
        finally:
            await runner.cleanup()
