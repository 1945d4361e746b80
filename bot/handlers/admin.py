"""Admin commands: /broadcast (a guided conversation or one message), its buttons, /stats.

The guided conversation's state is a row in the database (``storage.drafts``), so any
process of several, or the same one after a restart, takes the next answer.

Admin rights are checked by numeric user id on every action, the buttons
included: a forged or replayed callback from anyone else confirms nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import re
import secrets
from typing import Any

from telegram import Bot, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, NetworkError, TelegramError
from telegram.ext import (
    ApplicationHandlerStop,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.context import BotContext, Services
from bot.delivery.broadcast import (
    ONE_MESSAGE_FORMAT,
    Broadcaster,
    Draft,
    Progress,
    broadcast_text,
    date_refusal,
    draft_item,
    escape_separator,
    parse_date,
    parse_one_message,
    progress_text,
)
from bot.delivery.replies import keyboard, send_reply
from bot.errors import KnowledgeError
from bot.knowledge.models import NewsItem
from bot.messages import callbacks
from bot.messages.render import escape
from bot.messages.reply import Button, Reply
from bot.storage import AdminDraft, DraftStep

logger = logging.getLogger(__name__)

# A draft untouched this long is forgotten (as the conversation timeout was).
DRAFT_TIMEOUT = dt.timedelta(minutes=15)
REFUSAL = "Sorry, only the bot's admins can do that."
PROGRESS_SECONDS = 2.0
STATS_DAYS = 7
# The knowledge file's own limits (bot/knowledge/models.py), checked as each answer comes.
LINK_PATTERN = re.compile(r"https?://\S+")
TITLE_LIMIT = 300
SUMMARY_LIMIT = 3000


def is_admin(update: Update, context: BotContext) -> bool:
    """Whether the acting user is an admin; a refused attempt is logged."""
    user = update.effective_user
    allowed = user is not None and user.id in context.settings.admin_ids
    if not allowed:
        logger.warning(
            "refused admin action by user %s in chat %s",
            user.id if user else None,
            update.effective_chat.id if update.effective_chat else None,
        )
    return allowed


async def _refuse(update: Update) -> None:
    if update.callback_query is not None:
        await update.callback_query.answer(REFUSAL, show_alert=True)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(REFUSAL)


def _today(context: BotContext) -> dt.date:
    return context.now().date()


def _published_twin(context: BotContext, item: NewsItem) -> NewsItem | None:
    """An item the knowledge already holds with this title and date (a repeated /broadcast)."""
    title = item.title.casefold()
    return next(
        (
            known
            for known in context.newsroom.items
            if known.date == item.date and known.title.casefold() == title
        ),
        None,
    )


async def _preview(message: Message, context: BotContext, draft: Draft) -> None:
    """Show the item exactly as subscribers will see it, with Send / Edit / Cancel."""
    user_id = message.from_user.id if message.from_user else message.chat_id
    item = draft_item(draft, lambda item_id: context.newsroom.get(item_id) is not None)
    if isinstance(item, str):
        await context.storage.drafts.drop(user_id)
        await message.reply_text(f"{item}\nSend /broadcast to start again.")
        return
    ref = secrets.token_urlsafe(6)
    await _save(context, user_id, "preview", draft, preview=(ref, item))
    buttons = [
        [
            Button("Send", callbacks.encode(callbacks.BroadcastAction("send", ref)) or ""),
            Button("Edit", callbacks.encode(callbacks.BroadcastAction("edit", ref)) or ""),
            Button("Cancel", callbacks.encode(callbacks.BroadcastAction("cancel", ref)) or ""),
        ]
    ]
    audience = len(await context.storage.audience.active_subscriber_ids())
    whom = f"{audience} subscriber{'' if audience == 1 else 's'}"
    note = f"Preview. Send reaches {whom}; nothing goes out before Send."
    twin = _published_twin(context, item)
    if twin is not None:
        note += (
            f"\n⚠️ This title and date are already published, as {twin.id}. "
            f"Send publishes a second copy, as {item.id}; Cancel keeps the one there is."
        )
    await send_reply(context.bot, message.chat_id, Reply([note, broadcast_text(item)], buttons))


# The guided /broadcast lives in the database (``storage.drafts``), not in this process's
# memory (python-telegram-bot's ConversationHandler keeps its state per process): with
# several processes, or a restart between two answers, the next step lands where the last
# one is not remembered (python-telegram-bot issue #5123).


async def _current(context: BotContext, user_id: int) -> AdminDraft | None:
    """The admin's draft, unless it was left untouched for DRAFT_TIMEOUT."""
    return await context.storage.drafts.get(user_id, context.now() - DRAFT_TIMEOUT)


