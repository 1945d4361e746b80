"""Acronyms the news defines itself: "International Labour Conference (ILC)" makes ILC an alias.

Nothing is listed by hand: an alias is taken from an item's own text wherever a parenthesised
acronym follows words whose initials spell it. Function words inside the phrase are allowed
("Technical and Vocational Education and Training (TVET)"), one unmatched word is tolerated
("Migrant Worker Resources Center (MRC)"), and a word may spell several letters at once
("ERA Agro-Forestry (ERA-AF)").
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from bot.retrieval.text import STOP_WORDS, analyze, normalize, term

_DEFINITION = re.compile(r"\(\s*([A-Z][A-Za-z0-9&.\-]{0,11})\s*\)")
_PHRASE_WORD = re.compile(r"[^\W_]+", re.UNICODE)
MAX_SKIPS = 1


@dataclass(frozen=True, slots=True)
class Alias:
    """An acronym's index term and the index terms of the phrase it stands for."""

    acronym: str
    phrase: tuple[str, ...]


def _letters(acronym: str) -> str:
    return "".join(ch for ch in acronym.upper() if ch.isalpha())


def _spell(letters: str, words: list[str]) -> list[str] | None:
    """The shortest tail of ``words`` whose initials spell ``letters``, or None."""
    i = len(letters)
    skips = 0
    taken: list[str] = []
    for word in reversed(words):
        if i == 0:
            break
        upper = word.upper()
        if len(upper) > 1 and upper.isalpha() and letters[:i].endswith(upper) and word.isupper():
            i -= len(upper)  # the word is itself part of the acronym: "ERA" in "ERA-AF"
        elif upper[0] == letters[i - 1]:
            i -= 1
        elif word.lower() in STOP_WORDS:
            pass
        elif skips < MAX_SKIPS and taken:
            skips += 1
        else:
            return None
        taken.append(word)
    if i != 0:
        return None
    return list(reversed(taken))


def find_aliases(text: str) -> Iterator[Alias]:
    """Aliases defined in ``text`` (raw, with its capitals: "Joint Maritime Commission (JMC)")."""
    for match in _DEFINITION.finditer(text):
        acronym = match.group(1)
        letters = _letters(acronym)
        if not 2 <= len(letters) <= 8:
            continue
        before = _PHRASE_WORD.findall(text[max(0, match.start() - 200) : match.start()])
        spelled = _spell(letters, before[-(2 * len(letters) + 2) :])
        if spelled is None:
            continue
        phrase = tuple(analyze(" ".join(spelled)))
        acronym_term = term(normalize(letters))
        if len(phrase) >= 2 and acronym_term not in phrase:
            yield Alias(acronym_term, phrase)
