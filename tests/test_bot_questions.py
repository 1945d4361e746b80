"""Stories of people asking the bot about the news, through the real stack."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

import numpy as np
import pytest
from harness import ADMIN, ALICE, BOB, BotUnderTest, services

from bot.delivery.replies import send_reply
from bot.localapi import Fault
from bot.messages.render import MESSAGE_LIMIT
from bot.messages.reply import Reply
from bot.retrieval.embeddings import Matrix, normalize_rows

CHILD_LABOUR = "Global progress to end child labour has stalled"


async def test_a_newcomer_is_greeted_with_an_example_question(bot: BotUnderTest) -> None:
    (reply,) = await bot.say("/start")
    assert "Hello, Alice" in reply.text
    assert "what's new on child labour?" in reply.text


async def test_help_lists_the_commands(bot: BotUnderTest) -> None:
    (reply,) = await bot.say("/help")
    for command in ("/latest", "/search", "/help"):
        assert command in reply.text


async def test_asking_about_child_labour_answers_with_the_item_title_date_and_summary(
    bot: BotUnderTest,
) -> None:
    (reply,) = await bot.say("what's new on child labour?")
    assert CHILD_LABOUR in reply.text
    assert "10 June 2021" in reply.text
    assert "160 million worldwide" in reply.text
    assert f"<b>1. {CHILD_LABOUR}</b>" in reply.html
    assert reply.parse_mode == "HTML"


async def test_a_misspelt_question_still_finds_the_item(bot: BotUnderTest) -> None:
    (reply,) = await bot.say("chlid labuor")
    assert CHILD_LABOUR in reply.text.split("\n\n")[1]


async def test_a_question_about_a_day_lists_that_days_news(bot: BotUnderTest) -> None:
    (reply,) = await bot.say("news from 28 May 2021")
    assert reply.text.count("28 May 2021") >= 3
    assert "10 June 2021" not in reply.text


async def test_more_results_edits_the_answer_in_place(bot: BotUnderTest) -> None:
    (reply,) = await bot.say("news from 28 May 2021")
    first_page = reply.text
    edited = await bot.press(reply, "More results")
    assert edited.message_id == reply.message_id
    assert edited.text != first_page
    assert "4. " in edited.text
    assert "28 May 2021" in edited.text
    assert len(bot.server.messages(ALICE)) == 1


async def test_a_further_page_of_results_has_a_back_button_to_the_page_before(
    bot: BotUnderTest,
) -> None:
    (reply,) = await bot.say("news from 28 May 2021")
    assert [label for label, _ in reply.buttons] == ["More results ▸"]
    second = await bot.press(reply, "More results")
    assert second.buttons[0][0] == "◂ Back"
    first = await bot.press(second, "Back")
    assert first.text == reply.text
    assert [label for label, _ in first.buttons] == ["More results ▸"]


async def test_an_irrelevant_question_is_told_plainly_and_offered_the_latest(
    bot: BotUnderTest,
) -> None:
    (reply,) = await bot.say("bitcoin price")
    assert reply.text.startswith("I found nothing about “bitcoin price”")
    assert "latest news instead" in reply.text
    assert CHILD_LABOUR in reply.text


async def test_a_day_that_does_not_exist_or_a_foreign_script_is_told_why_nothing_was_found(
    bot: BotUnderTest,
) -> None:
    (reply,) = await bot.say("news from 31/02/2021")
    assert "There is no “31/02/2021” in the calendar" in reply.text
    (reply,) = await bot.say("детский труд")
    assert "try asking in English" in reply.text
    (reply,) = await bot.say("bitcoin price")
    assert "calendar" not in reply.text and "English" not in reply.text


async def test_a_range_of_days_or_a_number_of_latest_news_is_what_comes_back(
    bot: BotUnderTest,
) -> None:
    (reply,) = await bot.say("news from 1 June to 9 June 2021")
    assert "8 June 2021" in reply.text and "2 June 2021" in reply.text
    assert "10 June 2021" not in reply.text and "28 May 2021" not in reply.text
    (reply,) = await bot.say("the 2 latest news")
    assert reply.text.count("10 June 2021") == 2
    assert "8 June 2021" not in reply.text and "More results" not in str(reply.reply_markup)


async def test_a_greeting_a_thank_you_or_an_emoji_gets_a_word_not_a_search(
    bot: BotUnderTest,
) -> None:
    (hello,) = await bot.say("Hi there!")
    assert hello.text.startswith("Hello! Ask me about the news")
    (thanks,) = await bot.say("thanks!")
    assert thanks.text.startswith("Glad to help.")
    (thumb,) = await bot.say("👍")
    assert thumb.text.startswith("Ask me about the news in words")
    # A greeting with a question in it is a question.
    (question,) = await bot.say("hi, any news on child labour?")
    assert CHILD_LABOUR in question.text
    # None of them is a question the news lacks; "bitcoin price" is.
    await bot.say("bitcoin price")
    (stats,) = await bot.say("/stats", user=ADMIN)
    assert "bitcoin price ×1" in stats.text
    for chatter in ("Hi there", "thanks", "👍"):
        assert chatter not in stats.text


async def test_search_without_words_gets_the_usage_line(bot: BotUnderTest) -> None:
    (reply,) = await bot.say("/search")
    assert reply.text.startswith("Usage: /search")


@pytest.mark.parametrize("argument", ["-3", "10000", "0", "five", "2 3"])
async def test_latest_with_a_bad_number_gets_the_usage_line(
    bot: BotUnderTest, argument: str
) -> None:
    (reply,) = await bot.say(f"/latest {argument}")
    assert reply.text.startswith("Usage: /latest")


async def test_latest_twenty_is_split_at_item_boundaries_within_telegrams_limit(
    bot: BotUnderTest,
) -> None:
    # The server refuses anything over 4096 characters, so arriving at all proves the limit.
    (first,) = await bot.say("/latest 20")
    messages = await bot.server.wait_for_messages(ALICE, 2)
    assert first.text.startswith("Latest news")
    assert all(len(m.text) <= MESSAGE_LIMIT for m in messages)
    assert sum(m.text.count("\n20") + m.text.count("20. ") for m in messages) >= 1


async def test_a_sticker_gets_a_hint_to_ask_in_words(bot: BotUnderTest) -> None:
    bot.server.user_sends_media(ALICE, "sticker")
    (reply,) = await bot.server.wait_for_messages(ALICE, 1)
    assert "only read text" in reply.text


async def test_a_very_long_question_is_answered_without_error(bot: BotUnderTest) -> None:
    (reply,) = await bot.say("child labour " * 2000)
    assert CHILD_LABOUR in reply.text


async def test_in_a_group_the_bot_answers_mentions_and_replies_but_not_chatter(
    bot: BotUnderTest,
) -> None:
    group = -100500
    server = bot.server
    server.add_group_chat(group, "Newsroom", chat_type="supergroup")
    server.user_sends(BOB, "anyone seen the weather?", chat_id=group, chat_type="supergroup")
    asked = server.user_sends(
        BOB, "@newsbot_local_bot child labour", chat_id=group, chat_type="supergroup"
    )
    (answer,) = await server.wait_for_messages(group, 1)
    assert CHILD_LABOUR in answer.text
    # Quoted, so that the group sees whose question it answers.
    assert answer.reply_to_message_id == asked["message"]["message_id"]
    server.user_sends(
        BOB,
        "and seafarers?",
        chat_id=group,
        chat_type="supergroup",
        reply_to_bot_message_id=answer.message_id,
    )
    messages = await server.wait_for_messages(group, 2)
    assert "seafarers" in messages[1].text.lower()
    assert len(server.messages(group)) == 2


async def test_markup_telegram_rejects_is_sent_again_as_plain_text(bot: BotUnderTest) -> None:
    bot.server.add_private_chat(BOB, first_name="Bob")
    await send_reply(bot.app.bot, BOB, Reply(["<b>Unclosed bold & <i>nested"]))
    (message,) = await bot.server.wait_for_messages(BOB, 1)
    assert message.text == "Unclosed bold & nested"
    assert message.parse_mode is None


async def test_a_failure_is_logged_with_the_update_and_the_user_is_told(
    bot: BotUnderTest, caplog: pytest.LogCaptureFixture
) -> None:
    # Every try of the reply fails (the first and its retries); the apology gets through.
    bot.server.inject("sendMessage", Fault.server_error(), times=4)
    with caplog.at_level(logging.ERROR, logger="bot.handlers.common"):
        (reply,) = await bot.say("latest news")
    assert reply.text.startswith("Sorry, something went wrong")
    assert "Traceback" not in reply.text
    assert any("error while handling update" in r.getMessage() for r in caplog.records)


async def test_when_unsure_the_bot_offers_did_you_mean_and_a_choice_shows_the_item(
    bot: BotUnderTest,
) -> None:
    (reply,) = await bot.say("jobs for young people")
    assert "Did you mean" in reply.text
    labels = [label for label, _ in reply.buttons]
    assert 1 <= len(labels) <= 3
    shown = await bot.press(reply, labels[0][:20])
    assert shown.message_id == reply.message_id
    assert labels[0].rstrip("…") in shown.text
    assert shown.buttons == []


class SlowEncoder:
    """A sentence encoder that takes two seconds over every text it reads, as a large batch
    of items not seen before would; it lets go of the GIL meanwhile, as the real models do."""

    dim = 384

    def embed(self, texts: Sequence[str]) -> Matrix:
        time.sleep(2)
        return normalize_rows(np.ones((len(texts), self.dim), dtype=np.float32))


async def test_a_question_that_keeps_the_encoders_busy_does_not_hold_up_other_chats(
    bot: BotUnderTest,
) -> None:
    newsroom = services(bot).newsroom
    assert newsroom is not None
    newsroom.retriever._second = SlowEncoder()  # the second opinion, made slow
    bot.server.add_private_chat(BOB, first_name="Bob")
    bot.server.user_sends(BOB, "will holiday resorts be hiring again?")  # words don't answer
    await asyncio.sleep(0.3)
    (help_reply,) = await bot.say("/help", wait=10)
    (answer,) = await bot.server.wait_for_messages(BOB, 1, timeout=15)
    assert "Tourism" in answer.text
    assert help_reply.sent_at < answer.sent_at - 1
