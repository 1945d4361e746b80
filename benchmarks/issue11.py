"""Issue 11 in one table: paraphrases and negatives, newsbot beside bm25s, WordLlama, MiniLM.

For each own paraphrase set (tests/eval) and the practice set, on its paraphrase and negative
questions only: newsbot at its fixed thresholds (``results`` only, as ``newsbot ask --json``
answers), and bm25s, WordLlama and MiniLM-L6 cosine each at the cut-off best for it on that set
(hindsight), then the ratios; and the median time of one question for each, in the same run.
Start-up at 100,000 items is in the retrieval cost section (a fresh process with a warm cache).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence

from benchmarks.paraphrase_sets import OWN_SETS, own_set, per_kind, practice_set
from benchmarks.retrieval_quality import bm25_peer, minilm_peer, with_best_cutoff, wordllama_peer
from bot.knowledge.models import NewsItem
from bot.retrieval import Retriever
from bot.retrieval.evaluation import Question

KINDS = ("paraphrase", "negative")


def _p50_ms(ask: Callable[[Question], object], questions: Sequence[Question]) -> float:
    """Median time of one question, each asked once: a second asking would hit the caches of
    recent query vectors, which a question never asked before does not."""
    times = []
    for question in questions:
        started = time.perf_counter()
        ask(question)
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


def _ratio(ours: float, theirs: float) -> str:
    return f"{ours / theirs:.2f}x" if theirs else "∞"


def _row(items: Sequence[NewsItem], questions: Sequence[Question]) -> list[str]:
    asked = [q for q in questions if (q.kind or ("negative" if not q.expect else "")) in KINDS]
    retriever = Retriever(items, cache_size=0)
    peers = (bm25_peer(items), wordllama_peer(items), minilm_peer(items))
    # Times first, while no question has been asked of any system.
    ours_ms = _p50_ms(lambda q: retriever.search(q.text, today=q.today), asked)
    peer_ms = [_p50_ms(peer, asked) if peer is not None else 0.0 for peer in peers]
    figures, _ = per_kind(retriever, asked)
    para, neg = figures.get("paraphrase", (0, 0)), figures.get("negative", (0, 0))
    ours = (para[0] / para[1] if para[1] else 0.0, neg[0] / neg[1] if neg[1] else 0.0)
    cells = [f"{para[0]}/{para[1]}", f"{neg[0]}/{neg[1]}", f"{ours_ms:.2f} ms"]
    for peer, ms in zip(peers, peer_ms, strict=True):
        if peer is None:
            cells += ["-"] * 4
            continue
        score, cutoff, _ = with_best_cutoff(peer, asked)
        cells += [
            f"{score.hit1}/{score.answerable}, {score.rejected}/{score.negatives} ({cutoff})",
            f"{_ratio(ours[0], score.hit1_rate)}, {_ratio(ours[1], score.rejected_rate)}",
            f"{ms:.2f} ms",
            _ratio(ours_ms, ms),
        ]
    return cells


def run() -> str:
    sets = {name: own_set(path) for name, path in OWN_SETS.items()}
    practice = practice_set()
    if practice is not None:
        sets["practice (shared; not tuned on)"] = practice
    lines = [
        "## Issue 11: questions in people's own words, beside bm25s, WordLlama and MiniLM alone",
        "",
        "Paraphrase questions share no content word with their item; negatives have no answer.",
        "newsbot: hit@1 of `results` at its fixed thresholds. Peers: hit@1 and negatives",
        "rejected at their best cut-off in hindsight on the same questions. Ratios are",
        "newsbot / peer (paraphrase hit@1, negatives rejected; query time: above 1 is slower).",
        "",
        "| set | newsbot paraphrase | newsbot negatives | newsbot p50 | bm25s | newsbot/bm25s "
        "| bm25s p50 | time ratio | WordLlama alone | newsbot/WordLlama | WordLlama p50 "
        "| time ratio | MiniLM alone | newsbot/MiniLM | MiniLM p50 | time ratio |",
        "|---|" + "---|" * 15,
    ]
    for name, (items, questions) in sets.items():
        lines.append(f"| {name} | " + " | ".join(_row(items, questions)) + " |")
    return "\n".join([*lines, ""])


if __name__ == "__main__":
    print(run())
