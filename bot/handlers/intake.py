"""Where updates enter the bot, before any handler runs.

- Control characters are stripped from what Telegram sends (``CleanUpdatesRequest``):
  PostgreSQL refuses NUL in text, and no reader needs the other C0 controls.
- A flooding user is throttled before any work is done for them (``FairUpdates``): one
  "slow down" notice per window, further updates dropped unread.
- One sender's updates run one after another (grammY's ``sequentialize``), different senders
  in parallel; so a flood occupies one lane, never the bot's shared concurrency.
- Waiting for a chat's send slot (1 message/s to a private chat) gives the shared slot back
  (``ratelimit.current_slot``), so replies queued for one chat never stall the others.

Updates that are not a user's request (the bot blocked or unblocked, ``my_chat_member``)
are never throttled. When the bot stops, updates still waiting in a lane are dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor
from telegram.request import HTTPXRequest, RequestData

from bot.delivery.ratelimit import SharedSlot, current_slot
from bot.questions.throttle import Admission, QuestionThrottle, SharedThrottle

logger = logging.getLogger(__name__)

# In JSON a control character can only be written escaped; Telegram writes \n, \t and \r
# as such, the rest as \u00XX. An escape preceded by an odd run of backslashes is text.
_CONTROL_ESCAPE = re.compile(rb"(?<!\\)((?:\\\\)*)\\u00(?:0[0-8bBcCeEfF]|1[0-9a-fA-F])")
SHARED_SLOTS = 256  # python-telegram-bot's default for concurrent_updates(True)
# PTB's own semaphore wraps ``do_process_update``; the lanes and slots below replace it.
_UNBOUNDED = 1_000_000
THROTTLED_TEXT = "You are sending messages very quickly. Please wait {seconds} seconds."

Notice = Callable[[Update, float], Coroutine[Any, Any, None]]


def strip_control_escapes(payload: bytes) -> bytes:
    """A getUpdates answer without C0 control characters in its strings (newlines kept)."""
    if b"\\u00" not in payload:
        return payload
    return _CONTROL_ESCAPE.sub(rb"\1", payload)


class CleanUpdatesRequest(HTTPXRequest):
    """The getUpdates connection: control characters never reach an ``Update``."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = HTTPXRequest.DEFAULT_NONE,
        write_timeout: Any = HTTPXRequest.DEFAULT_NONE,
        connect_timeout: Any = HTTPXRequest.DEFAULT_NONE,
        pool_timeout: Any = HTTPXRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        status, payload = await super().do_request(
            url, method, request_data, read_timeout, write_timeout, connect_timeout, pool_timeout
        )
        return status, strip_control_escapes(payload)


def sender_of(update: object) -> int | None:
    """Whose update this is, for throttling and ordering: the user, else the chat."""
    if not isinstance(update, Update):
        return None
    if update.my_chat_member is not None or update.chat_member is not None:
        return None  # membership changes are Telegram's notices, not a user's requests
    if update.effective_user is not None:
        return update.effective_user.id
    return update.effective_chat.id if update.effective_chat is not None else None


class _Slot(SharedSlot):
    """One of the shared slots, held by the task running one update."""

    def __init__(self, slots: asyncio.Semaphore) -> None:
        self._slots = slots
        self._owner = asyncio.current_task()
        self._held = False

    async def acquire(self) -> None:
        await self._slots.acquire()
        self._held = True

    def release(self) -> None:
        if self._held:
            self._held = False
            self._slots.release()

    def _mine(self) -> bool:
        # A task the handler started (a progress display) inherits the context, not the slot.
        return asyncio.current_task() is self._owner

    async def give_back_while(self, wait: Awaitable[None]) -> None:
        if not (self._mine() and self._held):
            await wait
            return
        self.release()
        try:
            await wait
        finally:
            await self.acquire()


class _Lane:
    """One sender's updates, one at a time; forgotten when nobody is in it."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


class FairUpdates(BaseUpdateProcessor):
    """Throttle, then one lane per sender, then one of ``slots`` shared slots."""

    def __init__(
        self,
        throttle: QuestionThrottle,
        notice: Notice,
        *,
        slots: int = SHARED_SLOTS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(_UNBOUNDED)
        self.throttle = throttle
        self._notice = notice
        self._slots = asyncio.Semaphore(slots)
        self._clock = clock
        self._lanes: dict[int, _Lane] = {}
        self._notices: set[asyncio.Task[None]] = set()
        self._shared: SharedThrottle | None = None
        # False once the application is stopping: updates not started yet are dropped, so a
        # stop waits for the handlers running, not for a flooder's backlog at 1 reply/s.
        self.accepting: Callable[[], bool] = lambda: True

    def share(self, shared: SharedThrottle) -> None:
        """Count a sender's updates with every process on the database (``SharedThrottle``).

        The shared count is asked inside the sender's lane, so a sender's updates keep
        their order while it answers.
        """
        self._shared = shared

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        for task in list(self._notices):
            task.cancel()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        sender = sender_of(update)
        if sender is not None and self._shared is None:
            admission, wait = self.throttle.admit(sender, self._clock())
            if not self._admitted(update, sender, admission, wait, coroutine):
                return
        lane = self._lane(sender)
        try:
            async with lane.lock if lane is not None else contextlib.nullcontext():
                if not self.accepting():
                    _close(coroutine)
                    return
                if sender is not None and self._shared is not None:
                    admission, wait = await self._shared.admit(sender)
                    if not self._admitted(update, sender, admission, wait, coroutine):
                        return
                slot = _Slot(self._slots)
                await slot.acquire()
                token = current_slot.set(slot)
                try:
                    await coroutine
                finally:
                    current_slot.reset(token)
                    slot.release()
        finally:
            if lane is not None and sender is not None:
                lane.users -= 1
                if lane.users == 0:
                    del self._lanes[sender]

    def _admitted(
        self,
        update: object,
        sender: int,
        admission: Admission,
        wait: float,
        coroutine: Awaitable[Any],
    ) -> bool:
        """True to run the update; else it is dropped, with the window's one notice."""
        if admission is Admission.ALLOW:
            return True
        _close(coroutine)
        if admission is Admission.WARN and isinstance(update, Update):
            logger.info("throttled sender %s for %.0f s", sender, wait)
            self._spawn_notice(update, wait)
        return False

    def _lane(self, sender: int | None) -> _Lane | None:
        if sender is None:
            return None
        lane = self._lanes.get(sender)
        if lane is None:
            lane = self._lanes[sender] = _Lane()
        lane.users += 1
        return lane

    def _spawn_notice(self, update: Update, wait: float) -> None:
        # Sent in the background: waiting for the chat's send slot holds no shared slot.
        task = asyncio.create_task(self._notice(update, wait), name="throttle-notice")
        self._notices.add(task)
        task.add_done_callback(self._notices.discard)


def _close(coroutine: Awaitable[Any]) -> None:
    """Drop an update's handler coroutine without running it (and without a warning)."""
    if isinstance(coroutine, Coroutine):
        coroutine.close()
