"""Ranking news items for a question: words, typos, meaning and dates fused into one score.

A ``Retriever`` indexes its items once (word postings, two embedding rows per item) and answers
each question by

1. cutting it to ``MAX_QUERY_CHARS`` and normalising it;
2. taking out a date expression or a wish for the newest news (``dates.parse_date_query``);
3. scoring the remaining topic: the weighted coverage of its words (``lexical``) and the cosine of
   its WordLlama embedding (``embeddings``), both over a bounded candidate set, fused into a
   score in [0, 1] whose thresholds mean the same on every corpus:

   * ``score >= ANSWER_THRESHOLD``: the item is about the question;
   * ``SUGGEST_THRESHOLD <= score < ANSWER_THRESHOLD``: perhaps ("did you mean ...?");
   * below: not relevant; the bot says it found nothing.

4. when the words do not answer (a question in other words: "the boats aren't running" for a
   ferry strike), asking the sentence encoder (``dense``, all-MiniLM-L6-v2): its best item is
   an answer only if it stands out from the rest of the corpus for this question and is near in
   meaning to the question's words it does not match (``_meaning``).

Cost per item: about 2.5 KiB for its two embeddings (256 + 384 float32), ~0.5 KiB of postings,
and the item itself; the embeddings come from an on-disk cache keyed by the item's text, so a
restart embeds nothing. Adding an item appends to all three; nothing is rebuilt.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import itertools
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Generic, Literal, Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from bot.retrieval import snapshot
from bot.retrieval.dates import DateQuery, parse_date_query
from bot.retrieval.dense import (
    CachedEmbedder,
    await_preload,
    default_dense,
    default_second,
    default_word_vectors,
    text_keys,
)
from bot.retrieval.embeddings import Embedder, Matrix
from bot.retrieval.lexical import Document, LexicalIndex, QueryTerm
from bot.retrieval.text import MAX_QUERY_CHARS, content_words, normalize

ANSWER_THRESHOLD = 0.5
SUGGEST_THRESHOLD = 0.3
MAX_SUGGESTIONS = 3

LATEST_MARGIN = 0.25
"""The newest news on a topic: items scored within this of the best one."""
MAX_JOINED = 3
"""At most this many topics joined in one question ("ferries, measles and the budget")."""
_JOINED = re.compile(r"\s*(?:\band\b|\bor\b|&|,|;|\bplus\b|\bas\s+well\s+as\b)\s*")

LEXICAL_CANDIDATES = 300
SEMANTIC_CANDIDATES = 100
RERANK = 50
GROWTH_ROWS = 256
EMBED_CHUNK = 2048
CACHE_SIZE = 1024
"""Answers kept per retriever, by normalised question: people ask the same things ("latest
news", the story of the day), and "More results" asks the same question again."""

# Calibration of the two signals (see ``fuse``). WordLlama's cosine between a whole question and
# an unrelated item sits around 0.08 +- 0.1 (up to ~0.35), a paraphrase reaches 0.4 - 0.7. The
# few words an item did *not* match score lower against it: a related leftover ("sea" beside
# microplastics, "flower" beside orchid) reaches 0.25 - 0.4, an unrelated one stays under ~0.1.
SEMANTIC_FLOOR = 0.2
SEMANTIC_FULL = 0.7
LEFTOVER_FLOOR = 0.1
LEFTOVER_FULL = 0.5
SEMANTIC_SHARE = 0.7
"""The most of the uncovered share that meaning can fill in."""
LEXICAL_SHARE = 0.97
LEXICAL_POWER = 1.5
"""Coverage is raised to this power: half the query's weight is a maybe, not an answer."""

# Meaning by the sentence encoder (``dense``), for questions the words do not answer. Its cosine
# is not compared with a fixed bar alone: the best item must stand out from the rest of the corpus
# (its lead over the corpus's median item and over the runner-up), and when it shares some words
# with the question, the words it does not share must still be near it in meaning, so that
# "did Ellery Athletic fire the coach?" is not answered by an item about Ellery Athletic's
# relegation. Chosen on the seed, garden and county paraphrase sets (tests/eval).
DENSE_FLOOR = 0.25
"""Below this cosine the sentence encoder sees no relation at all, whatever the corpus."""
DENSE_SPREAD = 0.2
"""The best item's lead over the median item of the corpus."""
DENSE_GAP = 0.02
"""The best item's lead over the runner-up: two unrelated items tied is not an answer (two
tellings of one story tied are, ``_one_story``)."""
DENSE_LEFTOVER = 0.2
"""The least cosine between the item and the question's words it does not match."""
DENSE_LEFTOVER_SHARE = 0.5
"""And at least this share of the whole question's cosine with the item (or synonyms)."""
DENSE_LEFTOVER_SPREAD = 0.15
DENSE_SYNONYM = 0.5
"""Or most of those words have a word in the item at least this near ("shot": "vaccination")."""
"""And its lead over the corpus's median item for those words."""
DENSE_OVERWHELMING = 3 * DENSE_SPREAD
"""A lead this large settles which item is meant, whatever the unmatched words say: a long
question that names the item and adds "how many people, what kind of jobs"."""
DENSE_TIE = 0.04
"""Other items this close to the best one in cosine are answers too ("soccer team")."""
TIE_BREAK = 1.25
"""How many of the corpus's standard deviations the word vectors must put between two items
the encoder ties for them to settle it; above what they put between the tied pair of every
negative question of the seed, garden, county and health sets (at most 1.06)."""
RIVAL_HOLDS = 0.5
"""An item holding this share of the question's weight, more than meaning's pick holds,
says the words and the meaning disagree."""
WORD_CENTRAL = 0.5
"""A question word carrying this share of its weight is what the question is about."""
DENSE_SMALL = 8
"""With fewer items the median says little; a typical unrelated cosine stands in for it."""
DENSE_UNRELATED = 0.1
MEDIAN_SAMPLE = 4096
"""The median of a corpus's cosines is taken over an even sample of this many rows."""
SHORTLIST = 5
"""How many of the first encoder's best items the second encoder ranks again: on every set
(tests/eval and the practice set) MiniLM's top three hold the right item where re-ranking finds
it, and five rank as well as ten at half the cost."""
SECOND_HOPELESS = DENSE_SPREAD / 2
"""MiniLM's best item this little ahead of the corpus's median is no answer, whatever e5 says
(the same verdicts on every set up to 0.15): e5 is not asked."""
SECOND_CLEAR = 0.15
"""MiniLM's best item this far ahead of its runner-up keeps its place after e5's re-ranking (on
every set, from 0.1): e5 is not asked. It is asked where MiniLM is unsure."""
SECOND_SAMPLE = 128
"""Items whose cosines to the second encoder give its scale for a question."""
SECOND_KEPT = 8192
"""The second encoder's item vectors kept in memory (3 MiB); the rest are read from disk."""

Kind = Literal["answer", "did_you_mean", "nothing", "latest", "date"]


class Searchable(Protocol):
    """What the retriever reads of an item; the knowledge's ``NewsItem`` is one.

    A protocol, so that retrieval depends on no other package of the bot.
    """

    @property
    def id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def date(self) -> dt.date: ...
    @property
    def summary(self) -> str: ...
    @property
    def url(self) -> str | None: ...
    @property
    def tags(self) -> Sequence[str]: ...


ItemT = TypeVar("ItemT", bound=Searchable)


class _Default(enum.Enum):
    EMBEDDER = enum.auto()
    DENSE = enum.auto()
    SECOND = enum.auto()


DEFAULT_EMBEDDER: Final = _Default.EMBEDDER
"""Use the process-wide WordLlama model (``embeddings.default_embedder``), its item vectors
cached on disk beside the sentence encoder's (``dense.default_word_vectors``)."""
DEFAULT_DENSE: Final = _Default.DENSE
"""Use the process-wide sentence encoder with its disk cache (``dense.default_dense``)."""
DEFAULT_SECOND: Final = _Default.SECOND
"""Use the process-wide second encoder (e5) with its disk cache (``dense.default_second``)."""


@dataclass(frozen=True, slots=True)
class Hit(Generic[ItemT]):
    """An item and how well it answers the question, in [0, 1]."""

    item: ItemT
    score: float

    def to_json(self) -> dict[str, str | float | None]:
        """The item as ``newsbot ask --json`` prints it."""
        item = self.item
        return {
            "id": item.id,
            "title": item.title,
            "date": item.date.isoformat(),
            "summary": item.summary,
            "url": item.url,
            "score": round(self.score, 4),
        }


@dataclass(frozen=True, slots=True)
class SearchResult(Generic[ItemT]):
    """What the retriever found; ``hits`` is empty unless ``kind`` is answer, latest or date.

    ``did_you_mean`` carries up to three ``suggestions`` and no hits; ``nothing`` carries neither.
    """

    query: str
    kind: Kind
    hits: list[Hit[ItemT]] = field(default_factory=list)
    suggestions: list[Hit[ItemT]] = field(default_factory=list)
    topic: str = ""
    """For "latest" with a topic ("anything new on safety?"): the topic's words."""

    @property
    def top(self) -> list[Hit[ItemT]]:
        """Hits if there are any, else suggestions: the ranking, whatever its confidence."""
        return self.hits or self.suggestions


class _NeedsEncoders(Exception):
    """Raised in ``answer_now``'s search when the sentence encoders would be asked."""


def _unit(values: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """``values`` clipped to [0, 1]; two ufuncs cost less than ``np.clip``'s checks."""
    return np.minimum(np.maximum(values, 0.0), 1.0)


def fuse(coverage: npt.NDArray[np.float32], cosine: npt.NDArray[np.float32]) -> Matrix:
    """One calibrated score from word coverage and embedding cosine.

    ``cosine`` is between an item and the query words it did not match (all of them when it
    matched none). Meaning only fills in the share of the query the words left uncovered, so a
    related item cannot outscore one that holds the question's key word. Each signal is on an
    absolute scale, so the score does not depend on the corpus or on the best hit of the moment.
    """
    covered = _unit(coverage)
    leftover = _unit((cosine - LEFTOVER_FLOOR) / (LEFTOVER_FULL - LEFTOVER_FLOOR))
    alone = _unit((cosine - SEMANTIC_FLOOR) / (SEMANTIC_FULL - SEMANTIC_FLOOR))
    # Beside a word match, meaning fills at most as much again as the words found: a loosely
    # related item ("bitcoin" near "energy prices") must not turn one common word into an answer.
    filled = np.minimum(1.0 - covered, covered) * leftover
    effective = np.where(covered > 0, covered + SEMANTIC_SHARE * filled, SEMANTIC_SHARE * alone)
    return np.asarray(LEXICAL_SHARE * np.power(effective, LEXICAL_POWER), dtype=np.float32)


_Ranking = tuple[npt.NDArray[np.intp], Matrix, npt.NDArray[np.intp], float, Matrix]
"""Rows searched, their cosines to a question, the best few (best first), the corpus's median
cosine, and the question's vector."""
_DenseRanking = tuple[
    npt.NDArray[np.intp], Matrix, npt.NDArray[np.intp], float, Matrix, npt.NDArray[np.intp], Matrix
]
"""A ``_Ranking`` and every live row with its cosine."""

_AnswerKey = tuple[str, int, dt.date, int]
"""A cached answer's question (normalised), limit, today's date and number of rows."""

MEANING_ONLY_MAX = float(fuse(np.zeros(1, np.float32), np.ones(1, np.float32))[0])
"""The best score an item can get without matching a single word of the question."""


class Retriever(Generic[ItemT]):
    """Searches a fixed-at-start, append-only set of news items.

    ``add`` is cheap and makes an item searchable at once. Searching while another thread adds is
    safe (a search sees the items present when it started); two concurrent ``add`` calls are not.
    """

    def __init__(
        self,
        items: Sequence[ItemT],
        *,
        embedder: Embedder | Literal[_Default.EMBEDDER] | None = DEFAULT_EMBEDDER,
        dense: Embedder | Literal[_Default.DENSE] | None = DEFAULT_DENSE,
        second: Embedder | Literal[_Default.SECOND] | None = DEFAULT_SECOND,
        cache_size: int = CACHE_SIZE,
        cache_folder: Path | None = None,
    ) -> None:
        """``cache_folder`` keeps, between starts, the default models' item vectors and the
        word index (``snapshot``); None keeps them in memory only."""
        # Keyed by the number of rows too, so an ``add`` makes every earlier answer a miss.
        self._answers: OrderedDict[_AnswerKey, SearchResult[ItemT]] = OrderedDict()
        self.cache_size = cache_size
        """How many answers are kept; 0 searches every question afresh."""
        self._answers_lock = threading.Lock()  # ``search`` may run in several threads
        self._quick = threading.local()
        """Set while ``answer_now`` searches in this thread: the encoders are not to be asked."""
        self._latest: tuple[int, list[int]] = (-1, [])
        if any(isinstance(given, _Default) for given in (embedder, dense, second)):
            await_preload()  # the bot's start-up began loading them (``dense.preload``)
        self._embedder: Embedder | None = (
            default_word_vectors(cache_folder) if isinstance(embedder, _Default) else embedder
        )
        self._dense: Embedder | None = (
            default_dense(cache_folder) if isinstance(dense, _Default) else dense
        )
        self._second: Embedder | None = None
        """A second sentence encoder; asked only about the first's shortlist (``_blend``)."""
        if self._dense is not None:
            self._second = default_second(cache_folder) if isinstance(second, _Default) else second
        self._second_vectors: dict[int, npt.NDArray[np.float32]] = {}
        """The second encoder's vectors of the rows it was asked about, by row."""
        self._sample: tuple[int, npt.NDArray[np.intp]] = (0, np.zeros(0, dtype=np.intp))
        """The corpus size a sample was drawn at, and the sample (``_second_sample``)."""
        self._lexical = LexicalIndex()
        self._items: list[ItemT] = []
        self._index_of: dict[str, int] = {}
        self._days: set[dt.date] = set()
        dim = self._embedder.dim if self._embedder is not None else 0
        capacity = len(items) + GROWTH_ROWS
        self._vectors: Matrix = np.zeros((capacity, dim), dtype=np.float32)
        dense_dim = self._dense.dim if self._dense is not None else 0
        self._dense_vectors: Matrix = np.zeros((capacity, dense_dim), dtype=np.float32)
        self._ordinals = np.zeros(capacity, dtype=np.int32)
        self._alive = np.zeros(capacity, dtype=bool)
        self._size = 0
        folder = cache_folder
        if folder is None or len(items) < snapshot.MIN_ITEMS:
            self._extend(items)
            self._warm_second()
            return
        texts = [(item.title, item.summary, item.tags) for item in items]
        loaded = snapshot.load(folder, texts)
        indexed, placed = 0, 0
        if loaded is not None:
            self._lexical, indexed, texts_digest = loaded
            placed = indexed if self._map_vectors(folder, texts_digest, indexed) else 0
        self._extend(items, indexed, placed)
        if indexed < len(items) or (self._mappable() and placed < len(items)):
            matrices = {
                model_id: getattr(self, name)[: len(items)]
                for name, model_id in self._mappable_models()
            }
            snapshot.save(folder, self._lexical, texts, matrices, GROWTH_ROWS)
        self._warm_second()

    def _mappable_models(self) -> list[tuple[str, str]]:
        """The item vector matrices (by attribute) with the names of their models, for the
        models whose vectors have a name that outlives the process (an embedding cache's)."""
        pairs = (("_vectors", self._embedder), ("_dense_vectors", self._dense))
        return [
            (name, model.cache.model_id)
            for name, model in pairs
            if isinstance(model, CachedEmbedder)
        ]

    def _mappable(self) -> bool:
        """Whether every model of item vectors can have its matrix kept (``_map_vectors``)."""
        present = sum(model is not None for model in (self._embedder, self._dense))
        return present > 0 and len(self._mappable_models()) == present

    def _map_vectors(self, folder: Path, texts_digest: str, count: int) -> bool:
        """Make the snapshot's matrices (of the first ``count`` items) the item vectors.

        Mapped, not read: nothing is hashed, read or copied at start-up, and a search reads
        rows from the page cache as it touches them. The first items added go into the spare
        rows (this process's copy), later ones make ``_grow`` copy the matrix into memory.
        False, with nothing changed, unless every model's matrix is there for these items.
        """
        if not self._mappable():
            return False
        mapped: list[tuple[str, Matrix]] = []
        for name, model_id in self._mappable_models():
            dim = getattr(self, name).shape[1]
            matrix = snapshot.map_matrix(folder, model_id, texts_digest, count, dim)
            if matrix is None:
                return False
            mapped.append((name, matrix))
        for name, matrix in mapped:
            setattr(self, name, matrix)
        return True

    def _capacity(self) -> int:
        """How many items fit before ``_grow`` (a mapped matrix has only its spare rows)."""
        return min(len(self._alive), len(self._vectors), len(self._dense_vectors))

    def _warm_second(self) -> None:
        """The second encoder's sample, embedded (or read from its cache) with the build, not
        on the first question: a search runs on the bot's event loop."""
        alive = np.flatnonzero(self._alive[: self._size])
        if self._second is not None and len(alive) >= DENSE_SMALL:
            self._second_rows(self._second_sample(alive))

    def __len__(self) -> int:
        return int(self._alive[: self._size].sum())

    @property
    def semantic(self) -> bool:
        """Whether meaning (embeddings) is part of the score, or words only."""
        return self._embedder is not None

    # --- building

    def add(self, item: ItemT) -> None:
        """Make ``item`` searchable now; an item with the same id replaces the old one."""
        self._extend([item])

    def add_many(self, items: Sequence[ItemT]) -> None:
        """``add`` for several items at once (one embedding pass)."""
        self._extend(items)

    def _extend(self, items: Sequence[ItemT], indexed: int = 0, placed: int = 0) -> None:
        """Append ``items``; the first ``indexed`` of them are in the word index already, and
        the vectors of the first ``placed`` are in their rows already (``_map_vectors``)."""
        if not items:
            return
        start = self._size
        needed = start + len(items)
        if needed > self._capacity():
            # Modest headroom: doubling would double the embedding matrix on the first broadcast.
            self._grow(needed + max(GROWTH_ROWS, needed // 8))
        for first in range(placed, len(items), EMBED_CHUNK):  # bounded temporary memory
            texts = [dense_text(item) for item in items[first : first + EMBED_CHUNK]]
            rows_at = slice(start + first, start + first + len(texts))
            keys = text_keys(texts) if self._embedder or self._dense else []
            if self._embedder is not None:
                self._vectors[rows_at] = _embed_items(self._embedder, texts, keys)
            if self._dense is not None:
                self._dense_vectors[rows_at] = _embed_items(self._dense, texts, keys)
        self._lexical.add_many([_document(item) for item in items[indexed:]])
        # An id seen before (earlier, or earlier in this batch) is replaced by its last item.
        positions = dict(zip((item.id for item in items), range(start, needed), strict=True))
        stale = [self._index_of[i] for i in positions if i in self._index_of]
        self._alive[start:needed] = True
        if len(positions) < len(items):
            self._alive[start:needed] = False
            self._alive[list(positions.values())] = True
        self._alive[stale] = False
        self._index_of.update(positions)
        self._items.extend(items)
        days = [item.date for item in items]
        self._ordinals[start:needed] = np.fromiter(
            (day.toordinal() for day in days), dtype=np.int32, count=len(days)
        )
        self._days.update(days)
        self._size = needed  # last, so a concurrent search never sees a half-added item

    def _grow(self, capacity: int) -> None:
        vectors = np.zeros((capacity, self._vectors.shape[1]), dtype=np.float32)
        vectors[: self._size] = self._vectors[: self._size]
        dense = np.zeros((capacity, self._dense_vectors.shape[1]), dtype=np.float32)
        dense[: self._size] = self._dense_vectors[: self._size]
        self._dense_vectors = dense
        ordinals = np.zeros(capacity, dtype=np.int32)
        ordinals[: self._size] = self._ordinals[: self._size]
        alive = np.zeros(capacity, dtype=bool)
        alive[: self._size] = self._alive[: self._size]
        self._vectors, self._ordinals, self._alive = vectors, ordinals, alive

    # --- queries

    def latest(self, count: int) -> list[ItemT]:
        """The newest ``count`` items, newest first; items of one day keep their file order."""
        size, order = self._latest
        if size != self._size:  # sorted once per change of the items, not once per question
            size = self._size
            order = self._by_date(np.flatnonzero(self._alive[:size]))
            self._latest = (size, order)
        return [self._items[i] for i in order[: max(count, 0)]]

    def answer_now(
        self, query: str, *, limit: int = 5, today: dt.date | None = None
    ) -> SearchResult[ItemT] | None:
        """``search``'s answer if it is kept or needs no sentence encoder, else None.

        A question the words settle costs a fraction of a millisecond; one that needs the
        encoders costs tens (``_meaning``), and a caller on an event loop asks ``search`` in a
        worker thread for those: None says so, having spent no time on the encoders.
        """
        self._quick.active = True
        try:
            return self.search(query, limit=limit, today=today)
        except _NeedsEncoders:
            return None
        finally:
            self._quick.active = False

    def search(
        self, query: str, *, limit: int = 5, today: dt.date | None = None
    ) -> SearchResult[ItemT]:
        """Rank the items for ``query``; any text is accepted and answered quickly."""
        key = (_question_text(query), max(limit, 1), today or dt.date.today(), self._size)
        with self._answers_lock:
            result = self._answers.get(key)
            if result is not None:
                self._answers.move_to_end(key)
        if result is None:
            result = self._search(*key)
            with self._answers_lock:
                self._answers[key] = result
                while len(self._answers) > self.cache_size:
                    self._answers.popitem(last=False)
        return result if result.query == query else dataclasses.replace(result, query=query)

    def _search(self, query: str, limit: int, today: dt.date, size: int) -> SearchResult[ItemT]:
        """``search`` for the normalised ``query``, over the first ``size`` rows."""
        when = parse_date_query(query, today=today, known_dates=self._days)
        if when.count is not None:
            limit = min(limit, when.count)  # "the 3 latest news"
        units = self._lexical.query_terms(when.topic)
        if when.has_range:
            if self._has_news_within(when, size) or not units:
                dated = self._dated(query, when, units, size, limit)
                if dated.kind != "nothing" or not when.vague:
                    return dated
            # No news at all on that day: the date words may be the topic ("4th of July
            # fireworks" published on 30 June), so the whole question is searched instead.
            # So too a bare month among topic words with nothing in that month ("bridge closed
            # until april": the closure was reported in October).
            when = dataclasses.replace(when, start=None, end=None, topic=query)
            units = self._lexical.query_terms(query)
        if when.recency:
            return self._newest(query, when, units, size, limit)
        return self._topical(query, when.topic, units, size, limit)

    def _has_news_within(self, when: DateQuery, size: int) -> bool:
        assert when.start is not None and when.end is not None
        ordinals = self._ordinals[:size]
        within = (ordinals >= when.start.toordinal()) & (ordinals <= when.end.toordinal())
        return bool((within & self._alive[:size]).any())

    def _topical(
        self,
        query: str,
        topic: str,
        units: list[QueryTerm],
        size: int,
        limit: int,
        *,
        whole: bool = True,
    ) -> SearchResult[ItemT]:
        """A question without a date: words first, then meaning when the words are unsure;
        then, for a ``whole`` question, each of the topics it joins."""
        if not units:
            return SearchResult(query, "nothing")
        candidates, scores = self._rank(units, size, exact_top=limit)
        result = self._by_confidence(query, candidates, scores, limit, "answer")
        if result.kind == "answer":
            return result
        meant = self._meaning(topic, units, size, None, limit)
        if meant is not None:
            return SearchResult(query, "answer", hits=self._hits(*meant, len(meant[0])))
        joined = self._each_topic(query, topic, size, limit) if whole else None
        return joined or result

    def _each_topic(
        self, query: str, topic: str, size: int, limit: int
    ) -> SearchResult[ItemT] | None:
        """ "child labour and tourism": no item is about both, but each topic alone is
        answered; their answers, taking turns. None unless every topic is answered."""
        parts = [part for part in _JOINED.split(topic) if part.strip()]
        if not 2 <= len(parts) <= MAX_JOINED:
            return None
        answers: list[list[Hit[ItemT]]] = []
        for part in parts:
            units = self._lexical.query_terms(part)
            found = self._topical(query, part, units, size, limit, whole=False)
            if found.kind != "answer":
                return None
            answers.append(found.hits)
        hits: list[Hit[ItemT]] = []
        seen: set[str] = set()
        for turn in itertools.zip_longest(*answers):
            for hit in turn:
                if hit is not None and hit.item.id not in seen:
                    seen.add(hit.item.id)
                    hits.append(hit)
        return SearchResult(query, "answer", hits=hits[:limit])

    def score_item(self, query: str, item_id: str) -> float:
        """How well the item ``item_id`` matches ``query`` (0 if unknown); for keyword alerts."""
        index = self._index_of.get(item_id)
        if index is None or not self._alive[index]:
            return 0.0
        units = self._lexical.query_terms(_question_text(query))
        if not units:
            return 0.0
        coverage = self._lexical.coverage(units, self._size)
        one = np.array([index])
        rest = self._rest_cosines(units, one, coverage.matched[one])
        return float(fuse(coverage.scores[one], rest)[0])

    def matches(self, query: str, item_id: str) -> bool:
        """Whether item ``item_id`` is an answer to ``query`` ("follow child labour" alerts)."""
        return self.score_item(query, item_id) >= ANSWER_THRESHOLD

    # --- internals

    def _rank(
        self,
        units: Sequence[QueryTerm],
        size: int,
        within: npt.NDArray[np.bool_] | None = None,
        *,
        exact_top: int | None = None,
    ) -> tuple[npt.NDArray[np.intp], Matrix]:
        """Candidates (lexical and semantic), best first, with their fused scores.

        With ``exact_top``, only that many leading results need to be right: when words alone
        already put that many items above anything meaning alone could score, the scan of all
        embeddings is skipped; no item that could outscore them is missed (ties may reorder).
        """
        allowed = self._alive[:size] if within is None else (self._alive[:size] & within)
        coverage = self._lexical.coverage(units, size)
        lexical = coverage.scores
        lexical[~allowed] = 0.0
        pools = [self._lexical_pool(lexical, size)]
        topic = _unmatched_text(units, 0)
        query: npt.NDArray[np.float32] | None = None
        if self._embedder is not None and size and topic:
            query = _embed_query(self._embedder, topic)
            if not _words_suffice(lexical[pools[0]], exact_top):
                pools.append(self._semantic_pool(query, size, allowed, within is not None))
        candidates = np.unique(np.concatenate(pools))
        candidates = candidates[allowed[candidates]]
        if query is not None:
            full = self._vectors[candidates] @ query
        else:
            full = np.zeros(len(candidates), dtype=np.float32)
        # A first cut with the whole question's cosine; then meaning is asked only about the
        # words an item did not match, so a shared word is not rewarded twice.
        first = fuse(lexical[candidates], full)
        keep = _top(first, RERANK, positive=False)
        candidates, full = candidates[keep], full[keep]
        rest = self._rest_cosines(units, candidates, coverage.matched[candidates])
        scores = fuse(lexical[candidates], rest)
        # Ties go to the item closer in meaning to the whole question, then to the newer one.
        order = np.lexsort((-self._ordinals[candidates], -full, -scores))
        return candidates[order], scores[order]

    def _meaning(
        self,
        topic: str,
        units: Sequence[QueryTerm],
        size: int,
        within: npt.NDArray[np.bool_] | None,
        limit: int,
        *,
        several: bool = False,
    ) -> tuple[npt.NDArray[np.intp], Matrix] | None:
        """The items the sentence encoder is sure answer ``topic``, best first; None if unsure.

        With ``several`` (the newest news on a topic), look-alikes tied at the top are all
        answers, not a doubt about which one is meant.
        """
        if self._dense is None or not size:
            return None
        if getattr(self._quick, "active", False):
            raise _NeedsEncoders
        text = topic.strip()
        if not text or not _unmatched_text(units, 0):
            return None
        ranked = self._dense_ranking(text, size, within, limit)
        if ranked is None:
            return None
        rows, cosine, order, middle, query, alive, every = ranked
        alone: _Ranking = (rows, cosine, order, middle, query)
        lead = float(cosine[order[0]]) - middle
        gap = float(cosine[order[0]] - cosine[order[1]]) if len(order) > 1 else 1.0
        if (
            self._second is None
            or len(alive) < DENSE_SMALL
            or lead < SECOND_HOPELESS
            or gap >= SECOND_CLEAR
        ):
            return self._judge(units, size, limit, several, text, alone)
        # A second opinion (``_blend``) settles which item is meant. Where it picks the first
        # encoder's item, its doubt about the margin does not undo the first's confidence.
        blended = self._blend(text, alive, every, rows, cosine, order[:SHORTLIST])
        reordered = order[np.argsort(-blended[order], kind="stable")]
        found = self._judge(
            units, size, limit, several, text, (rows, blended, reordered, middle, query)
        )
        if found is None and reordered[0] == order[0]:
            found = self._judge(units, size, limit, several, text, alone)
        return found

    def _judge(
        self,
        units: Sequence[QueryTerm],
        size: int,
        limit: int,
        several: bool,
        text: str,
        ranked: _Ranking,
    ) -> tuple[npt.NDArray[np.intp], Matrix] | None:
        """``_meaning``'s verdict on one ranking: rows, their cosines, the best few, the median."""
        rows, cosine, order, middle, query = ranked
        best = float(cosine[order[0]])
        second = float(cosine[order[1]]) if len(order) > 1 else DENSE_UNRELATED
        if best < DENSE_FLOOR or best - middle < DENSE_SPREAD:
            return None
        tied = best - second < DENSE_GAP
        # A tie the word vectors clearly settle is no doubt; one they don't is, unless the two
        # are one story told twice or the newest of several is asked for.
        settled = self._settle_tie(text, rows, order[:2]) if tied and not several else None
        doubt = tied and settled is None and not several
        if doubt and not self._one_story(rows[order[0]], rows[order[1]], best):
            return None
        # Several on one topic: every item nearer the best one than the corpus's median item.
        near = (best + middle) / 2 if several else best - DENSE_TIE
        if settled is not None:
            chosen = [settled]
        else:
            chosen = [int(i) for i in order if cosine[i] >= near][:limit]
        picked = rows[chosen]
        cosine_of = {int(rows[i]): float(cosine[i]) for i in chosen}
        coverage = self._lexical.coverage(units, size)
        if self._word_points_elsewhere(units, int(picked[0]), coverage.matched, size, query):
            return None
        if self._words_hold_elsewhere(coverage.scores, int(picked[0]), size):
            return None
        kept = []
        for index in picked:
            mask = int(coverage.matched[index])
            rest = _unmatched_text(units, mask) if mask else ""
            overwhelming = cosine_of[int(index)] - middle >= DENSE_OVERWHELMING
            whole = cosine_of[int(index)]
            if rest and not overwhelming and not self._explains(int(index), rest, rows, whole):
                continue
            kept.append(int(index))
        if not kept or kept[0] != int(picked[0]):
            return None
        found = np.asarray(kept, dtype=np.intp)
        lead = min((best - middle) / (2 * DENSE_SPREAD), 1.0)
        relative = np.asarray([cosine_of[int(i)] for i in found], dtype=np.float32) / best
        scores = ANSWER_THRESHOLD + (1 - ANSWER_THRESHOLD) * lead * np.minimum(relative, 1.0)
        return found, np.asarray(np.maximum(scores, ANSWER_THRESHOLD), dtype=np.float32)

    def _dense_ranking(
        self, text: str, size: int, within: npt.NDArray[np.bool_] | None, limit: int
    ) -> _DenseRanking | None:
        """Rows searched, their cosines to ``text``, the best few (best first), the median;
        then every live row and its cosine (what ``_blend`` takes the encoders' scales from).

        The median is over the whole corpus even when ``within`` (a date range) narrows the
        rows: how far an item stands out is a matter of the corpus, not of one day's news.
        """
        assert self._dense is not None
        alive = np.flatnonzero(self._alive[:size])
        if not len(alive):
            return None
        query = _embed_query(self._dense, text)
        # One pass over the rows in place (indexing them first would copy the whole matrix).
        every = (self._dense_vectors[:size] @ query)[alive]
        middle = self._median(every, len(alive))
        if within is None:
            rows, cosine = alive, every
        else:
            inside = within[alive]
            rows, cosine = alive[inside], every[inside]
            if not len(rows):
                return None
        order = _top(cosine, min(len(rows), max(limit, 2) + 8), positive=False)
        order = order[np.argsort(-cosine[order], kind="stable")]
        return rows, cosine, order, middle, query, alive, every

    def _blend(
        self,
        text: str,
        alive: npt.NDArray[np.intp],
        every: Matrix,
        rows: npt.NDArray[np.intp],
        cosine: Matrix,
        short: npt.NDArray[np.intp],
    ) -> Matrix:
        """``cosine`` with the shortlist's values averaged with the second encoder's opinion.

        Two models' cosines are on different scales (e5's sit between 0.7 and 0.9), so the
        second's are put on the first's: as many of its standard deviations above its mean
        over the corpus (an even sample of ``SECOND_SAMPLE`` items) as the first's scale says.
        Only the shortlist is asked; the rest keep the first encoder's cosine, far below.
        """
        assert self._second is not None
        sample = self._second_sample(alive)
        vectors = self._second_rows(np.concatenate([rows[short], sample]))
        asked = vectors @ _embed_query(self._second, text)
        first = np.concatenate([cosine[short], every[np.searchsorted(alive, sample)]])
        # Each model's cosines as standard deviations above its mean over the sample; their
        # mean has a smaller spread than either (they disagree a little), so it is put back on
        # the first encoder's scale by its own spread over the sample.
        usual = slice(len(short), None)
        spreads = float(first[usual].std()), float(asked[usual].std())
        if min(spreads) <= 0:
            return cosine
        both = (first - first[usual].mean()) / spreads[0] + (
            asked - asked[usual].mean()
        ) / spreads[1]
        spread = float(both[usual].std())
        if spread <= 0:
            return cosine
        blended = cosine.copy()
        blended[short] = first[usual].mean() + both[: len(short)] / spread * spreads[0]
        return blended

    def _second_sample(self, alive: npt.NDArray[np.intp]) -> npt.NDArray[np.intp]:
        """An even sample of the live rows, kept while the corpus stays within twice its size.

        Kept so that adding an item does not shift the sample and send ``SECOND_SAMPLE`` new
        items through the second encoder; rows that died (an item replaced) are left out, and
        a sample left with too few live rows is drawn again.
        """
        corpus, sample = self._sample
        living = sample[self._alive[sample]]
        if not corpus // 2 <= len(alive) <= 2 * corpus or len(living) < DENSE_SMALL:
            living = alive[:: max(1, len(alive) // SECOND_SAMPLE)][:SECOND_SAMPLE]
            self._sample = (len(alive), living)
        return living

    def _second_rows(self, rows: npt.NDArray[np.intp]) -> Matrix:
        """The second encoder's vectors of ``rows``, embedded (or read from its cache) once."""
        assert self._second is not None
        known = self._second_vectors
        if len(known) > SECOND_KEPT:  # the disk cache holds them all; memory holds the recent
            self._second_vectors = known = {}
        # Read once into a local dict: another thread's search may add to (or drop) ``known``.
        found = {int(r): vector for r in rows if (vector := known.get(int(r))) is not None}
        missing = sorted({int(r) for r in rows} - found.keys())
        if missing:
            texts = [dense_text(self._items[r]) for r in missing]
            fresh = _embed_items(self._second, texts, text_keys(texts))
            found.update(zip(missing, fresh, strict=True))
            known.update(zip(missing, fresh, strict=True))
        return np.asarray([found[int(r)] for r in rows], dtype=np.float32)

    def _word_points_elsewhere(
        self,
        units: Sequence[QueryTerm],
        index: int,
        matched: npt.NDArray[np.int64],
        size: int,
        query: Matrix,
    ) -> bool:
        """Whether the question's central word is held, and better meant, by rival items.

        "ferry to paris": items about ferries hold "ferry"; a cruise item is nearer the question
        as a whole, but further from "ferry" than they are, and they are near the question too:
        the words and the meaning disagree, so meaning alone does not answer.
        """
        assert self._dense is not None
        held = [
            (unit.weight, bit)
            for bit, unit in enumerate(units)
            if not unit.filler and any(quality >= 1.0 for _, quality in unit.alternatives)
        ]
        if not held:
            return False
        weight, bit = max(held)
        total = sum(unit.weight for unit in units)
        if (int(matched[index]) >> bit) & 1 or weight < WORD_CENTRAL * total:
            return False
        holders = np.flatnonzero(((matched[:size] >> bit) & 1).astype(bool) & self._alive[:size])
        if not len(holders):
            return False
        word = _embed_query(self._dense, units[bit].text)
        to_word = self._dense_vectors[holders] @ word
        alive = np.flatnonzero(self._alive[:size])
        sample = alive[:: max(1, len(alive) // MEDIAN_SAMPLE)]
        usual = self._median(self._dense_vectors[sample] @ word, len(alive))
        # A rival is about the word (not holding it in passing: "local" in "Local elections"),
        # nearer to it than the pick, and near the whole question too.
        about = (to_word - usual >= DENSE_SPREAD) & (to_word > self._dense_vectors[index] @ word)
        rival = self._dense_vectors[holders[about]] @ query
        return bool((rival >= self._dense_vectors[index] @ query - DENSE_SPREAD / 2).any())

    def _words_hold_elsewhere(self, held: Matrix, index: int, size: int) -> bool:
        """Whether another item holds most of the question's words, and more than the pick,
        which holds some of them.

        "measles outbreak at Northgate Middle School": the encoder prefers the measles case at
        another school, an item holds "Northgate Middle School": neither is the answer. A pick
        that holds none of the words is meaning's answer to a question in other words, where
        an item holding its plain words is no rival ("soccer team": an item holds "team").
        Neutral on every evaluation set (tests/eval, the practice set).
        """
        rivals = np.where(self._alive[:size], held[:size], 0.0)
        rivals[index] = 0.0
        best = float(rivals.max(initial=0.0))
        return best >= RIVAL_HOLDS and best > float(held[index]) > 0.0

    def _settle_tie(
        self, text: str, rows: npt.NDArray[np.intp], pair: npt.NDArray[np.intp]
    ) -> int | None:
        """Which of two items the encoder ties for ``text`` the word vectors clearly prefer.

        A second opinion from another model: WordLlama's cosines put on the corpus's own scale
        (standard deviations above its mean), the preferred item must lead the other by
        ``TIE_BREAK`` of them; otherwise the tie stands and nothing is answered. Returns the
        position in ``rows`` of the preferred item.
        """
        if self._embedder is None or len(rows) < DENSE_SMALL:
            return None
        vector = _embed_query(self._embedder, text)
        sample = rows[:: max(1, len(rows) // MEDIAN_SAMPLE)]
        usual = self._vectors[sample] @ vector
        spread = float(usual.std())
        if spread <= 0:
            return None
        first, second = (self._vectors[rows[pair]] @ vector).tolist()
        if abs(first - second) < TIE_BREAK * spread:
            return None
        return int(pair[0] if first > second else pair[1])

    def _one_story(self, first: int, second: int, cosine: float) -> bool:
        """Whether two items tied for a question are one story told twice, not two stories.

        They are when they are nearer each other than either is to the question: three items on
        the football club tie for "soccer team" and all answer it; a library and a railway item
        tied for "chocolate factory closing" mean the question matched neither.
        """
        return float(self._dense_vectors[first] @ self._dense_vectors[second]) >= cosine

    def _explains(self, index: int, rest: str, rows: npt.NDArray[np.intp], whole: float) -> bool:
        """Whether item ``index`` is near in meaning to ``rest``, the words it did not match.

        Near on an absolute scale, and nearer than the corpus's median item by a clear margin:
        "visiting hours" is loosely about any hospital item, but no more than about a castle.
        """
        assert self._dense is not None
        vector = _embed_query(self._dense, rest)
        cosine = float(self._dense_vectors[index] @ vector)
        if cosine < DENSE_LEFTOVER:
            return False
        if len(rows) >= DENSE_SMALL:
            sample = rows[:: max(1, len(rows) // MEDIAN_SAMPLE)]
            middle = self._median(self._dense_vectors[sample] @ vector, len(rows))
            if cosine - middle < DENSE_LEFTOVER_SPREAD:
                return False
        return cosine >= DENSE_LEFTOVER_SHARE * whole or self._words_have_synonyms(index, rest)

    def _words_have_synonyms(self, index: int, rest: str) -> bool:
        """Whether most words of ``rest`` have a near synonym among item ``index``'s words.

        "shot" has "vaccination" beside it and "scientists" "researchers"; "pacemaker" has no
        word nearer than "pump": a sibling, not the same thing.
        """
        assert self._dense is not None
        asked = rest.split()
        item = self._items[index]
        own = sorted(set(content_words(f"{item.title} {item.summary}")))
        if not asked or not own:
            return False
        vectors = _embed_words(self._dense, [*asked, *own])
        nearest = (vectors[: len(asked)] @ vectors[len(asked) :].T).max(axis=1)
        return 2 * int((nearest >= DENSE_SYNONYM).sum()) >= len(asked)

    @staticmethod
    def _median(cosine: Matrix, corpus: int) -> float:
        """The corpus's median cosine, from an even sample of at most ``MEDIAN_SAMPLE`` rows."""
        if corpus < DENSE_SMALL:
            return DENSE_UNRELATED
        return float(np.median(cosine[:: max(1, len(cosine) // MEDIAN_SAMPLE)]))

    def _lexical_pool(self, lexical: Matrix, size: int) -> npt.NDArray[np.intp]:
        """The best word matches; among equal ones (common in big corpora) the newest."""
        matching = np.flatnonzero(lexical > 0)
        if len(matching) <= LEXICAL_CANDIDATES:
            return matching
        days = self._ordinals[matching].astype(np.float64)
        span = max(float(days.max() - days.min()), 1.0)
        key = lexical[matching].astype(np.float64) + 1e-6 * (days - days.min()) / span
        return matching[np.argpartition(key, -LEXICAL_CANDIDATES)[-LEXICAL_CANDIDATES:]]

    def _semantic_pool(
        self,
        query: npt.NDArray[np.float32],
        size: int,
        allowed: npt.NDArray[np.bool_],
        narrowed: bool,
    ) -> npt.NDArray[np.intp]:
        """The allowed items closest in meaning to ``query``."""
        if narrowed:
            rows = np.flatnonzero(allowed)
            if len(rows) * 4 < size:  # a date range: scan only its rows
                cosine = self._vectors[rows] @ query
                return rows[_top(cosine, SEMANTIC_CANDIDATES, positive=False)]
        cosine = self._vectors[:size] @ query
        cosine[~allowed] = -1.0
        return _top(cosine, SEMANTIC_CANDIDATES, positive=False)

    def _rest_cosines(
        self,
        units: Sequence[QueryTerm],
        candidates: npt.NDArray[np.intp],
        matched: npt.NDArray[np.int64],
    ) -> Matrix:
        """Per candidate, the cosine between it and the query words it did not match."""
        rest = np.zeros(len(candidates), dtype=np.float32)
        if self._embedder is None or not len(candidates):
            return rest
        masks = np.unique(matched)
        texts = [_unmatched_text(units, int(mask)) for mask in masks]
        wanted = [i for i, text in enumerate(texts) if text]
        if not wanted:
            return rest
        vectors = [_embed_query(self._embedder, texts[i]) for i in wanted]
        for vector, i in zip(vectors, wanted, strict=True):
            group = matched == masks[i]
            rest[group] = self._vectors[candidates[group]] @ vector
        return rest

    def _by_confidence(
        self,
        query: str,
        candidates: npt.NDArray[np.intp],
        scores: Matrix,
        limit: int,
        kind: Kind,
    ) -> SearchResult[ItemT]:
        if not len(candidates) or scores[0] < SUGGEST_THRESHOLD:
            return SearchResult(query, "nothing")
        if scores[0] < ANSWER_THRESHOLD:
            count = min(MAX_SUGGESTIONS, int((scores >= SUGGEST_THRESHOLD).sum()))
            return SearchResult(
                query, "did_you_mean", suggestions=self._hits(candidates, scores, count)
            )
        count = min(limit, int((scores >= ANSWER_THRESHOLD).sum()))
        return SearchResult(query, kind, hits=self._hits(candidates, scores, count))

    def _hits(
        self, candidates: npt.NDArray[np.intp], scores: Matrix, count: int
    ) -> list[Hit[ItemT]]:
        return [
            Hit(self._items[int(i)], round(float(s), 4))
            for i, s in zip(candidates[:count], scores[:count], strict=True)
        ]

    def _dated(
        self, query: str, when: DateQuery, units: list[QueryTerm], size: int, limit: int
    ) -> SearchResult[ItemT]:
        assert when.start is not None and when.end is not None
        ordinals = self._ordinals[:size]
        within = (ordinals >= when.start.toordinal()) & (ordinals <= when.end.toordinal())
        if not units:
            order = self._by_date(np.flatnonzero(within & self._alive[:size]))
            if not len(order):
                return SearchResult(query, "nothing")
            return SearchResult(
                query, "date", hits=[Hit(self._items[i], 1.0) for i in order[:limit]]
            )
        candidates, scores = self._rank(units, size, within)
        # The day already narrows the news; a topic that is only a maybe elsewhere is enough here.
        keep = scores >= SUGGEST_THRESHOLD
        if not keep.any():
            meant = self._meaning(when.topic, units, size, within, limit)
            if meant is None:
                return SearchResult(query, "nothing")
            return SearchResult(query, "date", hits=self._hits(*meant, len(meant[0])))
        return SearchResult(
            query,
            "date",
            hits=self._hits(candidates[keep], scores[keep], min(limit, int(keep.sum()))),
        )

    def _newest(
        self, query: str, when: DateQuery, units: list[QueryTerm], size: int, limit: int
    ) -> SearchResult[ItemT]:
        if not units:
            items = self.latest(limit)
            if not items:
                return SearchResult(query, "nothing")
            return SearchResult(query, "latest", hits=[Hit(item, 1.0) for item in items])
        candidates, scores = self._rank(units, size)
        # About the topic, not naming it in passing ("ferries" in an item on a transit levy):
        # near the best-scored item, as well as above the answer threshold.
        top = float(scores[0]) if len(scores) else 0.0
        relevant = scores >= max(ANSWER_THRESHOLD, top - LATEST_MARGIN)
        # The newest of the items on the topic, by its words or by their meaning: the newest
        # report on the club need not name it the way the question does ("the football club").
        meant = self._meaning(when.topic, units, size, None, limit, several=True)
        if not relevant.any() and meant is None:
            return self._by_confidence(query, candidates, scores, limit, "latest")
        candidates, scores = candidates[relevant], scores[relevant]
        if meant is not None and len(candidates):
            # Beside items the words answer, meaning adds only items holding some of the words.
            holds = self._lexical.coverage(units, size).scores[meant[0]] > 0
            meant = meant[0][holds], meant[1][holds]
        if meant is not None:
            fresh = ~np.isin(meant[0], candidates)
            candidates = np.concatenate([candidates, meant[0][fresh]])
            scores = np.concatenate([scores, meant[1][fresh]])
        order = np.lexsort((-scores, -self._ordinals[candidates]))[:limit]
        topic = " ".join(unit.text for unit in units if not unit.filler)
        return SearchResult(
            query,
            "latest",
            hits=self._hits(candidates[order], scores[order], len(order)),
            topic=topic,
        )

    def _by_date(self, indices: npt.NDArray[np.intp]) -> list[int]:
        """``indices`` newest first; one day's items in the order they were added."""
        order = np.lexsort((indices, -self._ordinals[indices]))
        return [int(i) for i in indices[order]]


def _document(item: Searchable) -> Document:
    return Document(item.title, item.summary, tuple(item.tags))


def dense_text(item: Searchable) -> str:
    """What the sentence encoder reads of an item (and what its cache is keyed by)."""
    return f"{item.title}. {item.summary}"


def _embed_items(embedder: Embedder, texts: Sequence[str], keys: Sequence[bytes]) -> Matrix:
    """Item vectors; a cached embedder is handed the texts' keys, hashed once for both models."""
    if isinstance(embedder, CachedEmbedder):
        return embedder.embed(texts, keys=keys)
    return embedder.embed(texts)


def _embed_words(dense: Embedder, words: Sequence[str]) -> Matrix:
    embed_words = getattr(dense, "embed_words", None)
    if embed_words is not None:
        vectors: Matrix = embed_words(words)
        return vectors
    return dense.embed(words)


def _embed_query(dense: Embedder, text: str) -> npt.NDArray[np.float32]:
    embed_query = getattr(dense, "embed_query", None)
    if embed_query is not None:
        vector: npt.NDArray[np.float32] = embed_query(text)
        return vector
    return np.ascontiguousarray(dense.embed([text])[0], dtype=np.float32)


def _question_text(query: str) -> str:
    """What is searched for ``query``: cut to ``MAX_QUERY_CHARS``, normalised, one space apart."""
    return " ".join(normalize(query[:MAX_QUERY_CHARS])[:MAX_QUERY_CHARS].split())


def _words_suffice(coverage: npt.NDArray[np.float32], exact_top: int | None) -> bool:
    """Whether ``exact_top`` items already score more on words alone than any meaning-only item."""
    if exact_top is None or len(coverage) < exact_top:
        return False
    floor = fuse(coverage, np.full(len(coverage), -1.0, dtype=np.float32))
    return int((floor >= MEANING_ONLY_MAX).sum()) >= exact_top


def _unmatched_text(units: Sequence[QueryTerm], matched: int) -> str:
    """The topic words of ``units`` whose bit is not set in ``matched`` (0: all of them)."""
    return " ".join(
        unit.text for bit, unit in enumerate(units) if not unit.filler and not (matched >> bit) & 1
    )


def _top(values: Matrix, count: int, *, positive: bool) -> npt.NDArray[np.intp]:
    """Indices of the ``count`` largest values (only those above zero if ``positive``)."""
    if positive:
        nonzero = np.flatnonzero(values > 0)
        if len(nonzero) <= count:
            return nonzero
        best = np.argpartition(values[nonzero], -count)[-count:]
        return nonzero[best]
    if len(values) <= count:
        return np.arange(len(values))
    return np.argpartition(values, -count)[-count:]
