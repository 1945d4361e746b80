"""The local Bot API server behaves like Telegram where bots break.

Every test drives the real python-telegram-bot ``Bot`` (or raw HTTP, where the exact wire
shape is the point) against the server on a loopback port.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import json
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyKeyboardMarkup,
    ReplyParameters,
    Update,
)
from telegram.error import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import Application, CommandHandler, ContextTypes
from telegram.request import HTTPXRequest

from bot.localapi import TEST_TOKEN, Fault, FloodLimits, LocalBotApiServer, WaitTimeout
from bot.localapi.html import parse_html
from bot.localapi.markdown import parse_markdown_v2

ALICE = 1001
BOB = 1002


def make_bot(server: LocalBotApiServer, read_timeout: float = 3.0) -> Bot:
    return Bot(
        TEST_TOKEN,
        base_url=server.base_url,
        base_file_url=server.base_file_url,
        request=HTTPXRequest(read_timeout=read_timeout, connect_timeout=2.0),
        get_updates_request=HTTPXRequest(read_timeout=read_timeout, connect_timeout=2.0),
    )


@pytest.fixture
async def bot(api_server: LocalBotApiServer) -> AsyncIterator[Bot]:
    async with make_bot(api_server) as telegram_bot:
        yield telegram_bot


async def raw_call(
    server: LocalBotApiServer, method: str, token: str = TEST_TOKEN, **params: Any
) -> tuple[int, dict[str, Any]]:
    """POST JSON to the server and return (HTTP status, decoded body)."""
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{server.base_url}{token}/{method}", json=params) as response,
    ):
        return response.status, await response.json()


def keyboard(*buttons: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(t, callback_data=d) for t, d in buttons]])


# --- the bot and its token ------------------------------------------------------------


async def test_get_me_introduces_the_bot_whose_id_is_the_token_prefix(bot: Bot) -> None:
    me = await bot.get_me()
    assert me.id == int(TEST_TOKEN.split(":")[0])
    assert me.is_bot and me.username == "newsbot_local_bot"


async def test_a_malformed_token_is_unauthorized_and_an_unknown_method_is_not_found(
    api_server: LocalBotApiServer,
) -> None:
    assert await raw_call(api_server, "getMe", token="not-a-token") == (
        401,
        {"ok": False, "error_code": 401, "description": "Unauthorized"},
    )
    assert await raw_call(api_server, "sendTelepathy") == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found"},
    )


async def test_a_bot_with_a_malformed_token_fails_to_start(api_server: LocalBotApiServer) -> None:
    with pytest.raises(InvalidToken):
        await Bot("123:short", base_url=api_server.base_url).get_me()


# --- sending ----------------------------------------------------------------------------


async def test_an_html_news_item_arrives_as_plain_text_with_entities_and_is_recorded(
    api_server: LocalBotApiServer, bot: Bot
) -> None:
    api_server.add_private_chat(ALICE, "Alice")
    html = '😀 <b>Rates</b> &amp; <a href="https://example.com/a">more</a>'
    sent = await bot.send_message(
        ALICE, html, parse_mode="HTML", reply_markup=keyboard(("More", "more:1"))
    )
    assert sent.text == "😀 Rates & more"
    # offsets count UTF-16 code units: the emoji takes two
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [
        ("bold", 3, 5),
        ("text_link", 11, 4),
    ]
    assert sent.from_user is not None and sent.from_user.is_bot
    [recorded] = await api_server.wait_for_messages(ALICE, 1)
    assert recorded.message_id == sent.message_id
    assert (recorded.text, recorded.html, recorded.parse_mode) == (sent.text, html, "HTML")
    assert recorded.buttons == [("More", "more:1")]
    assert not recorded.edited


async def test_message_ids_increase_per_chat_across_user_and_bot_messages(
    api_server: LocalBotApiServer, bot: Bot
) -> None:
    first = api_server.user_sends(ALICE, "hi")["message"]["message_id"]
    reply = await bot.send_message(ALICE, "hello", reply_parameters=ReplyParameters(first))
    other_chat = await bot.send_message(api_server.add_private_chat(BOB)["id"], "hey")
    assert reply.message_id == first + 1
    assert reply.reply_to_message is not None and reply.reply_to_message.text == "hi"
    assert other_chat.message_id == 1


async def test_a_reply_keyboard_is_accepted_but_not_echoed_like_an_inline_one(
    api_server: LocalBotApiServer, bot: Bot
) -> None:
    api_server.add_private_chat(ALICE)
    sent = await bot.send_message(ALICE, "Pick", reply_markup=ReplyKeyboardMarkup([["Today"]]))
    assert sent.reply_markup is None
    assert api_server.messages(ALICE)[0].buttons == [("Today", None)]


async def test_a_message_over_4096_characters_is_too_long_but_markup_does_not_count(
    api_server: LocalBotApiServer, bot: Bot
) -> None:
    api_server.add_private_chat(ALICE)
    fits = await bot.send_message(ALICE, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")
    assert len(fits.text or "") == 4096
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(ALICE, "x" * 4097)
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(ALICE, "<b> </b>", parse_mode="HTML")


@pytest.mark.parametrize(
    ("html", "description"),
    [
        ("<x>hi</x>", 'Unsupported start tag "x" at byte offset 0'),
        ("é <br>", 'Unsupported start tag "br" at byte offset 3'),
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("bold</b>", "Unexpected end tag at byte offset 4"),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("<b", "Unclosed start tag at byte offset 0"),
        ('<span class="x">y</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
    ],
)
async def test_broken_html_is_refused_in_telegrams_own_words(
    api_server: LocalBotApiServer, html: str, description: str
) -> None:
    api_server.add_private_chat(ALICE)
    status, body = await raw_call(
        api_server, "sendMessage", chat_id=ALICE, text=html, parse_mode="HTML"
    )
    assert (status, body["description"]) == (
        400,
        f"Bad Request: can't parse entities: {description}",
    )


async def test_ptb_reports_broken_html_as_bad_request_cant_parse_entities(
    api_server: LocalBotApiServer, bot: Bot
) -> None:
    api_server.add_private_chat(ALICE)
    with pytest.raises(BadRequest, match="Can't parse entities"):
        await bot.send_message(ALICE, "<b>unclosed", parse_mode="HTML")


async def test_markdown_v2_with_an_unescaped_dot_is_refused(
    api_server: LocalBotApiServer, bot: Bot
) -> None:
    api_server.add_private_chat(ALICE)
    with pytest.raises(BadRequest, match=r"character '\.' is reserved"):
        await bot.send_message(ALICE, "Done.", parse_mode="MarkdownV2")
    sent = await bot.send_message(ALICE, r"*Done*\.", parse_mode="MarkdownV2")
    assert sent.text == "Done."


async def test_a_button_whose_callback_data_is_65_bytes_is_refused(
    api_server: LocalBotApiServer, bot: Bot
) -> None:
    api_server.add_private_chat(ALICE)
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(ALICE, "x", reply_markup=keyboard(("Go", "d" * 65)))
    await bot.send_message(ALICE, "x", reply_markup=keyboard(("Go", "é" * 32)))  # 64 bytes


async def test_a_user_who_never_started_the_bot_cannot_be_messaged(
    api_server: LocalBotApiServer, bot: Bot
) -> None:
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(ALICE, "hello?")
    api_server.user_sends(BOB, "/digest@newsbot_local_bot", chat_id=-100, chat_type="group")
    with pytest.raises(Forbidden, match="bot can't initiate conversation with a user"):
        await bot.send_message(BOB, "psst")


# --- refusals: blocked, deactivated, 429 -------------------------------------------------


async def test_a_forced_429_carries_retry_after_and_then_the_chat_recovers(
    api_server: LocalBotApiServer, bot: Bot
) -> None:
    api_server.add_private_chat(ALICE)
    api_server.force_retry_after(ALICE, 7, times=2)
    for _ in range(2):
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(ALICE, "breaking news")
        assert caught.value.retry_after == dtm.timedelta(seconds=7)
    await bot.send_message(ALICE, "breaking news")
    api_server.force_retry_after(ALICE, 3)
    assert await raw_call(api_server, "sendMessage", chat_id=ALICE, text="x") == (
        429,
        {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 3",
            "parameters": {"retry_after": 3},
        },
    )


async def test_a_user_who_blocks_the_bot_answers_forbidden_and_the_bot_hears_kicked(
    api_server: LocalBotApiServer, bot: Bot
) -> None:
    api_server.user_sends(ALICE, "/start")
    api_server.block(ALICE)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(ALICE, "digest")
    updates = await bot.get_updates()
    member = updates[-1].my_chat_member
    assert member is not None and member.new_chat_member.status == "kicked"
    # writing again unblocks, as "Restart bot" does in the apps
    api_server.user_sends(ALICE, "/start")
    updates = await bot.get_updates(offset=updates[-1].update_id + 1)
    assert [u.my_chat_member.new_chat_member.status for u in updates if u.my_chat_member] == [
        "member"
    ]
    await bot.send_message(ALICE, "welcome back")


async def test_a_deactivated_user_answers_forbidden_user_is_deactivated(
    api_server: LocalBotApiServer, bot: Bot
) -> None:
    api_server.add_private_chat(ALICE)
    api_server.deactivate(ALICE)
    with pytest.raises(Forbidden, match="user is deactivated"):
        await bot.send_message(ALICE, "digest")


class FrozenClock:
    """A monotonic clock that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def frozen() -> AsyncIterator[tuple[LocalBotApiServer, Bot, FrozenClock]]:
    clock = FrozenClock()
    async with LocalBotApiServer(clock=clock) as server, make_bot(server) as telegram_bot:
        yield server, telegram_bot, clock


