"""The server's world: the bot, its chats and their messages, the updates queue, the recording.

Everything here is plain data mutated on the event loop that runs the server; the HTTP
layer (``server.py``), the Bot API methods (``methods.py``) and the simulated users
(``simulate.py``) all work on one :class:`World`.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.localapi.errors import CONFLICT_POLLING, bad_request, conflict, forbidden
from bot.localapi.faults import FaultPlan
from bot.localapi.limits import FloodControl, FloodLimits
from bot.localapi.recording import CallbackAnswer, Notifier, RecordedMessage, RequestRecord
from bot.localapi.webhook import WebhookState

JsonDict = dict[str, Any]

# A token of Telegram's shape ("<bot id>:<35 characters>"), handy for tests.
TEST_TOKEN = "123456789:AAHlocalNewsbotTestToken-0123456789ab"
TOKEN_PATTERN = re.compile(r"^(\d{1,20}):[A-Za-z0-9_-]{30,50}$")

# getUpdates without allowed_updates delivers everything except these
# (https://core.telegram.org/bots/api#getupdates).
OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
MEMBER_STATUSES = frozenset({"creator", "administrator", "member", "left", "kicked"})


def commands_key(scope: Any, language_code: str) -> str:
    """Where setMyCommands stores a list: per scope and language."""
    return json.dumps(scope or {"type": "default"}, sort_keys=True) + "|" + language_code


@dataclass
class Chat:
    """A chat the bot knows, with every message in it (the bot's and the users')."""

    id: int
    type: str  # "private", "group", "supergroup" or "channel"
    title: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None
    blocked: bool = False
    deactivated: bool = False
    last_message_id: int = 0
    messages: dict[int, JsonDict] = field(default_factory=dict)
    bot_message_ids: set[int] = field(default_factory=set)
    # Group members' statuses ("creator", "administrator", "member", "left", "kicked");
    # a user who writes in the group is a "member" unless set otherwise.
    members: dict[int, str] = field(default_factory=dict)

    def to_json(self) -> JsonDict:
        data: JsonDict = {"id": self.id, "type": self.type}
        for key in ("title", "first_name", "last_name", "username"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        return data

    def next_message_id(self) -> int:
        self.last_message_id += 1
        return self.last_message_id


@dataclass
class _Poller:
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    reason: str | None = None  # "conflict" or "closing"


class UpdateQueue:
    """Unconfirmed updates, in update_id order, and the one long poll waiting for them."""

    def __init__(self) -> None:
        self._updates: list[JsonDict] = []
        self._next_id = 1
        self.allowed: frozenset[str] | None = None  # None: all but OPT_IN_UPDATES
        self._poller: _Poller | None = None
        # Called at every new update: webhook delivery wakes up (see webhook.py).
        self.on_push: Callable[[], None] | None = None

    def push(self, kind: str, payload: JsonDict) -> JsonDict | None:
        """Queue an update of ``kind``; None when allowed_updates filters it out."""
        if self.allowed is None:
            if kind in OPT_IN_UPDATES:
                return None
        elif kind not in self.allowed:
            return None
        # a copy: later edits of the stored message must not rewrite a queued update
        update = {"update_id": self._next_id, kind: copy.deepcopy(payload)}
        self._next_id += 1
        self._updates.append(update)
        if self._poller is not None:
            self._poller.wake.set()
        if self.on_push is not None:
            self.on_push()
        return update

    def confirm(self, offset: int | None) -> None:
        """Forget updates before ``offset``; a negative offset keeps only the last -offset."""
        if offset is None:
            return
        if offset < 0:
            self._updates = self._updates[offset:]
        else:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]

    def pending(self) -> list[JsonDict]:
        return list(self._updates)

    def pending_view(self) -> list[JsonDict]:
        """The pending updates themselves, in order (not a copy: do not change it)."""
        return self._updates

    def remove(self, update_id: int) -> None:
        """Forget one update: the webhook acknowledged it."""
        for position, update in enumerate(self._updates):
            if update["update_id"] == update_id:
                del self._updates[position]
                return

    def drop_all(self) -> None:
        self._updates.clear()

    async def poll(self, offset: int | None, limit: int, seconds: float) -> list[JsonDict]:
        """getUpdates: confirm, then wait up to ``seconds`` for updates.

        A second poll while one waits terminates the first with 409 Conflict, as Telegram
        does when two bot instances poll one token.
        """
        if self._poller is not None:
            self._poller.reason = "conflict"
            self._poller.wake.set()
        poller = _Poller()
        self._poller = poller
        self.confirm(offset)
        try:
            async with asyncio.timeout(seconds):
                while not self._updates and poller.reason is None:
                    poller.wake.clear()
                    await poller.wake.wait()
        except TimeoutError:
            pass
        finally:
            if self._poller is poller:
                self._poller = None
        if poller.reason == "conflict":
            raise conflict(CONFLICT_POLLING)
        if poller.reason == "closing":
            return []
        return self._updates[:limit]

    def release(self) -> None:
        """Answer a waiting long poll now with what there is (used when stopping)."""
        if self._poller is not None:
            self._poller.reason = "closing"
            self._poller.wake.set()


class World:
    """All state of one local Bot API server."""

    def __init__(
        self,
        *,
        limits: FloodLimits,
        bot_username: str,
        token: str | None,
        callback_query_ttl: float | None,
        group_privacy: bool,
        strict_html: bool,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clock = clock
        self.token = token
        self.bot_username = bot_username
        self.bot_first_name = "Newsbot (local)"
        self.callback_query_ttl = callback_query_ttl
        self.group_privacy = group_privacy
        self.strict_html = strict_html
        self.chats: dict[int, Chat] = {}
        self.users: dict[int, JsonDict] = {}
        self.queue = UpdateQueue()
        self.flood = FloodControl(limits, clock)
        self.faults = FaultPlan()
        self.forced_retry: dict[int, list[int]] = {}  # chat id -> [seconds, times left]
        self.callback_queries: dict[str, float] = {}  # id -> monotonic time it was created
        self.webhook = WebhookState()
        self.on_webhook_change: Callable[[], None] | None = None
        self.commands: dict[str, list[JsonDict]] = {}
        self.recorded: dict[int, list[RecordedMessage]] = {}
        # Messages sent with allow_paid_broadcast: 0.1 Star each from the bot's balance.
        self.paid_messages = 0
        self.callback_answers: list[CallbackAnswer] = []
        self.requests: list[RequestRecord] = []
        self.changed = Notifier()
        self._file_counter = 0

    # --- the bot ---------------------------------------------------------------------

    def accept_token(self, token: str) -> bool:
        """True if ``token`` is this server's bot; the first well-formed token is adopted."""
        if TOKEN_PATTERN.match(token) is None:
            return False
        if self.token is None:
            self.token = token
        return token == self.token

    @property
    def bot_id(self) -> int:
        match = TOKEN_PATTERN.match(self.token or TEST_TOKEN)
        assert match is not None
        return int(match.group(1))

    def bot_user(self) -> JsonDict:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    # --- chats -------------------------------------------------------------------------

    def find_chat(self, chat_id: int | str) -> Chat:
        """The chat by id or @username, or 400 "chat not found"."""
        if isinstance(chat_id, str):
            name = chat_id.removeprefix("@").lower()
            for known in self.chats.values():
                if known.username and known.username.lower() == name:
                    return known
            raise bad_request("chat not found")
        chat = self.chats.get(chat_id)
        if chat is None:
            if chat_id in self.users:
                # seen in a group but never started the bot
                raise forbidden("bot can't initiate conversation with a user")
            raise bad_request("chat not found")
        return chat

    def remember_user(
        self,
        user_id: int,
        first_name: str = "Alice",
        last_name: str | None = None,
        username: str | None = None,
    ) -> JsonDict:
        """The User object for ``user_id``, created on first sight."""
        if user_id <= 0:
            raise ValueError("user ids are positive")
        user = self.users.setdefault(
            user_id,
            {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "en"},
        )
        if last_name is not None:
            user["last_name"] = last_name
        if username is not None:
            user["username"] = username
        return user

    def private_chat(
        self,
        user_id: int,
        first_name: str = "Alice",
        last_name: str | None = None,
        username: str | None = None,
    ) -> Chat:
        """The private chat with ``user_id`` (the user has started the bot), created if new."""
        user = self.remember_user(user_id, first_name, last_name, username)
        chat = self.chats.get(user_id)
        if chat is None:
            chat = Chat(
                user_id,
                "private",
                first_name=user["first_name"],
                last_name=user.get("last_name"),
                username=user.get("username"),
            )
            self.chats[user_id] = chat
        return chat

    def group_chat(self, chat_id: int, title: str, chat_type: str = "group") -> Chat:
        if chat_id >= 0:
            raise ValueError("group, supergroup and channel ids are negative")
        chat = self.chats.get(chat_id)
        if chat is None:
            chat = Chat(chat_id, chat_type, title=title)
            self.chats[chat_id] = chat
        return chat

    def webhook_changed(self) -> None:
        """setWebhook or deleteWebhook ran: delivery starts, stops or restarts its retries."""
        if self.on_webhook_change is not None:
            self.on_webhook_change()
        self.changed.notify()

    # --- misc --------------------------------------------------------------------------

    def now(self) -> float:
        """Monotonic seconds from the server's clock (flood buckets, recordings, TTLs)."""
        return self.clock()

    @staticmethod
    def date() -> int:
        return int(time.time())

    def new_file_ids(self) -> tuple[str, str]:
        """A (file_id, file_unique_id) pair that looks like Telegram's."""
        self._file_counter += 1
        n = self._file_counter
        return f"AgACAgIAAxkBAAI{n:06d}LocalFile{n:04d}", f"AQAD{n:08d}"

    def record_request(
        self, method: str, chat_id: int | str | None, status: int, description: str | None
    ) -> None:
        self.requests.append(RequestRecord(method, chat_id, self.now(), status, description))
        self.changed.notify()
