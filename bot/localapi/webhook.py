"""Webhook delivery, as Telegram's Bot API server does it (tdlib/telegram-bot-api, WebhookActor).

While a webhook is set (``setWebhook``), every pending update is POSTed to its URL as JSON,
with ``X-Telegram-Bot-Api-Secret-Token`` when a secret was given. An update is forgotten
only when the webhook answers 2xx; any other answer, a refused connection or a timeout is an
error: the update is sent again, the first time at once, then after 2, 4, 8... seconds (or
the answer's ``Retry-After``), up to a minute apart. ``getWebhookInfo`` tells the last
error and how many updates are pending.

Order: the updates of one chat (Telegram's "queue", keyed by chat) go one at a time, the
next only after the webhook acknowledged the one before; different chats go in parallel,
at most ``max_connections`` requests at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

JsonDict = dict[str, Any]

DEFAULT_MAX_CONNECTIONS = 40
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@dataclass(frozen=True)
class WebhookCall:
    """One delivery attempt: ``status`` is the HTTP answer, 0 when none came."""

    update_id: int
    status: int
    error: str | None
    at: float


@dataclass
class WebhookState:
    """What setWebhook set, and what getWebhookInfo reports."""

    url: str = ""
    secret_token: str = ""
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    last_error_date: int | None = None
    last_error_message: str | None = None
    calls: list[WebhookCall] = field(default_factory=list)


def queue_of(update: JsonDict) -> int | str:
    """Which of Telegram's per-chat queues an update goes in: its chat, else its sender."""
    for key, value in update.items():
        if key == "update_id" or not isinstance(value, dict):
            continue
        chat = value.get("chat") or (value.get("message") or {}).get("chat")
        if isinstance(chat, dict) and isinstance(chat.get("id"), int):
            return int(chat["id"])
        sender = value.get("from")
        if isinstance(sender, dict) and isinstance(sender.get("id"), int):
            return int(sender["id"])
    return f"update-{update.get('update_id')}"


class WebhookDelivery:
    """POSTs the pending updates of a world's queue to its webhook, while one is set.

    ``first_retry`` and ``max_retry``: the backoff between tries of a failing update
    (Telegram's: 1 s doubling, about a minute at most); tests shorten them.
    """

    def __init__(
        self,
        world: Any,
        *,
        first_retry: float = 1.0,
        max_retry: float = 60.0,
        timeout: float = 60.0,
    ) -> None:
        self.world = world
        self.first_retry = first_retry
        self.max_retry = max_retry
        self.timeout = timeout
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        self._in_flight: dict[int, asyncio.Task[None]] = {}
        self._failures: dict[int, int] = {}
        self._retry_at: dict[int, float] = {}

    def start(self) -> None:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0), auto_decompress=True
        )
        self._task = asyncio.create_task(self._run(), name="webhook-delivery")

    async def stop(self) -> None:
        tasks = [t for t in (self._task, *self._in_flight.values()) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._task = None
        self._in_flight.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None

    def wake(self) -> None:
        self._wake.set()

    def forget_retries(self) -> None:
        """A new webhook: pending updates are tried again at once."""
        self._failures.clear()
        self._retry_at.clear()
        self.wake()

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            wait = self._dispatch()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)

    def _dispatch(self) -> float | None:
        """Start the deliveries that may start; seconds until the next retry falls due."""
        state: WebhookState = self.world.webhook
        if not state.url or self._session is None:
            return None
        now = time.monotonic()
        next_due: float | None = None
        started: set[int | str] = set()
        for update in self.world.queue.pending_view():
            if len(self._in_flight) >= state.max_connections:
                break
            queue = queue_of(update)
            if queue in started:
                continue  # an earlier update of this chat is not acknowledged yet
            started.add(queue)
            update_id = int(update["update_id"])
            if update_id in self._in_flight:
                continue
            due = self._retry_at.get(update_id, 0.0)
            if due > now:
                next_due = due if next_due is None else min(next_due, due)
                continue
            self._in_flight[update_id] = asyncio.create_task(
                self._post(state, update), name=f"webhook-{update_id}"
            )
        return None if next_due is None else max(next_due - now, 0.0)

    async def _post(self, state: WebhookState, update: JsonDict) -> None:
        assert self._session is not None
        update_id = int(update["update_id"])
        headers = {"Content-Type": "application/json"}
        if state.secret_token:
            headers[SECRET_HEADER] = state.secret_token
        body = json.dumps(update, ensure_ascii=False, separators=(",", ":")).encode()
        status, error, retry_after = 0, None, 0.0
        try:
            async with self._session.post(
                state.url,
                data=body,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            ) as response:
                await response.read()
                status = response.status
                if not 200 <= status <= 299:
                    error = f"Wrong response from the webhook: {status} {response.reason}"
                    retry_after = _retry_after(response.headers.get("Retry-After"))
        except aiohttp.ClientConnectorError as exc:
            error = _connect_error(exc)
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError):
            error = "Webhook connection closed"
        except TimeoutError:
            error = "Read timeout expired"
        except aiohttp.ClientError as exc:
            error = f"Webhook request failed: {type(exc).__name__}"
        finally:
            self._in_flight.pop(update_id, None)
        state.calls.append(WebhookCall(update_id, status, error, time.monotonic()))
        if error is None:
            self.world.queue.remove(update_id)
            self._failures.pop(update_id, None)
            self._retry_at.pop(update_id, None)
        else:
            state.last_error_date = int(time.time())
            state.last_error_message = error
            failures = self._failures.get(update_id, 0)
            self._failures[update_id] = failures + 1
            # Telegram: the first failure is retried at once, then 2, 4, 8... s (or the
            # answer's Retry-After), at most about a minute apart (WebhookActor.cpp).
            delay = retry_after or (
                0.0 if failures == 0 else min(self.max_retry, self.first_retry * 2**failures)
            )
            self._retry_at[update_id] = time.monotonic() + delay
        self.world.changed.notify()
        self.wake()


def _retry_after(value: str | None) -> float:
    if value is None or not value.strip().isdigit():
        return 0.0
    return min(float(value), 3600.0)


def _connect_error(exc: aiohttp.ClientConnectorError) -> str:
    if isinstance(exc.os_error, ConnectionRefusedError):
        return "Connection refused"
    return "Can't connect to the webhook"
