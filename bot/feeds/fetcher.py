"""One feed fetch: a conditional GET, bounded in time, size and redirects.

A fetch never raises: it returns ``NotModified`` (a 304: nothing downloaded, nothing
parsed), ``Fetched`` (the body, decoded, at most ``max_bytes``) or ``FetchFailed`` with
a reason an admin can read. Redirects are followed here, not by httpx, so every hop's
address is checked (see ``addresses``). The body is decompressed here too, with a bound
on the output, so a small gzip bomb cannot unpack into memory past the cap.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urljoin

import httpx

from bot.feeds.addresses import RefusedAddress, check_host, check_url

MAX_BYTES = 5 * 1024 * 1024
MAX_REDIRECTS = 5
USER_AGENT = "newsbot-feeds/1 (+https://github.com/newsbot)"
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9,"
    " application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
_REDIRECTS = {301, 302, 303, 307, 308}


@dataclass(frozen=True)
class NotModified:
    """The server answered 304: the feed is as it was."""


@dataclass(frozen=True)
class Fetched:
    """A new body, and the validators to send next time."""

    body: bytes
    url: str
    content_type: str
    etag: str | None
    last_modified: str | None


@dataclass(frozen=True)
class FetchFailed:
    """What went wrong, in words for an admin."""

    reason: str


FetchResult = NotModified | Fetched | FetchFailed


class _TooLarge(Exception):
    pass


class _Body:
    """Collects a response body, decoding gzip or deflate, and stops past ``limit`` bytes."""

    def __init__(self, encoding: str, limit: int) -> None:
        self.limit = limit
        self.data = bytearray()
        if encoding in {"gzip", "x-gzip"}:
            self._decoder: zlib._Decompress | None = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._decoder = zlib.decompressobj(32 + zlib.MAX_WBITS)  # zlib or gzip header
        elif encoding in {"", "identity"}:
            self._decoder = None
        else:
            raise ValueError(f"unsupported content encoding {encoding!r}")

    def add(self, chunk: bytes) -> None:
        if self._decoder is None:
            self.data += chunk
        else:
            # max_length bounds the output of this call; what is left stays in the decoder.
            self.data += self._decoder.decompress(chunk, self.limit + 1 - len(self.data))
        if len(self.data) > self.limit:
            raise _TooLarge

    def finish(self) -> bytes:
        if self._decoder is not None:
            self.data += self._decoder.flush()
            if len(self.data) > self.limit:
                raise _TooLarge
        return bytes(self.data)


class Fetcher:
    """Fetches feeds over one pooled httpx client; ``close`` it when done."""

    def __init__(
        self,
        *,
        timeout: float,
        max_bytes: int = MAX_BYTES,
        max_redirects: int = MAX_REDIRECTS,
        allow_private: bool = False,
        connections: int = 16,
        transport: httpx.AsyncBaseTransport | None = None,
        host_check: Callable[[str], Awaitable[None]] = check_host,
    ) -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.allow_private = allow_private
        self._host_check = host_check
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            trust_env=False,
            limits=httpx.Limits(
                max_connections=connections, max_keepalive_connections=connections
            ),
            headers={"User-Agent": USER_AGENT, "Accept": ACCEPT, "Accept-Encoding": "gzip"},
            transport=transport,
        )

    async def close(self) -> None:
        await self._client.aclose()

    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        """GET ``url`` with the validators of the last fetch; never raises for the feed's sake."""
        try:
            # httpx's timeout bounds each read; this bounds the whole fetch, so a server
            # that drips a byte a second cannot hold a slot for ever.
            async with asyncio.timeout(self.timeout):
                return await self._fetch(url, etag, last_modified)
        except TimeoutError:
            return FetchFailed(f"no complete answer within {self.timeout:g} s")
        except RefusedAddress as exc:
            return FetchFailed(f"refused: {exc}")
        except httpx.TimeoutException:
            return FetchFailed(f"no complete answer within {self.timeout:g} s")
        except httpx.HTTPError as exc:
            return FetchFailed(f"network error: {type(exc).__name__}: {exc}"[:300])
        except _TooLarge:
            return FetchFailed(f"the feed is larger than {self.max_bytes // (1024 * 1024)} MB")
        except (ValueError, zlib.error) as exc:
            return FetchFailed(f"unreadable answer: {exc}"[:300])

    async def _fetch(self, url: str, etag: str | None, last_modified: str | None) -> FetchResult:
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current = url
        for _ in range(self.max_redirects + 1):
            check_url(current)
            if not self.allow_private:
                await self._host_check(current)
            async with self._client.stream("GET", current, headers=headers) as response:
                location = response.headers.get("location")
                if response.status_code in _REDIRECTS and location:
                    current = urljoin(current, location.strip())
                    continue
                if response.status_code == 304:
                    return NotModified()
                if not 200 <= response.status_code < 300:
                    phrase = response.reason_phrase or ""
                    return FetchFailed(f"HTTP {response.status_code} {phrase}".strip())
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > self.max_bytes:
                    raise _TooLarge
                encoding = response.headers.get("content-encoding", "").strip().lower()
                body = _Body(encoding, self.max_bytes)
                async for chunk in response.aiter_raw():
                    body.add(chunk)
                return Fetched(
                    body=body.finish(),
                    url=current,
                    content_type=response.headers.get("content-type", ""),
                    etag=response.headers.get("etag"),
                    last_modified=response.headers.get("last-modified"),
                )
        return FetchFailed(f"more than {self.max_redirects} redirects")
