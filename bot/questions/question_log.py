"""Unanswered questions, logged for /stats in batches, off the reply path.

Writing each one as it is asked cost a database transaction per question, the
largest cost of answering after retrieval (benchmarks/e2e.py). Buffered here
and flushed every few seconds, at /stats and at shutdown; a SIGKILL loses at
most the last few seconds of this statistic, never a subscriber or a message.
"""

from __future__ import annotations

import logging

from bot.storage import NewQuestion, QuestionRepository

logger = logging.getLogger(__name__)

FLUSH_SECONDS = 5.0
MAX_BUFFERED = 5_000


class QuestionLog:
    """A buffer of questions the retriever found nothing for."""

    def __init__(self, repository: QuestionRepository) -> None:
        self.repository = repository
        self._pending: list[NewQuestion] = []

    def add(self, question: NewQuestion) -> None:
        if len(self._pending) >= MAX_BUFFERED:
            return  # the database is not keeping up; a statistic can lose a few
        self._pending.append(question)

    async def flush(self) -> int:
        """Write what is buffered; on failure it stays buffered for the next flush."""
        batch, self._pending = self._pending, []
        if not batch:
            return 0
        try:
            return await self.repository.record_many(batch)
        except Exception:
            logger.exception("could not log %d unanswered question(s); will retry", len(batch))
            self._pending = batch + self._pending
            return 0
