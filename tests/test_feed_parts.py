"""The feed reader's parts, without a bot: formats, dates, identities, backoff, addresses,
the fetcher's bounds, and the claim that keeps several processes from fetching a feed twice.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip
import time
from pathlib import Path

import pytest
from feedserver import FeedServer, Item, rss
from sqlalchemy import update

from bot.cli import main
from bot.feeds import poller as poller_module
from bot.feeds.addresses import Address, RefusedAddress, check_host, check_url, non_public
from bot.feeds.fetcher import Fetched, Fetcher, FetchFailed, NotModified
from bot.feeds.parser import FeedFormatError, parse_feed, to_news_item
from bot.feeds.poller import FeedPoller, PollPolicy
from bot.feeds.publishing import FeedPublisher
from bot.feeds.schedule import MAX_BACKOFF, after_failure, after_success, backoff
from bot.knowledge.newsroom import Newsroom
from bot.storage import Feed, Storage
from bot.storage.tables import feeds as feeds_table

FEED = "https://news.example/feed"
SEEN = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


# --- formats -----------------------------------------------------------------------------


def test_rss_2_items_lose_their_html_and_get_absolute_links() -> None:
    body = rss(Item("Ports &amp; docks", "<p>Hello <b>world</b></p>", link="/a/1", guid="1"))
    (entry,) = parse_feed(body.encode(), FEED, "https://news.example/feed.xml").entries
    assert entry.title == "Ports & docks"
    assert entry.summary == "Hello world"
    assert entry.link == "https://news.example/a/1"
    assert entry.published == dt.datetime(2021, 6, 10, 9, 0, tzinfo=dt.UTC)


def test_rss_1_rdf_atom_and_json_feed_are_read() -> None:
    rdf = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
 xmlns:dc="http://purl.org/dc/elements/1.1/"><channel rdf:about="http://e.org/"><title>R</title>
</channel><item rdf:about="http://e.org/r1"><title>RDF one</title><link>http://e.org/r1</link>
<description>d</description><dc:date>2021-06-10T10:00:00+02:00</dc:date></item></rdf:RDF>"""
    atom = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title><entry><title type="html">Atom
