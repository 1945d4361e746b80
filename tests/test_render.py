"""Rendering and splitting replies: pure functions, no bot."""

from __future__ import annotations

import datetime as dt
import html

from hypothesis import given
from hypothesis import strategies as st

from bot.knowledge.models import NewsItem
from bot.messages import callbacks
from bot.messages.render import (
    MESSAGE_LIMIT,
    render_item,
    render_items,
    split_blocks,
    split_plain,
    visible_length,
)


def news(n: int, summary: str = "A summary.") -> NewsItem:
    return NewsItem(
        id=f"2021-06-{n:02d}-item",
        title=f"Item <{n}> & more",
        date=dt.date(2021, 6, n),
        summary=summary,
        url=f'https://example.org/a?b={n}&c="d"',
    )


def test_an_item_shows_bold_title_date_summary_and_link_all_escaped() -> None:
    text = render_item(news(10))
    assert text.startswith("<b>Item &lt;10&gt; &amp; more</b>\n<i>10 June 2021</i>\nA summary.")
    assert '<a href="https://example.org/a?b=10&amp;c=&quot;d&quot;">Read more</a>' in text


def test_a_long_list_is_split_at_item_boundaries_within_the_limit() -> None:
    items = [news(n, summary="word " * 600) for n in range(1, 21)]
    messages = render_items(items, header="<b>Latest news</b>")
    assert len(messages) > 1
    assert all(visible_length(m) <= MESSAGE_LIMIT for m in messages)
    # Each message starts with a whole item (or the header): never cut mid-item.
    assert all(m.startswith("<b>") for m in messages)
    assert sum(m.count("Read more") for m in messages) == 20


def test_a_block_too_long_for_one_message_is_split_without_losing_text() -> None:
    block = "<b>x</b> " + "a" * 9000
    messages = split_blocks([block])
    assert all(visible_length(m) <= MESSAGE_LIMIT for m in messages)
    assert "".join(html.unescape(m) for m in messages) == "x " + "a" * 9000


@given(st.text(max_size=20_000), st.integers(min_value=2, max_value=5000))
def test_splitting_plain_text_loses_nothing_and_respects_the_limit(text: str, limit: int) -> None:
    parts = split_plain(text, limit)
    assert "".join(parts) == text
    assert all(0 < len(p.encode("utf-16-le")) // 2 <= limit for p in parts)


def test_emoji_count_as_two_units_like_telegram_counts_them() -> None:
    assert visible_length("😀") == 2
    assert visible_length("<b>a&amp;b</b>") == 3


@given(st.text(min_size=1, max_size=200), st.integers(min_value=0, max_value=999))
def test_callback_data_round_trips_or_is_refused_if_too_long(query: str, page: int) -> None:
    data = callbacks.encode(callbacks.MorePage(query=query, page=page))
    if data is None:
        assert len(f"m:{page}:{query}".encode()) > 64
    else:
        assert len(data.encode()) <= 64
        assert callbacks.decode(data) == callbacks.MorePage(query=query, page=page)


@given(st.text(max_size=100))
def test_forged_callback_data_never_raises(data: str) -> None:
    callbacks.decode(data)
