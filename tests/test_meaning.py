"""Stories of readers asking in their own words, about dates as people say them, and of the
sentence encoder's cache of item vectors surviving a restart."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from bot.cli import main
from bot.knowledge.models import NewsItem, slugify
from bot.knowledge.store import write_knowledge
from bot.retrieval import Retriever, parse_date_query
from bot.retrieval.dense import (
    MODEL_ID,
    SECOND_MODEL_ID,
    CachedEmbedder,
    E5Encoder,
    EmbeddingCache,
    MiniLMEncoder,
    default_dense,
    default_second,
)
from bot.retrieval.embeddings import Matrix, normalize_rows
from bot.retrieval.evaluation import shared_content_words
from bot.retrieval.retriever import dense_text
from bot.retrieval.text import analyze

TODAY = dt.date(2025, 7, 1)


def news(day: str, title: str, summary: str) -> NewsItem:
    date = dt.date.fromisoformat(day)
    return NewsItem(id=slugify(title, date), title=title, date=date, summary=summary)


# A small harbour town's paper, written for these stories; look-alikes on purpose.
TOWN = [
    news(
        "2025-06-30",
        "Ferry crews walk out, halting Skerry Island sailings",
        "Deckhands and captains of the Skerry Island service stopped work over pay; the "
        "operator cancelled every crossing until further notice.",
    ),
    news(
        "2025-06-30",
        "Heat advisory: cooling centres open",
        "Forecasters expect 38 degrees on Monday. Libraries and the civic hall will stay "
        "open late as cooling centres.",
    ),
    news(
        "2025-03-03",
        "Measles case confirmed at Northfield primary",
        "The county health office traced one infection to a pupil and urged families to "
        "check vaccination records.",
    ),
    news(
        "2025-03-03",
        "Council approves parking meters on Harbour Road",
        "Drivers will pay 2 dollars an hour from May; residents get free permits.",
    ),
    news(
        "2025-02-14",
        "Sixty couples wed at City Hall",
        "The registrar held a mass ceremony in the rotunda, a tradition since 1998.",
    ),
    news(
        "2024-12-09",
        "Winter storm knocks out electricity to 12,000 homes",
        "Gusts of 110 km/h brought down lines across the east side; the utility expects "
        "full restoration by Thursday.",
    ),
    news(
        "2024-10-04",
        "Tidewater Athletic sold to developer",
        "Property investor Mara Quint bought the football club for 40 million dollars and "
        "promised a new stadium.",
    ),
    news(
        "2024-10-12",
        "Shipyard to hire 300 welders after navy order",
        "Castell Marine won a contract for four patrol vessels and will recruit welders, "
        "pipefitters and electricians.",
    ),
    news(
        "2024-10-28",
        "Tuition at the state college rises 5 percent",
        "Trustees blamed higher pension costs; students will pay 410 dollars more a year.",
    ),
    news(
        "2024-09-05",
        "Library opens maker space with 3D printers",
        "The central branch added a workshop where members can book printers and laser "
        "cutters for free.",
    ),
    news(
        "2024-09-12",
        "Insulin pump recalled over battery fault",
        "The maker asked patients to stop using two models after reports of sudden "
        "shutdowns; clinics will swap devices.",
    ),
    news(
        "2024-09-20",
        "Sea lions return to the breakwater",
        "Wardens counted 140 animals on the rocks, the most in a decade, and asked walkers "
        "to keep dogs on leads.",
    ),
]
BY_TITLE = {item.title: item for item in TOWN}

PARAPHRASES = [
    ("the boats aren't running, how do I get to the mainland", TOWN[0]),
    ("is there somewhere air-conditioned to escape the scorching weather", TOWN[1]),
    ("a kid at school caught a contagious rash", TOWN[2]),
    ("blackout after the gale", TOWN[5]),
    ("who purchased the soccer team", TOWN[6]),
    ("jobs at the boatyard", TOWN[7]),
    ("are uni charges going up", TOWN[8]),
]
NEGATIVES = [
    "pacemaker recall",
    "ferry timetable for Christmas",
    "football team's new manager",
    "bitcoin price",
    "recipe for banana bread",
]
DATES = [
    ("what was in the paper on valentine's day", {TOWN[4].id}),
    ("what happened in the first half of October 2024", {TOWN[6].id, TOWN[7].id}),
    ("what came out between 1 and 15 September 2024", {TOWN[9].id, TOWN[10].id}),
    ("03/03/2025", {TOWN[2].id, TOWN[3].id}),
    ("Dec 9, 2024 headlines", {TOWN[5].id}),
    ("news on June 30th", {TOWN[0].id, TOWN[1].id}),
]


@pytest.fixture(scope="module")
def town() -> Retriever[NewsItem]:
    return Retriever(TOWN)


@pytest.mark.parametrize(("question", "item"), PARAPHRASES, ids=[q for q, _ in PARAPHRASES])
def test_a_question_in_other_words_is_answered(
    town: Retriever[NewsItem], question: str, item: NewsItem
) -> None:
    assert not shared_content_words(question, f"{item.title} {item.summary}")
    result = town.search(question, today=TODAY)
    assert result.kind == "answer", result
    assert result.hits[0].item.id == item.id


@pytest.mark.parametrize("question", NEGATIVES)
def test_a_question_the_news_does_not_answer_gets_no_results(
    town: Retriever[NewsItem], question: str
) -> None:
    result = town.search(question, today=TODAY)
    assert not result.hits, result


@pytest.mark.parametrize(("question", "expected"), DATES, ids=[q for q, _ in DATES])
def test_dates_as_people_say_them(
    town: Retriever[NewsItem], question: str, expected: set[str]
) -> None:
    result = town.search(question, today=TODAY)
    assert result.kind == "date", result
    assert {hit.item.id for hit in result.hits} == expected


def test_a_date_with_no_news_is_read_as_words_of_the_topic() -> None:
    items = [news("2025-06-30", "Fourth of July fireworks move to a barge", "The show starts.")]
    result = Retriever(items).search("firworks 4th of july", today=TODAY)
    assert [hit.item.id for hit in result.hits] == [items[0].id]


def test_words_still_win_over_meaning(town: Retriever[NewsItem]) -> None:
    result = town.search("insulin pump recall", today=TODAY)
    assert result.kind == "answer"
    assert result.hits[0].item.title == "Insulin pump recalled over battery fault"


def test_a_second_opinion_answers_what_the_first_encoder_was_unsure_of(
    town: Retriever[NewsItem],
) -> None:
    question = "someone's child has spots at school"
    measles = BY_TITLE["Measles case confirmed at Northfield primary"]
    assert not shared_content_words(question, f"{measles.title} {measles.summary}")
    # MiniLM alone puts the measles item first, but not far enough ahead to answer with it.
    alone = Retriever(TOWN, second=None).search(question, today=TODAY)
    assert not alone.hits, alone
    result = town.search(question, today=TODAY)
    assert result.kind == "answer", result
    assert result.hits[0].item.id == measles.id


def test_a_question_the_words_settle_is_answered_now_one_in_other_words_waits() -> None:
    town = Retriever(TOWN)  # no answers kept yet
    # The bot answers the first on its event loop; the second needs the sentence encoders,
    # tens of milliseconds, so it goes to a worker thread and ``search``.
    now = town.answer_now("insulin pump recall", today=TODAY)
    assert now is not None and now.hits[0].item.title == "Insulin pump recalled over battery fault"
    question = "the boats aren't running, how do I get to the mainland"
    assert town.answer_now(question, today=TODAY) is None
    searched = town.search(question, today=TODAY)
    assert searched.hits[0].item.id == TOWN[0].id
    assert town.answer_now(question, today=TODAY) == searched  # kept now


# --- strangers' findings: a month among topic words, "latest" on a topic, a near-domain miss

NEIGHBOURS = [
    *TOWN,
    news(
        "2024-10-01",
        "Causeway bridge to close until April for deck repairs",
        "The Selby causeway will shut to all traffic from 14 October while crews replace "
        "the deck; a free shuttle bus will carry pedestrians.",
    ),
    news(
        "2025-02-20",
        "Causeway bridge reopens two weeks early",
        "Traffic crossed the rebuilt deck on Thursday, under budget and ahead of schedule.",
    ),
    news(
        "2025-04-12",
        "Spring fair fills the market square",
        "Stalls, a brass band and pony rides drew crowds to the old town on Saturday.",
    ),
    news(
        "2025-01-15",
        "Council approves new stadium for Tidewater Athletic",
        "The club will lease land at the old gasworks for a 12,000-seat ground.",
    ),
    news(
        "2025-05-10",
        "Tidewater Athletic promoted after final-day win",
        "A 2-0 victory at Kirkby sent the club up to the first division for the first time.",
    ),
    news(
        "2025-05-20",
        "Cruise ship visits to double next year",
        # "Ellery" brings the item near "paris" for the sentence encoder (cosine 0.37).
        "The Port of Ellery expects 96 cruise ship calls in 2026, up from 47 this year, after "
        "signing deals with two major cruise lines. Downtown businesses welcomed the news, but "
        "Old Quay residents raised concerns about traffic and diesel fumes.",
    ),
    news(
        "2024-11-02",
        "Transit authority launches ferry route to Holm Island",
        "The authority began a weekday ferry service between the harbour terminal and Holm "
        "Island, with six sailings a day and a one-way fare of $4.50.",
    ),
]


@pytest.fixture(scope="module")
def neighbours() -> Retriever[NewsItem]:
    return Retriever(NEIGHBOURS)


def test_a_month_among_the_words_of_a_topic_is_part_of_the_topic(
    neighbours: Retriever[NewsItem],
) -> None:
    # There is news in April 2025 (the fair), but not about the bridge: the month is a word of
    # the closure's own title, not the day it was reported.
    result = neighbours.search("bridge closed until april", today=TODAY)
    assert result.kind == "answer", result
    assert result.hits[0].item.title == "Causeway bridge to close until April for deck repairs"
    # A month said as the time of publication still narrows the news to that month.
    assert neighbours.search("news from april", today=TODAY).hits[0].item.title == (
        "Spring fair fills the market square"
    )


def test_latest_on_a_topic_gives_its_newest_item_first(neighbours: Retriever[NewsItem]) -> None:
    result = neighbours.search("latest on the football club", today=TODAY)
    assert result.kind == "latest", result
    assert result.hits[0].item.title == "Tidewater Athletic promoted after final-day win"
    days = [hit.item.date for hit in result.hits]
    assert days == sorted(days, reverse=True)


def test_a_near_domain_question_is_not_answered_by_a_look_alike(
    neighbours: Retriever[NewsItem],
) -> None:
    # Items about ferries hold the question's central word; a cruise item is only near it.
    result = neighbours.search("ferry to paris", today=TODAY)
    assert not result.hits, result
    assert all("ruise" not in hit.item.title for hit in result.suggestions)


def test_a_question_joining_two_stories_is_answered_by_neither() -> None:
    # The encoder prefers the measles case at another school; another item holds most of
    # the question's words. The words and the meaning disagree: at most "did you mean".
    schools = Retriever(
        [
            *TOWN[:2],
            *TOWN[3:],
            news(
                "2025-03-03",
                "Measles case confirmed at Lakeside Elementary",
                "The county health office traced one infection to a pupil at the school and "
                "urged families to check vaccination records.",
            ),
            news(
                "2024-09-03",
                "Harbourside Middle School opens to 600 students",
                "The $40 million Harbourside Middle School welcomed 600 pupils on Tuesday, "
                "easing crowding at two elementary schools.",
            ),
        ]
    )
    result = schools.search("measles outbreak at Harbourside Middle School", today=TODAY)
    assert not result.hits, result
    # Each story alone, in other words or in its own, is still answered.
    rash = schools.search("a kid at school caught a contagious rash", today=TODAY)
    assert rash.hits[0].item.title == "Measles case confirmed at Lakeside Elementary"
    opened = schools.search("Harbourside Middle School opening", today=TODAY)
    assert opened.hits[0].item.title == "Harbourside Middle School opens to 600 students"


def test_a_misspelt_topic_beside_an_ordinal_date_is_answered() -> None:
    fireworks = news(
        "2025-06-30",
        "Fourth of July fireworks move to a barge",
        "The show will launch from a barge off the wharf because of seawall repairs.",
    )
    retriever = Retriever([*NEIGHBOURS, fireworks])
    # No news on 4 July: the date words are words of the topic; "4th" is the number 4, and
    # its "th" no unknown word that outweighs the misspelt "firworks".
    result = retriever.search("firworks 4th of july 🎆", today=TODAY)
    assert result.kind == "answer", result
    assert result.hits[0].item.id == fireworks.id
    assert analyze("the 4th of July") == analyze("the 4 of July")


def test_ask_json_answers_the_month_in_a_topic(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "news.yaml"
    write_knowledge(path, NEIGHBOURS)
    assert main(["ask", "--json", "--knowledge", str(path), "bridge closed until april"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["kind"] == "answer"
    assert out["results"][0]["title"].startswith("Causeway bridge to close until April")


# --- the cache of item vectors


class CountingEncoder:
    """A stand-in for the model: a vector from the text's hash, and a count of texts seen."""

    dim = 8

    def __init__(self) -> None:
        self.seen: list[str] = []

    def embed(self, texts: Sequence[str]) -> Matrix:
        self.seen.extend(texts)
        rows = [np.random.default_rng(abs(hash(t)) % 2**32).normal(size=8) for t in texts]
        return normalize_rows(np.asarray(rows, dtype=np.float32).reshape(len(texts), 8))