def _as_draft(stored: AdminDraft | None) -> Draft:
    if stored is None:
        return Draft()
    return Draft(stored.title or "", stored.date, stored.summary or "", stored.url)


async def _save(
    context: BotContext,
    user_id: int,
    step: DraftStep,
    draft: Draft,
    *,
    preview: tuple[str, NewsItem] | None = None,
) -> None:
    await context.storage.drafts.save(
        AdminDraft(
            user_id=user_id,
            step=step,
            title=draft.title or None,
            date=draft.date,
            summary=draft.summary or None,
            url=draft.url,
            preview_ref=preview[0] if preview else None,
            preview=preview[1].model_dump_json() if preview else None,
            updated_at=context.now(),
        )
    )


async def broadcast_start(update: Update, context: BotContext) -> None:
    """/broadcast: one message in the documented format, or a guided conversation."""
    message = update.effective_message
    if message is None:
        return
    if not is_admin(update, context):
        await _refuse(update)
        return
    user_id = update.effective_user.id if update.effective_user else message.chat_id
    text = (message.text or "").partition(" ")[2].strip()
    if text:
        draft = parse_one_message(text, _today(context))
        if isinstance(draft, str):
            await message.reply_text(draft)
            return
        await _preview(message, context, draft)
        return
    await _save(context, user_id, "title", Draft())
    await message.reply_text(
        "New broadcast. What is the title? (/cancel stops)\n"
        f"Tip: in one message, {ONE_MESSAGE_FORMAT}"
    )


async def draft_answer(update: Update, context: BotContext) -> None:
    """An admin's text while a guided /broadcast awaits an answer: the answer.

    Runs before every other handler (group -1); anything else falls through to them.
    """
    message = update.effective_message
    user = update.effective_user
    if message is None or not message.text or user is None:
        return
    if user.id not in context.settings.admin_ids:  # no database look-up for anyone else
        return
    stored = await _current(context, user.id)
    if stored is None or stored.step == "preview":
        return
    step = _STEPS[stored.step]
    await step(message, context, user.id, _as_draft(stored))
    raise ApplicationHandlerStop


async def _got_title(message: Message, context: BotContext, user_id: int, draft: Draft) -> None:
    title = (message.text or "").strip()
    if len(title) > TITLE_LIMIT:
        await message.reply_text(
            f"That title is {len(title)} characters; at most {TITLE_LIMIT}. A shorter one?"
        )
        await _save(context, user_id, "title", draft)  # the 15 minutes start again
        return
    await _save(context, user_id, "date", Draft(title=title))
    await message.reply_text("Date? YYYY-MM-DD, or today.")


async def _got_date(message: Message, context: BotContext, user_id: int, draft: Draft) -> None:
    date = parse_date(message.text or "", _today(context))
    if date is None:
        await _save(context, user_id, "date", draft)
        await message.reply_text("That is not a date. Use YYYY-MM-DD, or today.")
        return
    refused = date_refusal(date, _today(context))
    if refused is not None:
        await _save(context, user_id, "date", draft)
        await message.reply_text(refused)
        return
    await _save(context, user_id, "summary", Draft(title=draft.title, date=date))
    await message.reply_text("Summary?")


async def _got_summary(message: Message, context: BotContext, user_id: int, draft: Draft) -> None:
    summary = (message.text or "").strip()
    if len(summary) > SUMMARY_LIMIT:
        await _save(context, user_id, "summary", draft)
        await message.reply_text(
            f"That summary is {len(summary)} characters; at most {SUMMARY_LIMIT}. A shorter one?"
        )
        return
    await _save(context, user_id, "link", Draft(draft.title, draft.date, summary))
    await message.reply_text("Link? Send an https:// address, or skip.")


