"""Stories of the knowledge file: importing a listing, checking a file, keeping the last good."""

from __future__ import annotations

import asyncio
import datetime as dt
import marshal
import os
import stat
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from bot.cli import main
from bot.errors import ImportFormatError, KnowledgeError
from bot.knowledge.importers import import_text, parse_listing_date
from bot.knowledge.models import NewsItem, item_key
from bot.knowledge.newsroom import Newsroom
from bot.knowledge.reading import PlainLoader, load_plain
from bot.knowledge.store import (
    dump_knowledge,
    load_knowledge,
    validate_document,
    write_knowledge,
)
from bot.storage import Storage

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT.parent / "shared" / "seeds" / "000_abfd6a6517a21409.txt"
NEWS = ROOT / "knowledge" / "news.yaml"


def item(item_id: str = "2021-06-10-child-labour", **changes: object) -> NewsItem:
    data: dict[str, object] = {
        "id": item_id,
        "title": "Child labour rises",
        "date": dt.date(2021, 6, 10),
        "summary": "More children work.",
    }
    data.update(changes)
    return NewsItem.model_validate(data)


def test_the_seed_listing_imports_into_twenty_dated_items() -> None:
    items = import_text(SEED.read_text(encoding="utf-8"), str(SEED))
    assert len(items) == 20
    first = items[0]
    assert first.title == "Global progress to end child labour has stalled"
    assert first.date == dt.date(2021, 6, 10)
    assert first.id == "2021-06-10-global-progress-to-end-child-labour-has-stalled"
    assert first.summary.endswith("protect children better.")
    assert items[-1].date == dt.date(2021, 4, 20)
    assert len({i.id for i in items}) == 20


def test_the_shipped_knowledge_file_is_what_newsbot_import_makes_of_the_seed(
    tmp_path: Path,
) -> None:
    out = tmp_path / "news.yaml"
    assert main(["import", str(SEED), "-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == NEWS.read_text(encoding="utf-8")


def test_a_listing_with_a_bad_date_line_is_refused_with_its_line_number() -> None:
    text = "1. First title\n\n    10 June 2021\n\n    A summary.\n\n2. Second\n\n  yesterday\n"
    with pytest.raises(ImportFormatError) as caught:
        import_text(text, "feed.txt")
    assert caught.value.line == 9
    assert "feed.txt:9" in str(caught.value)


def test_a_listing_item_without_a_summary_is_refused() -> None:
    with pytest.raises(ImportFormatError, match="no summary"):
        import_text("1. Title\n10 June 2021\n", "feed.txt")


def test_text_that_is_no_listing_is_refused_naming_the_known_formats() -> None:
    with pytest.raises(ImportFormatError, match="numbered-listing"):
        import_text("just some prose\nwith no headings", "notes.txt")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10 June 2021", dt.date(2021, 6, 10)),
        ("June 10, 2021", dt.date(2021, 6, 10)),
        ("2021-06-10", dt.date(2021, 6, 10)),
        ("08 Sept 2020", dt.date(2020, 9, 8)),
        ("31 February 2021", None),
        ("Thursday", None),
    ],
)
def test_listing_dates_are_read_in_the_usual_shapes(text: str, expected: dt.date | None) -> None:
    assert parse_listing_date(text) == expected


def test_a_link_line_after_the_summary_becomes_the_items_url() -> None:
    text = "1. Title\n10 June 2021\nSummary text.\nhttps://example.org/a\n"
    (only,) = import_text(text, "feed.txt")
    assert only.url == "https://example.org/a"
    assert only.summary == "Summary text."


