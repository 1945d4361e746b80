"""Test controls: known chats, failures to arm, and the recording to read and wait on.

Plain methods, called on the event loop that runs the server (mixed into
:class:`LocalBotApiServer`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.localapi.faults import Fault
from bot.localapi.recording import CallbackAnswer, RecordedMessage, RequestRecord, WaitTimeout
from bot.localapi.state import MEMBER_STATUSES, World, commands_key
from bot.localapi.webhook import WebhookCall

JsonDict = dict[str, Any]


class Controls:
    """Arrange the world and read what the bot did."""

    world: World

    # --- arranging --------------------------------------------------------------------

    def add_private_chat(
        self,
        user_id: int,
        first_name: str = "Alice",
        *,
        last_name: str | None = None,
        username: str | None = None,
    ) -> JsonDict:
        """A user who has started the bot (without a queued message); returns the Chat."""
        return self.world.private_chat(user_id, first_name, last_name, username).to_json()

    def add_group_chat(self, chat_id: int, title: str, *, chat_type: str = "group") -> JsonDict:
        """A group (negative id) the bot is a member of; returns the Chat."""
        if chat_type not in ("group", "supergroup", "channel"):
            raise ValueError(f"not a group chat type: {chat_type}")
        return self.world.group_chat(chat_id, title, chat_type).to_json()

    def set_member_status(self, chat_id: int, user_id: int, status: str) -> None:
        """A group member's status, as getChatMember reports it ("administrator", ...)."""
        if status not in MEMBER_STATUSES:
            raise ValueError(f"not a chat member status: {status}")
        self.world.remember_user(user_id)
        self.world.find_chat(chat_id).members[user_id] = status

    def deactivate(self, chat_id: int) -> None:
        """The user deleted their account: sends answer 403 "user is deactivated"."""
        self.world.find_chat(chat_id).deactivated = True

    def force_retry_after(self, chat_id: int, seconds: int, times: int = 1) -> None:
        """The next ``times`` sends to the chat answer 429 with ``retry_after=seconds``."""
        if times < 1 or seconds < 1:
            raise ValueError("seconds and times must be at least 1")
        self.world.forced_retry[chat_id] = [seconds, times]

    def inject(
        self, method: str, fault: Fault, times: int = 1, *, chat_id: int | None = None
    ) -> None:
        """The next ``times`` calls of ``method`` (to ``chat_id`` only, if given) fail."""
        self.world.faults.arm(method, fault, times, chat_id)

    def clear_faults(self) -> None:
        self.world.faults.clear()
        self.world.forced_retry.clear()

    # --- reading ----------------------------------------------------------------------

    def messages(self, chat_id: int) -> list[RecordedMessage]:
        """The bot's messages in the chat, oldest first (deleted ones flagged, not removed)."""
        return list(self.world.recorded.get(chat_id, []))

    @property
    def callback_answers(self) -> list[CallbackAnswer]:
        return list(self.world.callback_answers)

    @property
    def requests(self) -> list[RequestRecord]:
        """Every HTTP call the bot made, in arrival order of their answers."""
        return list(self.world.requests)

    @property
    def webhook_calls(self) -> list[WebhookCall]:
        """Every delivery to the webhook, in the order the answers came."""
        return list(self.world.webhook.calls)

    @property
    def webhook_url(self) -> str:
        """The webhook set by setWebhook ("" when none)."""
        return self.world.webhook.url

    @property
    def webhook_secret(self) -> str:
        return self.world.webhook.secret_token

    def updates_pending(self) -> list[JsonDict]:
        """Updates queued and not yet confirmed by a getUpdates offset."""
        return self.world.queue.pending()

    def commands(self, language_code: str = "", *, chat_id: int | None = None) -> list[JsonDict]:
        """The bot's command list, as set by setMyCommands: the default scope, or the
        ``BotCommandScopeChat`` of ``chat_id``."""
        scope = None if chat_id is None else {"type": "chat", "chat_id": chat_id}
        return list(self.world.commands.get(commands_key(scope, language_code), []))

    def reset_recording(self) -> None:
        """Forget recorded messages, callback answers and requests (chats stay)."""
        self.world.recorded.clear()
        self.world.callback_answers.clear()
        self.world.requests.clear()

    # --- waiting ----------------------------------------------------------------------

    async def _wait(
        self, ready: Callable[[], bool], seconds: float, what: Callable[[], str]
    ) -> None:
        if not await self.world.changed.wait_until(ready, seconds):
            raise WaitTimeout(f"timed out after {seconds:g}s {what()}")

    async def wait_for_messages(
        self,
        chat_id: int,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 - a plain deadline reads best in tests
    ) -> list[RecordedMessage]:
        """Wait until the bot has sent at least ``count`` messages to the chat."""

        def seen() -> str:
            texts = [m.text for m in self.messages(chat_id)]
            return f"waiting for {count} message(s) in chat {chat_id}; saw {texts!r}"

        await self._wait(lambda: len(self.messages(chat_id)) >= count, timeout, seen)
        return self.messages(chat_id)

    async def wait_for_edit(
        self,
        chat_id: int,
        message_id: int,
        *,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 - a plain deadline reads best in tests
    ) -> RecordedMessage:
        """Wait until the bot's message has been edited at least ``count`` times."""

        def current() -> RecordedMessage | None:
            found = [m for m in self.messages(chat_id) if m.message_id == message_id]
            return found[0] if found else None

        def seen() -> str:
            message = current()
            state = "no such message" if message is None else f"{len(message.history)} edit(s)"
            return f"waiting for {count} edit(s) of message {message_id}; saw {state}"

        def ready() -> bool:
            message = current()
            return message is not None and len(message.history) >= count

        await self._wait(ready, timeout, seen)
        message = current()
        assert message is not None
        return message

    async def wait_for_callback_answer(
        self,
        callback_query_id: str,
        timeout: float = 5.0,  # noqa: ASYNC109 - a plain deadline reads best in tests
    ) -> CallbackAnswer:
        """Wait until the bot answers the callback query."""

        def found() -> list[CallbackAnswer]:
            answers = self.world.callback_answers
            return [a for a in answers if a.callback_query_id == callback_query_id]

        def seen() -> str:
            return f"waiting for an answer to callback query {callback_query_id}"

        await self._wait(lambda: bool(found()), timeout, seen)
        return found()[0]

    async def wait_for_webhook_calls(
        self,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 - a plain deadline reads best in tests
        *,
        acknowledged: bool = False,
    ) -> list[WebhookCall]:
        """Wait until ``count`` deliveries to the webhook (acknowledged ones only, if asked)."""

        def calls() -> list[WebhookCall]:
            found = self.world.webhook.calls
            return [c for c in found if c.error is None] if acknowledged else list(found)

        def seen() -> str:
            return f"waiting for {count} webhook call(s); saw {calls()!r}"

        await self._wait(lambda: len(calls()) >= count, timeout, seen)
        return calls()

    async def wait_for_requests(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 - a plain deadline reads best in tests
    ) -> list[RequestRecord]:
        """Wait until the bot has called ``method`` (case-insensitive) ``count`` times."""

        def calls() -> list[RequestRecord]:
            return [r for r in self.world.requests if r.method.lower() == method.lower()]

        def seen() -> str:
            return f"waiting for {count} {method} call(s); saw {len(calls())}"

        await self._wait(lambda: len(calls()) >= count, timeout, seen)
        return calls()
