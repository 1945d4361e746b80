"""What retrieval costs: index build time, query latency and memory at 1k, 10k and 100k items.

Each (system, size) pair is measured in a fresh interpreter
(``python -m benchmarks.retrieval_cost SYSTEM N`` prints one JSON line), so the resident-memory
delta of one build is not blurred by another. Items come from ``benchmarks.corpus`` and are
made before the baseline is taken: the figure is the index's memory, not the items'.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

SIZES = (1_000, 10_000, 100_000)
TRACED_UP_TO = 10_000
"""tracemalloc slows a build several times over; retained bytes are traced up to this size."""
QUERIES = 300
ADDS = 50
TODAY = dt.date(2024, 1, 1)
ROOT = Path(__file__).resolve().parents[1]


def _rss_bytes() -> int:
    """Resident memory of this process now (Linux ``/proc``; 0 elsewhere)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except OSError:
        return 0
    import resource

    return pages * resource.getpagesize()


def _retained_bytes(build: Callable[[], object], n: int) -> int | None:
    """Bytes still allocated (tracemalloc) after ``build()``, kept alive; None when too big."""
    if n > TRACED_UP_TO:
        return None
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    kept = build()
    gc.collect()
    retained = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    del kept
    return retained


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def measure_newsbot(n: int, dense: bool = True) -> dict[str, Any]:
    """The retriever as the bot runs it; its vector cache is ``NEWSBOT_EMBEDDING_CACHE``."""
    from benchmarks.corpus import generate, queries
    from bot.config import load_settings
    from bot.retrieval import Retriever
    from bot.retrieval.dense import default_dense, default_second, default_word_vectors

    cache = load_settings().embedding_cache
    started = time.perf_counter()
    # The models are shared by every retriever in a process: loaded once, not per item.
    default_word_vectors(cache)
    if dense:
        default_dense(cache)
        default_second(cache)
    models = time.perf_counter() - started
    items = generate(n + ADDS)
    extra, items = items[n:], items[:n]
    questions = queries(items, QUERIES)
    before = _rss_bytes()
    started = time.perf_counter()
    # No answer cache: every question is searched, as a question never asked before would be.
    options: dict[str, Any] = {} if dense else {"dense": None}
    retriever = Retriever(items, cache_size=0, cache_folder=cache, **options)
    build = time.perf_counter() - started
    memory = _rss_bytes() - before
    for question in questions[:20]:  # warm caches the way a running bot has them
        retriever.search(question, today=TODAY)
    latencies = []
    for question in questions:
        started = time.perf_counter()
        retriever.search(question, today=TODAY)
        latencies.append(time.perf_counter() - started)
    adds = []
    for item in extra:
        started = time.perf_counter()
        retriever.add(item)
        adds.append(time.perf_counter() - started)
    del retriever
    return {
        "models_s": models,
        "build_s": build,
        "rss_bytes": memory,
        "retained_bytes": (
            None
            if dense
            else _retained_bytes(lambda: Retriever(items, cache_size=0, dense=None), n)
        ),
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * _percentile(latencies, 0.99),
        "add_ms": 1000 * statistics.median(adds),
    }


def measure_bm25s(n: int) -> dict[str, Any]:
    import bm25s
    import Stemmer

    from benchmarks.corpus import generate, queries

    items = generate(n)
    questions = queries(items, QUERIES)
    texts = [f"{i.title}. {i.summary} {' '.join(i.tags)}" for i in items]
    stemmer = Stemmer.Stemmer("english")
    before = _rss_bytes()
    started = time.perf_counter()
    corpus = bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False)
    index = bm25s.BM25()
    index.index(corpus, show_progress=False)
    vocabulary = set(corpus.vocab)
    build = time.perf_counter() - started
    memory = _rss_bytes() - before

    def search(question: str) -> None:
        tokens = bm25s.tokenize(
            [question], stopwords="en", stemmer=stemmer, return_ids=False, show_progress=False
        )
        known = [t for t in tokens[0] if t in vocabulary]
        if known:
            index.retrieve([known], k=5, show_progress=False, n_threads=1)

    for question in questions[:20]:
        search(question)
    latencies = []
    for question in questions:
        started = time.perf_counter()
        search(question)
        latencies.append(time.perf_counter() - started)

    def build_again() -> object:
        tokens = bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False)
        again = bm25s.BM25()
        again.index(tokens, show_progress=False)
        return again

    return {
        "build_s": build,
        "rss_bytes": memory,
        "retained_bytes": _retained_bytes(build_again, n),
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * _percentile(latencies, 0.99),
        "add_ms": None,
    }


def measure_words(n: int) -> dict[str, Any]:
    """The retriever before the sentence encoder: words and WordLlama only."""
    return measure_newsbot(n, dense=False)


