"""A large knowledge file, once read, kept beside the embedding cache in ``marshal`` form.

Reading 100,000 items of YAML takes about 3 s (libyaml's parsing, then validation). The
copy holds items that were validated when the file was read, so it is not validated again
(that alone took 1.3 s at 100,000 items): each entry is checked to be exactly an item's
fields, with a text where a text belongs, and the item is built from it as pydantic's
``model_construct`` builds one, in a fifth of the time. The entries are tuples in
``marshal``'s format, which Python reads back in C: at 100,000 items 0.09 s where JSON took
0.33 s, then 0.2 s to build the items where JSON's dictionaries took 0.3 s. The copy is
keyed by a digest of the file's bytes, of the code that reads and validates it
(``reading``, ``store``, ``models``, this module), of pydantic's version and of Python's
(``marshal``'s format is Python's own): an edited file, or a release that reads files
differently, never gets a stale copy, and a file that was refused is never copied. One copy
is kept; it is written atomically, and an unreadable one is read afresh. Like the embedding
cache, the copy is the bot's own file in the bot's own folder: ``marshal`` is not meant to
read files that someone made to harm it, and nothing read is ever run.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import marshal
import os
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

import pydantic

from bot.knowledge import models, reading
from bot.knowledge.models import NewsItem

logger = logging.getLogger(__name__)

FORMAT = 3
MIN_BYTES = 1024 * 1024
"""Smaller files are read in well under a second; they are not worth a copy."""
PREFIX = "knowledge-"
SUFFIX = ".marshal"


@lru_cache(maxsize=1)
def _code_digest() -> bytes:
    from bot.knowledge import store  # store imports this module

    versions = f"{FORMAT} {pydantic.VERSION} {sys.version} {marshal.version}"
    digest = hashlib.blake2b(versions.encode(), digest_size=16)
    for module in (reading, store, models, sys.modules[__name__]):
        assert module.__file__ is not None
        digest.update(Path(module.__file__).read_bytes())
    return digest.digest()


def place(folder: Path | None, raw: bytes) -> Path | None:
    """Where the copy of the file whose bytes are ``raw`` is kept (None: not worth one)."""
    if folder is None or len(raw) < MIN_BYTES:
        return None
    digest = hashlib.blake2b(_code_digest(), digest_size=16)
    digest.update(raw)
    return folder / f"{PREFIX}{digest.hexdigest()}{SUFFIX}"


def load(path: Path | None) -> list[NewsItem] | None:
    """The items kept at ``path`` (from ``place``), if a copy is there."""
    if path is None:
        return None
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        logger.warning("knowledge copy %s unreadable, reading the file again: %s", path, exc)
        return None
    with reading.collector_paused():  # 100,000 new objects, none of them garbage
        try:
            return _items(marshal.loads(raw))
        except (ValueError, TypeError, EOFError) as exc:
            logger.warning("knowledge copy %s unreadable, reading the file again: %s", path, exc)
            return None


_FIELDS = ("id", "title", "date", "summary", "url", "tags")
"""An entry's fields, in order; ``date`` as its proleptic ordinal (``date.toordinal``)."""
assert set(_FIELDS) == set(NewsItem.model_fields), "the copy must hold every field"


def _items(data: Any) -> list[NewsItem]:
    """The items of a copy ``save`` wrote, built without validating them again.

    What ``save`` writes is every field of a valid item; an entry of another shape, or with
    something other than text where text belongs, means the copy is not one ``save`` wrote
    (cut short, or edited), and raises ``ValueError``.
    """
    if type(data) is not list:
        raise ValueError("not a list of items")
    items: list[NewsItem] = []
    new = NewsItem.__new__
    put = object.__setattr__
    day = dt.date.fromordinal
    fields = set(_FIELDS)
    for entry in data:
        if type(entry) is not tuple or len(entry) != len(_FIELDS):
            raise ValueError(f"entry {len(items)} is not an item's fields")
        item_id, title, ordinal, summary, url, tags = entry
        if (
            type(item_id) is not str
            or type(title) is not str
            or type(ordinal) is not int
            or type(summary) is not str
            or (url is not None and type(url) is not str)
            or type(tags) is not tuple
            or (tags and {type(tag) for tag in tags} != {str})
        ):
            raise ValueError(f"entry {len(items)} has a field of the wrong kind")
        # What ``BaseModel.model_construct`` sets, without its per-field defaults pass.
        item = new(NewsItem)
        put(
            item,
            "__dict__",
            {
                "id": item_id,
                "title": title,
                "date": day(ordinal),
                "summary": summary,
                "url": url,
                "tags": tags,
            },
        )
        put(item, "__pydantic_fields_set__", fields.copy())
        put(item, "__pydantic_extra__", None)
        put(item, "__pydantic_private__", None)
        items.append(item)
    return items


def _entries(items: list[NewsItem]) -> list[tuple[Any, ...]]:
    return [(i.id, i.title, i.date.toordinal(), i.summary, i.url, tuple(i.tags)) for i in items]


def save(path: Path | None, items: list[NewsItem]) -> None:
    """Keep ``items`` (valid, read from the file ``path`` is for) for the next start; older
    copies go."""
    if path is None:
        return
    folder = path.parent
    partial = folder / f".{path.name}.{os.getpid()}.part"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        partial.write_bytes(marshal.dumps(_entries(items)))
        partial.replace(path)  # atomic: a reader sees a whole copy or none
        for old in (*folder.glob(f"{PREFIX}*.json"), *folder.glob(f"{PREFIX}*{SUFFIX}")):
            if old != path:
                old.unlink(missing_ok=True)
    except OSError as exc:
        logger.warning("knowledge copy %s not written: %s", path, exc)
        partial.unlink(missing_ok=True)
