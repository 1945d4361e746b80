"""A large knowledge file, once read, kept as JSON beside the embedding cache.

Reading 100,000 items of YAML takes about 3 s (libyaml's parsing, then validation); the
same items as JSON are validated by pydantic's JSON parser in under 1 s. The copy is keyed
by a digest of the file's bytes and of the code that reads and validates it
(``reading``, ``store``, ``models``): an edited file, or a release that reads files
differently, never gets a stale copy, and a file that was refused is never copied. One
copy is kept; it is written atomically, and an unreadable one is read afresh.
"""

from __future__ import annotations

import hashlib
import logging
import os
from functools import lru_cache
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from bot.knowledge import models, reading
from bot.knowledge.models import NewsItem

logger = logging.getLogger(__name__)

FORMAT = 1
MIN_BYTES = 1024 * 1024
"""Smaller files are read in well under a second; they are not worth a copy."""
PREFIX = "knowledge-"

_ITEMS = TypeAdapter(list[NewsItem])


@lru_cache(maxsize=1)
def _code_digest() -> bytes:
    from bot.knowledge import store  # store imports this module

    digest = hashlib.blake2b(str(FORMAT).encode(), digest_size=16)
    for module in (reading, store, models):
        assert module.__file__ is not None
        digest.update(Path(module.__file__).read_bytes())
    return digest.digest()


def place(folder: Path | None, raw: bytes) -> Path | None:
    """Where the copy of the file whose bytes are ``raw`` is kept (None: not worth one)."""
    if folder is None or len(raw) < MIN_BYTES:
        return None
    digest = hashlib.blake2b(_code_digest(), digest_size=16)
    digest.update(raw)
    return folder / f"{PREFIX}{digest.hexdigest()}.json"


def load(path: Path | None) -> list[NewsItem] | None:
    """The items kept at ``path`` (from ``place``), if a copy is there."""
    if path is None:
        return None
    try:
        return _ITEMS.validate_json(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValidationError, ValueError) as exc:
        logger.warning("knowledge copy %s unreadable, reading the file again: %s", path, exc)
        return None


def save(path: Path | None, items: list[NewsItem]) -> None:
    """Keep ``items`` (valid, read from the file ``path`` is for) for the next start; older
    copies go."""
    if path is None:
        return
    folder = path.parent
    partial = folder / f".{path.name}.{os.getpid()}.part"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        partial.write_bytes(_ITEMS.dump_json(items))
        partial.replace(path)  # atomic: a reader sees a whole copy or none
        for old in folder.glob(f"{PREFIX}*.json"):
            if old != path:
                old.unlink(missing_ok=True)
    except OSError as exc:
        logger.warning("knowledge copy %s not written: %s", path, exc)
        partial.unlink(missing_ok=True)
