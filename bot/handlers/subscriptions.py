"""Subscriptions: /subscribe, /unsubscribe, /settings, /when, /digest, /follow, /unfollow."""

from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

from telegram import Chat, ChatMemberUpdated, Message, Update
from telegram.constants import ChatMemberStatus

from bot.context import BotContext
from bot.delivery.replies import edit_reply, send_reply
from bot.digests.digest import explain_silence
from bot.digests.schedule import check_timezone, describe_wait, next_due
from bot.digests.subscribing import parse_subscribe_args
from bot.digests.zones import REGIONS, common_zones, region_of
from bot.handlers.permissions import may_change_chat
from bot.messages import callbacks
from bot.messages.render import escape
from bot.messages.reply import Button, Reply
from bot.storage import FollowLimitReached, Subscription
from bot.storage.follows import MAX_PHRASE_LENGTH
from bot.storage.values import clean_topic

logger = logging.getLogger(__name__)

FOLLOW_USAGE = "Usage: /follow <words>, for example /follow child labour"
UNFOLLOW_USAGE = "Usage: /unfollow <words>, for example /unfollow child labour"
NOT_SUBSCRIBED = "You are not subscribed. Send /subscribe to get a daily digest."
PRESET_TIMES = ("07:00", "08:00", "12:00", "18:00", "21:00")
MAX_FOLLOWS = 20


async def _seen(update: Update, context: BotContext) -> Chat | None:
    """Record the chat (and reactivate it if it had blocked the bot before)."""
    chat = update.effective_chat
    if chat is None:
        return None
    user = update.effective_user
    await context.storage.chats.upsert_seen(
        chat.id, user.id if user else None, chat.type, user.first_name if user else chat.title
    )
    return chat


def _local(when: dt.datetime, zone: str) -> str:
    return when.astimezone(ZoneInfo(zone)).strftime("%H:%M on %a %d %b")


def _describe(sub: Subscription, now: dt.datetime) -> str:
    return (
        f"Your daily digest comes at {sub.digest_time:%H:%M} ({sub.timezone}).\n"
        f"Next: {_local(sub.next_digest_at, sub.timezone)}, "
        f"{describe_wait(now, sub.next_digest_at)}."
    )


async def subscribe(update: Update, context: BotContext) -> None:
    """/subscribe [HH:MM] [Area/City]: subscribe, or change the time of the subscription."""
    message = update.effective_message
    chat = await _seen(update, context)
    if message is None or chat is None or not await may_change_chat(update, context):
        return
    settings = context.settings
    current = await context.storage.subscriptions.get(chat.id)
    # What the person does not say stays as it is: "/subscribe Asia/Tokyo" keeps the time.
    choice = parse_subscribe_args(
        context.args or [],
        current.digest_time if current else settings.default_digest_time,
        current.timezone if current else settings.default_timezone,
    )
    if isinstance(choice, str):
        await message.reply_text(choice)
        return
    now = context.now()
    same_time = current is not None and current.digest_time == choice.digest_time
    same_zone = current is not None and current.timezone == choice.timezone
    if current is not None and same_time and same_zone:
        # Nothing to change: the digest that is due stays due.
        await message.reply_text(
            f"You are already subscribed. {_describe(current, now)}\n"
            "Change it with /settings, stop it with /unsubscribe."
        )
        return
    sub = await context.storage.subscriptions.subscribe(
        chat.id,
        choice.digest_time,
        choice.timezone,
        next_due(choice.digest_time, choice.timezone, now),
    )
    if current is None:
        lead = "You are subscribed."
    elif same_zone:
        lead = "Your digest time is changed."
    elif same_time:
        lead = "Your time zone is changed."
    else:
        lead = "Your digest time and time zone are changed."
    await message.reply_text(
        f"{lead} {_describe(sub, now)}\nChange it with /settings, stop it with /unsubscribe."
    )