def test_check_names_file_item_and_field_of_every_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "items:\n"
        "- {id: ok-1, title: Fine, date: '2021-06-10', summary: Fine.}\n"
        "- {id: ok-2, title: Bad date, date: '2021-13-45', summary: S}\n"
        "- {id: ok-3, date: '2021-06-10', summary: S}\n"
        "- {id: ok-1, title: Twin, date: '2021-06-10', summary: S}\n",
        encoding="utf-8",
    )
    assert main(["check", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}: item 2 (id 'ok-2'): date:" in err
    assert f"{bad}: item 3 (id 'ok-3'): title: required field is missing" in err
    assert f"{bad}: item 4 (id 'ok-1'): id: duplicate id, first used by item 1" in err
    assert "3 problems" in err


def test_check_summarises_a_valid_file_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(NEWS)]) == 0
    assert capsys.readouterr().out.strip().endswith("ok, 20 items, 2021-04-20 to 2021-06-10")


def test_check_without_a_path_checks_the_configured_knowledge_file(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A newcomer types `newsbot check`: the file the bot would load is the one checked."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KNOWLEDGE_FILE", str(NEWS))
    assert main(["check"]) == 0
    assert capsys.readouterr().out.startswith(f"{NEWS}: ok, 20 items")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "the file is empty"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b"items: [\n", "YAML syntax"),
        (b"- just\n- strings\n", "item 1: expected a mapping of fields"),
        (b"items:\n- {id: a, title: t, date: 2021-06-10, summary: s, url: 'not a url'}\n", "url"),
        (b"items:\n- {id: a, title: 5, date: 2021-06-10, summary: [1]}\n", "summary"),
        (b"42\n", "expected a mapping"),
        (b"items: 5\n", "items: expected a list of items, each starting with '- id: ...', got 5"),
        (
            b"1. Ferry crews walk out\n\n30 June 2025\n\nNo sailings: crews: on strike.\n",
            "this looks like a news listing (numbered-listing), not a knowledge file: convert "
            "it with `newsbot import",
        ),
    ],
)
def test_a_broken_knowledge_file_gets_a_clear_error_never_a_crash(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    path = tmp_path / "k.yaml"
    path.write_bytes(content)
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(path)
    assert str(path) in str(caught.value)
    assert reason in str(caught.value)


def test_a_knowledge_file_round_trips_through_yaml(tmp_path: Path) -> None:
    items = [item(), item("2021-06-11-other", url="https://example.org/x", tags=("a", "b"))]
    path = tmp_path / "k.yaml"
    write_knowledge(path, items)
    assert load_knowledge(path) == items
    assert dump_knowledge(items) == path.read_text(encoding="utf-8")


async def test_an_invalid_edit_on_disk_keeps_the_last_good_knowledge(tmp_path: Path) -> None:
    path = tmp_path / "k.yaml"
    write_knowledge(path, [item()])
    newsroom = Newsroom.open(path)
    path.write_text("items:\n- {id: BROKEN}\n", encoding="utf-8")
    outcome = await newsroom.reload_if_changed()
    assert not outcome.changed
    assert outcome.problems and outcome.problems[0].item == "item 1 (id 'BROKEN')"
    assert [i.id for i in newsroom.items] == ["2021-06-10-child-labour"]
    # The same bad edit is reported once, not on every check.
    assert (await newsroom.reload_if_changed()).problems == ()


async def test_a_valid_edit_on_disk_is_taken_and_new_items_are_named(tmp_path: Path) -> None:
    path = tmp_path / "k.yaml"
    write_knowledge(path, [item()])
    newsroom = Newsroom.open(path)
    write_knowledge(path, [item(), item("2021-06-12-new-one", title="Harbour workers strike")])
    outcome = await newsroom.reload_if_changed()
    assert outcome.changed
    assert [i.id for i in outcome.added] == ["2021-06-12-new-one"]
    assert newsroom.retriever.search("harbor workers").hits[0].item.id == "2021-06-12-new-one"


async def test_publishing_a_duplicate_id_is_refused_and_stores_nothing(
    tmp_path: Path, storage: Storage
) -> None:
    path = tmp_path / "k.yaml"
    write_knowledge(path, [item()])
    before = path.read_bytes()
    newsroom = Newsroom.open(path, storage.published)
    with pytest.raises(KnowledgeError, match="another item already has this id"):
        await newsroom.publish(item(title="Same id again"))
    assert path.read_bytes() == before
    assert await storage.published.since(0) == []


async def test_an_item_published_by_one_process_is_searchable_in_another_and_after_restart(
    tmp_path: Path, storage: Storage
) -> None:
    path = tmp_path / "k.yaml"
    write_knowledge(path, [item()])
    before = path.read_bytes()
    publisher = Newsroom.open(path, storage.published)
    other = Newsroom.open(path, storage.published)
    fresh = item("2021-06-13-seafarers-wages", title="Seafarers wages rise", summary="Ships.")
    assert await publisher.publish(fresh)
    assert not await publisher.publish(fresh)  # a retry is harmless
    assert publisher.retriever.search("seafarers wages").hits[0].item == fresh
    assert path.read_bytes() == before  # the operator's file is read-only to the bot

    assert await other.pick_up_published() == (fresh,)
    assert other.retriever.search("seafarers wages").hits[0].item == fresh
    assert await other.pick_up_published() == ()

    restarted = Newsroom.open(path, storage.published)
    await restarted.pick_up_published()
    assert [i.id for i in restarted.items] == [item().id, fresh.id]


async def test_a_button_finds_its_item_whether_published_before_or_after_a_press(
    tmp_path: Path, storage: Storage
) -> None:
    path = tmp_path / "k.yaml"
    first = item()
    write_knowledge(path, [first])
    newsroom = Newsroom.open(path, storage.published)
    early = item("2021-06-12-dockers-strike", title="Dockers strike", summary="Ports.")
    assert await newsroom.publish(early)  # before any button was pressed
    assert newsroom.by_key(item_key(early.id)) == early
    late = item("2021-06-13-seafarers-wages", title="Seafarers wages rise", summary="Ships.")
    assert await newsroom.publish(late)  # after one was
    for known in (first, early, late):
        assert newsroom.by_key(item_key(known.id)) == known
    assert newsroom.by_key("0" * 12) is None


async def test_on_an_id_clash_the_operators_file_wins(tmp_path: Path, storage: Storage) -> None:
    path = tmp_path / "k.yaml"
    write_knowledge(path, [item()])
    newsroom = Newsroom.open(path, storage.published)
    published = item("2021-06-13-seafarers-wages", title="Seafarers wages rise")
    await newsroom.publish(published)
    by_hand = published.model_copy(update={"title": "Seafarers wages rise, corrected"})
    write_knowledge(path, [item(), by_hand])
    os.utime(path, ns=(1, 1))  # a different mtime even on a coarse clock
    await newsroom.reload_if_changed()
    assert newsroom.get(published.id) == by_hand
    assert [i.id for i in newsroom.items] == [item().id, published.id]


async def test_export_writes_the_file_merged_with_the_published_items(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "k.yaml"
    write_knowledge(path, [item()])
    storage = await Storage.open(database_url)
    try:
        fresh = item("2021-06-13-seafarers-wages", title="Seafarers wages rise")
        await Newsroom.open(path, storage.published).publish(fresh)
    finally:
        await storage.close()
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("KNOWLEDGE_FILE", str(path))
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "merged.yaml"
    assert await asyncio.to_thread(main, ["export", "-o", str(out)]) == 0
    assert load_knowledge(out) == [item(), fresh]
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def test_a_rewritten_knowledge_file_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "k.yaml"
    write_knowledge(path, [item()])
    path.chmod(0o640)
    write_knowledge(path, [item(), item("2021-06-11-other")])
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_newsbot_import_writes_a_file_others_can_read(tmp_path: Path) -> None:
    feed = tmp_path / "feed.xml"
    feed.write_text(RSS, encoding="utf-8")
    out = tmp_path / "k.yaml"
    assert main(["import", str(feed), "-o", str(out)]) == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~_umask() != 0o600


def test_a_huge_knowledge_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as handle:
        handle.truncate(51 * 2**20)  # sparse: as large as it looks, at no cost
    with pytest.raises(KnowledgeError, match=r"53,477,376 bytes, more than the 50 MiB"):
        load_knowledge(path)


def test_a_file_just_over_the_limit_is_not_said_to_be_as_large_as_the_limit(
    tmp_path: Path,
) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as handle:
        handle.truncate(52_428_823)
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(path)
    assert str(caught.value) == (
        f"{path}: the file is 52,428,823 bytes, more than the 50 MiB (52,428,800 bytes) allowed"
    )


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("tags: child labour", "tags: expected a list such as [child labour, schools]"),
        ("date: '2021-02-30'", "date: expected a real date such as 2021-06-10, got '2021-02-30'"),
        ("title:", "title: is empty"),
        ("title: ''", "title: is empty"),
        (f"title: {'x' * 301}", "title: is 301 characters, more than the 300 allowed"),
    ],
)
def test_check_says_what_is_wrong_in_plain_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], field: str, expected: str
) -> None:
    fields = {"id": "id: a", "title": "title: T", "date": "date: '2021-06-10'", "summary": ""}
    fields[field.split(":")[0]] = field
    lines = [fields["id"], fields["title"], fields["date"], "summary: S"]
    if field.startswith("tags"):
        lines.append(field)
    bad = tmp_path / "bad.yaml"
    bad.write_text("items:\n- " + "\n  ".join(lines) + "\n", encoding="utf-8")
    assert main(["check", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}: item 1 (id 'a'): {expected}" in err
    assert "Input should" not in err and "String should" not in err


def test_a_duplicate_id_is_one_problem_naming_both_items(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "twins.yaml"
    write_knowledge(bad, [item()])
    bad.write_text(
        bad.read_text(encoding="utf-8")
        + "- {id: 2021-06-10-child-labour, title: Twin, date: '2021-06-10', summary: S}\n",
        encoding="utf-8",
    )
    assert main(["check", str(bad)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"{bad}: item 2 (id '2021-06-10-child-labour'): id: duplicate id, first used by item 1",
        f"{bad}: 1 problem",
    ]


def test_a_missing_knowledge_file_is_said_so_without_dashes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.yaml"
    assert main(["check", str(missing)]) == 1
    assert capsys.readouterr().err.splitlines()[0] == f"{missing}: does not exist"
    assert main(["ask", "child labour", "--knowledge", str(missing)]) == 2
    assert capsys.readouterr().err.strip() == f"newsbot ask: --knowledge: {missing} does not exist"


RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Harbour news</title>
<item><title>Dock workers win a pay rise</title>
<link>https://example.org/dock</link>
<description>&lt;p&gt;Dock workers in &lt;b&gt;three&lt;/b&gt; ports
agreed a deal.&lt;/p&gt;</description>
<pubDate>Fri, 11 Jun 2021 09:30:00 GMT</pubDate></item>
<item><title>Ferry timetable changes</title>
<description>Summer sailings start in July.</description>
<pubDate>Thu, 10 Jun 2021 08:00:00 +0200</pubDate></item>
</channel></rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>City</title>
<entry><title>New tram line opens</title><link href="https://example.org/tram"/>
<updated>2021-06-12T10:00:00Z</updated><summary>The line runs every 8 minutes.</summary>
</entry></feed>"""


def test_an_rss_feed_imports_with_plain_summaries_dates_and_links(tmp_path: Path) -> None:
    feed = tmp_path / "feed.xml"
    feed.write_text(RSS, encoding="utf-8")
    out = tmp_path / "k.yaml"
    assert main(["import", str(feed), "-o", str(out)]) == 0
    first, second = load_knowledge(out)
    assert first.title == "Dock workers win a pay rise"
    assert first.date == dt.date(2021, 6, 11)
    assert first.summary == "Dock workers in three ports agreed a deal."
    assert first.url == "https://example.org/dock"
    assert second.url is None and second.date == dt.date(2021, 6, 10)


def test_an_atom_feed_imports_too() -> None:
    (only,) = import_text(ATOM, "city.atom")
    assert (only.title, only.date, only.url) == (
        "New tram line opens",
        dt.date(2021, 6, 12),
        "https://example.org/tram",
    )


def test_every_bad_feed_entry_is_reported_by_number_without_a_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    feed = RSS.replace("<pubDate>Thu, 10 Jun 2021 08:00:00 +0200</pubDate>", "").replace(
        "<title>Dock workers win a pay rise</title>", ""
    )
    path = tmp_path / "feed.rss"
    path.write_text(feed, encoding="utf-8")
    assert main(["import", str(path), "-o", str(tmp_path / "k.yaml")]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"{path}: entry 1 has no title",
        f"{path}: entry 2 ('Ferry timetable changes') has no date (pubDate or updated)",
        f"{path}: 2 problems",
    ]


def test_inline_markup_in_a_feed_summary_keeps_the_punctuation_in_place() -> None:
    feed = RSS.replace(
        "&lt;b&gt;three&lt;/b&gt; ports\nagreed a deal.",
        "agreed for &lt;b&gt;two weeks&lt;/b&gt;.",
    )
    first, _ = import_text(feed, "feed.xml")
    assert first.summary == "Dock workers in agreed for two weeks."


def test_titles_in_other_scripts_keep_their_letters_in_the_id() -> None:
    feed = RSS.replace("Dock workers win a pay rise", "全球童工人数上升").replace(
        "Ferry timetable changes", "Новости порта"
    )
    first, second = import_text(feed, "feed.xml")
    assert first.id == "2021-06-11-全球童工人数上升"
    assert second.id == "2021-06-10-новости-порта"
    assert validate_document(yaml.safe_load(dump_knowledge([first])), "k.yaml") == [first]


def test_one_item_is_one_item_and_a_new_output_folder_is_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    feed = tmp_path / "city.atom"
    feed.write_text(ATOM, encoding="utf-8")
    out = tmp_path / "new" / "deeper" / "k.yaml"
    assert main(["import", str(feed), "-o", str(out)]) == 0
    assert capsys.readouterr().out.strip() == (
        f"{out}: wrote 1 item, 2021-06-12 (created the folder {tmp_path / 'new'})"
    )


def test_a_feed_is_fetched_from_an_http_address(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import http.server
    import threading

    class Feed(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = RSS.encode() if self.path == "/feed.rss" else b"no"
            self.send_response(200 if self.path == "/feed.rss" else 404)
            self.send_header("Content-Type", "application/rss+xml")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Feed)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        out = tmp_path / "k.yaml"
        assert main(["import", f"{base}/feed.rss", "-o", str(out)]) == 0
        assert load_knowledge(out)[0].title == "Dock workers win a pay rise"
        assert main(["import", f"{base}/gone.rss", "-o", str(out)]) == 2
        assert capsys.readouterr().err.strip() == (
            f"newsbot import: {base}/gone.rss: the server answered 404"
        )
    finally:
        server.shutdown()
        server.server_close()


def test_newsbot_version_says_the_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["--version"])
    assert caught.value.code == 0
    assert capsys.readouterr().out.strip() == "newsbot 0.1.0"


@pytest.mark.parametrize(
    "text",
    [
        "items:\n- &a {id: x, n: 5, f: 1.5, b: yes, d: 2021-06-10, z: ~}\n- *a\n",
        "base: &b {x: 1}\nm:\n  <<: *b\n  y: 2\n",
        "",
        "42\n",
        "- [1, 2]\n- !!binary aGk=\n- &r [*r]\n",
        "- 'quoted'\n- \"2021-06-10\"\n- ~\n- ''\n- .inf\n- 0x1f\n- ! 12\n- Yes\n- null\n-\n",
    ],
    ids=["aliases-and-scalars", "merge-key", "empty", "scalar", "tags-and-recursion", "plain"],
)
def test_the_fast_reader_reads_what_pyyaml_reads(text: str) -> None:
    expected = yaml.load(text, Loader=PlainLoader)
    assert repr(load_plain(text)) == repr(expected)


def test_the_fast_reader_refuses_what_pyyaml_refuses() -> None:
    with pytest.raises(yaml.YAMLError):
        load_plain("? [a]\n: 1\n")


def test_a_feed_entry_without_a_date_is_refused_naming_the_entry() -> None:
    feed = RSS.replace("<pubDate>Thu, 10 Jun 2021 08:00:00 +0200</pubDate>", "")
    with pytest.raises(
        ImportFormatError, match=r"entry 2 \('Ferry timetable changes'\) has no date"
    ):
        import_text(feed, "feed.xml")


def _items(count: int) -> list[NewsItem]:
    return [
        item(f"2021-06-{10 + n % 18:02d}-item-{n}", title=f"Harbour news number {n}")
        for n in range(count)
    ]


async def test_a_knowledge_file_still_being_written_is_read_once_it_stops_changing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "k.yaml"
    write_knowledge(path, _items(4))
    newsroom = Newsroom.open(path)
    newsroom.settle_seconds = 0.3
    text = dump_knowledge(_items(20))
    cut = text.index("- id: 2021-06-15-item-5")  # a write cut at an item boundary

    async def slow_writer() -> None:
        with path.open("w", encoding="utf-8") as handle:
            handle.write(text[:cut])
            handle.flush()
            await asyncio.sleep(0.1)
            handle.write(text[cut:])

    writer = asyncio.create_task(slow_writer())
    await asyncio.sleep(0.02)
    outcome = await newsroom.reload_if_changed()
    await writer
    assert not outcome.changed and len(newsroom.items) == 4
    outcome = await newsroom.reload_if_changed()
    assert outcome.changed and len(newsroom.items) == 20


def large_file(path: Path, count: int = 4000, title: str = "Harbour works, part") -> None:
    """A knowledge file of over a mebibyte, as an operator's export would be."""
    summary = "The harbour authority reported on the works along the quay. " * 4
    write_knowledge(
        path,
        [
            item(f"2021-06-10-harbour-{n}", title=f"{title} {n}", summary=summary)
            for n in range(count)
        ],
    )


def test_a_large_file_is_kept_once_read_and_read_afresh_when_edited_or_broken(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    knowledge, cache = tmp_path / "news.yaml", tmp_path / "cache"
    large_file(knowledge)
    first = load_knowledge(knowledge, cache)
    (copy,) = cache.glob("knowledge-*.marshal")  # the next start reads this instead
    again = load_knowledge(knowledge, cache)
    assert again == first and [hash(i) for i in again] == [hash(i) for i in first]
    assert [i.model_dump() for i in again] == [i.model_dump() for i in first]
    with pytest.raises(ValidationError):  # items read from the copy are as frozen
        again[0].title = "changed"  # type: ignore[misc]

    large_file(knowledge, title="Quay works, section")  # the operator edits the file
    edited = load_knowledge(knowledge, cache)
    assert edited[0].title == "Quay works, section 0"
    assert not copy.exists() and len(list(cache.glob("knowledge-*.marshal"))) == 1

    (copy,) = cache.glob("knowledge-*.marshal")
    whole = copy.read_bytes()
    copy.write_bytes(whole[: len(whole) // 2])  # a copy cut short
    assert load_knowledge(knowledge, cache) == edited
    assert "unreadable, reading the file again" in caplog.text
    entries = marshal.loads(whole)
    first_entry = entries[0]
    for tampered in (  # a copy someone edited is not trusted either
        [first_entry[:5], *entries[1:]],  # a field missing
        [(first_entry[0], 7, *first_entry[2:]), *entries[1:]],  # a title that is no text
        [{"id": first_entry[0]}, *entries[1:]],  # another shape
        {"items": entries},
    ):
        caplog.clear()
        copy.write_bytes(marshal.dumps(tampered))
        assert load_knowledge(knowledge, cache) == edited
        assert "unreadable, reading the file again" in caplog.text
    copy.write_bytes(whole)
    assert load_knowledge(knowledge, cache) == edited

    knowledge.write_text(knowledge.read_text() + "  - id: [broken\n", encoding="utf-8")
    with pytest.raises(KnowledgeError):  # a refused file is refused, copy or not
        load_knowledge(knowledge, cache)