&lt;i&gt;one&lt;/i&gt;</title><link href="posts/1"/><id>tag:e.org,1</id>
<updated>2021-06-10T10:00:00Z</updated><content type="html">&lt;p&gt;Body&lt;/p&gt;</content>
</entry></feed>"""
    json_feed = (
        b'{"version": "https://jsonfeed.org/version/1.1", "title": "J", "items": [{"id": "1",'
        b' "url": "/j/1", "title": "Json one", "content_html": "<p>Hi &amp; bye</p>",'
        b' "date_published": "2021-06-10T10:00:00Z"}]}'
    )
    (r,) = parse_feed(rdf, FEED, "http://e.org/rss").entries
    (a,) = parse_feed(atom, FEED, "http://e.org/blog/feed.xml").entries
    (j,) = parse_feed(json_feed, FEED, "http://e.org/feed.json").entries
    assert (r.title, r.published) == ("RDF one", dt.datetime(2021, 6, 10, 8, 0, tzinfo=dt.UTC))
    assert (a.title, a.summary, a.link) == ("Atom one", "Body", "http://e.org/blog/posts/1")
    assert (j.title, j.summary, j.link) == ("Json one", "Hi & bye", "http://e.org/j/1")


@pytest.mark.parametrize(
    "date",
    ["Thu, 10 Jun 2021 09:00:00 GMT", "2021-06-10T11:00:00+02:00", "Thu, 10 Jun 2021 09:00 UT"],
)
def test_any_date_format_feedparser_knows_is_read(date: str) -> None:
    (entry,) = parse_feed(rss(Item("t", "s", guid="1", date=date)).encode(), FEED, FEED).entries
    assert entry.published is not None and entry.published.date() == dt.date(2021, 6, 10)


def test_an_item_without_a_date_takes_the_day_it_was_first_seen() -> None:
    (entry,) = parse_feed(rss(Item("t", "s", guid="1", date=None)).encode(), FEED, FEED).entries
    item = to_news_item(entry, SEEN)
    assert item.date == SEEN.date()


def test_identity_is_the_guid_else_the_link_else_title_and_date() -> None:
    def identity(item: Item) -> str:
        return parse_feed(rss(item).encode(), FEED, FEED).entries[0].identity

    assert identity(Item("a", "x", link="https://e/1", guid="g")) == identity(
        Item("b", "y", link="https://e/2", guid="g")
    )
    assert identity(Item("a", "x", link="https://e/1")) == identity(
        Item("edited", "other", link="https://e/1")
    )
    assert identity(Item("a", "x")) != identity(Item("a", "x", date=None))


def test_an_entity_declaration_is_refused_before_parsing() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><rss><channel/></rss>'
    with pytest.raises(FeedFormatError, match="entities"):
        parse_feed(bomb, FEED, FEED)
    utf16 = bomb.decode().encode("utf-16")
    with pytest.raises(FeedFormatError, match="entities"):
        parse_feed(utf16, FEED, FEED)


def test_an_entity_declaration_behind_a_comment_is_refused_too() -> None:
    hidden = b'<?xml version="1.0"?><!-- <b> --><!DOCTYPE r [<!ENTITY a "a">]><rss/>'
    with pytest.raises(FeedFormatError, match="entities"):
        parse_feed(hidden, FEED, FEED)


def test_an_old_doctype_without_entities_is_fine() -> None:
    body = rss(Item("t", "s", guid="1")).replace(
        "<rss",
        '<!DOCTYPE rss SYSTEM "http://my.netscape.com/publish/formats/rss-0.91.dtd"><rss',
        1,
    )
    assert len(parse_feed(body.encode(), FEED, FEED).entries) == 1


def test_a_web_page_is_not_a_feed() -> None:
    with pytest.raises(FeedFormatError, match="no RSS, Atom or JSON Feed"):
        parse_feed(b"<html><body>Hello</body></html>", FEED, FEED)


# --- schedule ----------------------------------------------------------------------------


def _feed(**changes: object) -> Feed:
    values: dict[str, object] = {
        "id": 7,
        "url": FEED,
        "title": None,
        "push": False,
        "added_by": None,
        "created_at": SEEN,
        "etag": None,
        "last_modified": None,
        "next_fetch_at": SEEN,
        "lease_token": "t",
        "last_fetch_at": None,
        "last_success_at": None,
        "last_new_at": None,
        "last_error": None,
        "failures": 0,
        "failing_since": None,
        "reported_down": False,
    }
    values.update(changes)
    return Feed.model_validate(values)


def test_a_failing_feed_backs_off_exponentially_up_to_a_few_hours() -> None:
    poll = dt.timedelta(minutes=15)
    waits = [backoff(n, poll) for n in range(1, 8)]
    assert waits[:4] == [poll * 2, poll * 4, poll * 8, poll * 16]
    assert max(waits) == MAX_BACKOFF
    assert backoff(1000, poll) == MAX_BACKOFF


def test_admins_hear_of_a_feed_down_once_after_a_day_and_once_when_it_is_back() -> None:
    poll = dt.timedelta(minutes=15)
    outcome, notice = after_failure(_feed(), SEEN, poll, "HTTP 500")
    assert notice is None and outcome.failing_since == SEEN
    day = SEEN + dt.timedelta(days=1)
    failing = _feed(failures=5, failing_since=SEEN)
    outcome, notice = after_failure(failing, day, poll, "HTTP 500")
    assert notice is not None and notice.kind == "down" and outcome.reported_down
    told = _feed(failures=6, failing_since=SEEN, reported_down=True)
    assert after_failure(told, day, poll, "HTTP 500")[1] is None
    outcome, notice = after_success(
        told, day, poll, etag=None, last_modified=None, title=None, found_new=False
    )
    assert notice is not None and notice.kind == "up"
    assert (outcome.failures, outcome.failing_since, outcome.reported_down) == (0, None, False)


# --- addresses and the fetcher ------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.org/feed", "only http"),
        ("http://user:pw@example.org/feed", "user name"),
        ("https:///feed", "no host"),
    ],
)
def test_urls_of_the_wrong_shape_are_refused(url: str, reason: str) -> None:
    with pytest.raises(RefusedAddress, match=reason):
        check_url(url)


@pytest.mark.parametrize(
    ("host", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("localhost", "loopback"),
        ("10.1.2.3", "private"),
        ("192.168.0.1", "private"),
        ("169.254.169.254", "link-local"),
        ("[::1]", "loopback"),
        ("[::ffff:10.0.0.1]", "private"),
        ("0.0.0.0", "private"),
    ],
)
async def test_private_addresses_are_refused(host: str, kind: str) -> None:
    with pytest.raises(RefusedAddress, match=kind):
        await check_host(f"http://{host}/feed")


async def test_a_redirect_to_a_private_address_is_refused(feeds: FeedServer) -> None:
    target = feeds.publish("/news.xml", rss(Item("t", "s", guid="1")))
    hidden = target.replace("127.0.0.1", "localhost")

    def only_the_name_localhost_is_private(host: str, address: Address) -> str | None:
        return non_public(address) if host == "localhost" else None

    fetcher = Fetcher(timeout=2, address_policy=only_the_name_localhost_is_private)
    try:
        result = await fetcher.fetch(feeds.url(f"/redirect?to={hidden}"))
    finally:
        await fetcher.close()
    assert isinstance(result, FetchFailed)
    assert "refused: localhost is a loopback address" in result.reason
    assert feeds.hits("/news.xml") == []


async def test_gzip_is_decoded_and_a_gzip_bomb_stops_at_the_cap(feeds: FeedServer) -> None:
    feeds.publish_gzipped("/small.xml", rss(Item("t", "s", guid="1")))
    feeds.publish("/bomb.gz", b"")
    feeds.feeds["/bomb.gz"].body = b"<rss>" + b" " * (30 * 1024 * 1024)
    feeds.feeds["/bomb.gz"].gzip = True
    assert len(gzip.compress(feeds.feeds["/bomb.gz"].body)) < 100_000
    fetcher = Fetcher(timeout=5, allow_private=True, max_bytes=1024 * 1024)
    try:
        small = await fetcher.fetch(feeds.url("/small.xml"))
        bomb = await fetcher.fetch(feeds.url("/bomb.gz"))
        again = await fetcher.fetch(
            feeds.url("/small.xml"), etag=small.etag if isinstance(small, Fetched) else None
        )
    finally:
        await fetcher.close()
    assert isinstance(small, Fetched) and small.body.startswith(b"<?xml")
    assert isinstance(bomb, FetchFailed) and "larger than 1 MB" in bomb.reason
    assert isinstance(again, NotModified)


# --- the poller ---------------------------------------------------------------------------


def _poller(storage: Storage, knowledge: Path, fetch_seconds: float = 5) -> FeedPoller:
    newsroom = Newsroom.open(knowledge, storage.published)
    publisher = FeedPublisher(
        storage, lambda room=newsroom: room, lambda: None, lambda: SEEN, lambda: None
    )
    fetcher = Fetcher(timeout=fetch_seconds, allow_private=True)
    policy = PollPolicy(poll_seconds=60, concurrency=4, fetch_seconds=fetch_seconds)
    return FeedPoller(storage, fetcher, publisher, lambda: SEEN, policy, (), lambda: None)


@pytest.fixture
def knowledge(tmp_path: Path) -> Path:
    path = tmp_path / "news.yaml"
    path.write_text("items: []\n")
    return path


async def test_a_feed_with_more_new_entries_than_a_fetch_takes_is_taken_in_over_the_next(
    sqlite_url: str, feeds: FeedServer, knowledge: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(poller_module, "MAX_NEW_PER_FETCH", 3)
    items = [Item(f"story {n}", "s", guid=str(n)) for n in range(5)]
    url = feeds.publish("/many.xml", rss(*items))
    storage = await Storage.open(sqlite_url, clock=lambda: SEEN)
    poller = _poller(storage, knowledge)
    try:
        await storage.feeds.add(url, push=False, added_by=None)
        (first,) = await poller.poll_due()
        await storage.database.run(
            "due", lambda conn: conn.execute(update(feeds_table).values(next_fetch_at=SEEN))
        )
        (second,) = await poller.poll_due()
    finally:
        await poller.stop()
        await storage.close()
    assert (first.new_items, second.new_items) == (3, 2)
    assert feeds.hits("/many.xml")[1].if_none_match is None  # fetched whole, not a 304


async def test_stopping_does_not_wait_for_a_slow_feed(
    sqlite_url: str, feeds: FeedServer, knowledge: Path
) -> None:
    storage = await Storage.open(sqlite_url, clock=lambda: SEEN)
    poller = _poller(storage, knowledge, fetch_seconds=10)
    try:
        await storage.feeds.add(feeds.url("/slow"), push=False, added_by=None)
        poller.start(0.01)
        for _ in range(500):
            if feeds.hits("/slow"):
                break
            await asyncio.sleep(0.01)
        started = time.monotonic()
        await poller.stop()
        assert time.monotonic() - started < 1.0
    finally:
        await storage.close()


# --- several processes ---------------------------------------------------------------------


async def test_two_processes_fetch_each_due_feed_once(
    database_url: str, feeds: FeedServer, tmp_path: Path
) -> None:
    knowledge = tmp_path / "news.yaml"
    knowledge.write_text("items: []\n")
    first = await Storage.open(database_url, clock=lambda: SEEN)
    second = await Storage.open(database_url, clock=lambda: SEEN)
    pollers: list[FeedPoller] = []
    try:
        for number in range(30):
            url = feeds.publish(f"/f{number}.xml", rss(Item(f"t{number}", "s", guid="1")))
            await first.feeds.add(url, push=False, added_by=None)
        for storage in (first, second):
            newsroom = Newsroom.open(knowledge, storage.published)
            publisher = FeedPublisher(
                storage, lambda room=newsroom: room, lambda: None, lambda: SEEN, lambda: None
            )
            fetcher = Fetcher(timeout=5, allow_private=True)
            policy = PollPolicy(poll_seconds=60, concurrency=4)
            pollers.append(
                FeedPoller(storage, fetcher, publisher, lambda: SEEN, policy, (), lambda: None)
            )
        one, two = await asyncio.gather(*(p.poll_due() for p in pollers))
        assert len(one) + len(two) == 30
        assert {r.feed_id for r in one}.isdisjoint(r.feed_id for r in two)
        assert all(len(feeds.hits(f"/f{n}.xml")) == 1 for n in range(30))
        assert await pollers[0].poll_due() == [] and await pollers[1].poll_due() == []
        assert len(await first.published.since(0)) == 30
    finally:
        for poller in pollers:
            await poller.stop()
        await first.close()
        await second.close()


# --- the command line ----------------------------------------------------------------------


def test_an_operator_adds_lists_and_removes_feeds_with_the_newsbot_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'newsbot.db'}")
    monkeypatch.setenv("FEEDS_ALLOW_PRIVATE", "false")
    url = "http://127.0.0.1:9/feed.xml"
    assert main(["feeds", "add", url]) == 2
    assert "127.0.0.1 is a loopback address" in capsys.readouterr().err

    monkeypatch.setenv("FEEDS_ALLOW_PRIVATE", "true")
    assert main(["feeds", "add", url, "--push"]) == 0
    assert main(["feeds", "add", url]) == 0
    assert main(["feeds", "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:2] == [f"following {url}", f"already following {url}"]
    assert out[2] == f"{url} push  last fetch never, last new item never"
    assert main(["feeds", "remove", url]) == 0
    assert main(["feeds", "remove", url]) == 2
    assert main(["feeds", "list"]) == 0
    captured = capsys.readouterr()
    assert captured.out == f"stopped following {url}\n"
    assert f"not following {url}" in captured.err