async def unsubscribe(update: Update, context: BotContext) -> None:
    """/unsubscribe: stop the daily digest."""
    message = update.effective_message
    chat = update.effective_chat
    if message is None or chat is None or not await may_change_chat(update, context):
        return
    current = await context.storage.subscriptions.get(chat.id)
    if current is not None and await context.storage.subscriptions.unsubscribe(chat.id):
        again = f"/subscribe {current.digest_time:%H:%M} {current.timezone}"
        await message.reply_text(
            f"You are unsubscribed: no more digests. {again} brings them back at the same time."
        )
    else:
        await message.reply_text(NOT_SUBSCRIBED)


async def _subscription(
    update: Update, context: BotContext
) -> tuple[Message, Subscription] | None:
    """The chat's subscription; a chat without one is told how to subscribe."""
    message = update.effective_message
    chat = update.effective_chat
    if message is None or chat is None:
        return None
    sub = await context.storage.subscriptions.get(chat.id)
    if sub is None:
        await message.reply_text(NOT_SUBSCRIBED)
        return None
    return message, sub


async def when(update: Update, context: BotContext) -> None:
    """/when: when the next digest comes, in the user's time and as a countdown."""
    found = await _subscription(update, context)
    if found is not None:
        message, sub = found
        await message.reply_text(_describe(sub, context.now()))


async def why(update: Update, context: BotContext) -> None:
    """/why (or "why did I get nothing?"): what the digest is waiting for."""
    message = update.effective_message
    chat = update.effective_chat
    if message is None or chat is None:
        return
    storage = context.storage
    sub = await storage.subscriptions.get(chat.id)
    now = context.now()
    if sub is None:
        text = explain_silence(
            subscribed=False,
            digest_time="",
            timezone="",
            last_digest_at=None,
            next_due_in="",
            new_since_last=0,
            send_empty=False,
            queued=False,
        )
    else:
        since = sub.last_digest_at or sub.created_at
        fresh = await storage.known_items.known_since(since, now)
        text = explain_silence(
            subscribed=True,
            digest_time=f"{sub.digest_time:%H:%M}",
            timezone=sub.timezone,
            last_digest_at=sub.last_digest_at,
            next_due_in=describe_wait(now, sub.next_digest_at),
            new_since_last=len(fresh),
            send_empty=sub.send_empty,
            queued=await storage.outbox.has_pending_for_chat(chat.id, "digest"),
        )
    await message.reply_text(text)


async def digest(update: Update, context: BotContext) -> None:
    """/digest: the digest now, on demand (everything new since the last one)."""
    message = update.effective_message
    chat = update.effective_chat
    if message is None or chat is None:
        return
    sub = await context.storage.subscriptions.get(chat.id)
    if sub is None:
        settings = context.settings
        now = context.now()
        sub = Subscription(
            chat_id=chat.id,
            digest_time=settings.default_digest_time,
            timezone=settings.default_timezone,
            send_empty=True,
            last_digest_at=None,
            next_digest_at=now,
            created_at=now,
            updated_at=now,
        )
    texts = await context.scheduler.digest_now(sub)
    await send_reply(context.bot, chat.id, Reply(texts))


def _settings_reply(sub: Subscription, follows: list[str], now: dt.datetime) -> Reply:
    empty = "on" if sub.send_empty else "off"
    text = (
        f"<b>Your settings</b>\n"
        f"Digest time: {sub.digest_time:%H:%M}\n"
        f"Time zone: {sub.timezone}\n"
        f"“Nothing new today” messages: {empty}\n"
        f"Followed topics: {_topics(follows)}\n"
        f"Next digest {describe_wait(now, sub.next_digest_at)}."
    )
    # Every preset keeps its place (the current one is ticked): a button that moves under
    # the finger, or under "#3" in console mode, presses the wrong time.
    current = f"{sub.digest_time:%H:%M}"
    times = []
    for preset in PRESET_TIMES:
        data = callbacks.encode(callbacks.SettingsAction("time", preset.replace(":", "")))
        if data:
            times.append(Button(f"✓ {preset}" if preset == current else preset, data))
    toggle = callbacks.encode(callbacks.SettingsAction("empty", "0" if sub.send_empty else "1"))
    zone = callbacks.encode(callbacks.SettingsAction("zone"))
    rows = [times]
    if toggle and zone:
        label = "Turn “nothing new” off" if sub.send_empty else "Turn “nothing new” on"
        rows.append([Button(label, toggle), Button("Change time zone", zone)])
    return Reply([text], rows)


