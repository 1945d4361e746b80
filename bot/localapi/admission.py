"""Whether a message may go to a chat now: blocked or deactivated users, kicked bots, 429s."""

from __future__ import annotations

from bot.localapi.errors import forbidden, too_many_requests
from bot.localapi.state import Chat, World

_KICKED = {
    "group": "bot was kicked from the group chat",
    "supergroup": "bot was kicked from the supergroup chat",
    "channel": "bot is not a member of the channel chat",
}


def check_can_send(world: World, chat: Chat) -> None:
    """403 when the user blocked the bot, is deactivated, or the bot left the group."""
    if chat.deactivated:
        raise forbidden("user is deactivated")
    if chat.blocked:
        raise forbidden(_KICKED.get(chat.type, "bot was blocked by the user"))


def check_flood(world: World, chat: Chat, paid: bool = False) -> None:
    """429 when ``force_retry_after`` is armed for the chat or a flood bucket is empty
    (``paid``: the paid-broadcast bucket instead of the overall one)."""
    forced = world.forced_retry.get(chat.id)
    if forced is not None:
        seconds, left = forced
        if left <= 1:
            del world.forced_retry[chat.id]
        else:
            forced[1] = left - 1
        raise too_many_requests(seconds)
    wait = world.flood.acquire(chat.id, paid)
    if wait is not None:
        raise too_many_requests(wait)