def prefill(n: int) -> dict[str, Any]:
    """Fill the vector cache for ``n`` items: WordLlama's real vectors, stand-ins for MiniLM's.

    Embedding 100,000 items with MiniLM takes most of an hour on one core; what a warm start
    costs (reading the keys, mapping the rows, searching them) does not depend on the values.
    """
    import numpy as np

    from benchmarks.corpus import generate
    from bot.config import load_settings
    from bot.retrieval.dense import MODEL_ID, EmbeddingCache
    from bot.retrieval.embeddings import normalize_rows
    from bot.retrieval.retriever import Retriever, dense_text

    items = generate(n + ADDS)[:n]
    folder = load_settings().embedding_cache
    Retriever(items, dense=None, cache_folder=folder)  # fills WordLlama's cache
    cache = EmbeddingCache(folder, MODEL_ID, 384)
    rng = np.random.default_rng(5)
    for first in range(0, n, 8192):
        chunk = items[first : first + 8192]
        rows = normalize_rows(rng.normal(size=(len(chunk), 384)).astype(np.float32))
        cache.put([cache.key(dense_text(item)) for item in chunk], rows)
    # A warm build embeds the second encoder's sample of 128 items for real (its cache is
    # filled by use, not by a build), as a bot that has run on this corpus has it.
    Retriever(items, cache_folder=folder)
    return {"rows": len(cache)}


FIRST_QUESTIONS = ("latest news", "will holiday resorts be hiring again?")
"""What waits for the bot as it starts: one it answers from the index alone, and one in
people's own words, which needs the sentence encoder loaded (``dense.preload``)."""


async def _first_reply(
    cache: Path, knowledge: Path, workdir: Path, question: str = FIRST_QUESTIONS[0]
) -> float:
    """Seconds from starting ``newsbot run`` (long polling the local server, SQLite) until
    it answers ``question``, which was waiting for it: the bot's whole start-up."""
    import asyncio

    from bot.localapi import TEST_TOKEN, LocalBotApiServer

    async with LocalBotApiServer() as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WEBHOOK"))}
        env.update(
            TELEGRAM_BOT_TOKEN=TEST_TOKEN,
            TELEGRAM_API_BASE_URL=server.base_url,
            KNOWLEDGE_FILE=str(knowledge),
            NEWSBOT_EMBEDDING_CACHE=str(cache),
            DATABASE_URL=f"sqlite:///{workdir / 'newsbot.db'}",
            LOG_LEVEL="WARNING",
        )
        server.add_private_chat(77)
        server.user_sends(77, question)
        started = time.monotonic()
        bot = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=workdir, env=env
        )
        try:
            await server.wait_for_messages(77, 1, timeout=600)
            return time.monotonic() - started
        finally:
            bot.terminate()
            await bot.wait()


def bot_startup(cache: Path, n: int) -> dict[str, list[float]]:
    """The bot's start-up with ``n`` items and the vectors in ``cache`` (as ``prefill`` left
    them), by the question waiting for it: the first start reads the YAML (and keeps the
    parsed copy), the next ones don't; the two questions take turns (on this shared virtual
    machine one start can take a second more than the next)."""
    import asyncio

    from benchmarks.corpus import generate
    from bot.knowledge.store import write_knowledge

    with tempfile.TemporaryDirectory(prefix="newsbot-bench-start-") as folder:
        workdir = Path(folder)
        knowledge = workdir / "news.yaml"
        write_knowledge(knowledge, generate(n + ADDS)[:n])
        starts: dict[str, list[float]] = {"first": [], **{q: [] for q in FIRST_QUESTIONS}}
        starts["first"].append(asyncio.run(_first_reply(cache, knowledge, workdir)))
        for _ in range(5):
            for question in FIRST_QUESTIONS:
                starts[question].append(
                    asyncio.run(_first_reply(cache, knowledge, workdir, question))
                )
        return starts


MEASURES = {
    "newsbot": measure_newsbot,
    "newsbot-words": measure_words,
    "bm25s": measure_bm25s,
    "prefill": prefill,
}


def _measure_in_fresh_process(
    system: str, n: int, cache: Path | None = None, timeout: float = 1800
) -> dict[str, Any]:
    env = dict(os.environ)
    env["NEWSBOT_EMBEDDING_CACHE"] = str(cache) if cache is not None else ""
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.retrieval_cost", system, str(n)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=timeout,
        env=env,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


COLD_UP_TO = 10_000
"""Cold builds (every item through MiniLM, ~15 ms each on one core) are measured up to here."""


def _row(n: int, system: str, r: dict[str, Any]) -> str:
    add = f"{r['add_ms']:.2f} ms" if r.get("add_ms") is not None else "rebuild"
    kept = r.get("retained_bytes")
    retained = f"{kept / n / 1024:.2f} KiB" if kept is not None else "-"
    return (
        f"| {n:,} | {system} | {r['build_s']:.2f} s | {1e6 * r['build_s'] / n:.0f} µs "
        f"| {r['p50_ms']:.2f} ms | {r['p99_ms']:.2f} ms "
        f"| {r['rss_bytes'] / 2**20:.1f} MiB | {r['rss_bytes'] / n / 1024:.2f} KiB "
        f"| {retained} | {add} |"
    )