def cached(folder: Path) -> tuple[CachedEmbedder, CountingEncoder]:
    encoder = CountingEncoder()
    return CachedEmbedder(encoder, EmbeddingCache(folder, MODEL_ID, encoder.dim)), encoder


def test_item_vectors_survive_a_restart_and_an_edited_item_is_embedded_again(
    tmp_path: Path,
) -> None:
    first, encoder = cached(tmp_path)
    Retriever(TOWN, embedder=None, dense=first)
    assert len(encoder.seen) == len(TOWN)
    before = first.embed([dense_text(TOWN[3])])

    again, encoder = cached(tmp_path)  # a restart: a new process reads the files
    Retriever(TOWN, embedder=None, dense=again)
    assert encoder.seen == []
    assert np.array_equal(again.embed([dense_text(TOWN[3])]), before)

    edited = [*TOWN[:3], TOWN[3].model_copy(update={"summary": "Meters start in June."})]
    third, encoder = cached(tmp_path)
    retriever = Retriever([*edited, *TOWN[4:]], embedder=None, dense=third)
    assert encoder.seen == [dense_text(edited[3])]
    retriever.add(news("2025-07-01", "Beach reopens", "Tests are clear."))
    assert len(encoder.seen) == 2


def test_the_second_encoders_vectors_survive_a_restart_and_follow_an_edit(
    tmp_path: Path,
) -> None:
    question = "someone's child has spots at school"  # MiniLM is unsure: e5 is asked
    dense = default_dense()
    first = CountingEncoder()
    second = CachedEmbedder(first, EmbeddingCache(tmp_path, SECOND_MODEL_ID, first.dim))
    Retriever(TOWN, embedder=None, dense=dense, second=second).search(question, today=TODAY)
    texts = {dense_text(item) for item in TOWN}
    asked = set(first.seen) & texts
    # The first encoder's shortlist and the sample that gives its scale, and the question.
    assert asked and len(set(first.seen) - texts) == 1

    again = CountingEncoder()  # a restart: a new process reads the files
    cache = EmbeddingCache(tmp_path, SECOND_MODEL_ID, again.dim)
    restarted = Retriever(TOWN, embedder=None, dense=dense, second=CachedEmbedder(again, cache))
    restarted.search(question, today=TODAY)
    assert len(again.seen) == 1 and again.seen[0] not in texts  # the question alone

    edited = TOWN[2].model_copy(update={"summary": "A pupil has measles; check your records."})
    third = CountingEncoder()
    cache = EmbeddingCache(tmp_path, SECOND_MODEL_ID, third.dim)
    changed = Retriever(
        [*TOWN[:2], edited, *TOWN[3:]],
        embedder=None,
        dense=dense,
        second=CachedEmbedder(third, cache),
    )
    changed.search(question, today=TODAY)
    assert dense_text(edited) in third.seen
    assert not set(third.seen) & asked


