"""Stories of strangers, floods and forged input: what a group member, a flooding user or a
forged client can do, and what they cannot."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys
import time
from pathlib import Path

import pytest
from harness import (
    ADMIN,
    ALICE,
    BOB,
    ROOT,
    BotUnderTest,
    add_subscribers,
    make_settings,
    services,
    start_bot,
)

from bot.app import refresh_knowledge
from bot.cli import main
from bot.config import load_settings
from bot.errors import ConfigError, ImportFormatError
from bot.handlers.intake import strip_control_escapes
from bot.handlers.permissions import GROUP_REFUSAL
from bot.knowledge.importers import import_text
from bot.localapi import TEST_TOKEN, Fault, LocalBotApiServer
from bot.storage import FollowLimitReached, Storage

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


# --- 1. what users typed is escaped where it is shown; topics lose control characters ------


async def test_a_topic_written_as_html_is_shown_as_text_in_settings_not_as_a_link(
    bot: BotUnderTest,
) -> None:
    await bot.say("/subscribe 08:00 UTC")
    await bot.say('/follow <a href="https://evil.example/phish">Click to verify</a>')
    (settings,) = await bot.say("/settings")
    assert '<a href="https://evil.example/phish">click to verify</a>' in settings.text
    assert not [e for e in settings.entities if e["type"] in {"text_link", "url"}]


async def test_bidi_override_and_control_characters_are_removed_from_a_topic(
    bot: BotUnderTest,
) -> None:
    await bot.say("/subscribe 08:00 UTC")
    (reply,) = await bot.say("/follow gro.\u202elive\u2066 news\x07")
    assert "gro.live news" in reply.text
    (settings,) = await bot.say("/settings")
    assert "gro.live news" in settings.text
    assert not any(ch in settings.text for ch in "\u202e\u2066\x07")


# --- 3. the 20-topic cap holds however fast /follow comes ------------------------------------


async def test_concurrent_follows_of_one_chat_never_pass_the_cap(storage: Storage) -> None:
    await storage.chats.upsert_seen(1, 1, "private", "Alice")

    async def follow(n: int) -> bool:
        try:
            return await storage.follows.follow(1, f"topic {n}", limit=20)
        except FollowLimitReached:
            return False

    added = await asyncio.gather(*(follow(n) for n in range(40)))
    assert sum(added) == 20
    assert len(await storage.follows.list_for_chat(1)) == 20


# --- 5. NUL and other C0 controls never reach the database -----------------------------------


async def test_a_question_or_topic_with_a_nul_character_is_answered_and_kept(
    telegram: LocalBotApiServer, tmp_path: Path, database_url: str
) -> None:
    settings = make_settings(tmp_path, database_url=database_url)
    async with start_bot(telegram, settings) as bot:
        (answer,) = await bot.say("bitcoin\x00 price\x1b")
        assert "found nothing" in answer.text
        (followed,) = await bot.say("/follow a\x00b")
        assert "Following “ab”" in followed.text
        (stats,) = await bot.say("/stats", user=ADMIN)
        assert "bitcoin price" in stats.text


# --- 6. an edited message runs nothing again ------------------------------------------------


async def test_an_edited_command_is_not_run_again(bot: BotUnderTest) -> None:
    await bot.say("/subscribe 08:00 UTC")
    await bot.say("/follow alpha")
    command = telegram_message_id(bot, "/follow alpha")
    bot.server.user_edits(ALICE, command, "/follow beta")
    bot.server.user_edits(ALICE, 1, "/unsubscribe")
    (settings,) = await bot.say("/settings")
    assert "Followed topics: alpha\\n" in settings.text.replace("\n", "\\n")
    assert "Digest time: 08:00" in settings.text


def telegram_message_id(bot: BotUnderTest, text: str) -> int:
    """The id of the user's message with ``text`` in their private chat."""
    chat = bot.server.world.chats[ALICE]
    return next(i for i, m in chat.messages.items() if m.get("text") == text)


# --- 2. in a group only its administrators change its subscription, topics and settings -----

GROUP = -100500


