"""Telegram handlers: thin, they parse an update, call a service and reply.

Also here: ``intake`` (where updates enter: control characters stripped, floods throttled
before any work, one lane per user) and ``permissions`` (group administrators).

May import: ``context`` and every capability below it (questions, digests, delivery, messages,
knowledge, retrieval, storage); nothing imports the handlers but ``app``.
"""

from __future__ import annotations

import re
from typing import Any

from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.handlers import admin, common, feeds, questions, subscriptions

WHY_NOTHING = re.compile(
    r"^\W*(?:why\b.*\b(?:nothing|digest|no\s+(?:news|messages?))"
    r"|where(?:'s|\s+is)\s+my\s+(?:digest|news)|(?:i\s+)?(?:got|get|received)\s+no\s+digest)",
    re.IGNORECASE,
)
_MEDIA = (
    filters.Sticker.ALL
    | filters.PHOTO
    | filters.VOICE
    | filters.AUDIO
    | filters.VIDEO
    | filters.VIDEO_NOTE
    | filters.ANIMATION
    | filters.Document.ALL
    | filters.LOCATION
    | filters.CONTACT
)


def register_handlers(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Add every handler. Order matters: the first matching handler in a group wins."""
    new_messages = filters.UpdateType.MESSAGE
    private = filters.ChatType.PRIVATE
    # An edited message runs nothing again: "/follow alpha" edited to "/follow beta" would
    # follow both, an edited /broadcast would publish twice. Group -1 runs before the rest.
    app.add_handler(MessageHandler(filters.UpdateType.EDITED, _ignore_edit), group=-1)
    # An admin writing a guided /broadcast: their text is its answer (the draft is in the
    # database); for anyone else, or with no draft, the text goes on to the handlers below.
    app.add_handler(admin.draft_handler(), group=-1)
    # Commands first, so "/search x" is never read as a question.
    for handler in admin.handlers():
        app.add_handler(handler)
    app.add_handler(CommandHandler("feeds", feeds.feeds))
    app.add_handler(CommandHandler("start", common.start))
    app.add_handler(CommandHandler("help", common.help_command))
    app.add_handler(CommandHandler("latest", questions.latest))
    app.add_handler(CommandHandler("search", questions.search))
    app.add_handler(CommandHandler("subscribe", subscriptions.subscribe))
    app.add_handler(CommandHandler("unsubscribe", subscriptions.unsubscribe))
    app.add_handler(CommandHandler("when", subscriptions.when))
    app.add_handler(CommandHandler("why", subscriptions.why))
    app.add_handler(CommandHandler("digest", subscriptions.digest))
    app.add_handler(CommandHandler("settings", subscriptions.settings))
    app.add_handler(CommandHandler("follow", subscriptions.follow))
    app.add_handler(CommandHandler("unfollow", subscriptions.unfollow))
    # A user blocking or unblocking the bot.
    app.add_handler(ChatMemberHandler(subscriptions.chat_member, ChatMemberHandler.MY_CHAT_MEMBER))
    # Buttons: settings buttons by their prefix, then the answers' buttons.
    app.add_handler(CallbackQueryHandler(subscriptions.settings_button, pattern=r"^s:"))
    app.add_handler(CallbackQueryHandler(feeds.feeds_button, pattern=r"^f:"))
    app.add_handler(CallbackQueryHandler(questions.button))
    # "Why did I get nothing?" is about the digest, not a question about the news.
    app.add_handler(
        MessageHandler(
            new_messages & private & filters.Regex(WHY_NOTHING) & ~filters.COMMAND,
            subscriptions.why,
        )
    )
    # Plain text: every message in a private chat, mentions and replies in groups.
    app.add_handler(
        MessageHandler(
            new_messages & private & filters.TEXT & ~filters.COMMAND, questions.question
        )
    )
    app.add_handler(
        MessageHandler(
            new_messages & filters.ChatType.GROUPS & filters.TEXT & ~filters.COMMAND,
            questions.group_question,
        )
    )
    app.add_handler(MessageHandler(new_messages & private & _MEDIA, common.media_hint))
    app.add_handler(
        MessageHandler(new_messages & private & filters.COMMAND, common.unknown_command)
    )
    app.add_error_handler(common.on_error)


async def _ignore_edit(update: object, context: object) -> None:
    """Edited messages and posts stop here: no command or question runs a second time."""
    raise ApplicationHandlerStop
