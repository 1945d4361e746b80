"""Who may change a chat's subscription, topics and settings.

In a private chat, its user. In a group or supergroup, only its administrators (its
creator included, and an anonymous administrator writing as the group): what one member
changes, every member receives. Asked with getChatMember and remembered briefly
(``GroupAdmins``); others get a one-line refusal.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import TelegramError

from bot.context import BotContext

logger = logging.getLogger(__name__)

GROUP_REFUSAL = "Only this group's administrators can change its digest, topics and settings."
_ADMINS = {ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR}


async def may_change_chat(update: Update, context: BotContext) -> bool:
    """Whether the sender may change this chat's settings; refuses (one line) if not."""
    chat = update.effective_chat
    if chat is None or chat.type not in {ChatType.GROUP, ChatType.SUPERGROUP}:
        return True
    message = update.effective_message
    sender_chat = message.sender_chat if message is not None else None
    if sender_chat is not None and sender_chat.id == chat.id:
        return True  # an anonymous administrator writes as the group itself
    user = update.effective_user
    allowed = False
    if user is not None:
        cache = context.bot_data.group_admins
        known = cache.get(chat.id, user.id)
        if known is None:
            try:
                member = await context.bot.get_chat_member(chat.id, user.id)
            except TelegramError as exc:
                logger.warning("getChatMember for %s in %s failed: %s", user.id, chat.id, exc)
                member = None
            known = member is not None and member.status in _ADMINS
            if member is not None:
                cache.put(chat.id, user.id, known)
        allowed = known
    if not allowed:
        logger.info("refused a settings change by %s in group %s", user and user.id, chat.id)
        if update.callback_query is not None:
            await update.callback_query.answer(GROUP_REFUSAL, show_alert=True)
        elif message is not None:
            await message.reply_text(GROUP_REFUSAL)
    return allowed