async def _got_link(message: Message, context: BotContext, user_id: int, draft: Draft) -> None:
    text = (message.text or "").strip()
    url = None if text.lower() in {"skip", "-", "none", "no"} else text
    if url is not None and not LINK_PATTERN.fullmatch(url):
        # Asked again, as the date is: what was typed so far stays.
        await _save(context, user_id, "link", draft)
        await message.reply_text(
            "That is not a link. Send an address starting with https:// (no spaces), or skip."
        )
        return
    await _preview(message, context, Draft(draft.title, draft.date, draft.summary, url))


_STEPS = {
    "title": _got_title,
    "date": _got_date,
    "summary": _got_summary,
    "link": _got_link,
}


async def broadcast_cancel(update: Update, context: BotContext) -> None:
    """/cancel: drop the broadcast being written (or previewed)."""
    message = update.effective_message
    if message is None:
        return
    if not is_admin(update, context):
        await message.reply_text("I don't know that command. Send /help to see what I can do.")
        return
    user_id = update.effective_user.id if update.effective_user else message.chat_id
    if await context.storage.drafts.drop(user_id):
        await message.reply_text("Broadcast cancelled. Nothing was sent.")
    else:
        await message.reply_text("No broadcast is being written. Start one with /broadcast.")


def _one_message_form(item: NewsItem) -> str:
    parts = [item.title, item.date.isoformat(), item.summary]
    if item.url:
        parts.append(item.url)
    # A "|" inside a field is written "\|", so the form reads back as the same fields.
    return "/broadcast " + " | ".join(escape_separator(part) for part in parts)


async def preview_button(update: Update, context: BotContext) -> None:
    """Send / Edit / Cancel under a preview, and Cancel under a running broadcast."""
    query = update.callback_query
    if query is None:
        return
    if not is_admin(update, context):
        await _refuse(update)
        return
    if not isinstance(query.message, Message):
        await query.answer("This button has expired.")  # inline, or a message too old
        return
    action = callbacks.decode(query.data)
    if not isinstance(action, callbacks.BroadcastAction):
        await query.answer("This button has expired.")
        return
    if action.action == "stop":
        await query.answer("Cancelling…")
        cancelled = await context.broadcaster.cancel(int(action.ref))
        logger.info("broadcast %s cancelled by admin: %d not sent", action.ref, cancelled)
        return
    user_id = update.effective_user.id if update.effective_user else 0
    # Taken (deleted) in one statement: a second press, here or on another process, finds
    # nothing and sends nothing.
    taken = await context.storage.drafts.take_preview(
        user_id, action.ref, context.now() - DRAFT_TIMEOUT
    )
    if taken is None or taken.preview is None:
        await query.answer("This preview has expired. Send /broadcast again.", show_alert=True)
        return
    item = NewsItem.model_validate_json(taken.preview)
    await query.edit_message_reply_markup(None)
    if action.action == "cancel":
        await query.answer("Cancelled")
        await query.message.reply_text("Broadcast cancelled. Nothing was sent.")
        return
    if action.action == "edit":
        await query.answer()
        await query.message.reply_text(
            "Copy this, correct it and send it back (or /broadcast to start over):\n\n"
            + _one_message_form(item)
        )
        return
    await query.answer("Sending…")
    # The progress message goes out before the first delivery is queued: sent after, it would
    # wait its turn in the rate limiter behind every delivery of a small broadcast.
    shown: Message | None = None
    try:
        shown = await query.message.reply_html(f"Broadcasting {escape(item.id)}: sending…")
    except TelegramError as exc:  # only the display failed: the broadcast goes on
        logger.warning("broadcast progress message not sent: %s", exc)
    try:
        broadcast = await context.broadcaster.send(item, user_id)
    except KnowledgeError:
        refusal = (
            "Another item with this id was published a moment ago. Nothing was sent; "
            "send /broadcast again."
        )
        if shown is not None:
            with contextlib.suppress(TelegramError):
                await shown.edit_text(refusal)
                return
        await query.message.reply_text(refusal)
        return
    logger.info("broadcast %d of %s started by admin %s", broadcast.id, item.id, user_id)
    watch(context.bot, context.bot_data, query.message.chat_id, broadcast.id, shown)