def test_when_every_item_is_edited_the_second_encoders_scale_comes_from_the_new_ones() -> None:
    retriever = Retriever(TOWN)
    retriever.add_many(
        [item.model_copy(update={"summary": f"{item.summary} Updated."}) for item in TOWN]
    )
    alive = np.flatnonzero(retriever._alive[: retriever._size])
    sample = retriever._second_sample(alive)
    assert len(sample) >= 8 and set(sample.tolist()) <= set(alive.tolist())
    result = retriever.search("someone's child has spots at school", today=TODAY)
    assert result.hits[0].item.title == "Measles case confirmed at Northfield primary"


def test_the_packaged_second_encoder_reads_a_question_beside_its_answer() -> None:
    second = default_second()
    assert second is not None
    assert isinstance(second.inner, E5Encoder)
    items = second.embed(["Microplastics found in tap water", "Council raises parking fees"])
    question = second.embed_query("tiny bits of plastic in drinking water")
    assert items.shape == (2, 384)
    assert float(items[0] @ question) > float(items[1] @ question)


def test_a_restart_reads_each_item_its_own_vector_whatever_order_the_items_come_in(
    tmp_path: Path,
) -> None:
    texts = [f"item number {n}" for n in range(40)]
    first, encoder = cached(tmp_path)
    written = first.embed(texts)  # one start embeds them in file order
    orders = {
        "as written": list(range(40)),
        "a later part": list(range(10, 30)),
        "reversed": list(range(39, -1, -1)),
        "one item twice": [*range(20), 5, *range(20, 40)],
    }
    for name, order in orders.items():
        again, encoder = cached(tmp_path)  # a restart reads the files
        vectors = again.embed([texts[i] for i in order])
        assert encoder.seen == [], name
        assert np.array_equal(vectors, written[order]), name
    again, encoder = cached(tmp_path)  # a new item among the known ones
    vectors = again.embed([*texts[:5], "a new item", *texts[5:10]])
    assert encoder.seen == ["a new item"]
    assert np.array_equal(vectors[:5], written[:5]) and np.array_equal(vectors[6:], written[5:10])