async def test_only_a_groups_administrators_change_its_subscription_topics_and_settings(
    bot: BotUnderTest,
) -> None:
    server = bot.server
    server.add_group_chat(GROUP, "Newsroom", chat_type="supergroup")
    server.set_member_status(GROUP, ALICE, "administrator")

    def in_group(user: int, text: str) -> None:
        server.user_sends(user, text, chat_id=GROUP, chat_type="supergroup")

    in_group(ALICE, "/subscribe 08:00 UTC")
    in_group(BOB, "/unsubscribe")
    in_group(BOB, "/follow free crypto at evil.example")
    in_group(ALICE, "/settings")
    replies = await server.wait_for_messages(GROUP, 4, timeout=15.0)
    texts = [r.text for r in replies]
    assert texts.count(GROUP_REFUSAL) == 2, texts  # different members run in parallel
    assert any("You are subscribed" in t for t in texts), texts
    settings = next(r for r in replies if "Your settings" in r.text)
    assert "evil.example" not in settings.text
    pressed = server.user_presses(
        BOB, settings.message_id, settings.buttons[0][1] or "", chat_id=GROUP
    )
    answer = await server.wait_for_callback_answer(pressed)
    assert answer.text == GROUP_REFUSAL
    storage = services(bot).storage
    assert storage is not None
    sub = await storage.subscriptions.get(GROUP)
    assert sub is not None and f"{sub.digest_time:%H:%M}" == "08:00"
    assert await storage.follows.list_for_chat(GROUP) == []
    # Telegram was asked once per member: the answer is remembered briefly.
    asked = [r for r in server.requests if r.method.lower() == "getchatmember"]
    assert len(asked) == 2, asked


# --- 8. forged or odd input gets an answer, never "something went wrong" --------------------

ONE_MESSAGE = "/broadcast Harbour workers win a pay rise | 2021-06-11 | Dock workers agreed."


async def test_forged_stop_buttons_from_an_admin_are_answered_without_an_error(
    bot: BotUnderTest,
) -> None:
    _note, item = await bot.say(ONE_MESSAGE, user=ADMIN, expect=2)
    for data in ("b:stop:abc", "b:stop:" + "9" * 40, "b:stop:-1", "s:time:9999"):
        pressed = bot.server.forged_press(ADMIN, data, message_id=item.message_id)
        answer = await bot.server.wait_for_callback_answer(pressed)
        assert (answer.text and "expired" in answer.text) or "out of date" in (answer.text or "")
    await asyncio.sleep(0.3)
    assert not [m for m in bot.server.messages(ADMIN) if "went wrong" in m.text]


async def test_buttons_pressed_on_an_inline_message_are_answered(bot: BotUnderTest) -> None:
    await bot.say("/subscribe 08:00 UTC")
    for data in ("s:time:0700", "b:stop:1", "m:1:child labour", "x"):
        pressed = bot.server.forged_press(ALICE, data, inline_message_id="AAEAAAE-inline")
        await bot.server.wait_for_callback_answer(pressed)
    pressed = bot.server.forged_press(ADMIN, "b:send:abc", inline_message_id="AAEAAAE-inline")
    await bot.server.wait_for_callback_answer(pressed)


async def test_the_edit_buttons_form_keeps_a_bar_inside_a_field(bot: BotUnderTest) -> None:
    await bot.say("/broadcast", user=ADMIN)
    await bot.say("Ports | harbours: pay rise", user=ADMIN)
    await bot.say("2021-06-11", user=ADMIN)
    await bot.say("Dock workers | crane drivers agreed.", user=ADMIN)
    _note, item = await bot.say("skip", user=ADMIN, expect=2)
    edits = len(bot.server.messages(ADMIN))
    data = next(d for label, d in item.buttons if label == "Edit" and d)
    bot.server.user_presses(ADMIN, item.message_id, data)
    form = (await bot.server.wait_for_messages(ADMIN, edits + 1))[-1]
    line = form.text.splitlines()[-1]
    _note, again = await bot.say(line, user=ADMIN, expect=2)
    assert "Ports | harbours: pay rise" in again.text
    assert "Dock workers | crane drivers agreed." in again.text


async def test_factory_is_not_a_time_zone(bot: BotUnderTest) -> None:
    (reply,) = await bot.say("/subscribe 08:00 Factory")
    assert "You are subscribed" not in reply.text
    assert "Factory" in reply.text


