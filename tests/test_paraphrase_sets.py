"""The paraphrase question sets are what they claim: no question shares a word with its item."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.knowledge.store import load_knowledge
from bot.retrieval.evaluation import load_questions, shared_content_words

ROOT = Path(__file__).resolve().parents[1]
PARAPHRASE_SETS = [
    ROOT / "tests/eval/seed_paraphrases.yaml",
    ROOT / "tests/eval/garden/paraphrases.yaml",
    ROOT / "tests/eval/valley/questions.yaml",
    ROOT / "tests/eval/heldout/questions.yaml",
]


@pytest.mark.parametrize("path", PARAPHRASE_SETS, ids=lambda p: p.parent.name + "/" + p.stem)
def test_paraphrases_share_no_content_word_with_their_items(path: Path) -> None:
    question_set = load_questions(path, ROOT)
    items = {item.id: item for item in load_knowledge(question_set.knowledge)}
    problems = []
    for question in question_set.questions:
        assert question.expect <= items.keys(), question.expect - items.keys()
        if question.kind != "paraphrase":
            continue
        for item_id in question.expect:
            item = items[item_id]
            shared = shared_content_words(question.text, f"{item.title} {item.summary}")
            if shared:
                problems.append((question.text, item_id, sorted(shared)))
    assert not problems, problems
    assert sum(q.kind == "paraphrase" for q in question_set.questions) >= 10