def test_a_cache_cut_short_by_a_crash_keeps_its_whole_rows(tmp_path: Path) -> None:
    first, _ = cached(tmp_path)
    first.embed(["one", "two"])
    keys = tmp_path / MODEL_ID / "keys.bin"
    with keys.open("ab") as out:
        out.write(b"half a key")  # a write cut short
    again, encoder = cached(tmp_path)
    again.embed(["one", "two", "three"])
    assert encoder.seen == ["three"]


def test_without_a_folder_the_cache_lives_in_memory(tmp_path: Path) -> None:
    embedder, encoder = cached(tmp_path / "unused")
    memory = CachedEmbedder(encoder, EmbeddingCache(None, MODEL_ID, encoder.dim))
    memory.embed(["a", "b"])
    memory.embed(["a"])
    assert encoder.seen == ["a", "b"]
    assert not (tmp_path / "unused").exists() or embedder is not None


def test_the_packaged_model_gives_related_texts_close_vectors() -> None:
    dense = default_dense()
    assert dense is not None
    assert isinstance(dense.inner, MiniLMEncoder)
    rows = dense.inner.embed(
        ["tiny bits of plastic in drinking water", "Microplastics found in tap water", "tax"]
    )
    assert rows.shape == (3, 384)
    assert float(rows[0] @ rows[1]) > 0.5 > float(rows[0] @ rows[2])


