"""Stories of readers asking the retriever things, in their own words and spellings."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from harness import SEED_KNOWLEDGE
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.knowledge.models import NewsItem, slugify
from bot.knowledge.store import load_knowledge
from bot.retrieval import (
    ANSWER_THRESHOLD,
    SUGGEST_THRESHOLD,
    Embedder,
    Retriever,
    SearchResult,
    default_embedder,
    parse_date_query,
    snapshot,
)
from bot.retrieval import embeddings as embeddings_module
from bot.retrieval.aliases import find_aliases
from bot.retrieval.dense import default_word_vectors
from bot.retrieval.embeddings import Matrix
from bot.retrieval.lexical import Document, LexicalIndex
from bot.retrieval.text import analyze, fold_spelling, normalize

TODAY = dt.date(2021, 6, 12)


def news(day: str, title: str, summary: str, tags: tuple[str, ...] = ()) -> NewsItem:
    date = dt.date.fromisoformat(day)
    return NewsItem(id=slugify(title, date), title=title, date=date, summary=summary, tags=tags)


ITEMS = [
    news(
        "2021-06-10",
        "Global progress to end child labour has stalled",
        "The number of children in child labour has risen to 160 million worldwide.",
    ),
    news(
        "2021-06-10",
        "Migrant workers resource centres open",
        "Centres give advice to migrant workers before they travel.",
    ),
    news(
        "2021-06-07",
        "Safe water, decent work for all: ILC Daily Show",
        "The first episode of the International Labour Conference (ILC) Daily Show featured "
        "a water and sanitation project.",
    ),
    news(
        "2021-05-17",
        "Educators and the changing world of education",
        "Teachers and trainers need to master new technologies.",
    ),
    news(
        "2021-04-28",
        "Good practice in workplaces against COVID-19",
        "A sound occupational safety and health system protects workers.",
    ),
    news(
        "2021-04-27",
        "Resilient occupational safety and health systems",
        "On World Day for Safety and Health at Work the organisation calls for investment.",
    ),
    news(
        "2021-04-26",
        "75 years of seafarers' minimum wage setting",
        "The minimum monthly wage for seafarers is set by the Joint Maritime Commission.",
    ),
    news(
        "2020-04-27",
        "Harbour pilots honoured",
        "Pilots who guide ships into the harbour were given awards.",
    ),
]


@pytest.fixture(scope="session")
def embedder() -> Embedder | None:
    """The real WordLlama model, loaded once for the whole session."""
    return default_embedder()


@pytest.fixture
def retriever(embedder: Embedder | None) -> Retriever:
    return Retriever(ITEMS, embedder=embedder)


def ids(result_hits: list[object]) -> list[str]:
    return [hit.item.id for hit in result_hits]  # type: ignore[attr-defined]


# --- words as people type them


def test_a_reader_who_misspells_child_labour_still_finds_it(retriever: Retriever) -> None:
    result = retriever.search("chlid labuor", today=TODAY)
    assert result.kind == "answer"
    assert result.hits[0].item.title.startswith("Global progress to end child labour")


def test_a_misspelt_little_word_does_not_count_against_the_question(retriever: Retriever) -> None:
    assert retriever.search("teh seafarers adn wages").kind == "answer"
    assert retriever.search("seafarers wages").hits[0].score == pytest.approx(
        retriever.search("teh seafarers adn wages").hits[0].score
    )


def test_american_spelling_finds_british_text(retriever: Retriever) -> None:
    assert "child labour" in retriever.search("child labor").hits[0].item.title
    assert retriever.search("harbor pilots").hits[0].item.title == "Harbour pilots honoured"


def test_singular_finds_plural_and_other_word_forms(retriever: Retriever) -> None:
    assert retriever.search("educator").hits[0].item.title.startswith("Educators")
    assert retriever.search("seafarer wages").hits[0].item.title.startswith("75 years")
    assert "child labour" in retriever.search("childrens").hits[0].item.title


def test_an_acronym_finds_the_phrase_the_news_defined_it_with(retriever: Retriever) -> None:
    by_phrase = retriever.search("international labor conference")
    assert by_phrase.hits[0].item.title.endswith("ILC Daily Show")
    assert retriever.search("ILC").hits[0].item == by_phrase.hits[0].item


def test_british_spellings_fold_to_one_form() -> None:
    pairs = {
        "labour": "labor",
        "harbours": "harbors",
        "organisation": "organization",
        "realised": "realized",
        "centre": "center",
        "programme": "program",
        "travelled": "traveled",
        "analyse": "analyze",
        "catalogue": "catalog",
        "paediatric": "pediatric",
        "defence": "defense",
    }
    assert {word: fold_spelling(word) for word in pairs} == pairs
    # Words that only look British stay as they are.
    assert [fold_spelling(w) for w in ("hour", "four", "contour", "rise")] == [
        "hour",
        "four",
        "contour",
        "rise",
    ]
    assert analyze("Labour organisations") == analyze("labor organizations")


def test_acronyms_are_learned_from_the_text_that_defines_them() -> None:
    text = (
        "Instructors from Technical and Vocational Education and Training (TVET) centres met "
        "at the Gender Responsive Migrant Worker Resources Center (MRC) and ERA Agro-Forestry "
        "(ERA-AF) sites; the (ILO) alone defines nothing."
    )
    found = {alias.acronym: alias.phrase for alias in find_aliases(text)}
    assert found == {
        "tvet": ("technic", "vocat", "educ", "train"),
        "mrc": ("migrant", "worker", "resourc", "center"),
        "eraaf": ("era", "agro", "forestri"),
    }


# --- dates and recency


def test_news_from_a_given_day_lists_that_day(retriever: Retriever) -> None:
    for question in ("news from 10 June 2021", "10/06/2021", "2021-06-10", "June 10, 2021"):
        result = retriever.search(question, today=TODAY)
        assert result.kind == "date", question
        assert {hit.item.date for hit in result.hits} == {dt.date(2021, 6, 10)}, question
        assert len(result.hits) == 2


def test_a_day_without_a_year_takes_the_latest_year_with_news_that_day(
    retriever: Retriever,
) -> None:
    result = retriever.search("anything on 27 April?", today=TODAY)
    assert [hit.item.date for hit in result.hits] == [dt.date(2021, 4, 27)]


def test_a_month_and_a_topic_narrow_each_other(retriever: Retriever) -> None:
    result = retriever.search("occupational safety news from April 2021", today=TODAY)
    assert result.kind == "date"
    assert {hit.item.date for hit in result.hits} == {dt.date(2021, 4, 27), dt.date(2021, 4, 28)}


def test_relative_dates_count_from_the_clock_passed_in(retriever: Retriever) -> None:
    yesterday = retriever.search("news from yesterday", today=dt.date(2021, 6, 11))
    assert {hit.item.date for hit in yesterday.hits} == {dt.date(2021, 6, 10)}
    last_week = retriever.search("what happened last week", today=TODAY)
    assert {hit.item.date for hit in last_week.hits} == {dt.date(2021, 6, 10), dt.date(2021, 6, 7)}
    assert retriever.search("news from last month", today=dt.date(2030, 1, 5)).kind == "nothing"


def _days(result: SearchResult[NewsItem]) -> set[dt.date]:
    return {hit.item.date for hit in result.hits}


def test_a_range_between_two_dates_finds_the_news_of_the_days_between(
    retriever: Retriever,
) -> None:
    june = {dt.date(2021, 6, 7), dt.date(2021, 6, 10)}
    for question in (
        "news from 1 June to 10 June 2021",
        "news from 1 June 2021 to 10 June",
        "news between 2021-06-01 and 2021-06-10",
        "what was published from 10 June to 1 June 2021?",
        "news 1 june - 10 june 2021",
    ):
        result = retriever.search(question, limit=20, today=TODAY)
        assert (result.kind, _days(result)) == ("date", june), question
    # The year said once is both ends' year, and a range may cross the new year.
    spring = retriever.search("news from 27 April to 28 April 2020", limit=20, today=TODAY)
    assert _days(spring) == {dt.date(2020, 4, 27)}
    months = retriever.search("between April and May 2021", limit=20, today=TODAY)
    assert _days(months) == {dt.date(2021, 4, d) for d in (26, 27, 28)} | {dt.date(2021, 5, 17)}
    winter = parse_date_query("from 28 december to 5 january 2025", today=TODAY)
    assert (winter.start, winter.end) == (dt.date(2024, 12, 28), dt.date(2025, 1, 5))
    # "and" joins two dates only after "between"; otherwise the first date is the date.
    both = parse_date_query("child labour on 7 june and 10 june 2021", today=TODAY)
    assert (both.start, both.end) == (dt.date(2021, 6, 7), dt.date(2021, 6, 7))


def test_since_before_and_until_a_date_leave_the_range_open_at_one_end(
    retriever: Retriever,
) -> None:
    since = retriever.search("news since 7 June 2021", limit=20, today=TODAY)
    assert (since.kind, _days(since)) == ("date", {dt.date(2021, 6, 7), dt.date(2021, 6, 10)})
    before = retriever.search("news before 26 April 2021", limit=20, today=TODAY)
    assert _days(before) == {dt.date(2020, 4, 27)}
    until = retriever.search("anything until 26 April 2021", limit=20, today=TODAY)
    assert _days(until) == {dt.date(2020, 4, 27), dt.date(2021, 4, 26)}
    after = retriever.search("child labour after 1 June 2021", today=TODAY)
    assert [hit.item.title for hit in after.hits][:1] == [
        "Global progress to end child labour has stalled"
    ]
    # A bare month among topic words is no bound: the closure may be the topic's.
    assert parse_date_query("bridge closed until april", today=TODAY).vague


def test_a_number_of_latest_news_is_how_many_come_back(retriever: Retriever) -> None:
    for question, count in (
        ("latest 3 news", 3),
        ("the 2 most recent items", 2),
        ("show me the last five stories", 5),
        ("top 4 headlines", 4),
        ("latest three news", 3),
    ):
        result = retriever.search(question, limit=10, today=TODAY)
        assert result.kind == "latest", question
        assert [hit.item for hit in result.hits] == retriever.latest(count), question
    # "Three" is not the topic, and a span of days is still a date.
    assert parse_date_query("news from the last 5 days", today=TODAY).has_range
    on_topic = retriever.search("latest 2 news on child labour", limit=10, today=TODAY)
    assert on_topic.kind == "latest" and len(on_topic.hits) <= 2
    assert on_topic.hits[0].item.title == "Global progress to end child labour has stalled"
    assert retriever.search("latest 500 news", limit=10, today=TODAY).hits[9:] == []


def test_the_latest_on_a_topic_leaves_out_news_that_names_it_in_passing(
    embedder: Embedder | None,
) -> None:
    retriever = Retriever(
        [
            *ITEMS,
            news(
                "2021-06-11",
                "Voters pass the transit levy",
                "The levy raises 40 million a year for buses, trams and the harbour ferries, and "
                "pays for new shelters, timetables and ticket machines across the county.",
            ),
            news("2021-05-02", "Ferry crews strike over pay", "Sailings stopped as crews left."),
            news("2021-06-01", "New ferry route to the islands opens", "Six sailings a day."),
        ],
        embedder=embedder,
    )
    result = retriever.search("latest about ferries", limit=10, today=TODAY)
    assert result.kind == "latest"
    assert [hit.item.title for hit in result.hits] == [
        "New ferry route to the islands opens",
        "Ferry crews strike over pay",
    ]


def test_a_question_joining_topics_answers_each_of_them(retriever: Retriever) -> None:
    both = retriever.search("child labour and harbour pilots", today=TODAY)
    assert both.kind == "answer"
    assert [hit.item.title for hit in both.hits] == [
        "Global progress to end child labour has stalled",
        "Harbour pilots honoured",
    ]
    three = retriever.search("seafarers' wages, migrant workers and child labour", today=TODAY)
    assert {hit.item.title.split()[0] for hit in three.hits} == {"75", "Migrant", "Global"}
    # Every topic must be answered: one the news lacks leaves the question unsure.
    assert not retriever.search("child labour and bitcoin prices", today=TODAY).hits
    assert retriever.search("bitcoin and the weather", today=TODAY).kind == "nothing"


def test_a_date_with_no_news_finds_nothing(retriever: Retriever) -> None:
    assert retriever.search("news from 1 January 2019", today=TODAY).kind == "nothing"
    assert retriever.search("weather in Paris tomorrow", today=TODAY).kind == "nothing"


def test_latest_news_is_newest_first(retriever: Retriever) -> None:
    for question in ("latest news", "what's new?", "most recent"):
        result = retriever.search(question, today=TODAY)
        assert result.kind == "latest"
        dates = [hit.item.date for hit in result.hits]
        assert dates == sorted(dates, reverse=True) and dates[0] == dt.date(2021, 6, 10)
    assert [item.date for item in retriever.latest(3)] == [
        dt.date(2021, 6, 10),
        dt.date(2021, 6, 10),
        dt.date(2021, 6, 7),
    ]


def test_anything_new_on_a_topic_gives_the_newest_item_about_it(retriever: Retriever) -> None:
    result = retriever.search("anything new on occupational safety?", today=TODAY)
    assert result.kind == "latest"
    assert result.hits[0].item.date == dt.date(2021, 4, 28)
    assert all(
        "safety" in hit.item.summary.lower() + hit.item.title.lower() for hit in result.hits
    )


def test_date_parsing_keeps_the_topic_and_leaves_modal_may_alone() -> None:
    known = {dt.date(2020, 4, 27), dt.date(2021, 4, 27)}
    parsed = parse_date_query(normalize("child labour news from 28 May 2021"), today=TODAY)
    assert (parsed.start, parsed.end, parsed.topic) == (
        dt.date(2021, 5, 28),
        dt.date(2021, 5, 28),
        "child labour news",
    )
    month = parse_date_query("what was published in april 2021", today=TODAY)
    assert (month.start, month.end) == (dt.date(2021, 4, 1), dt.date(2021, 4, 30))
    assert parse_date_query("on 27 april", today=TODAY, known_dates=known).start == dt.date(
        2021, 4, 27
    )
    assert parse_date_query("05/28/2021", today=TODAY).start == dt.date(2021, 5, 28)
    assert not parse_date_query("may i ask about wages", today=TODAY).has_range
    assert not parse_date_query("labor market trends 2021", today=TODAY).has_range
    assert parse_date_query("anything new on wages?", today=TODAY).recency


# --- saying "nothing" and "did you mean"


@pytest.mark.parametrize(
    "question",
    [
        "bitcoin price",
        "asdfghjkl",
        "weather in Paris tomorrow",
        "recipe for pancakes",
        "🙂🙂🙂",
        "",
    ],
)
def test_an_unrelated_question_gets_nothing(retriever: Retriever, question: str) -> None:
    result = retriever.search(question, today=TODAY)
    assert result.kind == "nothing"
    assert result.hits == [] and result.suggestions == []


def test_scores_are_calibrated_against_the_thresholds(retriever: Retriever) -> None:
    assert 0 < SUGGEST_THRESHOLD < ANSWER_THRESHOLD < 1
    answer = retriever.search("seafarers minimum wage")
    assert answer.kind == "answer"
    assert all(ANSWER_THRESHOLD <= hit.score <= 1 for hit in answer.hits)
    assert [hit.score for hit in answer.hits] == sorted(
        (h.score for h in answer.hits), reverse=True
    )
    # One of two rare words matches: a maybe, not an answer.
    maybe = retriever.search("seafarers pensions")
    assert maybe.kind == "did_you_mean" and maybe.hits == []
    assert 1 <= len(maybe.suggestions) <= 3
    assert all(SUGGEST_THRESHOLD <= h.score < ANSWER_THRESHOLD for h in maybe.suggestions)


def test_a_hit_serialises_for_the_command_line(retriever: Retriever) -> None:
    data = retriever.search("seafarers").hits[0].to_json()
    assert set(data) == {"id", "title", "date", "summary", "url", "score"}
    assert data["date"] == "2021-04-26" and isinstance(data["score"], float)


# --- odd and hostile input


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text())
def test_any_text_gets_an_answer_without_raising(retriever: Retriever, text: str) -> None:
    result = retriever.search(text, today=TODAY)
    assert result.kind in {"answer", "did_you_mean", "nothing", "latest", "date"}
    assert all(0.0 <= hit.score <= 1.0 for hit in result.top)


@pytest.mark.parametrize(
    "text",
    [
        "a" * 100_000,
        "child labour " * 10_000,
        "🙂" * 50_000,
        "\u202eשלום\u202c مرحبا \x00\x07\ufeff",
        "e\u0301" * 20_000,
        "31/02/2021 99/99/9999 0000-00-00",
    ],
)
def test_long_or_strange_input_returns_quickly(retriever: Retriever, text: str) -> None:
    started = time.perf_counter()
    retriever.search(text, today=dt.date.max)
    assert time.perf_counter() - started < 0.5


# --- the news changes while the bot runs


def test_a_broadcast_item_is_searchable_at_once(retriever: Retriever) -> None:
    fresh = news("2021-06-11", "Dockers strike at the harbour", "Dock workers stop work over pay.")
    assert retriever.search("dockers strike").kind == "nothing"
    retriever.add(fresh)
    assert retriever.search("dockers strike").hits[0].item == fresh
    assert retriever.latest(1) == [fresh]
    assert len(retriever) == len(ITEMS) + 1


def test_an_item_added_again_with_the_same_id_replaces_the_old_one(retriever: Retriever) -> None:
    old = ITEMS[-1]
    assert [hit.item for hit in retriever.search("harbour pilots").hits] == [old]
    new = old.model_copy(update={"title": "Harbour pilots go on strike"})
    retriever.add(new)
    found = retriever.search("harbour pilots")
    assert [hit.item for hit in found.hits] == [new]
    assert len(retriever) == len(ITEMS)


class CountingEmbedder:
    """The real model, counting the texts it is asked to embed."""

    def __init__(self, model: Embedder) -> None:
        self.model = model
        self.texts = 0

    @property
    def dim(self) -> int:
        return self.model.dim

    def embed(self, texts: Sequence[str]) -> Matrix:
        self.texts += len(texts)
        return self.model.embed(texts)


def test_a_question_asked_again_is_answered_from_memory_in_the_askers_words(
    embedder: Embedder | None,
) -> None:
    assert embedder is not None
    counting = CountingEmbedder(embedder)
    retriever = Retriever(ITEMS, embedder=counting)
    built = counting.texts
    first = retriever.search("chlid labuor", today=TODAY)
    searched = counting.texts
    assert searched > built
    again = retriever.search("  Chlid LABUOR ", today=TODAY)
    assert counting.texts == searched  # nothing embedded: the answer was kept
    assert ids(again.hits) == ids(first.hits) and again.hits
    assert (first.query, again.query) == ("chlid labuor", "  Chlid LABUOR ")
    # Another day is another question ("news from last week" moves with it).
    retriever.search("chlid labuor", today=TODAY + dt.timedelta(days=1))
    assert counting.texts > searched


def test_without_a_cache_every_question_is_searched(embedder: Embedder | None) -> None:
    assert embedder is not None
    counting = CountingEmbedder(embedder)
    retriever = Retriever(ITEMS, embedder=counting, cache_size=0)
    built = counting.texts
    retriever.search("chlid labuor", today=TODAY)
    searched = counting.texts - built
    retriever.search("chlid labuor", today=TODAY)
    assert counting.texts - built == 2 * searched > 0


def test_a_keyword_alert_matches_a_new_item_about_its_phrase(retriever: Retriever) -> None:
    fresh = news("2021-06-12", "Child labour in cocoa farms", "Children work on cocoa farms.")
    retriever.add(fresh)
    assert retriever.matches("child labor", fresh.id)
    assert retriever.score_item("child labour", fresh.id) >= ANSWER_THRESHOLD
    assert not retriever.matches("seafarers", fresh.id)
    assert retriever.score_item("bitcoin", fresh.id) < SUGGEST_THRESHOLD
    assert retriever.score_item("child labour", "no-such-id") == 0.0


# --- without the embedding model


def test_words_alone_still_answer_when_there_is_no_model() -> None:
    lexical = Retriever(ITEMS, embedder=None)
    assert not lexical.semantic
    assert "child labour" in lexical.search("chlid labor").hits[0].item.title
    assert lexical.search("bitcoin price").kind == "nothing"


@pytest.fixture
def no_cached_embedder() -> Iterator[None]:
    default_embedder.cache_clear()
    default_word_vectors.cache_clear()  # the process-wide model with its vector cache
    yield
    default_embedder.cache_clear()
    default_word_vectors.cache_clear()


def test_a_model_that_cannot_load_is_logged_once_and_search_goes_on(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, no_cached_embedder: None
) -> None:
    def broken(dim: int = 256) -> object:
        raise OSError("weights missing")

    monkeypatch.setattr(embeddings_module, "load_wordllama", broken)
    with caplog.at_level(logging.WARNING, logger="bot.retrieval.embeddings"):
        first = Retriever(ITEMS)
        second = Retriever(ITEMS)
    assert not first.semantic and not second.semantic
    assert [r.message for r in caplog.records].count(
        "embeddings unavailable, searching by words only: weights missing"
    ) == 1
    assert "child labour" in first.search("child labour").hits[0].item.title


def test_the_model_loads_offline_without_touching_the_root_logger(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    root = logging.getLogger()
    handlers = list(root.handlers)
    model = embeddings_module.load_wordllama(dim=64)
    assert root.handlers == handlers
    vectors = model.embed(["sailors' pay", "", "seafarers' wages"])
    assert vectors.shape == (3, 64)
    assert float(vectors[1] @ vectors[1]) == 0.0  # no words, no direction, no NaN
    assert float(vectors[0] @ vectors[2]) > 0.1


def test_a_question_gets_the_vector_its_words_would_get_among_the_items(
    embedder: Embedder | None,
) -> None:
    # Few texts (a question's parts) take a short path; many (items) the model's batches.
    assert embedder is not None
    texts = [f"{item.title}. {item.summary}" for item in ITEMS] + ["", "sailors' pay 🙂"]
    assert len(texts) > embeddings_module.FEW_TEXTS
    batched = embedder.embed(texts)
    alone = [embedder.embed([text])[0] for text in texts]
    for row, vector in zip(batched, alone, strict=True):
        assert abs(row - vector).max() < 1e-6
    assert not alone[-2].any() and alone[-1].any()


@pytest.mark.parametrize("number", ["1", "2", "4", "8", "10", "160"])
def test_a_stray_number_in_a_question_does_not_change_the_answer(
    number: str, embedder: Embedder | None
) -> None:
    # In the seed, "4", "8" and "160" occur in one item each, as often as "oceans" does.
    retriever = Retriever(load_knowledge(SEED_KNOWLEDGE), embedder=embedder)
    plain = retriever.search("oceans", today=TODAY)
    numbered = retriever.search(f"oceans {number}", today=TODAY)
    assert plain.kind == "answer" and plain.hits
    assert (numbered.kind, [h.item.id for h in numbered.hits]) == (
        plain.kind,
        [h.item.id for h in plain.hits],
    )


# --- the word index kept on disk


@pytest.fixture
def indexed(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many documents each ``LexicalIndex.add_many`` call tokenised (a spy, not a fake)."""
    calls: list[int] = []
    real = LexicalIndex.add_many

    def counting(self: LexicalIndex, documents: Sequence[Document]) -> None:
        calls.append(len(documents))
        real(self, documents)

    monkeypatch.setattr(LexicalIndex, "add_many", counting)
    monkeypatch.setattr(snapshot, "MIN_ITEMS", 1)  # eight items stand for a big corpus
    return calls


