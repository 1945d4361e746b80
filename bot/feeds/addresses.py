"""Which feed URLs may be fetched: http and https to public addresses only.

A feed URL is typed by an admin, but the server behind it chooses where its redirects
go; an unchecked fetcher is a way into the bot's own network (the cloud metadata
service at 169.254.169.254, a database on localhost). Every address a host name
resolves to is checked, before the first request and again at every redirect.

Here the check when an admin adds a feed; the fetcher applies the same rule to the
addresses it connects to (see ``fetcher``), so a changed DNS answer cannot get around it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2000


class RefusedAddress(Exception):
    """The URL may not be fetched; the message says why, for the admin."""


def check_url(url: str) -> str:
    """The URL, stripped, if its form is acceptable; raises ``RefusedAddress`` otherwise."""
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise RefusedAddress(f"the address is longer than {MAX_URL_LENGTH} characters")
    parts = urlsplit(url)
    if parts.scheme.lower() not in {"http", "https"}:
        raise RefusedAddress("only http:// and https:// addresses can be followed")
    if not parts.hostname:
        raise RefusedAddress("the address has no host name")
    if parts.username or parts.password:
        raise RefusedAddress("addresses with a user name or password are not followed")
    try:
        _ = parts.port
    except ValueError:
        raise RefusedAddress("the address has an invalid port") from None
    return url


Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def non_public(address: Address) -> str | None:
    """Why ``address`` is not public ("a loopback address", ...), or None if it is."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return non_public(address.ipv4_mapped)
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_private:
        return "a private address"
    if address.is_multicast or address.is_unspecified or address.is_reserved:
        return "not a unicast address"
    if not address.is_global:
        return "not a public address"
    return None


async def check_host(url: str) -> None:
    """Resolve the URL's host; raises ``RefusedAddress`` if any address is not public."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise RefusedAddress(f"{host} cannot be resolved: {exc}") from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        reason = non_public(address)
        if reason is not None:
            raise RefusedAddress(f"{host} is {reason} ({address}); feeds must be public")


async def vet_feed_url(url: str, *, allow_private: bool) -> str:
    """The URL to follow, as checked when an admin adds it; raises ``RefusedAddress``."""
    url = check_url(url)
    if not allow_private:
        await check_host(url)
    return url
