"""Text to index terms: normalising, tokenising, spelling folding, stemming and stop words.

One pipeline serves items and queries, so whatever it does to a word it does on both sides:
``analyze("Labour organisations")`` and ``analyze("labor organization")`` give the same terms.
Folding British to American spelling is therefore only a matter of consistency, and a rule that
over-folds a word ("contour" -> "contor") is harmless unless it merges two different words.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

import Stemmer

MAX_QUERY_CHARS = 500
"""Queries are cut to this many characters before anything else looks at them."""

_STEMMER = Stemmer.Stemmer("english")


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Control and format characters (including bidi marks and zero-width joiners) become spaces.
_CONTROL = re.compile(r"[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "´": "'"})
# A word: letters and digits (any script); a hyphen or apostrophe may join two parts.
_WORD = re.compile(r"[^\W_]+(?:['\-][^\W_]+)*")
_ORDINAL_SUFFIXES = frozenset({"st", "nd", "rd", "th"})
_LETTER_DIGIT = re.compile(r"(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])")

STOP_WORDS = _word_set(
    """
    a about above after again against all also am an and any are aren as at be because been
    before being below between both but by can cannot could couldn did didn do does doesn doing
    don down during each either else ever every few for from further had hadn has hasn have
    haven having he her here hers herself him himself his how i if in into is isn it its itself
    just let me might more most much must mustn my myself neither no nor not now of off on once
    only or other ought our ours ourselves out over own per quite rather same shall shan she
    should shouldn so some such than that the their theirs them themselves then there these they
    this those through thus to too under until up upon us very via was wasn we were weren what
    whatever when whenever where whereas whether which while who whom whose why will with within
    without won would wouldn yet you your yours yourself yourselves s t d ll m re ve y many
    several lot lots really even still already maybe perhaps anyone someone anybody somebody
    everyone everybody whoever whichever onto toward towards across along among amongst
    """
)
"""English function words: they carry no topic on either side."""

_STOP_ANAGRAMS = frozenset("".join(sorted(w)) for w in STOP_WORDS if 2 <= len(w) <= 4)


def is_stop_typo(word: str) -> bool:
    """Whether a short ``word`` is a stop word with letters swapped ("teh", "adn", "fo")."""
    return 2 <= len(word) <= 4 and "".join(sorted(word)) in _STOP_ANAGRAMS


QUERY_FILLER = _word_set(
    """
    anything something everything nothing news article articles story stories item items
    update updates information info tell show give find search know want like please hi hello
    thanks thank say says said happen happened happening going go goes get got published posted
    released written write wrote come came out new newest latest recent recently lately today
    tonight yesterday tomorrow week weekend month year day days ago last past next since
    """
)
"""Words of asking rather than of topic ("tell me the latest news about ..."): ignored in queries.

