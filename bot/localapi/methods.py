"""The Bot API methods the bot uses, answering as Telegram does (https://core.telegram.org/bots/api).

Each handler takes the decoded :class:`Params` and returns the ``result`` of the answer, or
raises :class:`ApiError`. Method names are case-insensitive, as in the Bot API.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from bot.localapi.admission import check_can_send, check_flood
from bot.localapi.content import check_markup, format_text, inline_markup
from bot.localapi.entities import ParsedText
from bot.localapi.errors import (
    CONFLICT_WEBHOOK,
    NOT_MODIFIED,
    QUERY_TOO_OLD,
    ApiError,
    bad_request,
    conflict,
)
from bot.localapi.params import Params
from bot.localapi.recording import CallbackAnswer, RecordedMessage
from bot.localapi.state import Chat, World, commands_key
from bot.localapi.webhook import DEFAULT_MAX_CONNECTIONS

JsonDict = dict[str, Any]
Handler = Callable[[Params], Awaitable[Any]]

_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_COMMAND = re.compile(r"^[a-z0-9_]{1,32}$")


_CHAT_SCOPES = frozenset({"chat", "chat_administrators", "chat_member"})
_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
# Telegram connects to webhooks on these ports only (Bot API, setWebhook).
_WEBHOOK_PORTS = frozenset({443, 80, 88, 8443})
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def check_webhook_url(url: str) -> None:
    """Refuse what Telegram refuses: not https, a port other than 443, 80, 88 or 8443.

    A loopback URL is taken over plain http and on any port, as telegram-bot-api does in
    its ``--local`` mode: this server runs on loopback for tests and console runs.
    """
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        raise bad_request("bad webhook: Failed to resolve host: Invalid port") from None
    if parts.hostname in _LOOPBACK and parts.scheme in ("http", "https"):
        return
    if parts.scheme != "https" or not parts.hostname:
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    if port is not None and port not in _WEBHOOK_PORTS:
        raise bad_request("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")


class BotApi:
    """Dispatches a method name to its handler."""

    def __init__(self, world: World) -> None:
        self.world = world
        self._handlers: dict[str, Handler] = {
            "getme": self.get_me,
            "getupdates": self.get_updates,
            "setwebhook": self.set_webhook,
            "deletewebhook": self.delete_webhook,
            "getwebhookinfo": self.get_webhook_info,
            "setmycommands": self.set_my_commands,
            "getmycommands": self.get_my_commands,
            "deletemycommands": self.delete_my_commands,
            "sendmessage": self.send_message,
            "editmessagetext": self.edit_message_text,
            "editmessagereplymarkup": self.edit_message_reply_markup,
            "deletemessage": self.delete_message,
            "answercallbackquery": self.answer_callback_query,
            "sendchataction": self.send_chat_action,
            "getchat": self.get_chat,
            "getchatmember": self.get_chat_member,
            "close": self.returns_true,
            "logout": self.returns_true,
        }

    def knows(self, method: str) -> bool:
        return method.lower() in self._handlers

    async def call(self, method: str, params: Params) -> Any:
        return await self._handlers[method.lower()](params)

    # --- the bot and its updates ------------------------------------------------------

    async def get_me(self, params: Params) -> JsonDict:
        return {
            **self.world.bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": not self.world.group_privacy,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def get_updates(self, params: Params) -> list[JsonDict]:
        world = self.world
        if world.webhook.url:
            raise conflict(CONFLICT_WEBHOOK)
        self._allowed_updates(params)
        limit = min(max(params.get_int("limit") or 100, 1), 100)
        timeout = max(params.get_float("timeout") or 0.0, 0.0)
        return await world.queue.poll(params.get_int("offset"), limit, timeout)

    def _allowed_updates(self, params: Params) -> None:
        # Unspecified keeps the previous setting; an empty list means the default set.
        allowed = params.get_json("allowed_updates", "allowed updates")
        if isinstance(allowed, list):
            self.world.queue.allowed = frozenset(str(kind) for kind in allowed) or None

    async def set_webhook(self, params: Params) -> bool:
        url = (params.get_str("url") or "").strip()
        if not url:
            return await self.delete_webhook(params)
        check_webhook_url(url)
        secret = params.get_str("secret_token") or ""
        if len(secret) > 256:
            raise bad_request("secret token is too long")
        if secret and _SECRET.fullmatch(secret) is None:
            raise bad_request("secret token contains unallowed characters")
        # Telegram clamps max_connections to 1-100; 0 or absent means 40 (telegram-bot-api).
        wanted = params.get_int("max_connections") or DEFAULT_MAX_CONNECTIONS
        self._allowed_updates(params)
        if params.get_bool("drop_pending_updates"):
            self.world.queue.drop_all()
        state = self.world.webhook
        if state.url != url:
            state.last_error_date = None
            state.last_error_message = None
        state.url = url
        state.secret_token = secret
        state.max_connections = min(max(wanted, 1), 100)
        self.world.webhook_changed()
        return True

    async def delete_webhook(self, params: Params) -> bool:
        if params.get_bool("drop_pending_updates"):
            self.world.queue.drop_all()
        state = self.world.webhook
        state.url = ""
        state.secret_token = ""
        state.last_error_date = None
        state.last_error_message = None
        self.world.webhook_changed()
        return True

    async def get_webhook_info(self, params: Params) -> JsonDict:
        state = self.world.webhook
        info: JsonDict = {
            "url": state.url,
            "has_custom_certificate": False,
            "pending_update_count": len(self.world.queue.pending()),
        }
        if state.url:
            info["max_connections"] = state.max_connections
            info["ip_address"] = "127.0.0.1"
            if state.last_error_date is not None:
                info["last_error_date"] = state.last_error_date
                info["last_error_message"] = state.last_error_message
        if self.world.queue.allowed is not None:
            info["allowed_updates"] = sorted(self.world.queue.allowed)
        return info

    async def returns_true(self, params: Params) -> bool:
        return True

    # --- commands ---------------------------------------------------------------------

    def _commands_key(self, params: Params) -> str:
        scope = params.get_json("scope", "bot command scope")
        if isinstance(scope, dict) and scope.get("type") in _CHAT_SCOPES:
            # Telegram answers 400 "chat not found" for a chat the bot has never seen (a user
            # who has not started it), https://core.telegram.org/bots/api#botcommandscopechat
            chat_id = scope.get("chat_id")
            if not isinstance(chat_id, int | str) or isinstance(chat_id, bool):
                raise bad_request("can't parse bot command scope JSON object")
            self.world.find_chat(chat_id)
        return commands_key(scope, params.get_str("language_code") or "")

    async def set_my_commands(self, params: Params) -> bool:
        commands = params.get_json("commands", "bot commands")
        if not isinstance(commands, list):
            raise bad_request("can't parse commands JSON object")
        for item in commands:
            if not isinstance(item, dict) or not _COMMAND.match(str(item.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(item.get("description", "")).strip()) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        self.world.commands[self._commands_key(params)] = [
            {"command": item["command"], "description": item["description"]} for item in commands
        ]
        return True

    async def get_my_commands(self, params: Params) -> list[JsonDict]:
        return list(self.world.commands.get(self._commands_key(params), []))

    async def delete_my_commands(self, params: Params) -> bool:
        self.world.commands.pop(self._commands_key(params), None)
        return True

    # --- messages ---------------------------------------------------------------------

    def _text(self, params: Params, too_long: str = "message is too long") -> ParsedText:
        return format_text(
            params.get_str("text"),
            params.get_str("parse_mode"),
            params.get_json("entities", "entities"),
            strict_html=self.world.strict_html,
            too_long=too_long,
        )

    async def send_message(self, params: Params) -> JsonDict:
        world = self.world
        chat = world.find_chat(params.chat_id())
        parsed = self._text(params)
        markup = check_markup(params.get_json("reply_markup", "reply keyboard markup"))
        reply_to = self._reply_to(chat, params)
        preview = params.get_json("link_preview_options", "link preview options")
        preview_disabled = params.get_bool("disable_web_page_preview") or (
            isinstance(preview, dict) and preview.get("is_disabled") is True
        )
        check_can_send(world, chat)
        # Bot API 7.11: paid broadcasts, up to 1000/s for 0.1 Star each (see limits.py).
        paid = params.get_bool("allow_paid_broadcast")
        check_flood(world, chat, paid)
        message: JsonDict = {
            "message_id": chat.next_message_id(),
            "from": world.bot_user(),
            "chat": chat.to_json(),
            "date": world.date(),
        }
        thread_id = params.get_int("message_thread_id")
        if thread_id is not None:
            message["message_thread_id"] = thread_id
        if reply_to is not None:
            message["reply_to_message"] = {
                k: v for k, v in reply_to.items() if k != "reply_to_message"
            }
        message["text"] = parsed.text
        if parsed.entities:
            message["entities"] = parsed.entities_json()
        if preview_disabled:
            message["link_preview_options"] = {"is_disabled": True}
        if params.get_bool("protect_content"):
            message["has_protected_content"] = True
        if inline_markup(markup) is not None:
            message["reply_markup"] = markup
        chat.messages[message["message_id"]] = message
        chat.bot_message_ids.add(message["message_id"])
        world.recorded.setdefault(chat.id, []).append(
            RecordedMessage(
                message_id=message["message_id"],
                chat_id=chat.id,
                text=parsed.text,
                html=params.get_str("text") or "",
                parse_mode=params.get_str("parse_mode"),
                entities=parsed.entities_json(),
                reply_markup=markup,
                sent_at=world.now(),
                reply_to_message_id=reply_to["message_id"] if reply_to else None,
                message_thread_id=thread_id,
                disable_notification=params.get_bool("disable_notification"),
                protect_content=params.get_bool("protect_content"),
                link_preview_disabled=preview_disabled,
                paid=paid,
            )
        )
        if paid:
            world.paid_messages += 1
        world.changed.notify()
        return message

    @staticmethod
    def _reply_to(chat: Chat, params: Params) -> JsonDict | None:
        reply = params.get_json("reply_parameters", "reply parameters")
        if isinstance(reply, dict):
            message_id = reply.get("message_id")
            allow = bool(reply.get("allow_sending_without_reply"))
        else:
            message_id = params.get_int("reply_to_message_id")
            allow = params.get_bool("allow_sending_without_reply")
        if message_id is None:
            return None
        target = chat.messages.get(message_id) if isinstance(message_id, int) else None
        if target is None and not allow:
            raise bad_request("message to be replied not found")
        return target

    def _bot_message(self, params: Params) -> tuple[Chat, JsonDict, RecordedMessage]:
        if params.get_str("inline_message_id"):
            raise bad_request("message to edit not found")  # inline messages: not simulated
        chat = self.world.find_chat(params.chat_id())
        message_id = params.get_int("message_id")
        if message_id is None:
            raise bad_request("message identifier is not specified")
        message = chat.messages.get(message_id)
        if message is None:
            raise bad_request("message to edit not found")
        if message_id not in chat.bot_message_ids:
            raise bad_request("message can't be edited")
        recorded = next(
            r for r in self.world.recorded.get(chat.id, []) if r.message_id == message_id
        )
        return chat, message, recorded

    def _apply_edit(
        self,
        chat: Chat,
        message: JsonDict,
        recorded: RecordedMessage,
        parsed: ParsedText | None,
        markup: JsonDict | None,
        params: Params,
    ) -> JsonDict:
        """Edit a bot message: the text (unless ``parsed`` is None) and the inline keyboard."""
        same_text = parsed is None or (
            parsed.text == message.get("text")
            and parsed.entities_json() == message.get("entities", [])
        )
        if same_text and markup == message.get("reply_markup"):
            raise ApiError(400, NOT_MODIFIED)
        check_can_send(self.world, chat)
        if self.world.flood.limits.count_edits:
            check_flood(self.world, chat)
        now = self.world.now()
        recorded.history.append(recorded.snapshot(now))
        if parsed is not None:
            message["text"] = parsed.text
            message.pop("entities", None)
            if parsed.entities:
                message["entities"] = parsed.entities_json()
            recorded.text = parsed.text
            recorded.html = params.get_str("text") or ""
            recorded.parse_mode = params.get_str("parse_mode")
            recorded.entities = parsed.entities_json()
        message.pop("reply_markup", None)
        if markup is not None:
            message["reply_markup"] = markup
        message["edit_date"] = self.world.date()
        recorded.reply_markup = markup
        recorded.edited_at = now
        self.world.changed.notify()
        return message

    async def edit_message_text(self, params: Params) -> JsonDict:
        chat, message, recorded = self._bot_message(params)
        # The Bot API does not pre-check edits; Telegram's own error name surfaces.
        parsed = self._text(params, too_long="MESSAGE_TOO_LONG")
        markup = check_markup(
            params.get_json("reply_markup", "reply keyboard markup"), inline_only=True
        )
        # Omitting reply_markup removes the inline keyboard, as in Telegram.
        return self._apply_edit(chat, message, recorded, parsed, markup, params)

    async def edit_message_reply_markup(self, params: Params) -> JsonDict:
        chat, message, recorded = self._bot_message(params)
        markup = check_markup(
            params.get_json("reply_markup", "reply keyboard markup"), inline_only=True
        )
        return self._apply_edit(chat, message, recorded, None, markup, params)

    async def delete_message(self, params: Params) -> bool:
        chat = self.world.find_chat(params.chat_id())
        message_id = params.get_int("message_id")
        if message_id is None or chat.messages.pop(message_id, None) is None:
            raise bad_request("message to delete not found")
        for recorded in self.world.recorded.get(chat.id, []):
            if recorded.message_id == message_id:
                recorded.deleted = True
        self.world.changed.notify()
        return True

    # --- the rest ---------------------------------------------------------------------

    async def answer_callback_query(self, params: Params) -> bool:
        world = self.world
        query_id = params.get_str("callback_query_id") or ""
        created = world.callback_queries.pop(query_id, None)
        ttl = world.callback_query_ttl
        if created is None or (ttl is not None and world.now() - created > ttl):
            raise ApiError(400, QUERY_TOO_OLD)
        world.callback_answers.append(
            CallbackAnswer(
                callback_query_id=query_id,
                text=params.get_str("text"),
                show_alert=params.get_bool("show_alert"),
                url=params.get_str("url"),
                cache_time=params.get_int("cache_time") or 0,
                at=world.now(),
            )
        )
        world.changed.notify()
        return True

    async def send_chat_action(self, params: Params) -> bool:
        chat = self.world.find_chat(params.chat_id())
        if params.get_str("action") not in _CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        check_can_send(self.world, chat)
        return True

    async def get_chat(self, params: Params) -> JsonDict:
        chat = self.world.find_chat(params.chat_id())
        gifts = ("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription")
        return {
            **chat.to_json(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                **dict.fromkeys(gifts, True),
                "gifts_from_channels": True,
            },
        }

    async def get_chat_member(self, params: Params) -> JsonDict:
        """A ChatMember (https://core.telegram.org/bots/api#chatmember) in its status's shape."""
        world = self.world
        chat = world.find_chat(params.chat_id())
        user_id = params.get_int("user_id")
        if user_id is None:
            raise bad_request("user_id is not specified")
        if user_id == world.bot_id:
            return {"status": "member", "user": world.bot_user()}
        user = world.users.get(user_id)
        if user is None:
            raise bad_request("user not found")
        if chat.type == "private":
            status = "member" if user_id == chat.id else "left"
        else:
            status = chat.members.get(user_id, "left")
        member: JsonDict = {"status": status, "user": user}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            rights = (
                "can_manage_chat",
                "can_delete_messages",
                "can_manage_video_chats",
                "can_restrict_members",
                "can_change_info",
                "can_invite_users",
            )
            member.update(dict.fromkeys(rights, True))
            member.update(
                dict.fromkeys(
                    (
                        "can_be_edited",
                        "is_anonymous",
                        "can_promote_members",
                        "can_post_stories",
                        "can_edit_stories",
                        "can_delete_stories",
                    ),
                    False,
                )
            )
        elif status == "kicked":
            member["until_date"] = 0
        return member