def run() -> str:
    lines = [
        "## Retrieval cost",
        "",
        f"Synthetic corpus (`benchmarks/corpus.py`, seeded), {QUERIES} seeded questions per size "
        "(title words, typos, dates, `latest on ...`, negatives), the same for every system. "
        "Latency is one `search` (newsbot: date parsing, typo correction, word coverage, "
        "WordLlama cosine, and the MiniLM sentence encoder over all items when the words do not "
        "answer, with multilingual-e5-small re-ranking MiniLM's best five where MiniLM is "
        "unsure, beside a fixed sample of 128 items that gives its scale, each item through e5 "
        "once and then from its cache; "
        "its cache of recent answers is off here, so every question is searched) or one "
        "BM25 `tokenize` + `retrieve` (k=5, one thread). *cold*: an empty vector cache, so the "
        "build embeds every item with WordLlama and MiniLM (and e5's sample); *warm cache*: "
        "the vectors are read from "
        "the cache a previous start wrote (at 100,000 items the cache is pre-filled with "
        "stand-in MiniLM vectors: a cold build there takes most of an hour). *words + "
        "WordLlama*: the retriever before the sentence encoder, for comparison. RSS growth is "
        "the resident-set growth of a fresh process across the build; retained is what "
        f"tracemalloc still counts after a second build (sizes up to {TRACED_UP_TO:,}). "
        f"add is the median time of `Retriever.add` for {ADDS} items after the build (with the "
        "encoder: one item through MiniLM).",
        "",
        "| items | system | build | per item | query p50 | query p99 | RSS growth | per item "
        "| retained per item | add one |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    startup: dict[int, dict[str, Any]] = {}
    bot_starts: dict[str, list[float]] = {}
    for n in SIZES:
        with tempfile.TemporaryDirectory(prefix="newsbot-bench-cache-") as folder:
            cache = Path(folder)
            if n <= COLD_UP_TO:
                r = _measure_in_fresh_process("newsbot", n, cache)
                lines.append(_row(n, "newsbot, cold", r))
            else:
                _measure_in_fresh_process("prefill", n, cache)
            r = _measure_in_fresh_process("newsbot", n, cache)
            startup[n] = r
            if n == max(SIZES):
                bot_starts = bot_startup(cache, n)
            lines.append(_row(n, "**newsbot, warm cache**", r))
        lines.append(
            _row(n, "newsbot, words + WordLlama", _measure_in_fresh_process("newsbot-words", n))
        )
        lines.append(_row(n, "bm25s", _measure_in_fresh_process("bm25s", n)))
    lines += [
        "",
        "Start-up of the retrieval with a warm cache (load the three models, then build the index "
        "and read the vectors): "
        + ", ".join(
            f"{n:,} items {r['models_s'] + r['build_s']:.2f} s "
            f"(models {r['models_s']:.2f} s, build {r['build_s']:.2f} s)"
            for n, r in startup.items()
        )
        + ".",
        "",
        f"**Start-up of the bot** with {max(SIZES):,} items in its YAML knowledge file and a "
        "warm vector cache, from starting `newsbot run` (long polling the local server, "
        "SQLite) to its answer to a question that was waiting: "
        f"{bot_starts['first'][0]:.2f} s the first time (a new database records every item "
        "as known, and the YAML is read, about 3 s, and its items kept beside the vectors, "
        "`bot/knowledge/parsed.py`), then, the copy read instead and its items built without "
        "validating them again, "
        + "; ".join(
            f"for “{question}” median **{statistics.median(times):.2f} s** "
            f"({min(times):.2f}-{max(times):.2f} s, {len(times)} starts)"
            for question, times in bot_starts.items()
            if question != "first"
        )
        + ". The first needs only the word index, the second the sentence encoder, which "
        "loads in a thread meanwhile (`dense.preload`), and both wait for it: the retriever "
        "is built with its models. What a start does, in order: Python's, "
        "python-telegram-bot's, SQLAlchemy's and pydantic's imports with the collector "
        "paused (`bot/runtime/heap.py`; not Alembic's at a database at the newest schema, not "
        "aiohttp's before a feed is fetched), getMe, the database, the items' copy "
        "(`marshal`), the word index from its snapshot and the item vectors mapped "
        "(`bot/retrieval/snapshot.py`), the items recorded as known, the heap frozen.",
        "",
        "newsbot's memory per item: a 384-float32 MiniLM row (1.5 KiB) and a 256-float32 "
        "WordLlama row (1 KiB), postings (8 bytes per distinct term, ~30-60 terms) and id/date "
        "bookkeeping; the cache files are memory-mapped (page cache, not counted in the "
        "process's own growth once dropped). The models (WordLlama 16 MB, MiniLM int8 23 MB, "
        "e5-small 4-bit 72 MB memory-mapped) are loaded once per process and not counted per "
        "item; e5 keeps at most 8,192 item rows in memory (3 MiB), only the items it was asked "
        "about.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    system, size = sys.argv[1], int(sys.argv[2])
    print(json.dumps(MEASURES[system](size)))