async def test_forty_quick_sends_across_chats_hit_the_overall_limit_of_thirty(
    frozen: tuple[LocalBotApiServer, Bot, FrozenClock],
) -> None:
    server, bot, clock = frozen
    chats = [server.add_private_chat(2000 + n)["id"] for n in range(40)]
    results = await asyncio.gather(
        *(bot.send_message(chat, "news") for chat in chats), return_exceptions=True
    )
    refused = [r for r in results if isinstance(r, RetryAfter)]
    assert len(refused) == 10
    assert all(r.retry_after == dtm.timedelta(seconds=1) for r in refused)
    assert [r.status for r in server.requests].count(429) == 10
    clock.now += 0.1  # 30 messages/s: three more tokens
    results = await asyncio.gather(
        *(bot.send_message(chat, "retry") for chat in chats[30:]), return_exceptions=True
    )
    assert sum(1 for r in results if not isinstance(r, Exception)) == 3


async def test_a_paid_broadcast_passes_the_free_limit_up_to_a_thousand_a_second_then_gets_429(
    frozen: tuple[LocalBotApiServer, Bot, FrozenClock],
) -> None:
    server, bot, clock = frozen
    chats = [server.add_private_chat(20_000 + n)["id"] for n in range(1100)]
    results = await asyncio.gather(
        *(bot.send_message(chat, "news", allow_paid_broadcast=True) for chat in chats),
        return_exceptions=True,
    )
    refused = [r for r in results if isinstance(r, RetryAfter)]
    assert len(refused) == 100  # 1000 a second, not 30
    assert all(r.retry_after == dtm.timedelta(seconds=1) for r in refused)
    assert server.world.paid_messages == 1000
    assert all(m.paid for chat in chats for m in server.messages(chat))
    # The free budget is untouched: a digest goes out at once ...
    await bot.send_message(chats[-1], "your digest")
    assert not server.messages(chats[-1])[-1].paid
    # ... and the chat's own limit still holds for paid sends.
    clock.now += 0.01  # ten paid tokens: the paid bucket is not what refuses below
    reader = next(chat for chat in chats if server.messages(chat))  # had one already
    for n in range(2):
        await bot.send_message(reader, f"more {n}", allow_paid_broadcast=True)
    with pytest.raises(RetryAfter):
        await bot.send_message(reader, "fourth in a row", allow_paid_broadcast=True)


