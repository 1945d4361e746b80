"""Properties that hold for any input: questions, replies and knowledge files.

Replies are checked with the local Bot API server's own Telegram HTML parser, the
one that answers "can't parse entities" over HTTP in the other stories.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.errors import KnowledgeError
from bot.knowledge.models import NewsItem
from bot.knowledge.newsroom import Newsroom
from bot.knowledge.store import load_knowledge, validate_document, write_knowledge
from bot.localapi.html import parse_html
from bot.messages.render import MESSAGE_LIMIT, render_items, split_blocks
from bot.questions import answers
from bot.retrieval import Retriever

ROOT = Path(__file__).resolve().parents[1]

nasty_text = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=2000),
    st.sampled_from(
        [
            "",
            "   \n\t ",
            "<b>unclosed",
            "</i> & <script>alert(1)</script>",
            "**bold** _it_ [link](http://x) `code`",
            "'; DROP TABLE subscriptions; --",
            "مرحبا بالعالم عمل الأطفال",
            "\u202eright-to-left override",
            "\x00\x01\x02 control \x7f",
            "👩‍👩‍👧‍👦🇺🇦🏳️‍🌈" * 50,
            "child labour " * 10_000,
        ]
    ),
)


@pytest.fixture(scope="module")
def retriever() -> Retriever:
    return Retriever(load_knowledge(ROOT / "knowledge" / "news.yaml"))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(question=nasty_text)
def test_any_question_gets_a_valid_reply_within_telegrams_limit_in_bounded_time(
    retriever: Retriever, question: str
) -> None:
    started = time.perf_counter()
    result = retriever.search(question, limit=30)
    assert time.perf_counter() - started < 2.0
    assert all(0.0 <= hit.score <= 1.0 for hit in result.hits)
    reply = answers.answer(result, retriever.latest(3))
    assert reply.texts
    for text in reply.texts:
        parsed = parse_html(text)  # raises like Telegram's "can't parse entities"
        assert 1 <= len(parsed.text.encode("utf-16-le")) // 2 <= MESSAGE_LIMIT
    for row in reply.buttons:
        for button in row:
            assert 1 <= len(button.data.encode()) <= 64


item_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
    min_size=1,
    max_size=400,
).filter(lambda s: s.strip() != "")


@st.composite
def news_items(draw: st.DrawFn) -> NewsItem:
    n = draw(st.integers(min_value=0, max_value=10**6))
    return NewsItem(
        id=f"item-{n}",
        title=draw(item_text)[:300],
        date=draw(st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2025, 12, 31))),
        summary=draw(item_text),
        url=draw(st.one_of(st.none(), st.just("https://example.org/a?b=1&c=<2>"))),
    )


@settings(max_examples=60, deadline=None)
@given(items=st.lists(news_items(), min_size=1, max_size=40))
def test_rendered_lists_are_valid_html_split_within_the_limit_and_lose_no_item(
    items: list[NewsItem],
) -> None:
    messages = render_items(items, header="<b>Latest news</b>")
    plain = [parse_html(m).text for m in messages]
    assert all(len(p.encode("utf-16-le")) // 2 <= MESSAGE_LIMIT for p in plain)
    joined = "\n".join(plain)
    for item in items:
        assert item.summary.strip() in joined or len(item.summary) > MESSAGE_LIMIT


@settings(max_examples=60, deadline=None)
@given(blocks=st.lists(nasty_text, max_size=8))
def test_splitting_escaped_blocks_keeps_every_character(blocks: list[str]) -> None:
    from bot.messages.render import escape

    escaped = [escape(b) for b in blocks]
    messages = split_blocks(escaped)
    text = "".join(parse_html(m).text for m in messages)
    expected = "".join(b for b in blocks if b.strip())
    assert text.replace("\n", "") == expected.replace("\n", "")


yaml_values = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=30)
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.sampled_from(["id", "title", "date", "summary", "url", "tags", "items", "x"]),
            children,
            max_size=6,
        ),
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(document=yaml_values)
def test_any_document_either_validates_or_names_its_problems(document: object) -> None:
    try:
        validate_document(document, "k.yaml")
    except KnowledgeError as exc:
        assert exc.problems
        assert all(p.file == "k.yaml" and p.reason for p in exc.problems)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(document=yaml_values)
async def test_a_bad_edit_never_replaces_the_last_good_knowledge(
    tmp_path: Path, document: object
) -> None:
    path = tmp_path / "k.yaml"
    good = [NewsItem(id="a", title="Harbour", date=dt.date(2021, 6, 1), summary="Ships.")]
    write_knowledge(path, good)
    newsroom = Newsroom.open(path)
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    outcome = await newsroom.reload_if_changed()
    if outcome.problems:
        assert list(newsroom.items) == good
    else:
        assert list(newsroom.items) == load_knowledge(path)