# --- newsbot ask --json


def test_ask_json_tells_the_kind_and_the_suggestions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    knowledge = tmp_path / "news.yaml"
    write_knowledge(knowledge, TOWN)
    assert main(["ask", "--json", "--knowledge", str(knowledge), "jobs at the boatyard"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["kind"] == "answer"
    assert answer["results"][0]["title"] == TOWN[7].title
    assert answer["suggestions"] == []
    assert main(["ask", "--json", "--knowledge", str(knowledge), "bitcoin price"]) == 0
    nothing = json.loads(capsys.readouterr().out)
    assert nothing["kind"] == "nothing"
    assert nothing["results"] == [] and nothing["suggestions"] == []


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("from 1 to 5 may 2025", "2025-05-01", "2025-05-05"),
        ("sept 1-15, 2024", "2024-09-01", "2024-09-15"),
        ("early march 2025", "2025-03-01", "2025-03-10"),
        ("the second half of october 2024", "2024-10-16", "2024-10-31"),
        ("end of may 2025", "2025-05-21", "2025-05-31"),
        ("anything on christmas day 2024", "2024-12-25", "2024-12-25"),
        ("12/03/2025", "2025-03-12", "2025-03-12"),
    ],
)
def test_more_ways_of_saying_a_date(text: str, start: str, end: str) -> None:
    when = parse_date_query(text, today=TODAY)
    assert (when.start, when.end) == (dt.date.fromisoformat(start), dt.date.fromisoformat(end))
    assert when.topic == ""


def test_a_holiday_without_a_preposition_is_a_topic() -> None:
    when = parse_date_query("christmas illuminations downtown", today=TODAY)
    assert not when.has_range


def test_day_or_month_first_follows_the_days_that_have_news() -> None:
    known = {dt.date(2025, 12, 3)}
    when = parse_date_query("12/03/2025", today=TODAY, known_dates=known)
    assert when.start == dt.date(2025, 12, 3)


# --- the item vectors kept with the word index (``snapshot.map_matrix``)


