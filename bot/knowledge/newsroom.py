"""The news the bot knows right now: the knowledge file, its retriever, reloads and additions.

One ``Newsroom`` per process. Reading is lock-free (the current snapshot is
swapped in whole); publishing and reloading are serialised by a lock so an
admin's new item and an edit on disk never overwrite each other.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.errors import KnowledgeError, Problem
from bot.knowledge.models import NewsItem, item_key
from bot.knowledge.store import load_knowledge, validate_document, write_knowledge
from bot.retrieval import Retriever

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Snapshot:
    """Items and the retriever built over them, replaced together."""

    items: tuple[NewsItem, ...]
    retriever: Retriever[NewsItem]
    by_key: dict[str, NewsItem]
    mtime_ns: int
    by_id: dict[str, NewsItem]


@dataclass(frozen=True)
class ReloadOutcome:
    """What a reload did: ``added`` items are new to this process; ``problems`` if rejected."""

    changed: bool
    added: tuple[NewsItem, ...] = ()
    problems: tuple[Problem, ...] = ()


def _mtime_ns(path: Path) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return -1


class Newsroom:
    """Holds the current knowledge and retriever; reloads edits; appends published items."""

    def __init__(self, path: Path, items: Sequence[NewsItem], mtime_ns: int = -1) -> None:
        self.path = path
        self._lock = asyncio.Lock()
        self._snapshot = self._build(items, mtime_ns)

    @classmethod
    def open(cls, path: Path) -> Newsroom:
        """Load ``path``; raises ``KnowledgeError`` if invalid (there is no last good yet)."""
        mtime = _mtime_ns(path)
        return cls(path, load_knowledge(path), mtime)

    @staticmethod
    def _build(items: Sequence[NewsItem], mtime_ns: int) -> Snapshot:
        by_key = {item_key(item.id): item for item in items}
        by_id = {item.id: item for item in items}
        return Snapshot(tuple(items), Retriever(list(items)), by_key, mtime_ns, by_id)

    @property
    def items(self) -> tuple[NewsItem, ...]:
        return self._snapshot.items

    @property
    def retriever(self) -> Retriever[NewsItem]:
        return self._snapshot.retriever

    def latest(self, count: int) -> list[NewsItem]:
        """The newest ``count`` items, newest first (stable for items of the same date)."""
        return self._snapshot.retriever.latest(count)

    def by_key(self, key: str) -> NewsItem | None:
        """The item behind a button's short key, if it still exists."""
        return self._snapshot.by_key.get(key)

    def get(self, item_id: str) -> NewsItem | None:
        return self._snapshot.by_id.get(item_id)

    async def reload_if_changed(self) -> ReloadOutcome:
        """Take a valid edit of the file; an invalid one keeps the last good knowledge."""
        async with self._lock:
            mtime = _mtime_ns(self.path)
            if mtime == self._snapshot.mtime_ns:
                return ReloadOutcome(changed=False)
            try:
                items = await asyncio.to_thread(load_knowledge, self.path)
            except KnowledgeError as exc:
                # Remember this mtime so the same bad edit is reported once, not every tick.
                self._snapshot = dataclasses.replace(self._snapshot, mtime_ns=mtime)
                logger.warning("knowledge edit rejected, keeping last good: %s", exc)
                return ReloadOutcome(changed=False, problems=tuple(exc.problems))
            known = {item.id for item in self._snapshot.items}
            added = tuple(item for item in items if item.id not in known)
            self._snapshot = await asyncio.to_thread(self._build, items, mtime)
            logger.info("knowledge reloaded: %d items, %d new", len(items), len(added))
            return ReloadOutcome(changed=True, added=added)

    async def publish(self, item: NewsItem) -> None:
        """Append ``item`` to the file atomically and make it searchable at once.

        Raises ``KnowledgeError`` if the item does not validate together with the rest
        (for example a duplicate id); the file is then left untouched.
        """
        async with self._lock:
            items = [*self._snapshot.items, item]
            document = {"items": [i.model_dump(mode="json") for i in items]}
            validate_document(document, str(self.path))
            await asyncio.to_thread(write_knowledge, self.path, items)
            # Adding to the live index costs a fraction of a millisecond; a rebuild
            # would take seconds at 100k items. Searches see the item from now on.
            snapshot = self._snapshot
            snapshot.retriever.add(item)
            self._snapshot = Snapshot(
                tuple(items),
                snapshot.retriever,
                {**snapshot.by_key, item_key(item.id): item},
                _mtime_ns(self.path),
                {**snapshot.by_id, item.id: item},
            )
