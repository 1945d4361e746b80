"""Per-kind figures for newsbot on the paraphrase sets and the practice set.

``python -m benchmarks.paraphrase_sets`` prints hit@1 per kind (negatives: rejected) for the
seed, garden and county paraphrase sets (tests/eval; written before tuning, then tuned on), the
held-out health agency set (written after the constants were chosen, never tuned on), the
held-out university, sport and transit set (written on 2026-12-07 by a helper who never saw the
retriever; run once, never tuned on) and,
beside them, the practice set in ``../shared/practice`` when it is there (not tuned on).
"""

from __future__ import annotations

import datetime as dt
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import yaml

from bot.knowledge.importers import parse_numbered_listing
from bot.knowledge.models import NewsItem
from bot.knowledge.store import load_knowledge
from bot.retrieval import Retriever
from bot.retrieval.evaluation import Question, load_questions

ROOT = Path(__file__).resolve().parents[1]
OWN_SETS = {
    "seed paraphrases": ROOT / "tests/eval/seed_paraphrases.yaml",
    "garden paraphrases": ROOT / "tests/eval/garden/paraphrases.yaml",
    "county (valley)": ROOT / "tests/eval/valley/questions.yaml",
    "held out (health agency)": ROOT / "tests/eval/heldout/questions.yaml",
    "held out (university, sport, transit)": ROOT / "tests/eval/heldout2/questions.yaml",
}
# ``../shared/practice`` beside the main checkout; a worktree under ``wt/`` looks one level up.
PRACTICE = next(
    (
        folder
        for folder in (ROOT.parent / "shared/practice", ROOT.parents[1] / "shared/practice")
        if folder.is_dir()
    ),
    ROOT.parent / "shared/practice",
)
PRACTICE_TODAY = dt.date(2025, 7, 1)


def own_set(path: Path) -> tuple[list[NewsItem], list[Question]]:
    question_set = load_questions(path, ROOT)
    return load_knowledge(question_set.knowledge), list(question_set.questions)


def practice_set(folder: Path = PRACTICE) -> tuple[list[NewsItem], list[Question]] | None:
    """The practice corpus and its questions (positions turned into ids); None if absent."""
    corpus, questions = folder / "corpus_c.txt", folder / "questions_c.yaml"
    if not corpus.exists() or not questions.exists():
        return None
    items = parse_numbered_listing(corpus.read_text(encoding="utf-8"))
    raw = yaml.safe_load(questions.read_text(encoding="utf-8"))
    return items, [
        Question(
            text=str(q["q"]),
            expect=frozenset(items[i - 1].id for i in q["relevant"]),
            today=PRACTICE_TODAY,
            kind=str(q["kind"]),
        )
        for q in raw
    ]


def kind_of(question: Question) -> str:
    return question.kind or ("negative" if not question.expect else "other")


def per_kind(
    retriever: Retriever[NewsItem], questions: Sequence[Question]
) -> tuple[dict[str, tuple[int, int]], list[str]]:
    """Per kind (right, asked): hit@1 on answerable questions, nothing offered on negatives."""
    right: Counter[str] = Counter()
    asked: Counter[str] = Counter()
    wrong: list[str] = []
    for question in questions:
        kind = kind_of(question)
        result = retriever.search(question.text, today=question.today)
        offered = [hit.item.id for hit in result.hits]  # what `newsbot ask --json` calls results
        ok = (
            not offered if not question.expect else bool(offered) and offered[0] in question.expect
        )
        right[kind] += ok
        asked[kind] += 1
        if not ok:
            wrong.append(f"[{kind}] {question.text} -> {offered[:1]}")
    return {kind: (right[kind], asked[kind]) for kind in asked}, wrong


def main(argv: Sequence[str] = ()) -> int:
    verbose = "-v" in argv
    sets = {name: own_set(path) for name, path in OWN_SETS.items()}
    practice = practice_set()
    if practice is not None:
        sets["practice (shared)"] = practice
    for name, (items, questions) in sets.items():
        figures, wrong = per_kind(Retriever(items), questions)
        shown = ", ".join(f"{kind} {a}/{b}" for kind, (a, b) in sorted(figures.items()))
        print(f"{name:20s} {shown}")
        if verbose:
            for line in wrong:
                print("    " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
