"""Keyword alerts: a new item that matches a followed phrase is pushed at once.

Matching uses the same retriever as questions, above its answer threshold, so
"follow child labour" alerts on what a question "child labour" would answer.
Each distinct phrase is scored once per new item, however many chats follow it.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence

from bot.knowledge.models import NewsItem
from bot.messages.render import escape, render_item
from bot.retrieval import Retriever
from bot.storage import NewOutboxMessage, Storage

logger = logging.getLogger(__name__)


def alert_text(item: NewsItem, phrase: str) -> str:
    """The alert: which followed topic it is about, then the item."""
    return f"🔔 New on “{escape(phrase)}”:\n\n{render_item(item)}"


async def queue_alerts(
    storage: Storage,
    retriever: Retriever[NewsItem],
    new_items: Sequence[NewsItem],
    *,
    exclude: Collection[int] = (),
) -> int:
    """Queue an alert per (chat, new item) whose followed phrase matches; returns how many.

    However the item arrived (an edit of the file, a broadcast, another process). Chats in
    ``exclude`` (a broadcast's audience, who get the item as the broadcast) are left out,
    so a follower gets one message about it, not two.
    """
    if not new_items:
        return 0
    follows = await storage.follows.all_follows(active_only=True)
    by_phrase: dict[str, list[int]] = {}
    for chat_id, phrases in follows.items():
        for phrase in phrases:
            by_phrase.setdefault(phrase, []).append(chat_id)
    rows: list[NewOutboxMessage] = []
    for item in new_items:
        alerted: set[int] = set()
        for phrase, chat_ids in by_phrase.items():
            if not retriever.matches(phrase, item.id):
                continue
            for chat_id in chat_ids:
                if chat_id in alerted or chat_id in exclude:
                    continue  # one alert per item and chat, whatever number of phrases match
                alerted.add(chat_id)
                rows.append(
                    NewOutboxMessage(
                        kind="alert",
                        dedupe_key=f"alert:{chat_id}:{item.id}",
                        chat_id=chat_id,
                        text=alert_text(item, phrase),
                        parse_mode="HTML",
                        item_id=item.id,
                    )
                )
    queued = await storage.outbox.enqueue_many(rows)
    if queued:
        logger.info("queued %d keyword alert(s)", queued)
    return queued