async def test_one_private_chat_tolerates_a_burst_of_three_then_one_per_second(
    frozen: tuple[LocalBotApiServer, Bot, FrozenClock],
) -> None:
    server, bot, clock = frozen
    server.add_private_chat(ALICE)
    results = await asyncio.gather(
        *(bot.send_message(ALICE, f"part {n}") for n in range(6)), return_exceptions=True
    )
    assert sum(1 for r in results if isinstance(r, RetryAfter)) == 3
    assert len(server.messages(ALICE)) == 3
    with pytest.raises(RetryAfter):
        await bot.send_message(ALICE, "still too soon")
    clock.now += 1.0
    await bot.send_message(ALICE, "a second later")
    # other chats are not affected by Alice's bucket
    await bot.send_message(server.add_private_chat(BOB)["id"], "hi Bob")


async def test_a_group_gets_twenty_messages_a_minute(
    frozen: tuple[LocalBotApiServer, Bot, FrozenClock],
) -> None:
    server, bot, clock = frozen
    server.add_group_chat(-500, "Newsroom")
    for n in range(20):
        await bot.send_message(-500, f"item {n}")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(-500, "one too many")
    assert caught.value.retry_after == dtm.timedelta(seconds=3)  # 60 s / 20 messages
    clock.now += 3.0
    await bot.send_message(-500, "after the wait")


