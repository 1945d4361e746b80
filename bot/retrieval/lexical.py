"""The word index: term postings with BM25-style strengths, IDF weights and typo correction.

Each posting stores how strongly an item holds a term, in (0, 1]: a term anywhere counts about
two thirds, a term in the title or tags counts more, repetition (saturated as in BM25, length
normalised) adds the rest. A query is scored by *weighted coverage*: the share of its terms'
IDF weight that an item holds, so the score means the same thing on any corpus and needs no
normalising by the best hit. Query words the index does not know are corrected against its
vocabulary (``rapidfuzz`` over words of similar length) before they count as missing.

Memory: two 4-byte numbers per (item, distinct term) posting, plus the vocabulary.
"""

from __future__ import annotations

import bisect
import math
from array import array
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.retrieval.aliases import Alias, find_aliases
from bot.retrieval.text import (
    QUERY_FILLER,
    content_words,
    is_content_word,
    is_stop_typo,
    term,
    words,
)

Vector = npt.NDArray[np.float32]

TITLE_WEIGHT = 2.0
TAG_WEIGHT = 1.5
K1 = 1.2
B = 0.5
BASE_STRENGTH = 0.7
FIELD_BONUS = 0.2
FILLER_WEIGHT = 0.15
"""Asking words ("news", "show", "new") still count when they match, at this share of weight."""
NUMBER_WEIGHT = 0.5
"""Numbers are often incidental ("iphone 15"): half weight when the index does not know them."""
FUZZY_PENALTY = 0.15
UNKNOWN_SHARE = 0.7
"""A query word no item contains ("statistics" in "child labour statistics") weighs this share of
the rarest word: enough that a question about something absent finds nothing, not so much that
one extra word turns a clear answer into a "did you mean"."""
MIN_PREFIX = 4
"""A clipped word of at least this many letters may stand for the index words it begins."""
"""Quality lost per edit when a query word is corrected to an index word."""
FUZZY_CACHE_SIZE = 4096
CHUNK = 2048
MAX_QUERY_UNITS = 32
"""A question longer than this many topic words is cut; each unit is one bit of a mask."""
PHRASE_QUALITY = 0.9
"""An acronym's phrase, partly named ("the Transit Authority" for ERTA), counts at most this."""


def max_edits(length: int) -> int:
    """Edits tolerated when correcting a word of ``length`` letters (none for short words)."""
    if length < 4:
        return 0
    if length < 8:
        return 1
    return 2


class Document(NamedTuple):
    """The text of one item as the index sees it (a tuple: 100,000 of them are made at start)."""

    title: str
    body: str
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class QueryTerm:
    """One unit of a query: its weight and the index terms that satisfy it, with their quality."""

    text: str
    weight: float
    alternatives: tuple[tuple[str, float], ...]
    filler: bool = False
    phrase: tuple[tuple[str, float], ...] = ()
    """For an acronym: its phrase's terms and their weights, matched in part."""


@dataclass(frozen=True, slots=True)
class Coverage:
    """Per item: the share of the query's weight it holds, and which units it matched (bits)."""

    scores: Vector
    matched: npt.NDArray[np.int64]


@dataclass(slots=True)
class _Postings:
    docs: array[int] = field(default_factory=lambda: array("i"))
    strengths: array[float] = field(default_factory=lambda: array("f"))


@dataclass(slots=True)
class _Analyzed:
    title: list[str]
    body: list[str]
    tags: list[str]
    surfaces: set[str]


