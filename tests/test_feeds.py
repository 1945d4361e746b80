"""Stories of admins following feeds: new items answered, alerted and pushed; broken feeds
told about; nothing alerted twice.

The bot runs for real against the local Bot API server; the feeds come from a local HTTP
server in test code that changes them between polls. The clock is the test's, and a poll
happens when the story says so.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from feedserver import ENTITY_BOMB, MALFORMED, FeedServer, Item, rss
from harness import (
    ADMIN,
    ALICE,
    BOB,
    BotUnderTest,
    FakeClock,
    add_subscribers,
    make_settings,
    services,
    start_bot,
)

from bot.feeds.poller import PollReport
from bot.knowledge.newsroom import Newsroom
from bot.localapi import LocalBotApiServer

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
POLL_SECONDS = 60

OLD = Item(
    "Harbour strike ends in Hamburg",
    "<p>Dock workers in <b>Hamburg</b> went back to work after a week.</p>",
    link="/news/hamburg",
    guid="hamburg-1",
)
NEW = Item(
    "Harbour strike spreads to Rotterdam",
    "Dock workers in Rotterdam stopped work on Monday in support of Hamburg.",
    link="https://harbour.example/news/rotterdam",
    guid="rotterdam-1",
    date="2021-06-11T08:00:00+02:00",
)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
async def bot(
    telegram: LocalBotApiServer, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[BotUnderTest]:
    settings = make_settings(
        tmp_path,
        feeds_allow_private=True,
        feed_poll_seconds=POLL_SECONDS,
        feed_timeout_seconds=1.0,
    )
    async with start_bot(telegram, settings, clock) as running:
        yield running


async def poll(bot: BotUnderTest) -> dict[str, PollReport]:
    """One polling round now, and delivery of what it queued; reports by feed URL."""
    svc = services(bot)
    assert svc.poller is not None and svc.courier is not None
    reports = await svc.poller.poll_due()
    await svc.courier.deliver_all()
    return {report.url: report for report in reports}


def newsroom(bot: BotUnderTest) -> Newsroom:
    room = services(bot).newsroom
    assert room is not None
    return room


def alerts(bot: BotUnderTest, chat_id: int) -> list[str]:
    return [m.text for m in bot.server.messages(chat_id) if m.text.startswith("🔔")]


def admin_notices(bot: BotUnderTest, mark: str) -> list[str]:
    return [m.text for m in bot.server.messages(ADMIN) if m.text.startswith(mark)]


async def add_feed(bot: BotUnderTest, url: str, *extra: str) -> str:
    (reply,) = await bot.say(" ".join(["/feeds add", url, *extra]), user=ADMIN)
    return reply.text


async def test_a_new_feed_item_is_answered_in_the_next_digest_and_alerted_to_a_follower(
    bot: BotUnderTest, feeds: FeedServer, clock: FakeClock
) -> None:
    url = feeds.publish("/news.xml", rss(OLD))
    await bot.say("/follow harbour strike")
    await bot.say("/subscribe 08:00 UTC", user=BOB)
    assert (await add_feed(bot, url)).startswith(f"Following {url}")

    # The first fetch is the feed's back catalogue: searchable, but nobody is alerted.
    first = await poll(bot)
    assert first[url].status == "new"
    (answer,) = await bot.say("harbour strike hamburg")
    assert "Harbour strike ends in Hamburg" in answer.text
    assert "Dock workers in Hamburg went back" in answer.text  # the HTML is gone
    (item,) = [i for i in newsroom(bot).items if i.title == OLD.title]
    assert item.url == feeds.url("/news/hamburg")  # the relative link, resolved
    assert alerts(bot, ALICE) == []

    feeds.publish("/news.xml", rss(NEW, OLD))
    clock.advance(seconds=POLL_SECONDS)
    second = await poll(bot)
    assert (second[url].status, second[url].new_items) == ("new", 1)
    (alert,) = alerts(bot, ALICE)
    assert "Harbour strike spreads to Rotterdam" in alert
    (answer,) = await bot.say("rotterdam dock workers")
    assert "Harbour strike spreads to Rotterdam" in answer.text
    assert "11 June 2021" in answer.text
    digest = await bot.say("/digest", user=BOB)
    assert "Harbour strike spreads to Rotterdam" in digest[0].text


async def test_a_feed_that_has_not_changed_costs_one_conditional_request_and_nothing_else(
    bot: BotUnderTest, feeds: FeedServer, clock: FakeClock
) -> None:
    url = feeds.publish("/news.xml", rss(OLD))
    await add_feed(bot, url)
    await poll(bot)
    before = len(bot.server.messages(ALICE)), len(newsroom(bot).items)

    assert await poll(bot) == {}  # not due yet: no request at all
    clock.advance(seconds=POLL_SECONDS)
    reports = await poll(bot)
    assert reports[url].status == "not-modified"
    last = feeds.hits("/news.xml")[-1]
    assert last.if_none_match is not None and last.if_modified_since is not None
    assert len(feeds.hits("/news.xml")) == 2
    after = len(bot.server.messages(ALICE)), len(newsroom(bot).items)
    assert after == before


async def test_broken_feeds_leave_the_others_working_and_the_admin_is_told_once_a_day_later(
    bot: BotUnderTest, feeds: FeedServer, clock: FakeClock
) -> None:
    good = feeds.publish("/news.xml", rss(OLD))
    broken = {
        feeds.url("/status/500"): "HTTP 500",
        feeds.url("/slow"): "no complete answer within 1 s",
        feeds.url("/loop"): "more than 5 redirects",
        feeds.url("/huge"): "larger than 5 MB",
        feeds.publish("/malformed.xml", MALFORMED): "not a readable feed",
        feeds.publish("/bomb.xml", ENTITY_BOMB): "declares XML entities",
    }
    await bot.say("/follow harbour strike")
    storage = services(bot).storage
    assert storage is not None
    for url in [good, *broken]:  # as /feeds add does, without a reply to wait for each
        await storage.feeds.add(url, push=False, added_by=ADMIN)

    started = time.monotonic()
    reports = await poll(bot)
    assert time.monotonic() - started < 5, "a broken feed held up the round"
    assert reports[good].status == "new"
    for url, reason in broken.items():
        assert reports[url].status == "failed", url
        assert reason in (reports[url].error or ""), (url, reports[url].error)
    assert feeds.huge_sent < 20 * 1024 * 1024, "the 50 MB body was read to the end"

    (listing,) = await bot.say("/feeds", user=ADMIN)
    for reason in broken.values():
        assert reason in listing.text
    assert admin_notices(bot, "⚠️") == []  # one failure is not worth a message

    # A day later they still fail; the good feed still brings news.
    feeds.publish("/news.xml", rss(NEW, OLD))
    clock.advance(hours=25)
    reports = await poll(bot)
    assert reports[good].new_items == 1
    assert len(alerts(bot, ALICE)) == 1
    (told,) = admin_notices(bot, "⚠️")  # one message for the round, a line per feed
    for url, reason in broken.items():
        assert any(url in line and reason in line for line in told.splitlines()), url

    # Told once: later failures say nothing more. A feed that recovers is told once too.
    feeds.publish("/malformed.xml", rss(OLD, title="Fixed"))
    clock.advance(hours=5)
    await poll(bot)
    assert len(admin_notices(bot, "⚠️")) == 1
    (recovered,) = admin_notices(bot, "✅")
    assert "/malformed.xml works again" in recovered


async def test_a_dropped_and_re_added_or_edited_item_alerts_nobody(
    bot: BotUnderTest, feeds: FeedServer, clock: FakeClock
) -> None:
    by_link = Item(
        "Harbour strike talks resume",
        "Unions and port operators meet again.",
        link="https://harbour.example/talks",
        guid=None,
    )
    url = feeds.publish("/news.xml", rss(OLD))
    await bot.say("/follow harbour strike")
    await add_feed(bot, url)
    await poll(bot)
    feeds.publish("/news.xml", rss(by_link, NEW, OLD))
    clock.advance(seconds=POLL_SECONDS)
    await poll(bot)
    assert len(alerts(bot, ALICE)) == 2

    edited = [
        Item(by_link.title + " (updated)", "Talks went on all night.", link=by_link.link),
        Item(NEW.title, "Now also Antwerp.", link=NEW.link, guid=NEW.guid, date=NEW.date),
    ]
    for body in (rss(*edited), rss(OLD), rss(by_link, NEW, OLD)):  # edited, dropped, back
        feeds.publish("/news.xml", body)
        clock.advance(seconds=POLL_SECONDS)
        (report,) = (await poll(bot)).values()
        assert report.status == "unchanged", report

    # Removing the feed and adding it again does not make its items new either.
    (listing,) = await bot.say("/feeds", user=ADMIN)
    edited_listing = await bot.press(listing, "Remove 1", user=ADMIN)
    assert "No feeds yet" in edited_listing.text
    await add_feed(bot, url)
    (report,) = (await poll(bot)).values()
    assert report.status == "unchanged"
    assert len(alerts(bot, ALICE)) == 2
    titles = [item.title for item in newsroom(bot).items]
    assert titles.count(NEW.title) == 1


async def test_a_push_feeds_new_item_reaches_every_subscriber_once(
    bot: BotUnderTest, feeds: FeedServer, clock: FakeClock
) -> None:
    subscribers = list(range(2001, 2006))
    await add_subscribers(bot, subscribers)
    url = feeds.publish("/push.xml", rss(OLD))
    assert "sent to every subscriber" in await add_feed(bot, url, "push")
    await poll(bot)  # the back catalogue is not pushed
    feeds.publish_gzipped("/push.xml", rss(NEW, OLD))
    for _ in range(3):
        clock.advance(seconds=POLL_SECONDS)
        await poll(bot)
    for chat_id in subscribers:
        pushed = [m.text for m in bot.server.messages(chat_id) if m.text.startswith("📰")]
        assert len(pushed) == 1, (chat_id, pushed)
        assert "Harbour strike spreads to Rotterdam" in pushed[0]
    # Delivered pushes are closed, so a restart does not resume them.
    storage = services(bot).storage
    assert storage is not None
    assert await storage.broadcasts.unfinished() == []


async def test_a_private_address_is_refused_without_the_setting(
    telegram: LocalBotApiServer, tmp_path: Path, feeds: FeedServer, clock: FakeClock
) -> None:
    url = feeds.publish("/news.xml", rss(OLD))
    settings = make_settings(tmp_path, feed_timeout_seconds=1.0)
    async with start_bot(telegram, settings, clock) as bot:
        text = await add_feed(bot, url)
        assert text.startswith("I cannot follow that feed: 127.0.0.1 is a loopback address")
        assert "only http:// and https://" in await add_feed(bot, "file:///etc/passwd")
        # A feed already in the database (added while the setting was on) is refused at
        # fetch time, and so is a redirect to a private address.
        storage = services(bot).storage
        assert storage is not None
        await storage.feeds.add(url, push=False, added_by=None)
        reports = await poll(bot)
        assert "refused: 127.0.0.1 is a loopback address" in (reports[url].error or "")
        assert feeds.hits("/news.xml") == []


async def test_only_admins_manage_feeds(bot: BotUnderTest, feeds: FeedServer) -> None:
    (reply,) = await bot.say("/feeds add " + feeds.url("/news.xml"))
    assert reply.text == "Sorry, only the bot's admins can do that."
    (usage,) = await bot.say("/feeds add", user=ADMIN)
    assert usage.text.startswith("Usage: /feeds")
