"""What the bot did, as tests and benchmarks read it: messages, edits, answers, requests.

Records hold monotonic times (``time.monotonic()``) so benchmarks can measure latency
and flood tests can measure spacing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

JsonDict = dict[str, Any]


class WaitTimeout(AssertionError, TimeoutError):
    """A ``wait_for_*`` gave up; the message says what it was waiting for and what it saw."""


@dataclass(frozen=True)
class MessageVersion:
    """An earlier state of a bot message, kept when the message is edited."""

    text: str
    html: str
    parse_mode: str | None
    entities: list[JsonDict]
    reply_markup: JsonDict | None
    at: float


@dataclass
class RecordedMessage:
    """A message the bot sent, in its current state; ``history`` holds the states before edits.

    ``text`` is the plain text after entity parsing (what the user reads); ``html`` is the
    raw text as the bot sent it (HTML, MarkdownV2 source or plain text, see ``parse_mode``).
    ``reply_markup`` is the markup as sent, reply keyboards included.
    """

    message_id: int
    chat_id: int
    text: str
    html: str
    parse_mode: str | None
    entities: list[JsonDict]
    reply_markup: JsonDict | None
    sent_at: float
    reply_to_message_id: int | None = None
    message_thread_id: int | None = None
    disable_notification: bool = False
    protect_content: bool = False
    link_preview_disabled: bool = False
    paid: bool = False  # sent with allow_paid_broadcast (0.1 Star)
    edited_at: float | None = None
    deleted: bool = False
    history: list[MessageVersion] = field(default_factory=list)

    @property
    def edited(self) -> bool:
        return bool(self.history)

    @property
    def buttons(self) -> list[tuple[str, str | None]]:
        """Every button, row by row: (text, callback_data or url; None for reply buttons)."""
        markup = self.reply_markup or {}
        rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
        found: list[tuple[str, str | None]] = []
        for row in rows:
            for button in row:
                if isinstance(button, str):
                    found.append((button, None))
                    continue
                target = button.get("callback_data", button.get("url"))
                found.append((str(button.get("text", "")), target))
        return found

    def snapshot(self, at: float) -> MessageVersion:
        return MessageVersion(
            self.text, self.html, self.parse_mode, self.entities, self.reply_markup, at
        )


@dataclass(frozen=True)
class CallbackAnswer:
    """An ``answerCallbackQuery`` the bot made."""

    callback_query_id: str
    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int
    at: float


@dataclass(frozen=True)
class RequestRecord:
    """One HTTP call: ``status`` is the HTTP status, 0 when the connection got no answer."""

    method: str
    chat_id: int | str | None
    at: float
    status: int
    description: str | None = None


class Notifier:
    """Wakes waiters when the recording changes; waiters re-check their own condition."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait_until(self, ready: Callable[[], bool], seconds: float) -> bool:
        """Wait until ``ready()`` is true; False if ``seconds`` pass first."""
        try:
            async with asyncio.timeout(seconds):
                while not ready():
                    await self._event.wait()
        except TimeoutError:
            return ready()
        return True
