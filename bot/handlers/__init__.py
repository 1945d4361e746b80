"""Telegram handlers: thin, they parse an update, call a service and reply."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.handlers import common, questions

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
    # Commands first, so "/search x" is never read as a question.
    app.add_handler(CommandHandler("start", common.start))
    app.add_handler(CommandHandler("help", common.help_command))
    app.add_handler(CommandHandler("latest", questions.latest))
    app.add_handler(CommandHandler("search", questions.search))
    # Buttons under answers.
    app.add_handler(CallbackQueryHandler(questions.button))
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