class LexicalIndex:
    """An append-only inverted index over items' title, summary and tags."""

    def __init__(self) -> None:
        self._postings: dict[str, _Postings] = {}
        self._surfaces: dict[str, str] = {}
        self._by_length: dict[int, list[str]] = {}
        self._sorted_surfaces: list[str] | None = None  # for prefix look-ups; None = stale
        self._aliases: dict[str, Alias] = {}
        self._phrases: dict[str, list[Alias]] = {}  # first term of a phrase -> its aliases
        self._lengths: list[int] = []
        self._total_length = 0
        self._fuzzy_cache: dict[str, tuple[tuple[str, int], ...]] = {}

    @property
    def size(self) -> int:
        return len(self._lengths)

    @property
    def vocabulary_size(self) -> int:
        return len(self._postings)

    @property
    def aliases(self) -> tuple[Alias, ...]:
        return tuple(self._aliases.values())

    # --- building

    def add_many(self, documents: Sequence[Document]) -> None:
        """Index ``documents`` in order, learning the acronyms they define first."""
        for doc in documents:
            if "(" in doc.body or "(" in doc.title:
                self._learn_aliases(f"{doc.title}. {doc.body}")
        # In chunks, so the term lists of a huge batch are never all alive at once; each chunk's
        # length normalisation uses the running average length.
        for start in range(0, len(documents), CHUNK):
            analyzed = [self._analyze(doc) for doc in documents[start : start + CHUNK]]
            lengths = [len(a.title) + len(a.body) + len(a.tags) for a in analyzed]
            total = self._total_length + sum(lengths)
            average = total / (self.size + len(analyzed))
            for doc_analysis, length in zip(analyzed, lengths, strict=True):
                self._store(doc_analysis, length, average)

    def _learn_aliases(self, text: str) -> None:
        for alias in find_aliases(text):
            self._learn_alias(alias)

    def _learn_alias(self, alias: Alias) -> None:
        if alias.acronym not in self._aliases:
            self._aliases[alias.acronym] = alias
            self._phrases.setdefault(alias.phrase[0], []).append(alias)

    def add(self, document: Document) -> None:
        """Index one more document (cheap: its postings are appended)."""
        self.add_many([document])

    def _analyze(self, doc: Document) -> _Analyzed:
        surfaces: set[str] = set()

        def terms_of(text: str) -> list[str]:
            found = content_words(text)
            surfaces.update(w for w in found if w.isalpha())
            return [term(w) for w in found]

        title, body = terms_of(doc.title), terms_of(doc.body)
        tags = [t for tag in doc.tags for t in terms_of(tag)]
        # Both spellings of an alias, so "ILC" and "International Labour Conference" find
        # an item that uses either one.
        if self._aliases:
            for field_terms in (title, body):
                field_terms.extend(self._expansions(field_terms))
        return _Analyzed(title, body, tags, surfaces)

    def _expansions(self, terms: list[str]) -> list[str]:
        """The other spelling of every alias in ``terms``: phrase for acronym and back."""
        extra: list[str] = []
        for i, word in enumerate(terms):
            alias = self._aliases.get(word)
            if alias is not None:
                extra.extend(alias.phrase)
            for alias in self._phrases.get(word, ()):
                if tuple(terms[i : i + len(alias.phrase)]) == alias.phrase:
                    extra.append(alias.acronym)
        return extra

    def _store(self, doc: _Analyzed, length: int, average: float) -> None:
        index = self.size
        title, tags = Counter(doc.title), Counter(doc.tags)
        counts = Counter(doc.body)
        counts.update(title)
        counts.update(tags)
        norm = 1.0 - B + B * length / max(average, 1.0)
        for word, tf in counts.items():
            in_title, in_tags = title.get(word, 0), tags.get(word, 0)
            weighted = (tf - in_title - in_tags) + TITLE_WEIGHT * in_title + TAG_WEIGHT * in_tags
            saturation = weighted / (weighted + K1 * norm)
            bonus = FIELD_BONUS if (in_title or in_tags) else 0.0
            strength = BASE_STRENGTH + bonus + (1.0 - BASE_STRENGTH - FIELD_BONUS) * saturation
            postings = self._postings.get(word)
            if postings is None:
                postings = self._postings[word] = _Postings()
            postings.docs.append(index)
            postings.strengths.append(strength)
        new_surfaces = [s for s in doc.surfaces if s not in self._surfaces]
        for surface in new_surfaces:
            self._surfaces[surface] = term(surface)
            self._by_length.setdefault(len(surface), []).append(surface)
        if new_surfaces:
            self._sorted_surfaces = None
            self._fuzzy_cache.clear()
        self._lengths.append(length)
        self._total_length += length

    # --- a snapshot (``snapshot`` keeps it on disk)

    def to_arrays(self) -> dict[str, npt.NDArray[np.generic]]:
        """Everything the index holds, as flat arrays; ``from_arrays`` gives the index back."""
        terms = list(self._postings)
        counts = np.fromiter((len(self._postings[t].docs) for t in terms), np.int64, len(terms))
        docs = b"".join(self._postings[t].docs.tobytes() for t in terms)
        strengths = b"".join(self._postings[t].strengths.tobytes() for t in terms)
        aliases = "\n".join(" ".join((a.acronym, *a.phrase)) for a in self._aliases.values())
        return {
            "terms": _text_array("\n".join(terms)),
            "counts": counts,
            "docs": np.frombuffer(docs, dtype=np.int32),
            "strengths": np.frombuffer(strengths, dtype=np.float32),
            "surfaces": _text_array("\n".join(self._surfaces)),
            "surface_terms": _text_array("\n".join(self._surfaces.values())),
            "aliases": _text_array(aliases),
            "lengths": np.asarray(self._lengths, dtype=np.int64),
        }

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, npt.NDArray[np.generic]]) -> LexicalIndex:
        """The index ``to_arrays`` described; postings stay appendable, as after ``add_many``."""
        index = cls()
        terms = _split(arrays["terms"])
        ends = np.cumsum(np.asarray(arrays["counts"], dtype=np.int64)).tolist()
        docs = np.ascontiguousarray(arrays["docs"], dtype=np.int32).tobytes()
        strengths = np.ascontiguousarray(arrays["strengths"], dtype=np.float32).tobytes()
        start = 0
        for word, end in zip(terms, ends, strict=True):
            postings = _Postings()
            postings.docs.frombytes(docs[4 * start : 4 * end])
            postings.strengths.frombytes(strengths[4 * start : 4 * end])
            index._postings[word] = postings
            start = end
        surfaces = _split(arrays["surfaces"])
        index._surfaces = dict(zip(surfaces, _split(arrays["surface_terms"]), strict=True))
        for surface in surfaces:
            index._by_length.setdefault(len(surface), []).append(surface)
        for line in _split(arrays["aliases"]):
            acronym, *phrase = line.split(" ")
            index._learn_alias(Alias(acronym, tuple(phrase)))
        index._lengths = [int(n) for n in np.asarray(arrays["lengths"]).tolist()]
        index._total_length = sum(index._lengths)
        return index

    # --- weights

    def idf(self, word: str) -> float:
        """BM25's inverse document frequency; a word the index lacks: see ``UNKNOWN_SHARE``."""
        postings = self._postings.get(word)
        df = len(postings.docs) if postings is not None else 1
        n = max(self.size, 1)
        weight = math.log(1.0 + (n - df + 0.5) / (df + 0.5))
        return weight if postings is not None else UNKNOWN_SHARE * weight

    def knows(self, word: str) -> bool:
        return word in self._postings

    # --- queries

    def query_terms(self, text: str) -> list[QueryTerm]:
        """The weighted units of a (normalised) query; fillers only count beside a topic."""
        tokens = [t.surface for t in words(text) if not t.joined_from]
        # An unknown short word that is a stop word misspelt ("teh") is that stop word.
        tokens = [
            s
            for s in tokens
            if is_content_word(s) and (s in self._surfaces or not is_stop_typo(s))
        ]
        if not any(s not in QUERY_FILLER for s in tokens):
            return []
        terms = [term(s) for s in tokens]
        units: list[QueryTerm] = []
        i = 0
        while i < len(tokens):
            alias = self._alias_at(terms, i)
            if alias is not None:
                units.append(self._acronym(" ".join(tokens[i : i + len(alias.phrase)]), alias))
                i += len(alias.phrase)
                continue
            alias = self._aliases.get(terms[i])
            if alias is not None:
                units.append(self._acronym(tokens[i], alias))
            else:
                units.append(self._unit(tokens[i], terms[i]))
            i += 1
        return units[:MAX_QUERY_UNITS]

    def _acronym(self, text: str, alias: Alias) -> QueryTerm:
        phrase = tuple((word, self.idf(word)) for word in alias.phrase if word in self._postings)
        return QueryTerm(text, self.idf(alias.acronym), ((alias.acronym, 1.0),), phrase=phrase)

    def _alias_at(self, terms: list[str], i: int) -> Alias | None:
        for alias in self._phrases.get(terms[i], ()):
            if tuple(terms[i : i + len(alias.phrase)]) == alias.phrase:
                return alias
        return None

    def _unit(self, surface: str, word: str) -> QueryTerm:
        # A bare number ("oceans 4") names no topic even when some item contains it: it
        # counts only beside a topic word, as a filler does, so it cannot outvote "oceans".
        # (Numbers of a date, "28 May 2021", were taken out by the date parser before.)
        filler = surface in QUERY_FILLER or surface.isdigit()
        scale = FILLER_WEIGHT if filler else 1.0
        if word in self._postings:
            return QueryTerm(surface, scale * self.idf(word), ((word, 1.0),), filler)
        corrections = self.corrections(surface) if not filler else ()
        if corrections:
            alternatives = tuple(
                (self._surfaces[s], 1.0 - FUZZY_PENALTY * edits) for s, edits in corrections
            )
            best = max(self.idf(t) for t, _ in alternatives)
            return QueryTerm(surface, scale * best, _dedupe(alternatives), filler)
        if surface.isdigit():
            scale *= NUMBER_WEIGHT
        return QueryTerm(surface, scale * self.idf(word), (), filler)

    def corrections(self, surface: str) -> tuple[tuple[str, int], ...]:
        """Index words within a few edits of an unknown ``surface``, closest first."""
        cached = self._fuzzy_cache.get(surface)
        if cached is not None:
            return cached
        found: list[tuple[str, int]] = []
        edits = max_edits(len(surface))
        if edits and surface.isalpha():
            for length in range(len(surface) - edits, len(surface) + edits + 1):
                bucket = self._by_length.get(length)
                if not bucket:
                    continue
                for match, distance, _ in process.extract(
                    surface, bucket, scorer=OSA.distance, score_cutoff=edits, limit=5
                ):
                    found.append((match, int(distance)))
        found.sort(key=lambda pair: pair[1])
        if found:
            closest = found[0][1]
            found = [pair for pair in found if pair[1] == closest][:5]
        elif len(surface) >= MIN_PREFIX and surface.isalpha():
            # A clipped word ("tech", "govt", "info"): index words it begins, shortest first,
            # each counted as one edit away.
            found = [(match, 1) for match in self._words_starting(surface)]
        result = tuple(found)
        if len(self._fuzzy_cache) >= FUZZY_CACHE_SIZE:
            self._fuzzy_cache.clear()
        self._fuzzy_cache[surface] = result
        return result

    def _words_starting(self, prefix: str, limit: int = 3) -> list[str]:
        if self._sorted_surfaces is None:
            self._sorted_surfaces = sorted(self._surfaces)
        words = self._sorted_surfaces
        start = bisect.bisect_left(words, prefix)
        matches: list[str] = []
        for word in words[start : start + 200]:
            if not word.startswith(prefix):
                break
            if len(word) > len(prefix) + 1:  # a plural or a typo is not a clipping
                matches.append(word)
        return sorted(matches, key=len)[:limit]

    def coverage(self, units: Sequence[QueryTerm], size: int) -> Coverage:
        """For each of the first ``size`` items, the share of the query's weight it holds."""
        total = sum(u.weight for u in units)
        scores = np.zeros(size, dtype=np.float32)
        matched = np.zeros(size, dtype=np.int64)
        if total <= 0:
            return Coverage(scores, matched)
        best = np.zeros(size, dtype=np.float32)
        for bit, unit in enumerate(units[:MAX_QUERY_UNITS]):
            if not unit.alternatives:
                continue
            best.fill(0.0)
            for word, quality in unit.alternatives:
                docs, strengths = self._postings_of(word, size)
                if len(unit.alternatives) == 1:
                    best[docs] = strengths * quality
                else:
                    np.maximum.at(best, docs, strengths * quality)
            if unit.phrase:
                np.maximum(best, PHRASE_QUALITY * self._phrase_share(unit.phrase, size), out=best)
            scores += np.float32(unit.weight / total) * best
            matched[best > 0] |= np.int64(1 << bit)
        return Coverage(scores, matched)

    def _phrase_share(self, phrase: Sequence[tuple[str, float]], size: int) -> Vector:
        share = np.zeros(size, dtype=np.float32)
        total = sum(weight for _, weight in phrase)
        for word, weight in phrase:
            docs, strengths = self._postings_of(word, size)
            share[docs] += np.float32(weight / total) * strengths
        return share

    def _postings_of(
        self, word: str, size: int
    ) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]]:
        """The items (among the first ``size``) holding ``word``, and how strongly."""
        postings = self._postings.get(word)
        if postings is None:
            return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32)
        # Copies (tobytes), not views: an array exporting its buffer could not grow, and ``add``
        # may append to it from another thread while this search runs.
        docs = np.frombuffer(postings.docs.tobytes(), dtype=np.int32)
        strengths = np.frombuffer(postings.strengths.tobytes(), dtype=np.float32)
        if docs.size and docs[-1] >= size:  # items added after the search began
            keep = docs < size
            docs, strengths = docs[keep], strengths[keep]
        return docs, strengths


def _text_array(text: str) -> npt.NDArray[np.uint8]:
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8)


def _split(array: npt.NDArray[np.generic]) -> list[str]:
    text = np.asarray(array, dtype=np.uint8).tobytes().decode("utf-8")
    return text.split("\n") if text else []


def _dedupe(alternatives: Iterable[tuple[str, float]]) -> tuple[tuple[str, float], ...]:
    best: dict[str, float] = {}
    for word, quality in alternatives:
        best[word] = max(quality, best.get(word, 0.0))
    return tuple(best.items())