async def test_with_flood_limits_off_every_send_goes_through() -> None:
    async with LocalBotApiServer(limits=FloodLimits.off()) as server, make_bot(server) as bot:
        server.add_private_chat(ALICE)
        await asyncio.gather(*(bot.send_message(ALICE, "x") for _ in range(40)))
        assert len(server.messages(ALICE)) == 40


# --- updates ------------------------------------------------------------------------------


async def test_a_long_poll_wakes_when_a_user_sends_a_command(
    api_server: LocalBotApiServer, bot: Bot
) -> None:
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await asyncio.sleep(0.1)
    api_server.user_sends(ALICE, "/subscribe@newsbot_local_bot sports", username="alice")
    [update] = await poll
    assert time.monotonic() - started < 5.0  # woken, not timed out
    message = update.message
    assert message is not None and message.text == "/subscribe@newsbot_local_bot sports"
    assert message.parse_entities(["bot_command"]).popitem()[1] == "/subscribe@newsbot_local_bot"
    assert message.chat.type == "private" and message.from_user is not None
    assert message.from_user.username == "alice"
    # confirming by offset drops it
    assert await bot.get_updates(offset=update.update_id + 1) == ()
    assert api_server.updates_pending() == []


async def test_two_overlapping_long_polls_conflict(
    api_server: LocalBotApiServer, bot: Bot
) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=2))
    await asyncio.sleep(0.1)
    second = asyncio.create_task(bot.get_updates(timeout=0))
    with pytest.raises(Conflict, match="terminated by other getUpdates request"):
        await first
    assert await second == ()


async def test_stopping_the_server_releases_a_waiting_long_poll() -> None:
    server = LocalBotApiServer()
    await server.start()
    async with make_bot(server, read_timeout=5.0) as bot:
        poll = asyncio.create_task(bot.get_updates(timeout=30))
        await asyncio.sleep(0.1)
        started = time.monotonic()
        await server.stop()
        assert await poll == ()
        assert time.monotonic() - started < 2.0


async def test_media_edits_channel_posts_and_inline_queries_arrive_as_ptb_updates(
    api_server: LocalBotApiServer, bot: Bot
) -> None:
    for kind in ("sticker", "photo", "voice", "document"):
        api_server.user_sends_media(ALICE, kind, caption="look" if kind == "photo" else None)
    sent = api_server.user_sends(ALICE, "typo")
    api_server.user_edits(ALICE, sent["message"]["message_id"], "fixed")
    api_server.channel_post(-1001, "Channel news")
    api_server.inline_query(ALICE, "rates")
    origin = {"type": "hidden_user", "sender_user_name": "Bob"}
    api_server.user_sends(ALICE, "fwd", forward_origin=origin)
    updates = await bot.get_updates()
    assert [u.effective_message and u.effective_message.effective_attachment for u in updates][
        :4
    ] != [None] * 4
    message = updates[1].message
    assert message is not None and message.caption == "look"
    edited = updates[5].edited_message
    assert edited is not None and edited.text == "fixed" and edited.edit_date is not None
    assert updates[6].channel_post is not None
    assert updates[7].inline_query is not None and updates[7].inline_query.query == "rates"
    forwarded = updates[8].message
    assert forwarded is not None and forwarded.forward_origin is not None