def _unsubscribed_reply(context: BotContext, follows: list[str]) -> Reply:
    """Settings of a chat without a digest: its topics, and a button to subscribe."""
    # Alerts work without a digest: the topics are shown all the same.
    text = f"{escape(NOT_SUBSCRIBED)}\nFollowed topics: {_topics(follows)}"
    data = callbacks.encode(callbacks.SettingsAction("subscribe"))
    when, zone = context.settings.default_digest_time, context.settings.default_timezone
    label = f"Subscribe: daily at {when:%H:%M} ({zone})"
    return Reply([text], [[Button(label, data)]] if data else [])


def _topics(follows: list[str]) -> str:
    # Topics are what users typed: escaped, or "/follow <a href=...>" would become a link.
    return escape(", ".join(follows)) if follows else "none (add one with /follow WORDS)"


def _zone_picker(sub: Subscription, region: str | None) -> Reply:
    """Common zones of ``region`` as buttons, other regions, and back to the settings."""
    text = (
        f"Your time zone is {sub.timezone}. Pick one below, or send "
        "/subscribe HH:MM Area/City for any other, e.g. /subscribe 08:00 Asia/Tokyo"
    )
    zones = [
        Button(f"✓ {name}" if name == sub.timezone else name, data)
        for name in common_zones(region)
        if (data := callbacks.encode(callbacks.SettingsAction("tz", name)))
    ]
    rows = [zones[i : i + 3] for i in range(0, len(zones), 3)]
    others = [
        Button(name, data)
        for name in REGIONS
        if name != region and (data := callbacks.encode(callbacks.SettingsAction("region", name)))
    ]
    rows.append(others)
    back = callbacks.encode(callbacks.SettingsAction("back"))
    if back:
        rows.append([Button("◂ Back", back)])
    return Reply([text], rows)


async def settings(update: Update, context: BotContext) -> None:
    """/settings: time, zone, topics, with buttons to change them."""
    message = update.effective_message
    chat = update.effective_chat
    if message is None or chat is None:
        return
    follows = [f.phrase for f in await context.storage.follows.list_for_chat(chat.id)]
    sub = await context.storage.subscriptions.get(chat.id)
    if sub is None:
        # Alerts work without a digest: the topics are shown all the same.
        await send_reply(context.bot, message.chat_id, _unsubscribed_reply(context, follows))
        return
    await send_reply(context.bot, message.chat_id, _settings_reply(sub, follows, context.now()))


