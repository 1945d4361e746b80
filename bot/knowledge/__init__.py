"""The knowledge: news items, how they are validated, imported, stored and searched live.

Lives here: ``models`` (the one definition of a valid item), ``importers`` (listings and feeds
into a knowledge file), ``store`` (reading and atomic writing of the file), ``reading`` (its
YAML, fast), ``newsroom`` (the current knowledge and its retriever: reloads and additions).
May import: ``retrieval`` (which imports nothing of the bot), ``errors``.
"""

from bot.knowledge.models import KnowledgeFile, NewsItem

__all__ = ["KnowledgeFile", "NewsItem"]