def _answers(retriever: Retriever[NewsItem], questions: Sequence[str]) -> list[object]:
    return [
        [(hit.item.id, hit.score) for hit in retriever.search(q, today=TODAY).top]
        for q in questions
    ]


QUESTIONS = ["child labour", "chlid labor", "ILC daily show", "seafarers wages", "pilots"]


def test_a_restart_reads_the_word_index_back_and_answers_the_same(
    tmp_path: Path, indexed: list[int]
) -> None:
    built = Retriever(ITEMS, embedder=None, dense=None, cache_folder=tmp_path)
    assert indexed == [len(ITEMS)]
    restarted = Retriever(ITEMS, embedder=None, dense=None, cache_folder=tmp_path)
    assert indexed == [len(ITEMS), 0]  # nothing tokenised again
    assert _answers(restarted, QUESTIONS) == _answers(built, QUESTIONS)
    assert _answers(restarted, QUESTIONS)[0]  # the questions do find something
    # Adding an item after a restart stays incremental: only that item is tokenised.
    restarted.add(news("2021-06-11", "Dock strike ends", "Port workers return."))
    assert indexed[-1] == 1
    assert restarted.search("dock strike", today=TODAY).hits[0].item.title == "Dock strike ends"


def test_an_edited_item_makes_the_saved_word_index_stale(
    tmp_path: Path, indexed: list[int]
) -> None:
    Retriever(ITEMS, embedder=None, dense=None, cache_folder=tmp_path)
    edited = [*ITEMS[:-1], news("2020-04-27", "Harbour tugs honoured", "Tug crews got awards.")]
    retriever = Retriever(edited, embedder=None, dense=None, cache_folder=tmp_path)
    assert indexed == [len(ITEMS), len(ITEMS)]
    assert retriever.search("tugs", today=TODAY).hits[0].item.title == "Harbour tugs honoured"
    assert retriever.search("pilots", today=TODAY).kind == "nothing"


def test_items_published_since_the_last_start_are_all_that_is_tokenised(
    tmp_path: Path, indexed: list[int]
) -> None:
    Retriever(ITEMS[:6], embedder=None, dense=None, cache_folder=tmp_path)
    retriever = Retriever(ITEMS, embedder=None, dense=None, cache_folder=tmp_path)
    assert indexed == [6, 2]
    assert "Harbour pilots" in retriever.search("pilots", today=TODAY).hits[0].item.title


def test_a_damaged_word_index_file_is_built_afresh(
    tmp_path: Path, indexed: list[int], caplog: pytest.LogCaptureFixture
) -> None:
    Retriever(ITEMS, embedder=None, dense=None, cache_folder=tmp_path)
    (tmp_path / snapshot.FILE_NAME).write_bytes(b"not a zip file")
    with caplog.at_level(logging.WARNING, logger="bot.retrieval.snapshot"):
        retriever = Retriever(ITEMS, embedder=None, dense=None, cache_folder=tmp_path)
    assert indexed == [len(ITEMS), len(ITEMS)]
    assert "unreadable" in caplog.text
    assert "child labour" in retriever.search("child labour", today=TODAY).hits[0].item.title