async def settings_button(update: Update, context: BotContext) -> None:
    """A /settings button: change the time or the zone, toggle "nothing new"."""
    query = update.callback_query
    if query is None:
        return
    if not isinstance(query.message, Message):
        # From an inline message, or one too old to read: answered, never left spinning.
        await query.answer("These settings are out of date. Send /settings again.")
        return
    if not await may_change_chat(update, context):
        return
    action = callbacks.decode(query.data)
    chat_id = query.message.chat_id
    sub = await context.storage.subscriptions.get(chat_id)
    now = context.now()
    if isinstance(action, callbacks.SettingsAction) and action.setting == "subscribe":
        if sub is None:
            await _seen(update, context)
            settings = context.settings
            digest_time, zone = settings.default_digest_time, settings.default_timezone
            sub = await context.storage.subscriptions.subscribe(
                chat_id, digest_time, zone, next_due(digest_time, zone, now)
            )
        await query.answer("You are subscribed")
        follows = [f.phrase for f in await context.storage.follows.list_for_chat(chat_id)]
        await edit_reply(query.message, _settings_reply(sub, follows, now))
        return
    if not isinstance(action, callbacks.SettingsAction) or sub is None:
        await query.answer("These settings are out of date. Send /settings again.")
        return
    if action.setting in {"zone", "region"}:
        await query.answer()
        region = action.value if action.setting == "region" else region_of(sub.timezone)
        await edit_reply(query.message, _zone_picker(sub, region if region in REGIONS else None))
        return
    if action.setting == "time":
        digest_time = dt.time(int(action.value[:2]), int(action.value[2:]))
        sub = await context.storage.subscriptions.subscribe(
            chat_id, digest_time, sub.timezone, next_due(digest_time, sub.timezone, now)
        )
        await query.answer(f"Digest time set to {digest_time:%H:%M}")
    elif action.setting == "tz":
        try:
            zone = check_timezone(action.value)
        except ValueError:
            await query.answer("That time zone is not known. Send /settings again.")
            return
        sub = await context.storage.subscriptions.subscribe(
            chat_id, sub.digest_time, zone, next_due(sub.digest_time, zone, now)
        )
        await query.answer(f"Time zone set to {zone}")
    elif action.setting == "empty":
        await context.storage.subscriptions.set_send_empty(chat_id, action.value == "1")
        await query.answer("Saved")
    else:
        await query.answer()
    sub = await context.storage.subscriptions.get(chat_id)
    if sub is None:
        return
    follows = [f.phrase for f in await context.storage.follows.list_for_chat(chat_id)]
    await edit_reply(query.message, _settings_reply(sub, follows, now))


async def follow(update: Update, context: BotContext) -> None:
    """/follow WORDS: push new items on this topic at once."""
    message = update.effective_message
    chat = await _seen(update, context)
    if message is None or chat is None or not await may_change_chat(update, context):
        return
    phrase = " ".join(clean_topic(" ".join(context.args or [])).split())
    if not phrase or len(phrase) > MAX_PHRASE_LENGTH:
        await message.reply_text(FOLLOW_USAGE)
        return
    try:
        added = await context.storage.follows.follow(chat.id, phrase, limit=MAX_FOLLOWS)
    except FollowLimitReached:
        await message.reply_text(f"You follow {MAX_FOLLOWS} topics already. /unfollow one first.")
        return
    if added:
        await message.reply_text(
            f"Following “{phrase}”: I will message you as soon as news on it arrives."
        )
    else:
        await message.reply_text(f"You already follow “{phrase}”.")


async def unfollow(update: Update, context: BotContext) -> None:
    """/unfollow WORDS: stop alerts on a topic."""
    message = update.effective_message
    chat = update.effective_chat
    if message is None or chat is None:
        return
    phrase = " ".join(context.args or []).strip()
    if phrase and not await may_change_chat(update, context):
        return
    if not phrase:
        follows = [f.phrase for f in await context.storage.follows.list_for_chat(chat.id)]
        listed = ", ".join(follows) if follows else "nothing yet"
        await message.reply_text(f"{UNFOLLOW_USAGE}\nYou follow: {listed}.")
        return
    if await context.storage.follows.unfollow(chat.id, phrase):
        await message.reply_text(f"You no longer follow “{phrase}”.")
    else:
        await message.reply_text(f"You were not following “{phrase}”.")


async def chat_member(update: Update, context: BotContext) -> None:
    """The user blocked (kicked) or unblocked the bot: mark the chat inactive or active."""
    change: ChatMemberUpdated | None = update.my_chat_member
    if change is None:
        return
    status = change.new_chat_member.status
    chat = change.chat
    if status in {ChatMemberStatus.BANNED, ChatMemberStatus.LEFT}:
        await context.storage.chats.mark_inactive(chat.id, f"bot {status}")
        logger.info("chat %s %s the bot: marked inactive", chat.id, status)
    elif status in {ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR}:
        user = change.from_user
        await context.storage.chats.upsert_seen(chat.id, user.id, chat.type, user.first_name)