async def test_group_privacy_hides_chatter_but_shows_commands_mentions_and_replies(
    api_server: LocalBotApiServer, bot: Bot
) -> None:
    group = -200
    api_server.user_sends(ALICE, "just chatting", chat_id=group, chat_type="supergroup")
    api_server.user_sends(ALICE, "/news", chat_id=group, chat_type="supergroup")
    api_server.user_sends(ALICE, "/news@other_bot", chat_id=group, chat_type="supergroup")
    api_server.user_sends(ALICE, "hey @newsbot_local_bot", chat_id=group, chat_type="supergroup")
    sent = await bot.send_message(group, "answer")
    api_server.user_sends(
        ALICE,
        "thanks",
        chat_id=group,
        chat_type="supergroup",
        reply_to_bot_message_id=sent.message_id,
    )
    texts = [u.message.text for u in await bot.get_updates() if u.message]
    assert texts == ["/news", "hey @newsbot_local_bot", "thanks"]


# --- buttons and edits ---------------------------------------------------------------------


async def test_a_button_press_round_trips_through_answer_callback_query(
    api_server: LocalBotApiServer, bot: Bot
) -> None:
    api_server.add_private_chat(ALICE)
    sent = await bot.send_message(ALICE, "Subscribe?", reply_markup=keyboard(("Yes", "sub:y")))
    with pytest.raises(ValueError, match="no button"):
        api_server.user_presses(ALICE, sent.message_id, "sub:maybe")
    query_id = api_server.user_presses(ALICE, sent.message_id, "sub:y")
    [update] = await bot.get_updates()
    query = update.callback_query
    assert query is not None and query.id == query_id and query.data == "sub:y"
    assert query.message is not None and query.message.message_id == sent.message_id
    await query.answer("Subscribed")
    answer = await api_server.wait_for_callback_answer(query_id)
    assert answer.text == "Subscribed"
    with pytest.raises(BadRequest, match="Query is too old"):
        await query.answer("again")


async def test_a_callback_query_answered_too_late_is_too_old() -> None:
    async with LocalBotApiServer(callback_query_ttl=0.05) as server, make_bot(server) as bot:
        server.add_private_chat(ALICE)
        sent = await bot.send_message(ALICE, "?", reply_markup=keyboard(("Go", "go")))
        query_id = server.user_presses(ALICE, sent.message_id, "go")
        await asyncio.sleep(0.1)
        with pytest.raises(BadRequest, match="Query is too old"):
            await bot.answer_callback_query(query_id)


async def test_an_edit_is_recorded_and_an_identical_edit_is_not_modified(
    api_server: LocalBotApiServer, bot: Bot
) -> None:
    api_server.add_private_chat(ALICE)
    markup = keyboard(("Next", "page:2"))
    sent = await bot.send_message(ALICE, "Page 1", reply_markup=markup)
    edited = await bot.edit_message_text(
        "<b>Page 2</b>", ALICE, sent.message_id, parse_mode="HTML", reply_markup=markup
    )
    assert isinstance(edited, type(sent)) and edited.edit_date is not None
    recorded = await api_server.wait_for_edit(ALICE, sent.message_id)
    assert (recorded.text, recorded.html, recorded.edited) == ("Page 2", "<b>Page 2</b>", True)
    assert recorded.history[0].text == "Page 1"
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text(
            "<b>Page 2</b>", ALICE, sent.message_id, parse_mode="HTML", reply_markup=markup
        )
    # leaving reply_markup out removes the keyboard, as in Telegram
    await bot.edit_message_text("Page 2", ALICE, sent.message_id)
    assert api_server.messages(ALICE)[0].reply_markup is None
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_reply_markup(ALICE, sent.message_id)
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", ALICE, 999)


