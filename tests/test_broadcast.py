"""Stories of admins broadcasting a new item to every subscriber."""

from __future__ import annotations

import asyncio
import logging
import re
import stat
from pathlib import Path

import pytest
from harness import (
    ADMIN,
    ALICE,
    BotUnderTest,
    add_subscribers,
    make_settings,
    services,
    start_bot,
)

from bot.app import refresh_knowledge
from bot.cli import main
from bot.knowledge.store import load_knowledge
from bot.localapi import LocalBotApiServer, RecordedMessage

ONE_MESSAGE = (
    "/broadcast Harbour workers win a pay rise | 2021-06-11 | "
    "Dock workers in three ports agreed a new wage deal. | https://example.org/harbour"
)


def broadcasts_to(bot: BotUnderTest, chat_id: int) -> list[RecordedMessage]:
    return [m for m in bot.server.messages(chat_id) if m.text.startswith("📰 News")]


async def preview(bot: BotUnderTest, text: str = ONE_MESSAGE) -> RecordedMessage:
    note, item = await bot.say(text, user=ADMIN, expect=2)
    assert note.text.startswith("Preview.")
    assert [label for label, _ in item.buttons] == ["Send", "Edit", "Cancel"]
    return item


async def final_report(bot: BotUnderTest) -> str:
    for _ in range(200):
        finished = [m for m in bot.server.messages(ADMIN) if "Broadcast finished" in m.text]
        if finished:
            return finished[-1].text
        await asyncio.sleep(0.1)
    raise AssertionError(
        f"no final report; admin saw {[m.text for m in bot.server.messages(ADMIN)]}"
    )


