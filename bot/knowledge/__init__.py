"""The knowledge file: news items, how they are validated, imported and loaded."""

from bot.knowledge.models import KnowledgeFile, NewsItem

__all__ = ["KnowledgeFile", "NewsItem"]
