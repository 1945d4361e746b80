"""The HTTP client of feed fetches (aiohttp), imported when the first feed is fetched.

Host names are resolved through ``_GuardedResolver``, which refuses a name if any of its
addresses is one the policy refuses (``addresses.non_public`` by default) and connects only
to the addresses it checked, so a DNS answer that changes between a check and the
connection (rebinding) cannot slip through.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Mapping

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from bot.feeds.addresses import Address

Policy = Callable[[str, Address], str | None]
"""Why a host's address may not be fetched (None if it may): ``fetcher.AddressPolicy``."""
__all__ = ["RefusedByPolicy", "aiohttp", "session"]


class RefusedByPolicy(OSError):
    """Raised inside aiohttp's connector, which wraps an OSError from the resolver."""


class _GuardedResolver(AbstractResolver):
    """The default resolver, refusing a host any of whose addresses the policy refuses."""

    def __init__(self, policy: Policy) -> None:
        self._inner = DefaultResolver()
        self._policy = policy

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        for result in results:
            address = ipaddress.ip_address(result["host"].split("%", 1)[0])
            reason = self._policy(host, address)
            if reason is not None:
                raise RefusedByPolicy(f"{host} is {reason} ({address}); feeds must be public")
        return results

    async def close(self) -> None:
        await self._inner.close()


def session(
    policy: Policy | None, *, connections: int, timeout: float, headers: Mapping[str, str]
) -> aiohttp.ClientSession:
    """A pooled client whose sockets wait at most ``timeout`` to connect or for a read."""
    resolver = _GuardedResolver(policy) if policy else DefaultResolver()
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=connections, resolver=resolver),
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=timeout, sock_read=timeout),
        headers=dict(headers),
        auto_decompress=False,
        trust_env=False,
    )