def watch(
    bot: Bot,
    services: Services,
    chat_id: int,
    broadcast_id: int,
    message: Message | None = None,
) -> None:
    """Show the broadcast's progress in one message (``message``, or a new one), edited in
    place, then its report."""
    assert services.broadcaster is not None
    task = asyncio.create_task(
        _watch(bot, services.broadcaster, chat_id, broadcast_id, message),
        name=f"broadcast-{broadcast_id}",
    )
    services.background.add(task)
    task.add_done_callback(services.background.discard)


async def _watch(
    bot: Bot,
    broadcaster: Broadcaster,
    chat_id: int,
    broadcast_id: int,
    message: Message | None,
) -> None:
    stop = callbacks.encode(callbacks.BroadcastAction("stop", str(broadcast_id))) or ""
    markup = keyboard([[Button("Cancel broadcast", stop)]])
    last_text = message.text_html if message is not None and message.text else ""
    try:
        while True:
            progress: Progress | None = await broadcaster.progress(broadcast_id)
            if progress is None:
                return
            text = progress_text(progress)
            current = None if progress.done else markup
            try:
                if message is None:
                    message = await bot.send_message(
                        chat_id, text, parse_mode=ParseMode.HTML, reply_markup=current
                    )
                elif text != last_text:
                    await message.edit_text(text, parse_mode=ParseMode.HTML, reply_markup=current)
            except BadRequest as exc:
                if "not modified" not in exc.message.lower():
                    raise
            except NetworkError as exc:
                # Telegram is away: the next round shows the progress again.
                logger.warning("progress of broadcast %d not shown: %s", broadcast_id, exc)
                await asyncio.sleep(PROGRESS_SECONDS)
                continue
            last_text = text
            if progress.done:
                return
            await asyncio.sleep(PROGRESS_SECONDS)
    except Exception:  # the broadcast goes on; only its progress display failed
        logger.exception("progress of broadcast %d could not be shown", broadcast_id)


async def stats(update: Update, context: BotContext) -> None:
    """/stats: subscribers, digests today, the last broadcast, unanswered questions."""
    message = update.effective_message
    if message is None:
        return
    if not is_admin(update, context):
        await _refuse(update)
        return
    storage = context.storage
    now = context.now()
    await context.question_log.flush()
    chats = await storage.chats.counts()
    subscribers = await storage.subscriptions.count_active()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    sent_today = await storage.outbox.sent_since(midnight)
    lines = [
        "<b>Stats</b>",
        f"Subscribers: {subscribers} active",
        f"Chats: {chats.active} active, {chats.inactive} inactive (blocked or left)",
        f"Sent today (UTC): {sent_today['digest']} digests, {sent_today['alert']} alerts, "
        f"{sent_today['broadcast']} broadcast messages",
    ]
    latest = await storage.broadcasts.latest()
    if latest is not None:
        progress = await context.broadcaster.progress(latest.id)
        if progress is not None:
            lines += ["", "<b>Last broadcast</b>", progress_text(progress)]
    since = now - dt.timedelta(days=STATS_DAYS)
    unanswered = await storage.questions.unanswered_since(since, limit=10)
    lines += ["", f"<b>Unanswered questions, last {STATS_DAYS} days</b>"]
    if unanswered:
        lines += [f"• {escape(q.text[:80])} ×{q.count}" for q in unanswered]
    else:
        lines.append("none")
    await send_reply(context.bot, message.chat_id, Reply(["\n".join(lines)]))


def draft_handler() -> BaseHandler[Any, BotContext, Any]:
    """The answers of a guided /broadcast: registered before every other handler."""
    return MessageHandler(
        filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND, draft_answer
    )


def handlers() -> list[BaseHandler[Any, BotContext, Any]]:
    """The admin handlers, in order."""
    return [
        CommandHandler("broadcast", broadcast_start),
        CommandHandler("cancel", broadcast_cancel),
        CallbackQueryHandler(preview_button, pattern=r"^b:"),
        CommandHandler("stats", stats),
    ]
