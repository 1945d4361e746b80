"""Finding the news items that answer a question: words, typos, meaning and dates in one score.

``Retriever`` is the entry point; ``SearchResult.kind`` tells the caller how to reply.
May import: nothing of the bot; items are anything ``Searchable`` (the knowledge's ``NewsItem``).
"""

from bot.retrieval.dates import DateQuery, impossible_date, parse_date_query
from bot.retrieval.embeddings import Embedder, default_embedder, load_wordllama
from bot.retrieval.retriever import (
    ANSWER_THRESHOLD,
    DEFAULT_EMBEDDER,
    SUGGEST_THRESHOLD,
    Hit,
    Kind,
    Retriever,
    Searchable,
    SearchResult,
)

__all__ = [
    "ANSWER_THRESHOLD",
    "DEFAULT_EMBEDDER",
    "SUGGEST_THRESHOLD",
    "DateQuery",
    "Embedder",
    "Hit",
    "Kind",
    "Retriever",
    "SearchResult",
    "Searchable",
    "default_embedder",
    "impossible_date",
    "load_wordllama",
    "parse_date_query",
]
