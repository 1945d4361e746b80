"""Stories of a Bot API that is down or hangs while a broadcast goes out.

Telegram answering 502 for longer than a few retries, answering only after many
seconds, or taking a message without the answer reaching the bot: nobody is left
out, nobody gets a message twice unless the report says it may have happened.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

from harness import ADMIN, BotUnderTest, add_subscribers, make_settings, services, start_bot

from bot.delivery.broadcast import progress_text
from bot.knowledge.models import NewsItem
from bot.localapi import Fault, LocalBotApiServer
from bot.storage import OutboxMessage

HARBOUR = NewsItem(
    id="2021-06-11-harbour", title="Harbour deal", date=dt.date(2021, 6, 11), summary="S."
)
ONE_MESSAGE = "/broadcast Harbour workers win a pay rise | 2021-06-11 | Dock workers agreed."


def news(server: LocalBotApiServer, chat_id: int) -> int:
    return sum(m.text.startswith("📰 News") for m in server.messages(chat_id))


async def wait_for(condition: object, seconds: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        if condition():  # type: ignore[operator]
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def press_send(bot: BotUnderTest, fault: Fault | None = None, times: int = 1) -> None:
    """The admin previews the broadcast and presses Send (``fault`` armed just before)."""
    _, preview = await bot.say(ONE_MESSAGE, user=ADMIN, expect=2)
    send = next(d for label, d in preview.buttons if label == "Send")
    assert send is not None
    if fault is not None:
        bot.server.inject("sendMessage", fault, times=times)
    bot.server.user_presses(ADMIN, preview.message_id, send, chat_id=ADMIN)
    await wait_for(
        lambda: any("Broadcast #" in m.text for m in bot.server.messages(ADMIN)), 30, "progress"
    )


def progress_texts(bot: BotUnderTest) -> list[str]:
    texts = []
    for message in bot.server.messages(ADMIN):
        if "Broadcast #" in message.text:
            texts.extend([*(h.text for h in message.history), message.text])
    return texts


async def final_report(bot: BotUnderTest, seconds: float = 60) -> str:
    def finished() -> bool:
        return any("Broadcast finished" in t for t in progress_texts(bot))

    await wait_for(finished, seconds, "the final report")
    return next(t for t in progress_texts(bot) if "Broadcast finished" in t)


SUBSCRIBERS = list(range(2001, 2061))
OUTAGE_SECONDS = 14.0


async def test_a_bot_api_outage_longer_than_a_few_retries_loses_no_message(
    telegram: LocalBotApiServer, tmp_path: Path
) -> None:
    """sendMessage answers 502 for 14 s mid-broadcast (the old courier gave up after 5 tries
    2 s apart). The admin sees "Telegram unreachable since HH:MM, retrying"; then every
    subscriber gets the news exactly once and nothing is recorded failed."""
    settings = make_settings(tmp_path, delivery_first_backoff_seconds=0.5)
    async with start_bot(telegram, settings) as bot:
        await add_subscribers(bot, SUBSCRIBERS)
        await press_send(bot)
        await wait_for(lambda: sum(news(telegram, c) for c in SUBSCRIBERS) >= 1, 10, "a send")
        telegram.inject("sendMessage", Fault.bad_gateway(), times=1_000_000)
        started = dt.datetime.now(dt.UTC)
        await wait_for(
            lambda: any("Telegram unreachable since" in t for t in progress_texts(bot)),
            20,
            "the admin to be told",
        )
        shown = next(t for t in progress_texts(bot) if "Telegram unreachable since" in t)
        minutes = {f"{started + dt.timedelta(minutes=m):%H:%M}" for m in (0, 1)}
        assert "retrying" in shown and any(f"since {m} UTC" in shown for m in minutes), shown
        await asyncio.sleep(OUTAGE_SECONDS)
        telegram.clear_faults()
        report = await final_report(bot)
        assert "failed 0" in report and f"sent {len(SUBSCRIBERS)}" in report, report
        assert "unreachable" not in report
    assert {c: news(telegram, c) for c in SUBSCRIBERS if news(telegram, c) != 1} == {}


async def test_a_bot_api_that_answers_only_after_seconds_sends_nothing_twice(
    bot: BotUnderTest,
) -> None:
    """Telegram takes each message at once but answers 7 s later (past PTB's 5 s default)."""
    subscribers = SUBSCRIBERS[:30]
    await add_subscribers(bot, subscribers)
    await press_send(bot, Fault.slow(7.0), times=20)
    report = await final_report(bot, 90)
    assert f"sent {len(subscribers)}" in report and "may have arrived twice" not in report
    assert {c: news(bot.server, c) for c in subscribers if news(bot.server, c) != 1} == {}


async def test_a_send_taken_without_an_answer_is_resent_and_reported_as_maybe_twice(
    telegram: LocalBotApiServer, tmp_path: Path
) -> None:
    """Telegram takes a message but its answer never comes within the read timeout: the
    courier cannot know it arrived, sends it again, and the report says so."""
    settings = make_settings(
        tmp_path, telegram_read_timeout_seconds=1.5, delivery_first_backoff_seconds=0.2
    )
    async with start_bot(telegram, settings) as bot:
        await add_subscribers(bot, [2001, 2002, 2003])
        broadcaster = services(bot).broadcaster
        assert broadcaster is not None
        telegram.inject("sendMessage", Fault.timeout(3.0, process=True), times=1)
        broadcast = await broadcaster.send(HARBOUR, ADMIN)
        await wait_for(
            lambda: sum(news(telegram, c) for c in (2001, 2002, 2003)) >= 4, 20, "the resend"
        )
        for _ in range(100):
            progress = await broadcaster.progress(broadcast.id)
            assert progress is not None
            if progress.done:
                break
            await asyncio.sleep(0.1)
        report = progress_text(progress)
    assert "sent 3" in report
    counts = sorted(news(telegram, c) for c in (2001, 2002, 2003))
    assert counts == [1, 1, 2]  # the one taken without an answer came twice ...
    assert "1 may have arrived twice" in report  # ... and the admin is told


class HangingSender:
    """A Bot API that takes every request and never answers."""

    def __init__(self) -> None:
        self.started = 0

    async def send(
        self,
        chat_id: int,
        text: str,
        parse_mode: str | None,
        reply_markup: str | None,
        *,
        paid: bool = False,
    ) -> object:
        self.started += 1
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


async def test_a_hanging_bot_api_puts_at_most_one_round_of_sends_in_doubt(
    bot: BotUnderTest,
) -> None:
    from bot.delivery.courier import Courier
    from bot.storage import NewOutboxMessage

    svc = services(bot)
    storage = svc.storage
    assert storage is not None and svc.courier is not None
    await svc.courier.stop()  # this story's courier is the only one
    rows = [
        NewOutboxMessage(kind="alert", dedupe_key=f"k{n}", chat_id=5000 + n, text="hi")
        for n in range(200)
    ]
    await storage.outbox.enqueue_many(rows)
    sender = HangingSender()
    courier = Courier(
        storage.outbox,
        storage.chats,
        sender,  # type: ignore[arg-type]
        services(bot).clock,
        concurrency=8,
        stall_after=0.3,
        idle_poll=0.05,
    )
    courier.start()
    await asyncio.sleep(1.5)
    await courier.stop(grace=0.1)
    assert sender.started == 8
    left: list[OutboxMessage] = []
    for n in range(1, 201):
        row = await storage.outbox.get(n)
        if row is not None and row.status != "pending":
            left.append(row)
    assert len(left) == 8  # still "sending": requeued, as of unknown fate, at the next start


async def test_a_reply_that_telegram_answers_only_after_seconds_arrives_once(
    bot: BotUnderTest,
) -> None:
    """The answer to a question is taken at once but confirmed 6 s later (PTB's default
    read timeout is 5 s, after which the old bot sent the same answer again)."""
    from harness import ALICE

    bot.server.inject("sendMessage", Fault.slow(6.0), times=1)
    bot.server.user_sends(ALICE, "chlid labuor")
    await bot.server.wait_for_messages(ALICE, 1, timeout=15)
    await asyncio.sleep(1.0)  # an old-style resend (at 5 s) has arrived by now
    answers = [m for m in bot.server.messages(ALICE) if "child labour" in m.text.lower()]
    assert len(answers) == 1
