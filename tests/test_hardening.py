"""Stories of odd updates, bad arguments, greedy users and a token that must never leak."""

from __future__ import annotations

import asyncio
import gc
import logging
import weakref
from pathlib import Path

import pytest
from harness import ALICE, BOB, BotUnderTest, make_settings, start_bot

from bot.localapi import TEST_TOKEN, Fault, LocalBotApiServer
from bot.logs import configure_logging
from bot.runtime import heap

CHILD_LABOUR = "Global progress to end child labour has stalled"


async def quiet_for(bot: BotUnderTest, chat_id: int, before: int, seconds: float = 0.5) -> None:
    await asyncio.sleep(seconds)
    assert len(bot.server.messages(chat_id)) == before


async def test_every_kind_of_update_is_handled_without_an_unhandled_error(
    bot: BotUnderTest, caplog: pytest.LogCaptureFixture
) -> None:
    server = bot.server
    group = -100900
    with caplog.at_level(logging.ERROR):
        (first,) = await bot.say("news from 28 May 2021")
        server.user_edits(ALICE, 1, "seafarers")  # an edited question is not answered twice
        server.channel_post(-100901, "a post in a channel")
        server.inline_query(ALICE, "child labour")
        server.user_sends(
            ALICE,
            "forwarded news",
            forward_origin={"type": "hidden_user", "sender_user_name": "Bob"},
        )
        server.user_sends_media(ALICE, "photo", caption="child labour")
        server.user_sends_media(ALICE, "voice")
        server.add_group_chat(group, "Chatter", chat_type="group")
        server.user_sends(BOB, "/latest 1", chat_id=group, chat_type="group")
        server.user_sends(BOB, "/latest@newsbot_local_bot 1", chat_id=group, chat_type="group")
        server.user_sends(BOB, "/latest@another_bot 1", chat_id=group, chat_type="group")
        await server.wait_for_messages(group, 2)
        # A stale button (an old message's data) and a forged one.
        server.user_presses(ALICE, first.message_id, next(d for _, d in first.buttons if d))
        await server.wait_for_messages(ALICE, 4)
        await asyncio.sleep(1.5)  # one message a second to a chat: anything more arrives now
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    texts = [m.text for m in server.messages(ALICE)]
    assert len(texts) == 4, texts
    assert sum("only read text" in t for t in texts) == 2, texts
    assert any("forwarded news" in t for t in texts)
    assert len(server.messages(group)) == 2


@pytest.mark.parametrize(
    "command",
    ["/subscribe 25:99 Mars/Olympus", "/latest -3", "/latest 10000", "/search", "/follow"],
)
async def test_commands_with_bad_arguments_get_the_usage_line(
    bot: BotUnderTest, command: str
) -> None:
    (reply,) = await bot.say(command)
    assert "Usage: /" in reply.text


async def test_an_unknown_command_points_to_help(bot: BotUnderTest) -> None:
    (reply,) = await bot.say("/frobnicate")
    assert "/help" in reply.text


async def test_a_user_asking_too_fast_is_told_to_wait_and_others_are_not_held_up(
    telegram: LocalBotApiServer, tmp_path: Path
) -> None:
    async with start_bot(telegram, make_settings(tmp_path, questions_per_minute=3)) as bot:
        for _ in range(3):
            (answer,) = await bot.say("child labour")
            assert CHILD_LABOUR in answer.text
        (limited,) = await bot.say("child labour")
        assert "Please wait" in limited.text
        (other,) = await bot.say("child labour", user=BOB)
        assert CHILD_LABOUR in other.text


async def test_the_token_never_appears_in_the_logs(
    telegram: LocalBotApiServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    configure_logging("DEBUG", [TEST_TOKEN])
    try:
        with caplog.at_level(logging.DEBUG):
            async with start_bot(telegram, make_settings(tmp_path)) as bot:
                await bot.say("latest news")
                telegram.inject("sendMessage", Fault.server_error(), times=4)
                await bot.say("child labour")  # fails, logged, the user is told
                telegram.inject("getUpdates", Fault.connection_reset())
                await bot.say("chlid labuor")
    finally:
        logging.getLogger().setLevel(logging.WARNING)
    text = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert caplog.records, "nothing was logged: the test would prove nothing"
    secret = TEST_TOKEN.split(":")[1]
    assert secret not in text
    assert "error while handling update" in text


async def test_what_start_up_built_stays_out_of_full_collections_until_the_bot_stops(
    telegram: LocalBotApiServer, tmp_path: Path
) -> None:
    async with start_bot(telegram, make_settings(tmp_path)) as bot:
        # The model, the index and PTB's objects: a full collection would walk them all.
        assert gc.get_freeze_count() > 10_000
        (reply,) = await bot.say("child labour")
        assert CHILD_LABOUR in reply.text
    assert gc.get_freeze_count() == 0


async def test_a_start_up_that_paused_the_collector_resumes_it_and_frees_a_slow_starts_garbage(
    telegram: LocalBotApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Node:
        me: object = None

    for quick_start_seconds, freed in ((600.0, False), (0.0, True)):
        monkeypatch.setattr(heap, "QUICK_START_SECONDS", quick_start_seconds)
        heap.pause_for_start_up()  # as `newsbot run` does first thing
        node = Node()
        node.me = node  # a reference cycle start-up left behind
        left = weakref.ref(node)
        del node
        async with start_bot(telegram, make_settings(tmp_path)) as bot:
            assert gc.isenabled(), "the collector must run again once the bot is up"
            # A quick start is frozen as it is; a slow one is collected first.
            assert (left() is None) is freed
            (reply,) = await bot.say("child labour")
            assert CHILD_LABOUR in reply.text
        assert gc.isenabled() and gc.get_freeze_count() == 0