@pytest.fixture
def hashed(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many item texts the retriever hashed to look their vectors up (a spy), with the
    word index kept on disk for a corpus this small."""
    from bot.retrieval import retriever as retriever_module
    from bot.retrieval import snapshot

    calls: list[int] = []
    real = retriever_module.text_keys

    def counting(texts: Sequence[str]) -> list[bytes]:
        calls.append(len(texts))
        return real(texts)

    monkeypatch.setattr(retriever_module, "text_keys", counting)
    monkeypatch.setattr(snapshot, "MIN_ITEMS", 1)
    return calls


QUESTIONS = ["parking meters", "beach water tests", "measles at school", "bus timetable"]


def _ranked(retriever: Retriever[NewsItem]) -> list[list[tuple[str, float]]]:
    return [
        [(hit.item.id, round(hit.score, 6)) for hit in retriever.search(q, today=TODAY).top]
        for q in QUESTIONS
    ]


def test_a_restart_maps_the_item_vectors_it_kept_and_answers_the_same(
    tmp_path: Path, hashed: list[int]
) -> None:
    dense, _ = cached(tmp_path)
    built = Retriever(TOWN, embedder=None, second=None, dense=dense, cache_folder=tmp_path)
    matrices = sorted(tmp_path.glob("vectors-*.f32"))
    assert len(matrices) == 1
    on_disk = matrices[0].read_bytes()

    again, encoder = cached(tmp_path)  # a restart: nothing embedded, nothing hashed
    hashed.clear()
    restarted = Retriever(TOWN, embedder=None, second=None, dense=again, cache_folder=tmp_path)
    assert encoder.seen == [] and hashed == []
    assert isinstance(restarted._dense_vectors, np.memmap)
    assert _ranked(restarted) == _ranked(built)

    # Items added after such a start are found, beyond the spare rows too, and the kept
    # matrix on disk is not written to (it is mapped copy-on-write).
    restarted.add(news("2025-07-02", "Harbour ferry cancelled", "Storm keeps boats in."))
    extra = [news("2025-06-30", f"Notice number {n}", f"Routine notice {n}.") for n in range(300)]
    restarted.add_many(extra)
    assert len(restarted) == len(TOWN) + 301
    assert restarted.search("harbour ferry", today=TODAY).hits[0].item.title == (
        "Harbour ferry cancelled"
    )
    assert _ranked(restarted)[0] == _ranked(built)[0]
    assert matrices[0].read_bytes() == on_disk


def test_an_edited_item_is_never_given_the_kept_vector_of_its_old_text(
    tmp_path: Path, hashed: list[int]
) -> None:
    dense, _ = cached(tmp_path)
    Retriever(TOWN, embedder=None, second=None, dense=dense, cache_folder=tmp_path)
    edited = [*TOWN[:3], TOWN[3].model_copy(update={"summary": "Meters start in June."})]
    again, encoder = cached(tmp_path)
    retriever = Retriever(
        [*edited, *TOWN[4:]], embedder=None, second=None, dense=again, cache_folder=tmp_path
    )
    assert encoder.seen == [dense_text(edited[3])]
    fresh = CountingEncoder().embed([dense_text(edited[3])])[0]
    assert np.array_equal(retriever._dense_vectors[3], fresh)


@pytest.mark.parametrize("damage", ["another token", "cut short"])
def test_a_kept_matrix_that_is_not_for_these_items_is_not_used(
    tmp_path: Path, hashed: list[int], damage: str
) -> None:
    dense, _ = cached(tmp_path)
    built = Retriever(TOWN, embedder=None, second=None, dense=dense, cache_folder=tmp_path)
    (matrix,) = tmp_path.glob("vectors-*.f32")
    data = matrix.read_bytes()
    if damage == "another token":  # a matrix another snapshot wrote, say
        matrix.write_bytes(bytes(32) + data[32:])
    else:  # a disk that filled up while it was written
        matrix.write_bytes(data[: len(data) // 3])
    again, encoder = cached(tmp_path)
    hashed.clear()
    restarted = Retriever(TOWN, embedder=None, second=None, dense=again, cache_folder=tmp_path)
    assert not isinstance(restarted._dense_vectors, np.memmap)
    assert encoder.seen == [] and hashed  # read from the embedding cache instead
    assert _ranked(restarted) == _ranked(built)
    # ... and kept again for the next start.
    third, _ = cached(tmp_path)
    assert isinstance(
        Retriever(
            TOWN, embedder=None, second=None, dense=third, cache_folder=tmp_path
        )._dense_vectors,
        np.memmap,
    )