Dates and recency words are listed because ``dates.parse_date_query`` has already taken their
meaning out of the query; a leftover "week" or "latest" must not be searched for as a topic.
"""

# British -> American spellings that no general rule below covers (or that a rule would get wrong).
SPELLING_MAP: dict[str, str] = {
    "aluminium": "aluminum",
    "cheque": "check",
    "cheques": "checks",
    "grey": "gray",
    "tyre": "tire",
    "tyres": "tires",
    "kerb": "curb",
    "plough": "plow",
    "programme": "program",
    "programmes": "programs",
    "jewellery": "jewelry",
    "storey": "story",
    "storeys": "stories",
    "enquiry": "inquiry",
    "enquiries": "inquiries",
    "judgement": "judgment",
    "acknowledgement": "acknowledgment",
    "ageing": "aging",
    "sceptical": "skeptical",
    "sceptic": "skeptic",
    "mould": "mold",
    "moult": "molt",
    "smoulder": "smolder",
    "defence": "defense",
    "defences": "defenses",
    "offence": "offense",
    "offences": "offenses",
    "licence": "license",
    "licences": "licenses",
    "pretence": "pretense",
    "practise": "practice",
    "practised": "practiced",
    "manoeuvre": "maneuver",
    "manoeuvres": "maneuvers",
    "foetus": "fetus",
    "oestrogen": "estrogen",
    "diarrhoea": "diarrhea",
    "oesophagus": "esophagus",
    "amoeba": "ameba",
    "pyjamas": "pajamas",
    "draught": "draft",
    "gaol": "jail",
    "towards": "toward",
    "afterwards": "afterward",
    "whilst": "while",
    "amongst": "among",
    "learnt": "learned",
    "spelt": "spelled",
    "dreamt": "dreamed",
    "burnt": "burned",
    "roadworks": "roadwork",
}

# Irregular plurals the stemmer leaves apart from their singular.
IRREGULAR: dict[str, str] = {
    "children": "child",
    "women": "woman",
    "men": "man",
    "people": "person",
    "mice": "mouse",
    "feet": "foot",
    "teeth": "tooth",
    "geese": "goose",
    "crises": "crisis",
    "analyses": "analysis",
    "theses": "thesis",
    "indices": "index",
    "data": "datum",
    "media": "medium",
}

# Verbs and nouns whose British forms double a final l: travelled, cancelling, modeller.
_DOUBLE_L = _word_set(
    """
    travel cancel label model fuel signal total level counsel marvel jewel dial channel tunnel
    funnel pedal quarrel shovel rival equal panel libel enrol fulfil instil distil appal
    """
)
_OUR_KEEP = _word_set("contour detour devour paramour troubadour velour amour")
_OUR = re.compile(r"^(\w{3,})our(s|ed|ing|er|ers|ite|ites|able|ful|less|ism)?$")
_ISE = re.compile(r"^(\w{3,})is(e|es|ed|ing|er|ers|ation|ations|ational)$")
_YSE = re.compile(r"^(\w{3,})ys(e|es|ed|ing|er|ers)$")
_TRE = re.compile(r"^(\w{2,}[tb])re(s|d)?$")
_OGUE = re.compile(r"^(\w{3,})ogue(s)?$")
_DOUBLED = re.compile(r"^(\w+l)l(ed|ing|er|ers|or|ors)$")
_AE = re.compile(r"(?<=[a-z])ae(?=[a-z]{2})")


@lru_cache(maxsize=65536)
def fold_spelling(word: str) -> str:
    """The American spelling of a lower-case British ``word``; other words come back unchanged.

    >>> [fold_spelling(w) for w in ["labour", "organisation", "centre", "travelled", "analyse"]]
    ['labor', 'organization', 'center', 'traveled', 'analyze']
    """
    if word in SPELLING_MAP:
        return SPELLING_MAP[word]
    if len(word) < 5 or not word.isascii():
        return word
    if (m := _OUR.match(word)) and word not in _OUR_KEEP:
        return f"{m.group(1)}or{m.group(2) or ''}"
    if m := _ISE.match(word):
        return f"{m.group(1)}iz{m.group(2)}"
    if m := _YSE.match(word):
        return f"{m.group(1)}yz{m.group(2)}"
    if m := _TRE.match(word):
        suffix = m.group(2) or ""
        return f"{m.group(1)}er{'ed' if suffix == 'd' else suffix}"
    if m := _OGUE.match(word):
        return f"{m.group(1)}og{m.group(2) or ''}"
    if (m := _DOUBLED.match(word)) and m.group(1) in _DOUBLE_L:
        return f"{m.group(1)}{m.group(2)}"
    if "ae" in word:
        return _AE.sub("e", word)
    return word


def normalize(text: str) -> str:
    """Lower-case, accent-free, control-free text: what tokenising and fuzzy matching see."""
    if text.isascii():  # the common case, and NFKC/NFKD leave ASCII unchanged
        return _CONTROL.sub(" ", text).replace("`", "'").lower()
    text = _CONTROL.sub(" ", unicodedata.normalize("NFKC", text)).translate(_APOSTROPHES)
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@dataclass(frozen=True, slots=True)
class Token:
    """A word as written (normalised) and, for compounds, the joined form ("agroforestry")."""

    surface: str
    joined_from: tuple[str, ...] = ()


def words(text: str) -> Iterator[Token]:
    """The words of normalised ``text``: compounds split into parts, possessives dropped.

    "ERA-AF" gives "era" and "af"; "COVID-19" and "covid19" both give "covid" and "19";
    "seafarers'" gives "seafarers"; "it's" gives "it". A hyphenated compound also yields its
    joined form, marked with ``joined_from``, so "agroforestry" can find "agro-forestry".
    """
    for match in _WORD.finditer(text):
        chunk = match.group()
        if chunk.isalpha():  # fast path: a plain word
            yield Token(chunk)
            continue
        parts: list[str] = []
        for piece in re.split(r"['\-]", chunk):
            if chunk.find("'") != -1 and piece in {"s", "t", "d", "ll", "m", "re", "ve"}:
                continue
            split = [p for p in _LETTER_DIGIT.split(piece) if p]
            # An ordinal's suffix is no word: "4th" is the number 4, not "4" and "th".
            if len(split) == 2 and split[0].isdigit() and split[1] in _ORDINAL_SUFFIXES:
                split = split[:1]
            parts.extend(split)
        for part in parts:
            yield Token(part)
        if "-" in chunk and len(parts) > 1:
            yield Token("".join(parts), tuple(parts))


@lru_cache(maxsize=262144)
def term(surface: str) -> str:
    """The index term of one normalised word: spelling folded, irregular forms mapped, stemmed."""
    if not surface.isalpha():
        return surface
    word = IRREGULAR.get(surface, surface)
    stemmed: str = _STEMMER.stemWord(fold_spelling(word))
    return stemmed


def is_content_word(surface: str) -> bool:
    """Whether a word can carry a topic: not a function word, not a lone letter."""
    if surface in STOP_WORDS:
        return False
    return not (len(surface) == 1 and surface.isalpha())


def content_words(text: str) -> list[str]:
    """The normalised content words of raw ``text``, compounds' joined forms included."""
    out: list[str] = []
    for chunk in _WORD.findall(normalize(text)):
        if chunk.isalpha():  # fast path for the plain words that make up most of a text
            if chunk not in STOP_WORDS and len(chunk) > 1:
                out.append(chunk)
        else:
            out.extend(t.surface for t in words(chunk) if is_content_word(t.surface))
    return out


def analyze(text: str) -> list[str]:
    """Index terms of ``text`` (item side): content words, folded and stemmed, in order.

    Joined compounds are included after their parts, so an item holds both spellings.
    """
    return [term(word) for word in content_words(text)]
