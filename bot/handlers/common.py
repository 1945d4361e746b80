"""/start, /help, hints for things the bot cannot read, and the one error handler."""

from __future__ import annotations

import html
import logging

from telegram import Update

from bot.context import BotContext
from bot.storage import StorageError, StorageUnavailable

logger = logging.getLogger(__name__)

HELP = """<b>newsbot</b> answers questions about the news it knows.

Just ask, in your own words:
• <i>what's new on child labour?</i>
• <i>news from 28 May 2021</i>
• <i>latest news</i>

Commands:
/latest [N] – the newest N items (default 5)
/search WORDS – search for words
/subscribe [HH:MM] [Area/City] – a daily digest at your local time
/when – when your next digest comes
/why – why no digest came
/digest – your digest now
/settings – digest time, zone, topics
/follow WORDS – a message as soon as news on a topic arrives
/unfollow WORDS – stop that
/unsubscribe – stop the digest
/help – this message"""

ADMIN_HELP = """

For admins:
/broadcast – publish a new item to every subscriber, step by step or in one message
/stats – subscribers, digests today, the last broadcast, unanswered questions
/cancel – stop a /broadcast being written
/feeds – the feeds I follow; /feeds add URL [push], /feeds remove URL"""

START = """Hello{name}! I answer questions about the news.

Try asking: <i>what's new on child labour?</i> or <i>latest news</i>.
Send /help to see everything I can do."""

MEDIA_HINT = (
    "I can only read text. Ask me a question in words, for example: what's new on child labour?"
)
ERROR_TEXT = "Sorry, something went wrong on my side. Please try again in a moment."


async def start(update: Update, context: BotContext) -> None:
    """/start: what the bot does, with an example question."""
    message = update.effective_message
    if message is None:
        return
    user = update.effective_user
    chat = update.effective_chat
    if chat is not None:
        # A user who had blocked the bot and comes back with /start is reachable again.
        await context.storage.chats.upsert_seen(
            chat.id, user.id if user else None, chat.type, user.first_name if user else None
        )
    name = f", {html.escape(user.first_name)}" if user and user.first_name else ""
    await message.reply_html(START.format(name=name))


async def help_command(update: Update, context: BotContext) -> None:
    """/help: commands and examples; admins also see the admin commands."""
    message = update.effective_message
    if message is None:
        return
    user = update.effective_user
    admin = user is not None and user.id in context.settings.admin_ids
    await message.reply_html(HELP + (ADMIN_HELP if admin else ""))


async def media_hint(update: Update, context: BotContext) -> None:
    """Stickers, photos, voice and the like: a short hint."""
    message = update.effective_message
    if message is not None:
        await message.reply_text(MEDIA_HINT)


async def unknown_command(update: Update, context: BotContext) -> None:
    """A command the bot does not have: say so and point at /help."""
    message = update.effective_message
    if message is not None:
        await message.reply_text("I don't know that command. Send /help to see what I can do.")


async def on_error(update: object, context: BotContext) -> None:
    """Log the failure with its update first, then tell the user, without the traceback."""
    error = context.error
    if isinstance(error, StorageUnavailable):
        # The storage layer logged the cause once, as an error; not again per update.
        logger.warning("could not handle update %r: %s", update, error)
    else:
        logger.error("error while handling update %r", update, exc_info=error)
    text = error.user_message if isinstance(error, StorageError) else ERROR_TEXT
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            await context.bot.send_message(update.effective_chat.id, text)
        except Exception:  # the chat may be unreachable too; the failure is already logged
            logger.warning("could not tell chat %s about the error", update.effective_chat.id)
