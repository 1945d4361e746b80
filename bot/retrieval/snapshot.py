"""The word index kept on disk, so that a restart does not tokenise every item again.

Building the ``LexicalIndex`` of 100,000 items takes some 20-30 s of pure Python (tokenising,
stemming, postings); reading it back takes a fraction of a second. The snapshot is one ``.npz``
file beside the embedding cache, written atomically (a temporary file, then a rename), holding
the index's arrays, how many items it covers and a digest of those items' text, their order
and the code that analysed them (``text``, ``lexical``, ``aliases``): an edited item, a
reordered file or a changed stemmer or stop list all make it stale, and it is built afresh.

The items of a start usually begin with the items of the last one (the knowledge file, then
what was published since), so a snapshot of the first ``n`` items is used for those and only
the rest are indexed, as ``add`` would.
"""

from __future__ import annotations

import hashlib
import logging
import os
import zipfile
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from bot.retrieval import aliases, lexical, text
from bot.retrieval.lexical import LexicalIndex

logger = logging.getLogger(__name__)

FORMAT = 1
"""Bumped when the snapshot's layout changes."""
FILE_NAME = f"lexical-v{FORMAT}.npz"
MIN_ITEMS = 1000
"""Smaller corpora build in well under a second; they are not worth a file."""


@lru_cache(maxsize=1)
def _code_digest() -> bytes:
    """A digest of the code whose output the snapshot holds."""
    digest = hashlib.blake2b(str(FORMAT).encode(), digest_size=16)
    for module in (text, lexical, aliases):
        assert module.__file__ is not None
        digest.update(Path(module.__file__).read_bytes())
    return digest.digest()


Texts = Sequence[tuple[str, str, Sequence[str]]]
"""Per item: its title, summary and tags, what the word index reads (``lexical.Document``)."""


def digest(texts: Texts) -> str:
    """A digest of the items' ``texts`` in order, and of the code that indexes them."""
    hashed = hashlib.blake2b(_code_digest(), digest_size=16)
    for title, body, tags in texts:
        hashed.update("\x1f".join((title, body, *tags)).encode("utf-8"))
        hashed.update(b"\x1e")
    return hashed.hexdigest()


def load(folder: Path, texts: Texts) -> tuple[LexicalIndex, int] | None:
    """The saved index of the first ``n`` items of ``texts``, and ``n``; None if none fits."""
    path = folder / FILE_NAME
    try:
        with np.load(path, allow_pickle=False) as saved:
            count = int(saved["count"])
            if count > len(texts) or str(saved["digest"]) != digest(texts[:count]):
                return None
            index = LexicalIndex.from_arrays({name: saved[name] for name in saved.files})
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, UnicodeDecodeError) as exc:
        logger.warning("word index snapshot %s unreadable, building afresh: %s", path, exc)
        return None
    if index.size != count:
        logger.warning("word index snapshot %s is inconsistent, building afresh", path)
        return None
    return index, count


def save(folder: Path, index: LexicalIndex, texts: Texts) -> bool:
    """Write ``index`` (of exactly ``texts``) to ``folder``; False (logged) if it failed."""
    if index.size != len(texts):
        raise ValueError(f"the index holds {index.size} items, not {len(texts)}")
    path = folder / FILE_NAME
    partial = folder / f".{FILE_NAME}.{os.getpid()}.part"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with open(partial, "wb") as out:
            arrays: dict[str, Any] = dict(index.to_arrays())
            arrays["count"] = np.int64(len(texts))
            arrays["digest"] = np.str_(digest(texts))
            np.savez(out, allow_pickle=False, **arrays)
        partial.replace(path)  # atomic: a reader sees the old snapshot or the new one
    except OSError as exc:
        logger.warning("word index snapshot %s not written: %s", path, exc)
        partial.unlink(missing_ok=True)
        return False
    return True