@pytest.mark.parametrize("value", ["-1001234567890,0", "0", "12345,-5"])
def test_admin_ids_accept_only_positive_user_ids(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADMIN_IDS", value)
    with pytest.raises(ConfigError) as error:
        load_settings(_env_file=None)
    assert str(error.value).startswith("ADMIN_IDS: expected positive user ids")


async def test_a_proxys_error_page_is_one_clean_line_in_the_broadcast_report(
    bot: BotUnderTest,
) -> None:
    await add_subscribers(bot, [2001])
    courier = services(bot).courier
    assert courier is not None
    courier.retry_for = dt.timedelta(0)  # the first transient failure is final
    _note, item = await bot.say(ONE_MESSAGE, user=ADMIN, expect=2)
    bot.server.inject("sendMessage", Fault.bad_gateway(), chat_id=2001)
    await bot.press(item, "Send", user=ADMIN)
    report = ""
    for _ in range(100):
        done = [m.text for m in bot.server.messages(ADMIN) if "Broadcast finished" in m.text]
        if done:
            report = done[-1]
            break
        await asyncio.sleep(0.1)
    reason = next(line for line in report.splitlines() if line.startswith("• "))
    assert "Bad Gateway (502)" in reason
    assert "<" not in reason and "html" not in reason and len(reason) < 130


# --- 7. a date more than a day ahead, or before 1900, is refused with its field named --------

FAR_FEED = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Harbour news</title>
<item><title>Dock workers win a pay rise</title><description>A deal.</description>
<pubDate>Fri, 31 Dec 9999 09:30:00 GMT</pubDate></item>
</channel></rss>"""


@pytest.mark.parametrize("date", ["9999-12-31", "0001-01-01", "1899-12-31"])
def test_newsbot_check_refuses_a_far_date_naming_the_field(
    date: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "far.yaml"
    path.write_text(
        f"items:\n- {{id: far-1, title: Far, date: '{date}', summary: S}}\n", encoding="utf-8"
    )
    assert main(["check", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}: item 1 (id 'far-1'): date: {date}" in err


def test_newsbot_import_refuses_a_far_date_in_a_listing_and_in_a_feed() -> None:
    listing = "1. Dock workers win a pay rise\n31 December 9999\nA deal was agreed.\n"
    with pytest.raises(ImportFormatError, match=r"news.txt:1: .*date: 9999-12-31 is more than"):
        import_text(listing, "news.txt")
    with pytest.raises(ImportFormatError, match=r"entry 1 .*date: 9999-12-31 is more than"):
        import_text(FAR_FEED, "feed.xml")


async def test_a_broadcast_with_a_far_date_is_refused_naming_the_date(bot: BotUnderTest) -> None:
    for date in ("9999-12-31", "0001-01-01"):
        (reply,) = await bot.say(f"/broadcast Title | {date} | Summary.", user=ADMIN)
        assert reply.text.startswith(f"The date is not valid: {date}")
    await bot.say("/broadcast", user=ADMIN)
    await bot.say("A title", user=ADMIN)
    (reply,) = await bot.say("9999-12-31", user=ADMIN)
    assert reply.text.startswith("The date is not valid: 9999-12-31 is more than a day ahead")


async def test_a_knowledge_edit_with_a_far_date_is_refused_and_the_admins_told(
    bot: BotUnderTest,
) -> None:
    bot.server.add_private_chat(ADMIN)
    path = bot.settings.knowledge_file
    path.write_text(
        "items:\n- {id: far-1, title: Far, date: '9999-12-31', summary: S}\n", encoding="utf-8"
    )
    outcome = await refresh_knowledge(services(bot), bot.app.bot)
    assert outcome.problems
    (notice,) = await bot.server.wait_for_messages(ADMIN, 1)
    assert f"{path}: item 1 (id 'far-1'): date: 9999-12-31 is more than a day ahead" in notice.text
    (latest,) = await bot.say("/latest 1")
    assert "Far" not in latest.text


# --- 4. a token the server rejects is named, never printed ----------------------------------

REJECTED_TOKEN = "987654321:AAHrejectedTokenNeverPrinted-0123456789"


@pytest.mark.parametrize("path", ["/bot", "/not-the-bot-api/bot"])
async def test_a_rejected_token_or_a_wrong_base_url_stops_start_up_with_one_redacted_line(
    path: str, tmp_path: Path
) -> None:
    async with LocalBotApiServer(token=TEST_TOKEN) as server:
        base_url = server.base_url.removesuffix("/bot") + path
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "ADMIN"))}
        env.update(
            TELEGRAM_BOT_TOKEN=REJECTED_TOKEN,
            TELEGRAM_API_BASE_URL=base_url,
            DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'newsbot.db'}",
            KNOWLEDGE_FILE=str(ROOT / "knowledge" / "news.yaml"),
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), 60)
    printed = (out + err).decode()
    assert process.returncode == 2, printed
    assert REJECTED_TOKEN.split(":")[1] not in printed
    lines = [line for line in err.decode().splitlines() if line.strip()]
    last = lines[-1]
    assert last.startswith("newsbot run: "), printed
    assert ("404 Not Found" in last) == (path != "/bot"), last
    assert "Traceback" not in printed


def test_only_real_control_characters_are_stripped_from_telegrams_json() -> None:
    raw = rb'{"text":"a\u0000b\u001bc\nd\\u0000e\u00e9\u000A"}'
    assert strip_control_escapes(raw) == rb'{"text":"abc\nd\\u0000e\u00e9\u000A"}'
