"""Stories of a flaky Telegram: slow answers, timeouts, 5xx, resets and garbage.

Under each fault, on getUpdates and on sendMessage, the bot keeps running, answers
every question exactly once when the fault clears, and loses no queued message.
"""

from __future__ import annotations

import asyncio

import pytest
from harness import ADMIN, ALICE, BotUnderTest, add_subscribers, services

from bot.localapi import Fault

QUESTION = "chlid labuor"
ANSWER = "Global progress to end child labour has stalled"

FAULTS = {
    "slow": Fault.slow(2.0),
    "timeout": Fault.timeout(3.0),
    "http 500": Fault.server_error(),
    "http 502": Fault.bad_gateway(),
    "connection reset": Fault.connection_reset(),
    "malformed json": Fault.malformed_json(),
}


def answers_to(bot: BotUnderTest, chat_id: int) -> int:
    return sum(ANSWER in m.text for m in bot.server.messages(chat_id))


@pytest.mark.parametrize("fault", FAULTS.values(), ids=FAULTS.keys())
async def test_questions_are_answered_exactly_once_through_get_updates_faults(
    bot: BotUnderTest, fault: Fault
) -> None:
    bot.server.inject("getUpdates", fault, times=2)
    bot.server.user_sends(ALICE, QUESTION)
    await bot.server.wait_for_messages(ALICE, 1, timeout=30)
    (reply,) = await bot.say(QUESTION, user=ALICE + 1)  # and the bot is still running
    assert ANSWER in reply.text
    await asyncio.sleep(0.5)
    assert answers_to(bot, ALICE) == 1


@pytest.mark.parametrize("fault", FAULTS.values(), ids=FAULTS.keys())
async def test_a_reply_that_meets_a_send_fault_arrives_exactly_once(
    bot: BotUnderTest, fault: Fault
) -> None:
    bot.server.inject("sendMessage", fault, times=1)
    bot.server.user_sends(ALICE, QUESTION)
    await bot.server.wait_for_messages(ALICE, 1, timeout=30)
    await asyncio.sleep(0.5)
    assert answers_to(bot, ALICE) == 1


@pytest.mark.parametrize("fault", FAULTS.values(), ids=FAULTS.keys())
async def test_queued_broadcast_messages_survive_send_faults(
    bot: BotUnderTest, fault: Fault
) -> None:
    subscribers = [2001, 2002, 2003]
    await add_subscribers(bot, subscribers)
    bot.server.add_private_chat(ADMIN)
    bot.server.inject("sendMessage", fault, times=3)
    svc = services(bot)
    assert svc.broadcaster is not None and svc.courier is not None
    from bot.knowledge.models import NewsItem

    item = NewsItem.model_validate(
        {
            "id": "2021-06-11-harbour",
            "title": "Harbour deal",
            "date": "2021-06-11",
            "summary": "S.",
        }
    )
    await svc.broadcaster.send(item, ADMIN)
    for chat_id in subscribers:
        await bot.server.wait_for_messages(chat_id, 1, timeout=40)
    await asyncio.sleep(0.5)
    for chat_id in subscribers:
        assert len(bot.server.messages(chat_id)) == 1
