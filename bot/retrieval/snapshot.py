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

Beside the index, the retriever's item vectors (one matrix per model, the items' rows in
their order) are kept as raw files that a warm start maps copy-on-write instead of reading:
at 100,000 items, hashing each item's text to find its vector in the embedding cache and
copying 250 MB of rows took most of a second; mapping takes none, and a row is read from the
page cache when a search first touches it. A matrix file begins with a token made of the
snapshot's digest and the model's name: a matrix is only ever used for the very items, and
the model, it was written for (one left by another snapshot, or cut short, is ignored).
"""

from __future__ import annotations

import hashlib
import logging
import os
import zipfile
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from bot.retrieval import aliases, lexical, text
from bot.retrieval.embeddings import Matrix
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


def load(folder: Path, texts: Texts) -> tuple[LexicalIndex, int, str] | None:
    """The saved index of the first ``n`` items of ``texts``, ``n`` and the digest of those
    items (for ``map_matrix``); None if none fits."""
    path = folder / FILE_NAME
    try:
        with np.load(path, allow_pickle=False) as saved:
            count = int(saved["count"])
            saved_digest = str(saved["digest"])
            if count > len(texts) or saved_digest != digest(texts[:count]):
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
    return index, count, saved_digest


def save(
    folder: Path,
    index: LexicalIndex,
    texts: Texts,
    matrices: Mapping[str, Matrix] | None = None,
    spare_rows: int = 0,
) -> bool:
    """Write ``index`` (of exactly ``texts``) to ``folder``, and ``matrices`` (by model name,
    a row per item of ``texts``, with ``spare_rows`` of zeros after them for items added
    later); False (logged) if it failed."""
    if index.size != len(texts):
        raise ValueError(f"the index holds {index.size} items, not {len(texts)}")
    path = folder / FILE_NAME
    partial = folder / f".{FILE_NAME}.{os.getpid()}.part"
    texts_digest = digest(texts)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # The matrices first, the index last: an index is never newer than its matrices.
        for name, matrix in (matrices or {}).items():
            _save_matrix(folder, name, texts_digest, matrix, spare_rows)
        with open(partial, "wb") as out:
            arrays: dict[str, Any] = dict(index.to_arrays())
            arrays["count"] = np.int64(len(texts))
            arrays["digest"] = np.str_(texts_digest)
            np.savez(out, allow_pickle=False, **arrays)
        partial.replace(path)  # atomic: a reader sees the old snapshot or the new one
    except OSError as exc:
        logger.warning("word index snapshot %s not written: %s", path, exc)
        partial.unlink(missing_ok=True)
        return False
    return True


MATRIX_HEADER = 64
"""Bytes before a matrix file's rows: ``_token``, the number of rows, and zeros."""


def _matrix_path(folder: Path, name: str) -> Path:
    return folder / f"vectors-v{FORMAT}.{name}.f32"


def _token(texts_digest: str, name: str, dim: int) -> bytes:
    return hashlib.blake2b(f"{texts_digest} {name} {dim}".encode(), digest_size=32).digest()


def _save_matrix(folder: Path, name: str, texts_digest: str, matrix: Matrix, spare: int) -> None:
    path = _matrix_path(folder, name)
    partial = folder / f".{path.name}.{os.getpid()}.part"
    rows, dim = matrix.shape
    try:
        with open(partial, "wb") as out:
            total = (rows + spare).to_bytes(8, "little")
            out.write((_token(texts_digest, name, dim) + total).ljust(MATRIX_HEADER, b"\0"))
            for first in range(0, rows, 8192):
                out.write(np.ascontiguousarray(matrix[first : first + 8192], np.float32).data)
            out.truncate(MATRIX_HEADER + (rows + spare) * dim * 4)  # the spare rows: zeros
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def map_matrix(folder: Path, name: str, texts_digest: str, count: int, dim: int) -> Matrix | None:
    """The matrix ``save`` wrote for model ``name`` and the items of ``texts_digest`` (at
    least ``count`` rows, spare ones included), mapped copy-on-write: writing to it changes
    this process's copy, never the file. None if there is none for them."""
    path = _matrix_path(folder, name)
    try:
        with open(path, "rb") as source:
            header = source.read(MATRIX_HEADER)
            size = os.fstat(source.fileno()).st_size
        rows = int.from_bytes(header[32:40], "little")
        whole = size == MATRIX_HEADER + rows * dim * 4  # not cut short, nor grown
        if header[:32] != _token(texts_digest, name, dim) or not whole or not dim:
            return None
        if rows < count:
            return None
        mapped: Matrix = np.memmap(
            path, dtype=np.float32, mode="c", offset=MATRIX_HEADER, shape=(rows, dim)
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        logger.warning("vectors snapshot %s unreadable, reading the cache: %s", path, exc)
        return None
    return mapped