async def test_someone_who_is_not_an_admin_is_refused_and_the_attempt_logged(
    bot: BotUnderTest, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.handlers.admin"):
        (reply,) = await bot.say(ONE_MESSAGE, user=ALICE)
        (stats,) = await bot.say("/stats", user=ALICE)
    assert reply.text == "Sorry, only the bot's admins can do that."
    assert stats.text == reply.text
    assert any(f"refused admin action by user {ALICE}" in r.getMessage() for r in caplog.records)


async def test_a_preview_then_cancel_sends_nothing(bot: BotUnderTest) -> None:
    await add_subscribers(bot, [2001, 2002])
    item = await preview(bot)
    assert "Harbour workers win a pay rise" in item.text
    assert "11 June 2021" in item.text
    await bot.press(item, "Cancel", user=ADMIN)
    await bot.server.wait_for_messages(ADMIN, 3)
    for _ in range(50):  # the "sending…" message is edited into the refusal
        if "Nothing was sent" in bot.server.messages(ADMIN)[-1].text:
            break
        await asyncio.sleep(0.1)
    assert "Nothing was sent" in bot.server.messages(ADMIN)[-1].text
    await asyncio.sleep(0.3)
    assert broadcasts_to(bot, 2001) == [] and broadcasts_to(bot, 2002) == []
    assert len(load_knowledge(bot.settings.knowledge_file)) == 20


async def test_the_guided_conversation_builds_the_same_preview(bot: BotUnderTest) -> None:
    (ask_title,) = await bot.say("/broadcast", user=ADMIN)
    assert "title" in ask_title.text
    (ask_date,) = await bot.say("Harbour workers win a pay rise", user=ADMIN)
    assert "Date?" in ask_date.text
    (again,) = await bot.say("next Tuesday", user=ADMIN)
    assert "not a date" in again.text
    await bot.say("2021-06-11", user=ADMIN)
    await bot.say("Dock workers in three ports agreed a new wage deal.", user=ADMIN)
    _, item = await bot.say("https://example.org/harbour", user=ADMIN, expect=2)
    assert item.text.startswith("📰 News")
    assert "Dock workers in three ports" in item.text


async def test_a_guided_broadcast_goes_on_after_a_restart_between_two_answers(
    telegram: LocalBotApiServer, tmp_path: Path
) -> None:
    """The draft is in the database, not in the process: the process that takes the next
    answer (another one, or this one restarted) continues it."""
    settings = make_settings(tmp_path)
    telegram.add_private_chat(ADMIN)
    async with start_bot(telegram, settings) as bot:
        await bot.say("/broadcast", user=ADMIN)
        (ask_date,) = await bot.say("Harbour workers win a pay rise", user=ADMIN)
        assert "Date?" in ask_date.text
    async with start_bot(telegram, settings) as bot:
        (ask_summary,) = await bot.say("2021-06-11", user=ADMIN)
        assert ask_summary.text == "Summary?"
        await bot.say("Dock workers agreed a deal.", user=ADMIN)
        _, item = await bot.say("skip", user=ADMIN, expect=2)
        assert "Harbour workers win a pay rise" in item.text and "Dock workers" in item.text
        (cancelled,) = await bot.say("/cancel", user=ADMIN)
        assert cancelled.text == "Broadcast cancelled. Nothing was sent."
        # The preview is gone with it: its Send button sends nothing.
        send = next(d for label, d in item.buttons if label == "Send")
        assert send is not None
        query_id = telegram.user_presses(ADMIN, item.message_id, send)
        answer = await telegram.wait_for_callback_answer(query_id)
        assert "expired" in (answer.text or "")


async def test_send_reaches_every_active_subscriber_exactly_once_and_joins_the_knowledge(
    bot: BotUnderTest,
) -> None:
    subscribers = list(range(2001, 2011))
    await add_subscribers(bot, subscribers)
    item = await preview(bot)
    await bot.press(item, "Send", user=ADMIN)
    report = await final_report(bot)
    assert "sent 10 · blocked 0 · failed 0 · left 0" in report
    for chat_id in subscribers:
        (message,) = broadcasts_to(bot, chat_id)
        assert "Harbour workers win a pay rise" in message.text
    (answer,) = await bot.say("harbor pay")
    assert "Harbour workers win a pay rise" in answer.text


async def test_a_broadcast_before_anyone_subscribed_says_there_was_nobody_to_send_to(
    bot: BotUnderTest,
) -> None:
    item = await preview(bot)
    await bot.press(item, "Send", user=ADMIN)
    report = await final_report(bot)
    assert "to 0 subscribers" in report
    assert "no subscribers yet: the item is in the news, nothing to send" in report
    assert "rate" not in report


async def test_a_replayed_send_button_does_not_send_twice(bot: BotUnderTest) -> None:
    await add_subscribers(bot, [2001])
    item = await preview(bot)
    data = next(d for label, d in item.buttons if label == "Send")
    assert data is not None
    await bot.press(item, "Send", user=ADMIN)
    await final_report(bot)
    # The buttons are gone; a client replaying the old callback data gets "expired".
    bot.server.add_private_chat(ADMIN)
    assert len(broadcasts_to(bot, 2001)) == 1


async def test_a_forged_send_from_a_non_admin_confirms_nothing(bot: BotUnderTest) -> None:
    group = -100777
    bot.server.add_group_chat(group, "Editors", chat_type="supergroup")
    await add_subscribers(bot, [2001])
    bot.server.user_sends(ADMIN, ONE_MESSAGE, chat_id=group, chat_type="supergroup")
    messages = await bot.server.wait_for_messages(group, 2)
    item = messages[1]
    send = next(d for label, d in item.buttons if label == "Send")
    assert send is not None
    query_id = bot.server.user_presses(ALICE, item.message_id, send, chat_id=group)
    answer = await bot.server.wait_for_callback_answer(query_id)
    assert "only the bot's admins" in (answer.text or "")
    await asyncio.sleep(0.3)
    assert broadcasts_to(bot, 2001) == []


async def test_a_chat_answering_429_gets_its_message_later_while_others_flow(
    bot: BotUnderTest,
) -> None:
    subscribers = list(range(2001, 2009))
    await add_subscribers(bot, subscribers)
    bot.server.force_retry_after(2001, seconds=2)
    item = await preview(bot)
    await bot.press(item, "Send", user=ADMIN)
    report = await final_report(bot)
    assert "sent 8" in report
    slow = broadcasts_to(bot, 2001)
    others = [broadcasts_to(bot, c)[0] for c in subscribers[1:]]
    assert len(slow) == 1
    assert max(m.sent_at for m in others) < slow[0].sent_at
    assert slow[0].sent_at - min(m.sent_at for m in others) >= 1.9


async def test_a_deactivated_account_is_marked_inactive_and_reported(bot: BotUnderTest) -> None:
    await add_subscribers(bot, [2001, 2002])
    bot.server.deactivate(2002)
    item = await preview(bot)
    await bot.press(item, "Send", user=ADMIN)
    report = await final_report(bot)
    assert "sent 1 · blocked 1" in report
    assert "user is deactivated" in report.lower()
    storage = services(bot).storage
    assert storage is not None
    chat = await storage.chats.get(2002)
    assert chat is not None and not chat.active


async def test_an_invalid_knowledge_edit_keeps_the_old_knowledge_and_tells_the_admins(
    bot: BotUnderTest,
) -> None:
    bot.server.add_private_chat(ADMIN)
    path = bot.settings.knowledge_file
    path.write_text("items:\n- id: broken item\n  title: x\n", encoding="utf-8")
    outcome = await refresh_knowledge(services(bot), bot.app.bot)
    assert outcome.problems
    (notice,) = await bot.server.wait_for_messages(ADMIN, 1)
    assert "not valid" in notice.text
    assert f"{path}: item 1 (id 'broken item'): id:" in notice.text
    (answer,) = await bot.say("chlid labuor")
    assert "Global progress to end child labour has stalled" in answer.text


async def test_stats_show_subscribers_the_last_broadcast_and_unanswered_questions(
    bot: BotUnderTest,
) -> None:
    await add_subscribers(bot, [2001, 2002])
    await bot.say("bitcoin price")
    item = await preview(bot)
    await bot.press(item, "Send", user=ADMIN)
    await final_report(bot)
    (stats,) = await bot.say("/stats", user=ADMIN)
    assert "Subscribers: 2 active" in stats.text
    assert "Broadcast #1" in stats.text
    assert "bitcoin price ×1" in stats.text


async def test_an_admin_cancels_a_running_broadcast_and_the_rest_is_not_sent(
    bot: BotUnderTest,
) -> None:
    subscribers = list(range(2001, 2201))  # about seven seconds at 28 messages a second
    await add_subscribers(bot, subscribers)
    item = await preview(bot)
    await bot.press(item, "Send", user=ADMIN)
    for _ in range(100):
        running = [m for m in bot.server.messages(ADMIN) if "Broadcast #" in m.text]
        if running and running[-1].buttons:
            break
        await asyncio.sleep(0.05)
    progress = running[-1]
    stop = next(d for label, d in progress.buttons if label == "Cancel broadcast")
    assert stop is not None
    bot.server.user_presses(ADMIN, progress.message_id, stop)
    for _ in range(200):
        report = bot.server.messages(ADMIN)[-1].text
        if "Broadcast cancelled" in report:
            break
        await asyncio.sleep(0.05)
    assert "Broadcast cancelled" in report
    await asyncio.sleep(0.5)
    reached = sum(len(broadcasts_to(bot, c)) for c in subscribers)
    assert 0 < reached < len(subscribers)
    assert f"sent {reached}" in bot.server.messages(ADMIN)[-1].text


async def test_an_admin_sees_the_admin_commands_in_help_and_others_do_not(
    bot: BotUnderTest,
) -> None:
    (admin_help,) = await bot.say("/help", user=ADMIN)
    for command in ("/broadcast", "/stats", "/cancel", "/feeds"):
        assert command in admin_help.text
    (help_text,) = await bot.say("/help", user=ALICE)
    for command in ("/broadcast", "/stats", "/feeds"):
        assert command not in help_text.text


async def test_an_admin_gets_the_admin_commands_in_their_menu_at_start_up(
    telegram: LocalBotApiServer, tmp_path: Path
) -> None:
    telegram.add_private_chat(ADMIN, first_name="Ada")  # an admin who started the bot
    never_started = 9002
    settings = make_settings(tmp_path, admin_ids=frozenset({ADMIN, never_started}))
    async with start_bot(telegram, settings):
        everyone = [c["command"] for c in telegram.commands()]
        admin = [c["command"] for c in telegram.commands(chat_id=ADMIN)]
    assert "broadcast" not in everyone and "help" in everyone
    assert admin == [*everyone, "broadcast", "stats", "cancel", "feeds"]
    # Telegram refuses a menu for a chat it does not know; the bot starts all the same.
    assert telegram.commands(chat_id=never_started) == []


async def test_the_same_broadcast_sent_again_is_flagged_before_it_publishes_a_copy(
    bot: BotUnderTest,
) -> None:
    """An admin who sends the same /broadcast twice (a double paste, a retry after a slow
    answer) is told before Send that the item is already published."""
    await add_subscribers(bot, [2001])
    first = await preview(bot)
    await bot.press(first, "Send", user=ADMIN)
    await final_report(bot)
    note, _ = await bot.say(ONE_MESSAGE, user=ADMIN, expect=2)
    assert "already published, as 2021-06-11-harbour-workers-win-a-pay-rise." in note.text
    assert "second copy, as 2021-06-11-harbour-workers-win-a-pay-rise-2" in note.text
    other, _ = await bot.say(ONE_MESSAGE.replace("2021-06-11", "2021-06-12"), user=ADMIN, expect=2)
    assert "already published" not in other.text


async def test_a_bad_link_in_the_guided_broadcast_is_asked_for_again(bot: BotUnderTest) -> None:
    await add_subscribers(bot, [2001])
    await bot.say("/broadcast", user=ADMIN)
    await bot.say("Harbour workers win a pay rise", user=ADMIN)
    await bot.say("2021-06-11", user=ADMIN)
    await bot.say("Dock workers agreed a deal.", user=ADMIN)
    (again,) = await bot.say("example.org/harbour", user=ADMIN)
    assert "not a link" in again.text and "skip" in again.text
    note, item = await bot.say("https://example.org/harbour", user=ADMIN, expect=2)
    # What was typed before the bad link is all there; one subscriber is one subscriber.
    assert note.text.startswith("Preview. Send reaches 1 subscriber;")
    assert "Harbour workers win a pay rise" in item.text and "Dock workers" in item.text


async def test_broadcast_progress_shows_from_the_first_send_with_the_sending_rate(
    bot: BotUnderTest,
) -> None:
    subscribers = list(range(2001, 2031))
    await add_subscribers(bot, subscribers)
    item = await preview(bot)
    await bot.press(item, "Send", user=ADMIN)
    report = await final_report(bot)
    deliveries = sorted(broadcasts_to(bot, c)[0].sent_at for c in subscribers)
    (progress,) = [m for m in bot.server.messages(ADMIN) if "Broadcast finished" in m.text]
    # The progress message was there before the first delivery, not after the last.
    assert progress.sent_at < deliveries[0]
    assert "to 30 subscribers" in report
    match = re.search(r"rate ([\d.]+) msg/s over ([\d.]+) s", report)
    assert match, report
    rate, seconds = float(match.group(1)), float(match.group(2))
    span = deliveries[-1] - deliveries[0]
    assert abs(seconds - span) < 0.3, (seconds, span)
    assert abs(rate - 29 / span) < 3, (rate, 29 / span)


HAND_ADDED = """- id: 2021-06-12-hand-added-ferry-strike
  title: Ferry crews strike over rosters
  date: 2021-06-12
  summary: Ferry crews walked out over new rosters.
"""


async def test_a_broadcast_right_after_a_hand_edit_leaves_the_operators_file_as_written(
    bot: BotUnderTest,
) -> None:
    """The operator adds an item; an admin presses Send before the bot reloaded the file."""
    await add_subscribers(bot, [2001])
    path = bot.settings.knowledge_file
    path.chmod(0o644)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(HAND_ADDED)
    edited = path.read_bytes()
    item = await preview(bot)
    await bot.press(item, "Send", user=ADMIN)
    await final_report(bot)
    assert path.read_bytes() == edited
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert sorted(p.name for p in path.parent.iterdir() if p.name.startswith(".")) == []
    await refresh_knowledge(services(bot), bot.app.bot)
    (ferry,) = await bot.say("ferry crews strike")
    assert "Ferry crews strike over rosters" in ferry.text
    (harbour,) = await bot.say("harbor pay")
    assert "Harbour workers win a pay rise" in harbour.text


async def test_a_rejected_edit_is_not_destroyed_by_the_next_broadcast(bot: BotUnderTest) -> None:
    """Seven new items, one with a bad date: the edit is refused, and stays on disk."""
    await add_subscribers(bot, [2001])
    bot.server.add_private_chat(ADMIN)
    path = bot.settings.knowledge_file
    text = path.read_text(encoding="utf-8")
    for n in range(7):
        date = "2021-13-40" if n == 3 else "2021-06-12"
        text += (
            f"- id: 2021-06-12-hand-{n}\n  title: Hand item {n}\n  date: {date}\n"
            f"  summary: Added by hand.\n"
        )
    path.write_text(text, encoding="utf-8")
    outcome = await refresh_knowledge(services(bot), bot.app.bot)
    assert outcome.problems
    item = await preview(bot)
    await bot.press(item, "Send", user=ADMIN)
    await final_report(bot)
    assert path.read_text(encoding="utf-8") == text
    (answer,) = await bot.say("harbor pay")
    assert "Harbour workers win a pay rise" in answer.text


async def test_a_broadcast_item_survives_a_restart_and_is_in_the_export(
    telegram: LocalBotApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(tmp_path)
    async with start_bot(telegram, settings) as first:
        await add_subscribers(first, [2001])
        item = await preview(first)
        await first.press(item, "Send", user=ADMIN)
        await final_report(first)
    async with start_bot(telegram, settings) as second:
        (answer,) = await second.say("harbor pay")
        assert "Harbour workers win a pay rise" in answer.text
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("KNOWLEDGE_FILE", str(settings.knowledge_file))
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "export.yaml"
    assert await asyncio.to_thread(main, ["export", "-o", str(out)]) == 0
    exported = load_knowledge(out)
    assert len(exported) == 21
    assert exported[-1].title == "Harbour workers win a pay rise"
    assert len(load_knowledge(settings.knowledge_file)) == 20


async def test_an_id_published_by_another_process_since_the_preview_sends_nothing(
    bot: BotUnderTest,
) -> None:
    from bot.knowledge.models import NewsItem
    from bot.knowledge.newsroom import Newsroom

    await add_subscribers(bot, [2001])
    item = await preview(bot)
    storage = services(bot).storage
    assert storage is not None
    other = Newsroom.open(bot.settings.knowledge_file, storage.published)
    await other.publish(
        NewsItem.model_validate(
            {
                "id": "2021-06-11-harbour-workers-win-a-pay-rise",
                "title": "Harbour workers win a pay rise, from the feed",
                "date": "2021-06-11",
                "summary": "Published by another process.",
            }
        ),
        source="feed",
    )
    await bot.press(item, "Send", user=ADMIN)
    await bot.server.wait_for_messages(ADMIN, 3)
    for _ in range(50):  # the "sending…" message is edited into the refusal
        if "Nothing was sent" in bot.server.messages(ADMIN)[-1].text:
            break
        await asyncio.sleep(0.1)
    assert "Nothing was sent" in bot.server.messages(ADMIN)[-1].text
    await asyncio.sleep(0.3)
    assert broadcasts_to(bot, 2001) == []
