"""/feeds: admins list, add and remove the feeds the bot follows."""

from __future__ import annotations

import logging

from telegram import Message, Update

from bot.context import BotContext
from bot.delivery.replies import edit_reply, send_reply
from bot.feeds.addresses import RefusedAddress, vet_feed_url
from bot.feeds.listing import USAGE, feeds_text
from bot.handlers.admin import REFUSAL, is_admin
from bot.messages import callbacks
from bot.messages.render import escape
from bot.messages.reply import Button, Reply

logger = logging.getLogger(__name__)

# A Telegram message holds 4096 characters: the rest are in `newsbot feeds list`.
MAX_LISTED = 20


async def refuse(update: Update) -> None:
    if update.callback_query is not None:
        await update.callback_query.answer(REFUSAL, show_alert=True)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(REFUSAL)


async def _list_reply(context: BotContext) -> Reply:
    feeds = await context.storage.feeds.all()
    buttons = [
        [Button(f"Remove {number}", callbacks.encode(callbacks.FeedAction("remove", f.id)) or "")]
        for number, f in enumerate(feeds[:MAX_LISTED], start=1)
    ]
    return Reply([feeds_text(feeds, context.now(), MAX_LISTED)], buttons)


async def feeds(update: Update, context: BotContext) -> None:
    """/feeds, /feeds add URL [push], /feeds remove URL."""
    message = update.effective_message
    if message is None:
        return
    if not is_admin(update, context):
        await refuse(update)
        return
    words = (message.text or "").split()[1:]
    if not words:
        await send_reply(context.bot, message.chat_id, await _list_reply(context))
    elif words[0].lower() == "add" and len(words) in {2, 3}:
        push = len(words) == 3 and words[2].lower() == "push"
        if len(words) == 3 and not push:
            await message.reply_text(USAGE)
            return
        await _add(message, context, words[1], push)
    elif words[0].lower() == "remove" and len(words) == 2:
        feed = await context.storage.feeds.by_url(words[1])
        removed = await context.storage.feeds.remove(feed.id) if feed else None
        text = f"Stopped following {words[1]}." if removed else f"I do not follow {words[1]}."
        await message.reply_text(text)
    else:
        await message.reply_text(USAGE)


async def _add(message: Message, context: BotContext, url: str, push: bool) -> None:
    try:
        url = await vet_feed_url(url, allow_private=context.settings.feeds_allow_private)
    except RefusedAddress as exc:
        await message.reply_text(f"I cannot follow that feed: {exc}.")
        return
    user = message.from_user.id if message.from_user else None
    feed = await context.storage.feeds.add(url, push=push, added_by=user)
    if feed is None:
        await message.reply_text(f"I already follow {url}. /feeds shows its state.")
        return
    logger.info("feed %s added by admin %s (push=%s)", url, user, push)
    every = f"{context.settings.feed_poll_seconds / 60:g} min"
    then = "sent to every subscriber" if push else "alerted to followers"
    await send_reply(
        context.bot,
        message.chat_id,
        Reply(
            [
                f"Following {escape(url)}. I fetch it in a moment and then every {every}: "
                f"its current items become searchable, new ones are {then}."
            ]
        ),
    )


async def feeds_button(update: Update, context: BotContext) -> None:
    """The Remove buttons under /feeds."""
    query = update.callback_query
    if query is None or not isinstance(query.message, Message):
        return
    if not is_admin(update, context):
        await refuse(update)
        return
    action = callbacks.decode(query.data)
    if not isinstance(action, callbacks.FeedAction):
        await query.answer("This button has expired.")
        return
    removed = await context.storage.feeds.remove(action.feed_id)
    await query.answer(f"Removed {removed.url}" if removed else "Already removed")
    if removed:
        logger.info("feed %s removed by admin %s", removed.url, query.from_user.id)
    await edit_reply(query.message, await _list_reply(context))