async def test_a_deleted_message_cannot_be_deleted_or_edited_again(
    api_server: LocalBotApiServer, bot: Bot
) -> None:
    api_server.add_private_chat(ALICE)
    sent = await bot.send_message(ALICE, "oops")
    assert await bot.delete_message(ALICE, sent.message_id)
    assert api_server.messages(ALICE)[0].deleted
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await bot.delete_message(ALICE, sent.message_id)
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", ALICE, sent.message_id)


# --- the rest of the surface -----------------------------------------------------------------


async def test_commands_webhook_chat_action_and_get_chat(
    api_server: LocalBotApiServer, bot: Bot
) -> None:
    assert await bot.set_my_commands([("digest", "Today's digest"), ("help", "How to use")])
    assert [c.command for c in await bot.get_my_commands()] == ["digest", "help"]
    assert [c["command"] for c in api_server.commands()] == ["digest", "help"]
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await bot.set_my_commands([("Digest!", "bad")])
    assert await bot.delete_my_commands() and await bot.get_my_commands() == ()
    api_server.add_private_chat(ALICE, "Alice")
    assert await bot.send_chat_action(ALICE, "typing")
    chat = await bot.get_chat(ALICE)
    assert chat.first_name == "Alice"
    assert await bot.set_webhook("https://example.com/hook")
    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates()
    assert await bot.delete_webhook(drop_pending_updates=True)
    assert (await bot.get_webhook_info()).url == ""
    assert await bot.close() and await bot.log_out()


