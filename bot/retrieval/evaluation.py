"""Question sets with expected answers, and the figures we judge a ranker by.

A question file (``tests/eval/*.yaml``) names its knowledge file, a default ``today`` and
questions with the ids that count as right (``expect: []`` means "must find nothing"). The same
code scores newsbot in the tests and every peer in ``benchmarks/retrieval_quality.py``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.retrieval.text import analyze


@dataclass(frozen=True, slots=True)
class Question:
    """One question; ``expect`` empty means the right answer is "nothing relevant"."""

    text: str
    expect: frozenset[str]
    today: dt.date
    holdout: bool = False
    kind: str = ""
    """exact, paraphrase, typo, date, recency or negative; empty when the file does not say."""


@dataclass(frozen=True, slots=True)
class QuestionSet:
    name: str
    knowledge: Path
    questions: tuple[Question, ...]

    def only(self, *, holdout: bool | None) -> QuestionSet:
        """The tuning half (``False``), the held-out half (``True``) or all (``None``)."""
        if holdout is None:
            return self
        kept = tuple(q for q in self.questions if q.holdout == holdout)
        return QuestionSet(self.name, self.knowledge, kept)


def load_questions(path: Path, root: Path) -> QuestionSet:
    """Read a question file; its ``knowledge`` path is relative to ``root`` (the repository)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    default_today = _as_date(data["today"])
    questions = tuple(
        Question(
            text=str(q["q"]),
            expect=frozenset(q.get("expect") or ()),
            today=_as_date(q.get("today", default_today)),
            holdout=bool(q.get("holdout", False)),
            kind=str(q.get("kind", "")),
        )
        for q in data["questions"]
    )
    name = path.parent.name if path.stem == "questions" else path.stem.removesuffix("_questions")
    return QuestionSet(name, root / data["knowledge"], questions)


def shared_content_words(question: str, text: str) -> set[str]:
    """The content words ``question`` shares with ``text``, word forms folded ("strike/striking").

    A paraphrase question shares none with its item's title and summary.
    """
    return set(analyze(question)) & set(analyze(text))


def _as_date(value: object) -> dt.date:
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


@dataclass(frozen=True, slots=True)
class Score:
    """How a ranker did: right first, right in the top three, and negatives rejected."""

    hit1: int
    top3: int
    answerable: int
    rejected: int
    negatives: int
    misses: tuple[str, ...] = ()

    @property
    def hit1_rate(self) -> float:
        return self.hit1 / self.answerable if self.answerable else 0.0

    @property
    def top3_rate(self) -> float:
        return self.top3 / self.answerable if self.answerable else 0.0

    @property
    def rejected_rate(self) -> float:
        return self.rejected / self.negatives if self.negatives else 0.0


Ranker = Callable[[Question], Sequence[str]]
"""Ids of the items a system offers for a question, best first; empty means "nothing"."""


def evaluate(ranker: Ranker, questions: Sequence[Question]) -> Score:
    """Run ``ranker`` over ``questions``; a negative is rejected only if nothing is offered."""
    hit1 = top3 = answerable = rejected = negatives = 0
    misses: list[str] = []
    for question in questions:
        ids = list(ranker(question))
        if question.expect:
            answerable += 1
            first = bool(ids) and ids[0] in question.expect
            hit1 += first
            top3 += any(i in question.expect for i in ids[:3])
            if not first:
                misses.append(question.text)
        else:
            negatives += 1
            rejected += not ids
            if ids:
                misses.append(question.text)
    return Score(hit1, top3, answerable, rejected, negatives, tuple(misses))
