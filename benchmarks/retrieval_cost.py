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
import statistics
import subprocess
import sys
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


def measure_newsbot(n: int) -> dict[str, Any]:
    from benchmarks.corpus import generate, queries
    from bot.retrieval import Retriever, default_embedder

    default_embedder()  # the model is shared by every retriever in a process: not per item
    items = generate(n + ADDS)
    extra, items = items[n:], items[:n]
    questions = queries(items, QUERIES)
    before = _rss_bytes()
    started = time.perf_counter()
    # No answer cache: every question is searched, as a question never asked before would be.
    retriever = Retriever(items, cache_size=0)
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
        "build_s": build,
        "rss_bytes": memory,
        "retained_bytes": _retained_bytes(lambda: Retriever(items, cache_size=0), n),
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


MEASURES = {"newsbot": measure_newsbot, "bm25s": measure_bm25s}


def _measure_in_fresh_process(system: str, n: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.retrieval_cost", system, str(n)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run() -> str:
    lines = [
        "## Retrieval cost",
        "",
        f"Synthetic corpus (`benchmarks/corpus.py`, seeded), {QUERIES} seeded questions per size "
        "(title words, typos, dates, `latest on ...`, negatives), the same for both systems. "
        "Latency is one `search` (newsbot: date parsing, typo correction, word coverage, "
        "embedding cosine over all items unless the words already settle the top results, "
        "fusion; its cache of recent answers is off here, so every question is searched) or one "
        "BM25 `tokenize` + `retrieve` (k=5, one thread). RSS growth is the "
        "resident-set growth of a fresh process across the build, allocator slack from the "
        "build's temporary peak included; retained is what "
        f"tracemalloc still counts after a second build (sizes up to {TRACED_UP_TO:,}). "
        f"newsbot's add is the median time of `Retriever.add` for {ADDS} items after the build.",
        "",
        "| items | system | build | per item | query p50 | query p99 | RSS growth | per item "
        "| retained per item | add one |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for n in SIZES:
        for system in MEASURES:
            r = _measure_in_fresh_process(system, n)
            add = f"{r['add_ms']:.2f} ms" if r["add_ms"] is not None else "rebuild"
            kept = r["retained_bytes"]
            retained = f"{kept / n / 1024:.2f} KiB" if kept is not None else "-"
            lines.append(
                f"| {n:,} | {system} | {r['build_s']:.2f} s | {1e6 * r['build_s'] / n:.0f} µs "
                f"| {r['p50_ms']:.2f} ms | {r['p99_ms']:.2f} ms "
                f"| {r['rss_bytes'] / 2**20:.1f} MiB | {r['rss_bytes'] / n / 1024:.2f} KiB "
                f"| {retained} | {add} |"
            )
    lines += [
        "",
        "newsbot's memory per item: a 256-float32 embedding row (1 KiB) plus postings "
        "(8 bytes per distinct term, ~30-60 terms) and id/date bookkeeping; the WordLlama model "
        "itself (16 MB) is loaded once per process and not counted here.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    system, size = sys.argv[1], int(sys.argv[2])
    print(json.dumps(MEASURES[system](size)))
