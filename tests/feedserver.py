"""A local HTTP server for feed stories: feeds that change between polls, and broken ones.

``server.publish("/news.xml", rss(...))`` serves a body with an ETag and Last-Modified
and answers a matching conditional GET with 304. Fixed misbehaviours live on their own
paths: ``/status/500``, ``/slow`` (answers after 2.5 s), ``/loop`` (redirects to itself),
``/huge`` (streams 50 MB), ``/redirect?to=URL``.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import gzip
import hashlib
import html
import time
from dataclasses import dataclass, field

from aiohttp import web

HUGE_BYTES = 50 * 1024 * 1024
# Longer than the tests' fetch timeout (1 s); short, so stopping the server does not wait.
SLOW_SECONDS = 2.5


@dataclass
class Served:
    body: bytes
    content_type: str
    etag: str
    last_modified: str
    gzip: bool = False


@dataclass
class SeenRequest:
    path: str
    if_none_match: str | None
    if_modified_since: str | None


@dataclass
class FeedServer:
    """The server; ``base`` is its URL once started."""

    feeds: dict[str, Served] = field(default_factory=dict)
    requests: list[SeenRequest] = field(default_factory=list)
    base: str = ""
    huge_sent: int = 0
    _runner: web.AppRunner | None = None

    def publish(
        self, path: str, body: str | bytes, content_type: str = "application/rss+xml"
    ) -> str:
        """Serve ``body`` at ``path`` from now on; returns its URL."""
        data = body.encode() if isinstance(body, str) else body
        etag = '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
        modified = email.utils.formatdate(time.time(), usegmt=True)
        self.feeds[path] = Served(data, content_type, etag, modified)
        return self.url(path)

    def publish_gzipped(self, path: str, body: str) -> str:
        url = self.publish(path, body)
        self.feeds[path].gzip = True
        return url

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def hits(self, path: str) -> list[SeenRequest]:
        return [r for r in self.requests if r.path == path]

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/status/{code}", self._status)
        app.router.add_get("/slow", self._slow)
        app.router.add_get("/loop", self._loop)
        app.router.add_get("/huge", self._huge)
        app.router.add_get("/redirect", self._redirect)
        app.router.add_get("/{tail:.*}", self._feed)
        app.middlewares.append(self._record)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @web.middleware
    async def _record(
        self, request: web.Request, handler: web.RequestHandler
    ) -> web.StreamResponse:
        self.requests.append(
            SeenRequest(
                request.path,
                request.headers.get("If-None-Match"),
                request.headers.get("If-Modified-Since"),
            )
        )
        return await handler(request)

    async def _feed(self, request: web.Request) -> web.StreamResponse:
        served = self.feeds.get(request.path)
        if served is None:
            return web.Response(status=404, text="no such feed")
        if request.headers.get("If-None-Match") == served.etag:
            return web.Response(status=304, headers={"ETag": served.etag})
        headers = {"ETag": served.etag, "Last-Modified": served.last_modified}
        body = served.body
        if served.gzip:
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        return web.Response(body=body, content_type=served.content_type, headers=headers)

    async def _status(self, request: web.Request) -> web.Response:
        return web.Response(status=int(request.match_info["code"]), text="broken")

    async def _slow(self, request: web.Request) -> web.Response:
        await asyncio.sleep(SLOW_SECONDS)
        return web.Response(text="too late")

    async def _loop(self, request: web.Request) -> web.Response:
        raise web.HTTPFound("/loop")

    async def _redirect(self, request: web.Request) -> web.Response:
        raise web.HTTPFound(request.query["to"])

    async def _huge(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
        await response.prepare(request)
        chunk = b"<rss>" + b"x" * (64 * 1024 - 5)
        with contextlib.suppress(ConnectionError, asyncio.CancelledError):
            while self.huge_sent < HUGE_BYTES:
                await response.write(chunk)
                self.huge_sent += len(chunk)
        return response


@dataclass(frozen=True)
class Item:
    """An RSS item; ``guid`` None leaves the item to be known by its link."""

    title: str
    summary: str
    link: str | None = None
    guid: str | None = None
    date: str | None = "Thu, 10 Jun 2021 09:00:00 GMT"


def rss(*items: Item, title: str = "Harbour News") -> str:
    """An RSS 2.0 document, newest item first as feeds list them."""
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        f'<rss version="2.0"><channel><title>{html.escape(title)}</title>',
        "<link>https://harbour.example/</link><description>news</description>",
    ]
    for item in items:
        parts.append("<item>")
        parts.append(f"<title>{html.escape(item.title)}</title>")
        parts.append(f"<description>{html.escape(item.summary)}</description>")
        if item.link:
            parts.append(f"<link>{html.escape(item.link)}</link>")
        if item.guid:
            parts.append(f'<guid isPermaLink="false">{html.escape(item.guid)}</guid>')
        if item.date:
            parts.append(f"<pubDate>{item.date}</pubDate>")
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "\n".join(parts)


ENTITY_BOMB = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + "".join(
        f' <!ENTITY lol{n} "{("&lol" + (str(n - 1) if n > 1 else "") + ";") * 10}">\n'
        for n in range(1, 10)
    )
    + ']>\n<rss version="2.0"><channel><title>Bomb</title>'
    "<item><title>&lol9;</title><description>boom</description></item></channel></rss>"
)

MALFORMED = '<?xml version="1.0"?><rss version="2.0"><channel><title>Broken</title></chan\x01\x02'
