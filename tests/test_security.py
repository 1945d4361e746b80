"""Stories of strangers, floods and forged input: what a group member, a flooding user or a
forged client can do, and what they cannot."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from harness import ALICE, BOB, make_settings, start_bot

from bot.localapi import LocalBotApiServer

CHILD_LABOUR = "Global progress to end child labour has stalled"


async def test_while_one_user_sends_a_thousand_messages_twenty_others_are_answered_first(
    telegram: LocalBotApiServer, tmp_path: Path
) -> None:
    others = list(range(2001, 2021))
    async with start_bot(telegram, make_settings(tmp_path, questions_per_minute=5)):
        for n in range(1000):
            telegram.user_sends(ALICE, f"child labour {n}")
        started = time.monotonic()
        for user in others:
            telegram.user_sends(user, "child labour", first_name=f"User{user}")
        for user in others:
            (answer,) = await telegram.wait_for_messages(user, 1, timeout=10.0)
            assert CHILD_LABOUR in answer.text
        elapsed = time.monotonic() - started
        flooder = telegram.messages(ALICE)
        assert len(flooder) < 30, len(flooder)
        assert elapsed < 5.0, elapsed
        await asyncio.sleep(6.0)  # the flooder's allowed answers go out at one a second
        texts = [m.text for m in telegram.messages(ALICE)]
        # Five answers and one "slow down" notice; the other 994 messages were dropped.
        assert sum("Please wait" in t for t in texts) == 1, texts
        assert len(texts) == 6, texts


async def test_replies_waiting_for_one_chats_turn_do_not_hold_up_another_users_answer(
    telegram: LocalBotApiServer, tmp_path: Path
) -> None:
    # Not throttled: 300 questions whose answers go out at one a second, more than
    # python-telegram-bot's 256 concurrent updates.
    async with start_bot(telegram, make_settings(tmp_path, questions_per_minute=1000)) as bot:
        for n in range(300):
            telegram.user_sends(ALICE, f"child labour {n}")
        await telegram.wait_for_messages(ALICE, 2, timeout=10.0)
        started = time.monotonic()
        (answer,) = await bot.say("child labour", user=BOB, wait=5.0)
        assert CHILD_LABOUR in answer.text
        assert time.monotonic() - started < 2.0
