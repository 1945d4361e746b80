"""Questions: plain text, /search, /latest, and the buttons under answers."""

from __future__ import annotations

import asyncio
import logging

from telegram import Message, Update
from telegram.constants import ChatType, MessageEntityType

from bot.context import BotContext
from bot.delivery.replies import edit_reply, send_reply
from bot.knowledge.models import NewsItem
from bot.messages import callbacks
from bot.questions import answers
from bot.retrieval import SearchResult
from bot.storage import NewQuestion

logger = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 500
SEARCH_USAGE = "Usage: /search <words>, for example /search child labour"
LATEST_USAGE = "Usage: /latest [N], where N is a number from 1 to {max}, for example /latest 5"
LATEST_MAX = 20
LATEST_DEFAULT = 5
SEARCH_LIMIT = answers.PAGE_SIZE * answers.MAX_PAGES


async def _find(context: BotContext, question: str) -> SearchResult[NewsItem]:
    """The retriever's answer: at once when it is kept or the words settle it, else from a
    search in a worker thread.

    A question the words do not settle asks the sentence encoders (tens of milliseconds,
    hundreds for items they have not seen); off the event loop, the bot's other chats, its
    webhook's answers and the timers of its sends go on meanwhile (the models let go of the
    GIL while they compute).
    """
    retriever = context.newsroom.retriever
    found = retriever.answer_now(question, limit=SEARCH_LIMIT)
    if found is not None:
        return found
    return await asyncio.to_thread(retriever.search, question, limit=SEARCH_LIMIT)


async def _answer_question(message: Message, context: BotContext, question: str) -> None:
    # A flooding user was throttled before this handler ran (bot/handlers/intake.py).
    question = " ".join(question.split())[:MAX_QUESTION_CHARS]
    chat = answers.small_talk(question)
    if chat is not None:
        await send_reply(
            context.bot, message.chat_id, answers.Reply([chat]), reply_to=_reply_to(message)
        )
        return
    result = await _find(context, question)
    reply = answers.answer(result, _fallback(result, context))
    await send_reply(context.bot, message.chat_id, reply, reply_to=_reply_to(message))
    if not result.hits:
        # What people ask and the knowledge lacks: shown to admins in /stats.
        top = result.suggestions[0].score if result.suggestions else None
        context.question_log.add(NewQuestion(message.chat_id, question, False, top, context.now()))


def _fallback(result: SearchResult[NewsItem], context: BotContext) -> list[NewsItem]:
    """The latest news, offered when nothing matched; not computed (a sort) otherwise."""
    return [] if result.hits else context.newsroom.latest(answers.PAGE_SIZE)


def _reply_to(message: Message) -> int | None:
    # In a group, quote the question so the answer is not mistaken for someone else's.
    return message.message_id if message.chat.type != ChatType.PRIVATE else None


async def question(update: Update, context: BotContext) -> None:
    """Any plain text in a private chat is a question."""
    message = update.effective_message
    if message is None or not message.text:
        return
    await _answer_question(message, context, message.text)


async def group_question(update: Update, context: BotContext) -> None:
    """In groups: answer a mention of the bot or a reply to one of its messages."""
    message = update.effective_message
    if message is None or not message.text:
        return
    username = context.bot.username.lower()
    replied = message.reply_to_message
    is_reply_to_me = bool(replied and replied.from_user and replied.from_user.id == context.bot.id)
    mentions = message.parse_entities([MessageEntityType.MENTION])
    mentioned = any(text.lstrip("@").lower() == username for text in mentions.values())
    if not (is_reply_to_me or mentioned):
        return
    text = message.text
    for mention in mentions.values():
        if mention.lstrip("@").lower() == username:
            text = text.replace(mention, " ")
    if not text.strip():
        await message.reply_text("Yes? Ask me about the news, for example: latest news")
        return
    await _answer_question(message, context, text)


async def search(update: Update, context: BotContext) -> None:
    """/search QUERY: the same as asking, with an explicit command."""
    message = update.effective_message
    if message is None:
        return
    query = " ".join(context.args or [])
    if not query.strip():
        await message.reply_text(SEARCH_USAGE)
        return
    await _answer_question(message, context, query)


async def latest(update: Update, context: BotContext) -> None:
    """/latest [N]: the newest N items (default 5)."""
    message = update.effective_message
    if message is None:
        return
    args = context.args or []
    count = LATEST_DEFAULT
    if args:
        if len(args) > 1 or not args[0].isdigit() or not 1 <= int(args[0]) <= LATEST_MAX:
            await message.reply_text(LATEST_USAGE.format(max=LATEST_MAX))
            return
        count = int(args[0])
    reply = answers.latest_reply(context.newsroom.latest(count))
    await send_reply(context.bot, message.chat_id, reply)


async def button(update: Update, context: BotContext) -> None:
    """Inline buttons: "More results" and "did you mean" choices edit the message in place."""
    query = update.callback_query
    if query is None:
        return
    parsed = callbacks.decode(query.data)
    message = query.message
    if parsed is None or not isinstance(message, Message):
        await query.answer("This button has expired. Please ask again.", show_alert=False)
        return
    if isinstance(parsed, callbacks.MorePage):
        result = await _find(context, parsed.query)
        reply = answers.answer(result, _fallback(result, context), parsed.page)
        await query.answer()
        await edit_reply(message, reply)
        return
    if isinstance(parsed, callbacks.ShowItem):
        item = context.newsroom.by_key(parsed.key)
        if item is None:
            await query.answer("That item is no longer available.", show_alert=False)
            return
        await query.answer()
        await edit_reply(message, answers.item_reply(item))
        return
    # Other callbacks (admin broadcast buttons) are handled by their own handlers first.
    await query.answer("This button has expired. Please ask again.")
