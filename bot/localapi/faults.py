"""Fault injection: the network and server failures a bot meets in production.

A :class:`Fault` is armed for a method with ``server.inject("sendMessage", fault, times=n)``
and is consumed by the next ``n`` calls of that method. ``process=True`` runs the method
before failing, so the message *is* sent but the bot never hears so: the case that makes
naive retries send twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class FaultKind(Enum):
    SLOW = "slow"  # answer normally, after a delay
    TIMEOUT = "timeout"  # hang for `seconds`, then drop the connection unanswered
    HTTP_ERROR = "http_error"  # answer with `status` (500, 502, ...) and a Telegram-ish body
    RESET = "reset"  # close the connection at once (TCP reset), no answer
    MALFORMED = "malformed"  # answer 200 with a body that is not JSON


@dataclass(frozen=True)
class Fault:
    """One injected failure. Build it with the class methods."""

    kind: FaultKind
    seconds: float = 0.0
    status: int = 500
    process: bool = False

    @classmethod
    def slow(cls, seconds: float) -> Fault:
        """Answer correctly, but only after ``seconds``."""
        return cls(FaultKind.SLOW, seconds=seconds)

    @classmethod
    def timeout(cls, seconds: float = 30.0, *, process: bool = False) -> Fault:
        """Hang for ``seconds`` (longer than the client's read timeout), then drop."""
        return cls(FaultKind.TIMEOUT, seconds=seconds, process=process)

    @classmethod
    def http_error(cls, status: int = 500, *, process: bool = False) -> Fault:
        """Answer HTTP ``status``: 500 with Telegram's JSON, 502/504 with nginx's HTML page."""
        return cls(FaultKind.HTTP_ERROR, status=status, process=process)

    @classmethod
    def server_error(cls) -> Fault:
        return cls.http_error(500)

    @classmethod
    def bad_gateway(cls) -> Fault:
        return cls.http_error(502)

    @classmethod
    def connection_reset(cls, *, process: bool = False) -> Fault:
        """Reset the TCP connection without answering."""
        return cls(FaultKind.RESET, process=process)

    @classmethod
    def malformed_json(cls, *, process: bool = False) -> Fault:
        """Answer 200 with a truncated, unparseable JSON body."""
        return cls(FaultKind.MALFORMED, process=process)


_NGINX_PAGES = {
    502: "Bad Gateway",
    503: "Service Temporarily Unavailable",
    504: "Gateway Time-out",
}


def error_body(status: int) -> tuple[str, str]:
    """(content type, body) of an HTTP error as Telegram's front end sends it."""
    if status in _NGINX_PAGES:
        title = f"{status} {_NGINX_PAGES[status]}"
        page = (
            f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
            f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
            "</body>\r\n</html>\r\n"
        )
        return "text/html", page
    description = "Internal Server Error" if status == 500 else f"Error {status}"
    body = f'{{"ok":false,"error_code":{status},"description":"{description}"}}'
    return "application/json", body


MALFORMED_BODY = '{"ok":true,"result":{"message_id":'


@dataclass
class _Armed:
    fault: Fault
    left: int
    chat_id: int | None = None


class FaultPlan:
    """The armed faults, per method name (case-insensitive), consumed in order."""

    def __init__(self) -> None:
        self._armed: dict[str, list[_Armed]] = {}

    def arm(self, method: str, fault: Fault, times: int = 1, chat_id: int | None = None) -> None:
        if times < 1:
            raise ValueError("times must be at least 1")
        self._armed.setdefault(method.lower(), []).append(_Armed(fault, times, chat_id))

    def take(self, method: str, chat_id: int | None = None) -> Fault | None:
        """The fault for this call of ``method`` (to ``chat_id``), if one is armed."""
        queue = self._armed.get(method.lower())
        if not queue:
            return None
        for position, entry in enumerate(queue):
            if entry.chat_id is None or entry.chat_id == chat_id:
                entry.left -= 1
                if entry.left <= 0:
                    queue.pop(position)
                return entry.fault
        return None

    def pending(self) -> int:
        """How many faulty calls are still armed, over all methods."""
        return sum(entry.left for queue in self._armed.values() for entry in queue)

    def clear(self) -> None:
        self._armed.clear()
