"""Stories of subscribers and their daily digests, at their own local time.

Each story runs on SQLite and on PostgreSQL, against the local Bot API server,
with the clock in the test's hands.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from harness import (
    ADMIN,
    ALICE,
    BOB,
    BotUnderTest,
    FakeClock,
    make_settings,
    services,
    start_bot,
    tick,
)

from bot.app import refresh_knowledge
from bot.config import Settings
from bot.digests.schedule import describe_wait, next_due
from bot.knowledge.models import NewsItem
from bot.knowledge.store import load_knowledge, write_knowledge
from bot.localapi import LocalBotApiServer

UTC = dt.UTC
# 22:00 UTC on 1 March 2026 is 07:00 on 2 March in Tokyo.
START = dt.datetime(2026, 3, 1, 22, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
async def news_bot(
    telegram: LocalBotApiServer, tmp_path: Path, database_url: str, clock: FakeClock
) -> AsyncIterator[BotUnderTest]:
    settings = make_settings(tmp_path, database_url=database_url)
    async with start_bot(telegram, settings, clock) as running_bot:
        yield running_bot


def digests(server: LocalBotApiServer, chat_id: int) -> list[str]:
    return [m.text for m in server.messages(chat_id) if m.text.startswith("Your news digest")]


def add_items(path: Path, *items: NewsItem) -> None:
    write_knowledge(path, [*load_knowledge(path), *items])


async def first_digest_then_stop(
    telegram: LocalBotApiServer, tmp_path: Path, database_url: str, clock: FakeClock
) -> Settings:
    """Alice subscribes for 08:00 UTC, gets her first digest on 2 March; the bot stops."""
    settings = make_settings(tmp_path, database_url=database_url)
    async with start_bot(telegram, settings, clock) as first:
        await first.say("/subscribe 08:00 UTC")
        clock.set(dt.datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
        await tick(first)
    return settings


def news(slug: str, title: str, day: int = 20) -> NewsItem:
    return NewsItem(
        id=f"2021-06-{day:02d}-{slug}",
        title=title,
        date=dt.date(2021, 6, day),
        summary=f"{title}. A summary of the news.",
    )


async def test_a_subscriber_in_tokyo_gets_the_digest_at_eight_tokyo_time(
    news_bot: BotUnderTest, clock: FakeClock
) -> None:
    (reply,) = await news_bot.say("/subscribe 08:00 Asia/Tokyo")
    assert "You are subscribed" in reply.text
    assert "08:00 (Asia/Tokyo)" in reply.text
    assert "in 1 h" in reply.text
    clock.set(dt.datetime(2026, 3, 1, 22, 59, tzinfo=UTC))
    assert await tick(news_bot) == 0
    assert digests(news_bot.server, ALICE) == []
    clock.set(dt.datetime(2026, 3, 1, 23, 0, tzinfo=UTC))  # 08:00 on 2 March in Tokyo
    assert await tick(news_bot) == 1
    (digest,) = digests(news_bot.server, ALICE)
    assert "2 March 2026" in digest
    assert "Global progress to end child labour has stalled" in digest


async def test_subscribing_again_changes_the_time_and_never_doubles_the_digest(
    news_bot: BotUnderTest, clock: FakeClock
) -> None:
    await news_bot.say("/subscribe 08:00 Asia/Tokyo")
    (reply,) = await news_bot.say("/subscribe 09:30 Asia/Tokyo")
    assert "changed" in reply.text
    clock.set(dt.datetime(2026, 3, 2, 0, 30, tzinfo=UTC))  # 09:30 in Tokyo
    assert await tick(news_bot) == 1
    assert len(digests(news_bot.server, ALICE)) == 1


async def test_after_unsubscribing_no_digest_comes(
    news_bot: BotUnderTest, clock: FakeClock
) -> None:
    await news_bot.say("/subscribe 08:00 UTC")
    (reply,) = await news_bot.say("/unsubscribe")
    assert "unsubscribed" in reply.text
    clock.advance(days=2)
    assert await tick(news_bot) == 0
    assert digests(news_bot.server, ALICE) == []
    (again,) = await news_bot.say("/unsubscribe")
    assert "not subscribed" in again.text


async def test_bad_subscribe_arguments_get_the_usage_line(news_bot: BotUnderTest) -> None:
    (reply,) = await news_bot.say("/subscribe 25:99 Mars/Olympus")
    assert "Usage: /subscribe" in reply.text
    (zone,) = await news_bot.say("/subscribe 08:00 Mars/Olympus")
    assert "not a time zone I know" in zone.text
    assert "Europe/Berlin" in zone.text


async def test_when_tells_the_next_digest_in_local_time_and_as_a_countdown(
    news_bot: BotUnderTest, clock: FakeClock
) -> None:
    await news_bot.say("/subscribe 12:15 Europe/Berlin")
    (reply,) = await news_bot.say("/when")
    # 22:00 UTC is 23:00 in Berlin (winter time): 13 h 15 min to 12:15.
    assert "12:15 on Mon 02 Mar" in reply.text
    assert "in 13 h 15 min" in reply.text


async def test_restarting_between_two_digests_sends_exactly_one_each(
    telegram: LocalBotApiServer, tmp_path: Path, database_url: str, clock: FakeClock
) -> None:
    settings = await first_digest_then_stop(telegram, tmp_path, database_url, clock)
    assert len(digests(telegram, ALICE)) == 1
    add_items(settings.knowledge_file, news("harbour-strike", "Harbour workers strike"))
    clock.set(dt.datetime(2026, 3, 3, 8, 0, 5, tzinfo=UTC))
    async with start_bot(telegram, settings, clock) as second:
        # The tick at start sends the digest due now; another tick sends nothing more.
        await telegram.wait_for_messages(ALICE, 3)
        await tick(second)
        await tick(second)
    sent = digests(telegram, ALICE)
    assert len(sent) == 2
    assert "Harbour workers strike" in sent[1]
    assert "Global progress" not in sent[1]


async def test_a_bot_down_across_due_times_sends_one_folded_digest_on_start(
    telegram: LocalBotApiServer, tmp_path: Path, database_url: str, clock: FakeClock
) -> None:
    settings = await first_digest_then_stop(telegram, tmp_path, database_url, clock)
    # Down for three days while two items arrive.
    add_items(
        settings.knowledge_file,
        news("harbour-strike", "Harbour workers strike"),
        news("seafarers-pay", "Seafarers get a pay rise", day=21),
    )
    clock.set(dt.datetime(2026, 3, 5, 12, 0, tzinfo=UTC))
    async with start_bot(telegram, settings, clock) as second:
        await telegram.wait_for_messages(ALICE, 3)
        assert await tick(second) == 0
        sub = await services(second).storage.subscriptions.get(ALICE)  # type: ignore[union-attr]
        assert sub is not None
        assert sub.next_digest_at == dt.datetime(2026, 3, 6, 8, 0, tzinfo=UTC)
    sent = digests(telegram, ALICE)
    assert len(sent) == 2
    assert "Harbour workers strike" in sent[1] and "Seafarers get a pay rise" in sent[1]


async def test_a_subscriber_who_blocked_the_bot_is_marked_inactive_and_skipped(
    news_bot: BotUnderTest, clock: FakeClock
) -> None:
    server = news_bot.server
    await news_bot.say("/subscribe 08:00 UTC")
    await news_bot.say("/subscribe 08:00 UTC", user=BOB)
    server.block(BOB)
    clock.set(dt.datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    await tick(news_bot)
    assert len(digests(server, ALICE)) == 1
    storage = services(news_bot).storage
    assert storage is not None
    bob = await storage.chats.get(BOB)
    assert bob is not None and not bob.active
    attempts_before = sum(1 for r in server.requests if r.chat_id == BOB)
    clock.set(dt.datetime(2026, 3, 3, 8, 0, tzinfo=UTC))
    assert await tick(news_bot) == 1  # Alice only: Bob is no longer due
    assert sum(1 for r in server.requests if r.chat_id == BOB) == attempts_before
    # Coming back with /start makes Bob reachable again.
    server.unblock(BOB)
    await news_bot.say("/start", user=BOB)
    bob = await storage.chats.get(BOB)
    assert bob is not None and bob.active


async def test_following_a_topic_brings_an_alert_as_soon_as_such_an_item_arrives(
    news_bot: BotUnderTest,
) -> None:
    (reply,) = await news_bot.say("/follow child labour")
    assert "Following “child labour”" in reply.text
    settings = news_bot.settings
    add_items(
        settings.knowledge_file,
        news("cocoa-child-labour", "Child labour found on cocoa farms"),
        news("harbour-strike", "Harbour workers strike"),
    )
    await refresh_knowledge(services(news_bot))
    messages = await news_bot.server.wait_for_messages(ALICE, 2)
    alert = messages[1].text
    assert alert.startswith("🔔 New on “child labour”")
    assert "Child labour found on cocoa farms" in alert
    assert "Harbour" not in alert
    (gone,) = await news_bot.say("/unfollow child labour")
    assert "no longer follow" in gone.text


async def test_digest_on_demand_and_settings_buttons(
    news_bot: BotUnderTest, clock: FakeClock
) -> None:
    (digest,) = await news_bot.say("/digest")
    assert digest.text.startswith("Your news digest")
    await news_bot.say("/subscribe 08:00 UTC")
    (panel,) = await news_bot.say("/settings")
    assert "Digest time: 08:00" in panel.text
    edited = await news_bot.press(panel, "18:00")
    assert "Digest time: 18:00" in edited.text
    sub = await services(news_bot).storage.subscriptions.get(ALICE)  # type: ignore[union-attr]
    assert sub is not None and sub.next_digest_at == dt.datetime(2026, 3, 2, 18, 0, tzinfo=UTC)


def test_daylight_saving_keeps_the_local_time() -> None:
    eight = dt.time(8, 0)
    # Berlin moves to summer time on 29 March 2026: 08:00 is 07:00 UTC before, 06:00 after.
    before = next_due(eight, "Europe/Berlin", dt.datetime(2026, 3, 28, 8, 0, tzinfo=UTC))
    after = next_due(eight, "Europe/Berlin", before)
    assert before == dt.datetime(2026, 3, 29, 6, 0, tzinfo=UTC)
    assert after == dt.datetime(2026, 3, 30, 6, 0, tzinfo=UTC)
    winter = next_due(eight, "Europe/Berlin", dt.datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    assert winter == dt.datetime(2026, 3, 2, 7, 0, tzinfo=UTC)


def test_a_local_time_skipped_by_the_clock_change_comes_an_hour_later() -> None:
    due = next_due(dt.time(2, 30), "Europe/Berlin", dt.datetime(2026, 3, 28, 12, tzinfo=UTC))
    assert due == dt.datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # 03:30 summer time


def test_the_countdown_reads_naturally() -> None:
    now = dt.datetime(2026, 1, 1, tzinfo=UTC)
    assert describe_wait(now, now + dt.timedelta(hours=5, minutes=12)) == "in 5 h 12 min"
    assert describe_wait(now, now + dt.timedelta(minutes=3)) == "in 3 min"
    assert describe_wait(now, now + dt.timedelta(seconds=20)) == "in less than a minute"


async def test_why_did_i_get_nothing_gets_an_answer_about_the_digest(
    news_bot: BotUnderTest, clock: FakeClock
) -> None:
    (unsubscribed,) = await news_bot.say("why did I get nothing?")
    assert "not subscribed" in unsubscribed.text
    await news_bot.say("/subscribe 08:00 UTC")
    clock.set(dt.datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    await tick(news_bot)
    clock.set(dt.datetime(2026, 3, 3, 8, 0, tzinfo=UTC))
    assert await tick(news_bot) == 1  # served, but nothing new: no message
    (quiet,) = await news_bot.say("Why didn't I get my digest today?")
    assert "Nothing new has arrived since your last digest (03 Mar 08:00)" in quiet.text
    assert "/settings" in quiet.text
    clock.advance(hours=1)
    add_items(news_bot.settings.knowledge_file, news("harbour-strike", "Harbour workers strike"))
    await refresh_knowledge(services(news_bot))
    (waiting,) = await news_bot.say("/why")
    assert "1 new item arrived" in waiting.text
    assert "/digest" in waiting.text


def test_a_batch_picks_from_a_short_list_the_same_digests_as_from_all_the_news() -> None:
    from bot.digests.digest import build_digest
    from bot.digests.scheduler import digest_candidates, digest_request
    from bot.storage import Subscription

    items = [news(f"item-{n}", f"Item {n}", day=1 + n % 28) for n in range(60)]
    start = dt.datetime(2026, 3, 1, tzinfo=UTC)
    first_seen = {item.id: start + dt.timedelta(hours=n) for n, item in enumerate(items)}
    now = start + dt.timedelta(hours=50)

    def sub(chat_id: int, last: dt.datetime | None) -> Subscription:
        return Subscription(
            chat_id=chat_id,
            digest_time=dt.time(8),
            timezone="UTC",
            send_empty=False,
            last_digest_at=last,
            next_digest_at=now,
            created_at=start,
            updated_at=start,
        )

    due = [
        sub(1, None),
        sub(2, start + dt.timedelta(hours=45)),
        sub(3, start + dt.timedelta(hours=30)),
    ]
    short = digest_candidates(items, first_seen, due, now)
    assert len(short) < len(items)
    for subscription in due:
        request = digest_request(subscription)
        whole = build_digest(request, items, first_seen, now)
        assert build_digest(request, short, first_seen, now) == whole
        assert whole


async def test_settings_buttons_keep_their_places_when_one_is_pressed(
    news_bot: BotUnderTest,
) -> None:
    await news_bot.say("/subscribe 08:00 UTC")
    (panel,) = await news_bot.say("/settings")
    before = [data for _, data in panel.buttons]
    edited = await news_bot.press(panel, "18:00")
    assert [data for _, data in edited.buttons] == before
    labels = [label for label, _ in edited.buttons]
    assert "✓ 18:00" in labels and "08:00" in labels


async def test_change_time_zone_offers_the_common_zones_of_the_users_region(
    news_bot: BotUnderTest, clock: FakeClock
) -> None:
    await news_bot.say("/subscribe 08:00 europe/berlin")
    (panel,) = await news_bot.say("/settings")
    assert "Time zone: Europe/Berlin" in panel.text
    picker = await news_bot.press(panel, "Change time zone")
    labels = [label for label, _ in picker.buttons]
    assert "✓ Europe/Berlin" in labels and "Europe/London" in labels
    assert "Asia" in labels and "◂ Back" in labels
    assert "/subscribe HH:MM Area/City" in picker.text  # typing still works
    asia = await news_bot.press(picker, "Asia")
    chosen = await news_bot.press(asia, "Asia/Tokyo")
    assert "Time zone: Asia/Tokyo" in chosen.text and "Digest time: 08:00" in chosen.text
    sub = await services(news_bot).storage.subscriptions.get(ALICE)  # type: ignore[union-attr]
    # 22:00 UTC on 1 March is 07:00 on 2 March in Tokyo: the next 08:00 is an hour away.
    assert sub is not None and sub.next_digest_at == dt.datetime(2026, 3, 1, 23, 0, tzinfo=UTC)


async def test_topics_are_shown_in_settings_without_a_subscription(
    news_bot: BotUnderTest,
) -> None:
    await news_bot.say("/follow child labour")
    (panel,) = await news_bot.say("/settings")
    assert "not subscribed" in panel.text
    assert "Followed topics: child labour" in panel.text


async def test_settings_without_a_digest_offer_one_press_to_subscribe(
    news_bot: BotUnderTest,
) -> None:
    (panel,) = await news_bot.say("/settings")
    assert "not subscribed" in panel.text
    subscribed = await news_bot.press(panel, "Subscribe")
    assert "Digest time: 08:00" in subscribed.text
    (when,) = await news_bot.say("/when")
    assert "Your daily digest comes at 08:00" in when.text


async def test_what_a_subscriber_leaves_out_of_subscribe_stays_as_it_was(
    news_bot: BotUnderTest,
) -> None:
    await news_bot.say("/subscribe 07:30 Europe/Berlin")
    (moved,) = await news_bot.say("/subscribe Asia/Tokyo")
    assert moved.text.startswith("Your time zone is changed.")
    assert "07:30 (Asia/Tokyo)" in moved.text
    (again,) = await news_bot.say("/subscribe")
    assert again.text.startswith("You are already subscribed.")
    assert "07:30 (Asia/Tokyo)" in again.text


async def test_a_twelve_hour_time_and_a_zone_typed_with_a_space_are_understood(
    news_bot: BotUnderTest,
) -> None:
    (evening,) = await news_bot.say("/subscribe 8:00 PM America/New York")
    assert "20:00 (America/New_York)" in evening.text
    (morning,) = await news_bot.say("/subscribe 7am")
    assert morning.text.startswith("Your digest time is changed.")
    assert "07:00 (America/New_York)" in morning.text
    (wrong,) = await news_bot.say("/subscribe 13pm")
    assert "“13pm” is not a time of day" in wrong.text


async def test_unsubscribing_says_how_to_come_back_at_the_same_time(
    news_bot: BotUnderTest,
) -> None:
    await news_bot.say("/subscribe 07:30 Europe/Berlin")
    (reply,) = await news_bot.say("/unsubscribe")
    assert "/subscribe 07:30 Europe/Berlin" in reply.text
    (back,) = await news_bot.say("/subscribe 07:30 Europe/Berlin")
    assert "07:30 (Europe/Berlin)" in back.text


async def test_a_zone_abbreviation_is_answered_with_the_city_zone_it_means(
    news_bot: BotUnderTest,
) -> None:
    """ "EST" is a zone name too, but UTC-5 all year: a New Yorker's digest would come an hour
    late all summer. The bot names the zone meant and subscribes nobody in the meantime."""
    (reply,) = await news_bot.say("/subscribe 08:00 EST")
    assert "/subscribe 08:00 America/New_York" in reply.text
    (pst,) = await news_bot.say("/subscribe pst 06:45")
    assert "/subscribe 06:45 America/Los_Angeles" in pst.text
    (when,) = await news_bot.say("/when")
    assert "not subscribed" in when.text


async def test_digest_and_latest_list_the_news_in_one_order(news_bot: BotUnderTest) -> None:
    (digest,) = await news_bot.say("/digest")
    (latest,) = await news_bot.say("/latest 5")
    (answer,) = await news_bot.say("latest news")

    def titles(text: str) -> list[str]:
        return re.findall(r"^\d+\. (.+)$", text, flags=re.MULTILINE)

    assert len(titles(digest.text)) == 5
    assert titles(digest.text) == titles(latest.text)
    assert titles(answer.text) == titles(latest.text)[: len(titles(answer.text))]


async def test_a_half_written_knowledge_file_is_held_back_and_brings_no_false_alerts(
    news_bot: BotUnderTest,
) -> None:
    """A non-atomic copy cut the file after 5 of its 20 items; later the whole file is back.

    The cut file is held back and the admins are told; the items that were there all along
    alert no follower when they "come back"."""
    news_bot.server.add_private_chat(ADMIN)
    await news_bot.say("/follow child labour")
    path = news_bot.settings.knowledge_file
    whole = path.read_text(encoding="utf-8")
    cut = whole.index("- id:", whole.index("- id:") + 1)
    for _ in range(4):
        cut = whole.index("- id:", cut + 1)
    path.write_text(whole[:cut], encoding="utf-8")
    outcome = await refresh_knowledge(services(news_bot), news_bot.app.bot)
    assert outcome.held_back and not outcome.changed
    (notice,) = await news_bot.server.wait_for_messages(ADMIN, 1)
    assert "drop 15 of the 20 items" in notice.text
    newsroom = services(news_bot).newsroom
    assert newsroom is not None and len(newsroom.items) == 20
    path.write_text(whole, encoding="utf-8")
    await refresh_knowledge(services(news_bot), news_bot.app.bot)
    await asyncio.sleep(0.5)
    assert [m.text for m in news_bot.server.messages(ALICE) if "New on" in m.text] == []


async def test_an_item_taken_out_of_the_file_and_put_back_is_not_new_again(
    news_bot: BotUnderTest,
) -> None:
    await news_bot.say("/follow child labour")
    path = news_bot.settings.knowledge_file
    items = load_knowledge(path)
    write_knowledge(path, items[1:])  # the child labour item, taken out by mistake
    await refresh_knowledge(services(news_bot))
    write_knowledge(path, items)
    await refresh_knowledge(services(news_bot))
    await asyncio.sleep(0.5)
    assert [m.text for m in news_bot.server.messages(ALICE) if "New on" in m.text] == []


HARBOUR = news("harbour-pay", "Harbour workers win a pay rise")


async def broadcast(bot: BotUnderTest, item: NewsItem) -> None:
    svc = services(bot)
    assert svc.broadcaster is not None and svc.courier is not None
    bot.server.add_private_chat(ADMIN)
    sent = await svc.broadcaster.send(item, ADMIN)
    await svc.courier.deliver_all()
    await svc.broadcaster.progress(sent.id)  # the admin's progress closes it when done


async def test_a_broadcast_item_does_not_come_again_in_the_next_digest(
    news_bot: BotUnderTest, clock: FakeClock
) -> None:
    await news_bot.say("/subscribe 08:00 UTC")
    clock.set(dt.datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    await tick(news_bot)
    assert len(digests(news_bot.server, ALICE)) == 1
    clock.set(dt.datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
    await broadcast(news_bot, HARBOUR)
    assert sum("Harbour workers" in m.text for m in news_bot.server.messages(ALICE)) == 1
    clock.set(dt.datetime(2026, 3, 3, 8, 0, tzinfo=UTC))
    await tick(news_bot)
    assert all("Harbour workers" not in text for text in digests(news_bot.server, ALICE))


async def test_a_broadcast_alerts_followers_who_are_not_in_its_audience_once(
    news_bot: BotUnderTest,
) -> None:
    """Alice subscribes and follows "harbour"; Bob only follows it. Each gets one message."""
    await news_bot.say("/subscribe 08:00 UTC")
    await news_bot.say("/follow harbour workers")
    await news_bot.say("/follow harbour workers", user=BOB)
    before_alice = len(news_bot.server.messages(ALICE))
    before_bob = len(news_bot.server.messages(BOB))
    await broadcast(news_bot, HARBOUR)
    await asyncio.sleep(0.3)
    alice = news_bot.server.messages(ALICE)[before_alice:]
    bob = news_bot.server.messages(BOB)[before_bob:]
    assert [m.text.split("\n")[0] for m in alice] == ["📰 News"]
    assert len(bob) == 1 and bob[0].text.startswith("🔔 New on “harbour workers”")


async def test_sent_messages_and_old_questions_are_pruned_but_an_unfinished_broadcast_is_kept(
    news_bot: BotUnderTest, clock: FakeClock
) -> None:
    """RETENTION_DAYS (30): what was settled a month ago goes; a broadcast still going stays."""
    from bot.app import prune
    from bot.storage import NewOutboxMessage

    svc = services(news_bot)
    storage = svc.storage
    assert storage is not None and svc.question_log is not None
    await news_bot.say("/subscribe 08:00 UTC")
    await news_bot.say("bitcoin price")
    await asyncio.sleep(0.2)  # the question is logged just after the reply
    await svc.question_log.flush()
    await broadcast(news_bot, HARBOUR)  # finished
    going = await storage.broadcasts.create("2021-06-20-still-going", ADMIN, 2)
    later = clock() + dt.timedelta(days=365)
    await storage.outbox.enqueue_many(
        [
            NewOutboxMessage(
                kind="broadcast",
                dedupe_key=f"going:{n}",
                chat_id=ALICE,
                text="x",
                broadcast_id=going.id,
                not_before=later if n else None,
            )
            for n in range(2)
        ]
    )
    assert svc.courier is not None
    await svc.courier.deliver_all()
    before = await storage.outbox.counts_by_status()
    clock.advance(days=31)
    await news_bot.say("bitcoin price", user=BOB)
    await asyncio.sleep(0.2)  # the question is logged just after the reply
    await svc.question_log.flush()
    await prune(svc)
    after = await storage.outbox.counts_by_status()
    assert (await storage.outbox.counts_by_status(going.id))["pending"] == 1
    assert (await storage.outbox.counts_by_status(going.id))["sent"] == 1
    assert after["sent"] == 1 and before["sent"] > 1
    unanswered = await storage.questions.unanswered_since(START, 10)
    assert [(q.text, q.count) for q in unanswered] == [("bitcoin price", 1)]