async def test_parameters_arrive_as_json_form_multipart_or_query_string() -> None:
    markup = json.dumps({"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]})
    form = aiohttp.FormData({"chat_id": str(ALICE), "text": "multipart", "reply_markup": markup})
    form.add_field("ignored_file", b"bytes", filename="f.txt")
    async with (
        LocalBotApiServer(limits=FloodLimits.off()) as server,
        aiohttp.ClientSession() as session,
    ):
        server.add_private_chat(ALICE)
        url = f"{server.base_url}{TEST_TOKEN}/sendMessage"
        for request in (
            session.post(url, json={"chat_id": ALICE, "text": "json"}),
            session.post(
                url, data={"chat_id": str(ALICE), "text": "form", "reply_markup": markup}
            ),
            session.post(url, data=form),
            session.get(url, params={"chat_id": str(ALICE), "text": "query"}),
        ):
            async with request as response:
                assert response.status == 200, await response.text()
        assert [m.text for m in server.messages(ALICE)] == ["json", "form", "multipart", "query"]
        assert server.messages(ALICE)[1].buttons == [("A", "a")]


async def test_waiting_for_a_message_that_never_comes_says_what_it_saw(
    api_server: LocalBotApiServer, bot: Bot
) -> None:
    api_server.add_private_chat(ALICE)
    await bot.send_message(ALICE, "only one")
    with pytest.raises(WaitTimeout, match=r"saw \['only one'\]"):
        await api_server.wait_for_messages(ALICE, 2, timeout=0.1)


# --- injected faults -------------------------------------------------------------------------

FAULTS = [
    pytest.param(Fault.timeout(5.0), TimedOut, id="timeout"),
    pytest.param(Fault.server_error(), NetworkError, id="http-500"),
    pytest.param(Fault.bad_gateway(), NetworkError, id="http-502"),
    pytest.param(Fault.connection_reset(), NetworkError, id="connection-reset"),
    pytest.param(Fault.malformed_json(), TelegramError, id="malformed-json"),
]


@pytest.mark.parametrize(("fault", "error"), FAULTS)
async def test_an_injected_fault_on_send_message_surfaces_and_the_next_call_works(
    api_server: LocalBotApiServer, fault: Fault, error: type[Exception]
) -> None:
    api_server.add_private_chat(ALICE)
    async with make_bot(api_server, read_timeout=0.3) as bot:
        api_server.inject("sendMessage", fault)
        with pytest.raises(error):
            await bot.send_message(ALICE, "first try")
        await bot.send_message(ALICE, "second try")
    assert [m.text for m in api_server.messages(ALICE)] == ["second try"]


@pytest.mark.parametrize(("fault", "error"), FAULTS)
async def test_an_injected_fault_on_get_updates_surfaces_and_polling_resumes(
    api_server: LocalBotApiServer, fault: Fault, error: type[Exception]
) -> None:
    api_server.user_sends(ALICE, "/start")
    async with make_bot(api_server, read_timeout=0.3) as bot:
        api_server.inject("getUpdates", fault)
        with pytest.raises(error):
            await bot.get_updates()
        assert len(await bot.get_updates()) == 1


async def test_a_slow_answer_arrives_late_but_intact(
    api_server: LocalBotApiServer, bot: Bot
) -> None:
    api_server.add_private_chat(ALICE)
    api_server.inject("sendMessage", Fault.slow(0.3))
    api_server.inject("getUpdates", Fault.slow(0.3))
    started = time.monotonic()
    await bot.send_message(ALICE, "eventually")
    await bot.get_updates()
    assert time.monotonic() - started >= 0.6


async def test_a_reset_after_processing_delivers_the_message_the_bot_thinks_failed(
    api_server: LocalBotApiServer, bot: Bot
) -> None:
    api_server.add_private_chat(ALICE)
    api_server.inject("sendMessage", Fault.connection_reset(process=True))
    with pytest.raises(NetworkError):
        await bot.send_message(ALICE, "sent twice?")
    assert [m.text for m in api_server.messages(ALICE)] == ["sent twice?"]
    assert api_server.requests[-1].status == 0


async def test_a_bot_in_another_process_talks_to_the_server_over_http(
    api_server: LocalBotApiServer,
) -> None:
    api_server.add_private_chat(ALICE)
    script = (
        "import asyncio, sys, telegram\n"
        "async def main():\n"
        "    async with telegram.Bot(sys.argv[1], base_url=sys.argv[2]) as bot:\n"
        "        await bot.send_message(int(sys.argv[3]), 'from afar')\n"
        "asyncio.run(main())\n"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, TEST_TOKEN, api_server.base_url, str(ALICE)
    )
    assert await asyncio.wait_for(process.wait(), 15) == 0
    [message] = await api_server.wait_for_messages(ALICE, 1)
    assert message.text == "from afar"


# --- the parsers, directly -------------------------------------------------------------------


def test_html_entities_numeric_references_and_code_languages_parse_like_telegram() -> None:
    parsed = parse_html(
        '&#128512;&lt;<pre><code class="language-python">x</code></pre>'
        "<blockquote expandable>q</blockquote>AT&T"
    )
    assert parsed.text == "😀<xqAT&T"
    assert [e.to_json() for e in parsed.entities] == [
        {"offset": 3, "length": 1, "type": "pre", "language": "python"},
        {"offset": 4, "length": 1, "type": "expandable_blockquote"},
    ]


def test_markdown_v2_nests_entities_and_reports_the_unclosed_one() -> None:
    parsed = parse_markdown_v2(r"*bold _both_* [link](https://t.me/x) \_")
    assert parsed.text == "bold both link _"
    assert [e.type for e in parsed.entities] == ["bold", "italic", "text_link"]
    with pytest.raises(ValueError, match="Can't find end of Italic entity at byte offset 0"):
        parse_markdown_v2("_open")


def test_updates_from_the_server_deserialize_in_ptb() -> None:
    server = LocalBotApiServer()
    update = server.user_sends(ALICE, "/start")
    assert Update.de_json(update, None).message is not None


async def test_a_real_ptb_application_polls_answers_a_command_and_stops_cleanly(
    api_server: LocalBotApiServer,
) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_html("<b>Welcome</b> to the news")

    app = Application.builder().token(TEST_TOKEN).base_url(api_server.base_url).build()
    app.add_handler(CommandHandler("start", start))
    async with app:
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=10)
        await app.start()
        api_server.user_sends(ALICE, "/start")
        [reply] = await api_server.wait_for_messages(ALICE, 1)
        assert reply.text == "Welcome to the news"
        started = time.monotonic()
        await app.updater.stop()
        await app.stop()
    assert time.monotonic() - started < 5.0  # not held up by the 10 s long poll
    assert api_server.updates_pending() == []
