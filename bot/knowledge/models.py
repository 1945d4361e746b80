"""Pydantic models of a knowledge file and its news items.

The same models validate the file on disk, an item an admin broadcasts and an
item an importer produces, so there is one definition of a valid item.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

# Lower-case letters of any script (a Chinese title keeps its characters), digits, hyphens.
ID_PATTERN = r"^[^\W_A-Z](?:[^\W_A-Z]|-){0,79}$"

NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
EARLIEST_DATE = dt.date(1900, 1, 1)


def date_problem(date: dt.date, today: dt.date | None = None) -> str | None:
    """Why ``date`` cannot be a news item's date, or None.

    More than a day ahead of today (UTC; a day of slack for time zones ahead of UTC) would
    sit first in "latest news" for ever; before 1900 is a typo, not news.
    """
    today = today or dt.datetime.now(dt.UTC).date()
    if date < EARLIEST_DATE:
        return f"{date.isoformat()} is before 1900"
    if date > today + dt.timedelta(days=1):
        return f"{date.isoformat()} is more than a day ahead of today ({today.isoformat()})"
    return None


class NewsItem(BaseModel):
    """One news item: what the bot answers with, digests and broadcasts."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Annotated[str, StringConstraints(pattern=ID_PATTERN)]
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
    date: dt.date
    summary: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=3000)
    ]
    url: Annotated[str, StringConstraints(pattern=r"^https?://\S+$")] | None = None
    tags: tuple[NonEmpty, ...] = ()

    @field_validator("date", mode="before")
    @classmethod
    def _strict_date(cls, value: object) -> object:
        # YAML turns 2021-06-10 into a date already; a string must be ISO, not "10/06/21".
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, str) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
            raise ValueError("expected an ISO date such as 2021-06-10")
        return value

    @field_validator("date")
    @classmethod
    def _plausible_date(cls, value: dt.date) -> dt.date:
        problem = date_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value


class KnowledgeFile(BaseModel):
    """A whole knowledge file: a list of items with unique ids."""

    model_config = ConfigDict(extra="forbid")

    items: list[NewsItem] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_ids(self) -> KnowledgeFile:
        seen: set[str] = set()
        for item in self.items:
            if item.id in seen:
                raise ValueError(f"duplicate id {item.id!r}")
            seen.add(item.id)
        return self


def slugify(title: str, date: dt.date, max_words: int = 8) -> str:
    """A stable, readable id from a date and a title: ``2021-06-10-global-progress-to-end``."""
    # A word is letters and digits with their marks (Devanagari vowel signs are marks).
    folded = "".join(
        c if c.isalnum() or unicodedata.category(c).startswith("M") else " "
        for c in _fold_latin(title.lower())
    )
    words = folded.split()
    slug = "-".join(words[:max_words]) or "item"
    return f"{date.isoformat()}-{slug}"[:80].rstrip("-")


def _fold_latin(text: str) -> str:
    """``café`` → ``cafe``: accents come off Latin letters; other scripts keep every mark."""
    out: list[str] = []
    for char in unicodedata.normalize("NFKD", text):
        if unicodedata.combining(char) and out and out[-1].isascii():
            continue
        out.append(char)
    return unicodedata.normalize("NFC", "".join(out))


def item_key(item_id: str) -> str:
    """A short stable key for an item id (ids can be longer than callback data allows)."""
    return hashlib.blake2s(item_id.encode(), digest_size=6).hexdigest()
