"""Static sentence embeddings (WordLlama) for meaning: "sailors' pay" is near "seafarers' wages".

The model ships inside the ``wordllama`` wheel (a 32k x 256 token table, 16 MB), so it loads in a
fraction of a second and never needs the network. ``default_embedder()`` loads it once per
process; if it cannot be loaded the retriever works lexically and says so once in the log.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

Matrix = npt.NDArray[np.float32]

TOKENIZER_FILE = "l2_supercat_tokenizer_config.json"


class Embedder(Protocol):
    """Turns texts into unit-length vectors; similar meaning, large dot product."""

    @property
    def dim(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> Matrix:
        """One L2-normalised float32 row per text (an all-zero row for a text with no words)."""
        ...


FEW_TEXTS = 8
"""Up to this many texts (a question's parts) are embedded one by one, without padding."""


class WordLlamaEmbedder:
    """WordLlama's ``l2_supercat`` model, cut to ``dim`` dimensions (it is Matryoshka-trained).

    A text's vector is the mean of its tokens' rows in the model's table. Many texts (items
    at start-up) go through the model's batched ``embed``; the few parts of a question take a
    shorter path to the same mean, since the model's padding and pooling over a batch of one
    cost some 80 µs a call, a third of a whole search.
    """

    def __init__(self, model: Any, dim: int) -> None:
        self._model = model
        self._dim = dim
        table = np.asarray(model.embedding, dtype=np.float32)
        self._table: Matrix = np.ascontiguousarray(table[:, :dim])
        self._tokenizer = model.tokenizer

    @property
    def dim(self) -> int:
        return self._dim

    def embed(self, texts: Sequence[str]) -> Matrix:
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        if len(texts) > FEW_TEXTS:
            raw = np.asarray(self._model.embed(list(texts), norm=False), dtype=np.float32)
            return normalize_rows(raw[:, : self._dim])
        rows = np.zeros((len(texts), self._dim), dtype=np.float32)
        for row, text in enumerate(texts):
            ids = self._tokenizer.encode(text, add_special_tokens=False).ids
            if ids:
                # The sum's direction is the mean's; normalize_rows scales it to unit length.
                np.add.reduce(self._table.take(ids, axis=0, mode="clip"), axis=0, out=rows[row])
        return normalize_rows(rows)


def normalize_rows(matrix: Matrix) -> Matrix:
    """Rows scaled to unit length; zero rows stay zero (WordLlama's ``norm=True`` divides by 0)."""
    norms = np.sqrt(np.einsum("ij,ij->i", matrix, matrix))[:, np.newaxis]
    np.maximum(norms, 1e-12, out=norms)
    return np.ascontiguousarray(matrix / norms, dtype=np.float32)


def _cache_dir(package_dir: Path) -> Path:
    """A cache folder holding the packaged tokenizer where WordLlama 0.4 looks for it.

    WordLlama 0.4 looks for its bundled tokenizer in ``wordllama/tokenizer/`` while the wheel
    ships it in ``wordllama/tokenizers/``; it then falls back to ``<cache_dir>/tokenizers/``
    and, failing that, to a download. Copying the file there keeps the load offline.
    """
    source = package_dir / "tokenizers" / TOKENIZER_FILE
    folder = Path(tempfile.gettempdir()) / f"newsbot-wordllama-{os.getuid()}"
    target = folder / "tokenizers" / TOKENIZER_FILE
    if not target.exists() or target.stat().st_size != source.stat().st_size:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(f".{os.getpid()}.part")
        shutil.copyfile(source, partial)
        partial.replace(target)  # atomic, so two processes starting together both see a whole file
    return folder


def _import_wordllama() -> Any:
    # wordllama calls logging.basicConfig(level=INFO) on import, which would install a root
    # handler behind the application's back; put the root logger back as it was.
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        import wordllama
    finally:
        for handler in root.handlers[:]:
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)
    return wordllama


def load_wordllama(dim: int = 256) -> WordLlamaEmbedder:
    """Load the packaged WordLlama model without touching the network; raises if it cannot."""
    # Belt and braces: the tokenizer fallback would ask the Hugging Face hub; offline, it can't.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    wordllama = _import_wordllama()
    package_dir = Path(wordllama.__file__).parent
    model = wordllama.WordLlama.load(
        config="l2_supercat", dim=256, cache_dir=_cache_dir(package_dir), disable_download=True
    )
    return WordLlamaEmbedder(model, dim)


@lru_cache(maxsize=1)
def default_embedder() -> Embedder | None:
    """The process-wide embedder, loaded on first use; ``None`` (logged once) if unavailable."""
    try:
        return load_wordllama()
    except Exception as exc:  # any failure means "no semantic signal", never a crashed bot
        logger.warning("embeddings unavailable, searching by words only: %s", exc)
        return None
