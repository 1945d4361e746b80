"""Simulated Telegram users: what they do arrives at the bot as Updates in Telegram's JSON.

Each action queues an Update with the next ``update_id`` and wakes a waiting getUpdates.
In groups the bot runs in privacy mode by default, as bots do unless BotFather's
/setprivacy is turned off (https://core.telegram.org/bots/features#privacy-mode): it sees
commands, mentions of itself and replies to its own messages, and nothing else.
"""

from __future__ import annotations

import itertools
from typing import Any, Literal

from bot.localapi.entities import detect_entities
from bot.localapi.state import Chat, World

JsonDict = dict[str, Any]
MediaKind = Literal["sticker", "photo", "voice", "document"]

GROUP_ADMIN_ID = 1_000_001  # who removes the bot from a group in a simulated my_chat_member


class SimulatedUsers:
    """User actions on the server (mixed into :class:`LocalBotApiServer`)."""

    world: World
    _query_ids = itertools.count(1)

    # --- messages ---------------------------------------------------------------------

    def user_sends(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        chat_type: str = "private",
        first_name: str = "Alice",
        username: str | None = None,
        chat_title: str | None = None,
        reply_to_bot_message_id: int | None = None,
        forward_origin: JsonDict | None = None,
        entities: list[JsonDict] | None = None,
    ) -> JsonDict:
        """A user writes ``text``; returns the queued Update.

        ``entities`` default to what Telegram detects: ``/commands`` (also
        ``/cmd@botname``) and ``@mentions``. ``forward_origin`` is a MessageOrigin, e.g.
        ``{"type": "hidden_user", "sender_user_name": "Bob", "date": 1700000000}``.
        In a group with privacy mode, a message the bot would not see is not queued: the
        returned dict then has no ``update_id``.
        """
        chat, message = self._new_message(
            user_id, chat_id, chat_type, first_name, username, chat_title
        )
        message["text"] = text
        found = (
            [e.to_json() for e in detect_entities(text)] if entities is None else list(entities)
        )
        if found:
            message["entities"] = found
        if reply_to_bot_message_id is not None:
            target = chat.messages.get(reply_to_bot_message_id)
            if target is None or reply_to_bot_message_id not in chat.bot_message_ids:
                raise ValueError(f"no bot message {reply_to_bot_message_id} in chat {chat.id}")
            message["reply_to_message"] = {
                k: v for k, v in target.items() if k != "reply_to_message"
            }
        if forward_origin is not None:
            message["forward_origin"] = {"date": self.world.date(), **forward_origin}
        chat.messages[message["message_id"]] = message
        return self._deliver("message", message, self._bot_sees(chat, message))

    def user_sends_media(
        self,
        user_id: int,
        kind: MediaKind,
        caption: str | None = None,
        *,
        chat_id: int | None = None,
        chat_type: str = "private",
        first_name: str = "Alice",
        username: str | None = None,
    ) -> JsonDict:
        """A user sends a sticker, photo, voice message or document; returns the Update."""
        chat, message = self._new_message(user_id, chat_id, chat_type, first_name, username, None)
        message.update(self._media(kind))
        if caption is not None:
            message["caption"] = caption
            found = [e.to_json() for e in detect_entities(caption)]
            if found:
                message["caption_entities"] = found
        chat.messages[message["message_id"]] = message
        return self._deliver("message", message, self._bot_sees(chat, message))

    def user_edits(
        self, user_id: int, message_id: int, text: str, *, chat_id: int | None = None
    ) -> JsonDict:
        """A user edits their earlier text message; returns the ``edited_message`` Update."""
        chat = self.world.find_chat(user_id if chat_id is None else chat_id)
        message = chat.messages.get(message_id)
        if message is None or message.get("from", {}).get("id") != user_id:
            raise ValueError(f"user {user_id} has no message {message_id} in chat {chat.id}")
        message["text"] = text
        message.pop("entities", None)
        found = [e.to_json() for e in detect_entities(text)]
        if found:
            message["entities"] = found
        message["edit_date"] = self.world.date()
        return self._deliver("edited_message", dict(message), self._bot_sees(chat, message))

    def channel_post(self, chat_id: int, text: str, *, title: str = "News channel") -> JsonDict:
        """A post in a channel where the bot is an administrator."""
        chat = self.world.group_chat(chat_id, title, "channel")
        message: JsonDict = {
            "message_id": chat.next_message_id(),
            "sender_chat": chat.to_json(),
            "chat": chat.to_json(),
            "date": self.world.date(),
            "text": text,
        }
        chat.messages[message["message_id"]] = message
        return self._deliver("channel_post", message, True)

    # --- buttons and inline mode -----------------------------------------------------

    def user_presses(
        self, user_id: int, message_id: int, callback_data: str, chat_id: int | None = None
    ) -> str:
        """A user presses an inline button of a bot message; returns the callback query id.

        Raises ValueError when the message has no button with that ``callback_data``: a
        user can only press buttons that exist.
        """
        world = self.world
        chat = world.find_chat(user_id if chat_id is None else chat_id)
        message = chat.messages.get(message_id)
        if message is None or message_id not in chat.bot_message_ids:
            raise ValueError(f"no bot message {message_id} in chat {chat.id}")
        rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
        if not any(button.get("callback_data") == callback_data for row in rows for button in row):
            raise ValueError(f"message {message_id} has no button with data {callback_data!r}")
        query_id = f"{user_id}{next(self._query_ids):08d}"
        world.callback_queries[query_id] = world.now()
        query = {
            "id": query_id,
            "from": world.remember_user(user_id),
            "message": message,
            "chat_instance": str(abs(hash((chat.id, world.bot_id)))),
            "data": callback_data,
        }
        self._deliver("callback_query", query, True)
        return query_id

    def forged_press(
        self,
        user_id: int,
        callback_data: str,
        *,
        message_id: int | None = None,
        chat_id: int | None = None,
        inline_message_id: str | None = None,
    ) -> str:
        """A modified client sends ``callback_data`` that no button carries; returns the id.

        The query names a bot message (``message_id``) or an inline message
        (``inline_message_id``: the query then has no ``message``, as from inline mode).
        """
        world = self.world
        query_id = f"{user_id}{next(self._query_ids):08d}"
        world.callback_queries[query_id] = world.now()
        query: JsonDict = {
            "id": query_id,
            "from": world.remember_user(user_id),
            "chat_instance": str(abs(hash((user_id, world.bot_id)))),
            "data": callback_data,
        }
        if inline_message_id is not None:
            query["inline_message_id"] = inline_message_id
        else:
            chat = world.find_chat(user_id if chat_id is None else chat_id)
            message = chat.messages.get(message_id or 0)
            if message is None or message_id not in chat.bot_message_ids:
                raise ValueError(f"no bot message {message_id} in chat {chat.id}")
            query["message"] = message
        self._deliver("callback_query", query, True)
        return query_id

    def inline_query(self, user_id: int, query: str, *, offset: str = "") -> str:
        """A user types ``@bot query``; returns the inline query id."""
        query_id = f"{user_id}{next(self._query_ids):08d}"
        payload = {
            "id": query_id,
            "from": self.world.remember_user(user_id),
            "query": query,
            "offset": offset,
            "chat_type": "sender",
        }
        self._deliver("inline_query", payload, True)
        return query_id

    # --- membership -------------------------------------------------------------------

    def block(self, chat_id: int) -> None:
        """The user blocks the bot (or the bot is removed from the group)."""
        chat = self.world.find_chat(chat_id)
        if not chat.blocked:
            chat.blocked = True
            self._my_chat_member(chat, "member", "kicked")

    def unblock(self, chat_id: int) -> None:
        """The user unblocks the bot (or the bot is added back to the group)."""
        chat = self.world.find_chat(chat_id)
        if chat.blocked:
            chat.blocked = False
            self._my_chat_member(chat, "kicked", "member")

    def chat_member_update(
        self, chat_id: int, user_id: int, old_status: str, new_status: str
    ) -> JsonDict:
        """Another member's status changes (delivered only if allowed_updates asks for it)."""
        chat = self.world.find_chat(chat_id)
        user = self.world.remember_user(user_id)
        payload = {
            "chat": chat.to_json(),
            "from": user,
            "date": self.world.date(),
            "old_chat_member": {"user": user, "status": old_status},
            "new_chat_member": {"user": user, "status": new_status},
        }
        return self._deliver("chat_member", payload, True)

    # --- helpers ----------------------------------------------------------------------

    def _my_chat_member(self, chat: Chat, old: str, new: str) -> None:
        world = self.world
        if chat.type == "private":
            actor = world.remember_user(chat.id)
        else:
            actor = world.remember_user(GROUP_ADMIN_ID, "Group admin")
        new_member: JsonDict = {"user": world.bot_user(), "status": new}
        if new == "kicked":
            new_member["until_date"] = 0
        old_member: JsonDict = {"user": world.bot_user(), "status": old}
        if old == "kicked":
            old_member["until_date"] = 0
        payload = {
            "chat": chat.to_json(),
            "from": actor,
            "date": world.date(),
            "old_chat_member": old_member,
            "new_chat_member": new_member,
        }
        self._deliver("my_chat_member", payload, True)

    def _new_message(
        self,
        user_id: int,
        chat_id: int | None,
        chat_type: str,
        first_name: str,
        username: str | None,
        chat_title: str | None,
    ) -> tuple[Chat, JsonDict]:
        world = self.world
        if chat_type == "private":
            if chat_id not in (None, user_id):
                raise ValueError("a private chat's id is the user's id")
            chat = world.private_chat(user_id, first_name, username=username)
            if chat.deactivated:
                raise ValueError(f"user {user_id} is deactivated and cannot write")
            if chat.blocked:
                # writing to a blocked bot unblocks it ("Restart bot" in the apps)
                self.unblock(chat.id)
        else:
            if chat_id is None:
                raise ValueError("a group message needs chat_id")
            title = chat_title or f"Group {chat_id}"
            chat = world.chats.get(chat_id) or world.group_chat(chat_id, title, chat_type)
            chat.members.setdefault(user_id, "member")
        user = world.remember_user(user_id, first_name, username=username)
        message: JsonDict = {
            "message_id": chat.next_message_id(),
            "from": user,
            "chat": chat.to_json(),
            "date": world.date(),
        }
        return chat, message

    def _media(self, kind: MediaKind) -> JsonDict:
        file_id, unique_id = self.world.new_file_ids()
        if kind == "sticker":
            sticker = {"type": "regular", "width": 512, "height": 512, "emoji": "👍"}
            flags = {"is_animated": False, "is_video": False}
            return {
                "sticker": {"file_id": file_id, "file_unique_id": unique_id, **sticker, **flags}
            }
        if kind == "photo":
            return {
                "photo": [
                    {
                        "file_id": f"{file_id}{size}",
                        "file_unique_id": f"{unique_id}{size}",
                        "width": size,
                        "height": size * 3 // 4,
                        "file_size": size * 60,
                    }
                    for size in (90, 320, 800)
                ]
            }
        if kind == "voice":
            voice = {"duration": 3, "mime_type": "audio/ogg", "file_size": 9000}
            return {"voice": {"file_id": file_id, "file_unique_id": unique_id, **voice}}
        document = {"file_name": "notes.pdf", "mime_type": "application/pdf", "file_size": 20480}
        return {"document": {"file_id": file_id, "file_unique_id": unique_id, **document}}

    def _bot_sees(self, chat: Chat, message: JsonDict) -> bool:
        """Privacy mode: in groups the bot sees commands, mentions and replies to itself."""
        if chat.type in ("private", "channel") or not self.world.group_privacy:
            return True
        name = self.world.bot_username.lower()
        text = str(message.get("text") or message.get("caption") or "")
        for entity in message.get("entities", []) + message.get("caption_entities", []):
            start = entity["offset"]
            word = text.encode("utf-16-le")[2 * start : 2 * (start + entity["length"])]
            value = word.decode("utf-16-le").lower()
            if entity["type"] == "bot_command" and ("@" not in value or value.endswith(name)):
                return True
            if entity["type"] == "mention" and value == "@" + name:
                return True
        reply = message.get("reply_to_message") or {}
        return reply.get("message_id") in chat.bot_message_ids

    def _deliver(self, kind: str, payload: JsonDict, visible: bool) -> JsonDict:
        if visible:
            update = self.world.queue.push(kind, payload)
            if update is not None:
                self.world.changed.notify()
                return update
        return {kind: payload}
