"""The news the bot knows right now: the operator's file merged with what the bot published.

The knowledge file is the operator's and is **read-only to the bot**: the bot never
writes it, so a hand edit is never overwritten and ``git status`` stays clean. What the
bot adds itself (an admin's broadcast now, a feed poller's entries later) is *published*:
a row in the database (``published_items``), merged with the file at load, so every
process on the database sees it and it survives restarts. ``newsbot export`` writes the
merged knowledge to a file.

The merge: the file's items in file order, then the published items in publishing
order. **On an id clash the file wins**: the operator's word is final, and the published
item with the same id is left out (logged once). ``publish`` refuses an id the knowledge
already holds, so a clash arises only when an operator later writes that id into the file.

One ``Newsroom`` per process. Reading is lock-free (the current snapshot is swapped in
whole); publishing, picking up and reloading are serialised by a lock.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from bot.errors import KnowledgeError, Problem
from bot.knowledge.models import NewsItem, item_key
from bot.knowledge.store import load_knowledge
from bot.retrieval import Retriever
from bot.storage import PublishedItemRepository, PublishedRecord

logger = logging.getLogger(__name__)

# On PostgreSQL two publishers can commit out of ``seq`` order (the later number first), so
# a poll re-reads this many rows below the highest seen; known ids are skipped. Far more
# than the publishers that could be mid-commit at once.
PICKUP_LOOKBACK = 100
# Adding to the live index costs a fraction of a millisecond an item; past this many new
# items at once a rebuild is as cheap and leaves no dead rows.
REBUILD_ABOVE = 200


class ItemKeys:
    """Items by their buttons' short key (``item_key``), worked out at the first lookup:
    hashing 100,000 ids took 0.06 s of start-up, and a button is pressed later if at all."""

    def __init__(self, items: Sequence[NewsItem], keys: dict[str, NewsItem] | None = None) -> None:
        self._items = items
        self._keys = keys

    def get(self, key: str) -> NewsItem | None:
        if self._keys is None:
            self._keys = {item_key(item.id): item for item in self._items}
        return self._keys.get(key)

    def extended(self, items: Sequence[NewsItem], new: Sequence[NewsItem]) -> ItemKeys:
        """The keys of ``items``: these ones' and ``new``'s (the last of ``items``)."""
        if self._keys is None:
            return ItemKeys(items)
        return ItemKeys(items, {**self._keys, **{item_key(i.id): i for i in new}})


@dataclass(frozen=True)
class Snapshot:
    """Items and the retriever built over them, replaced together."""

    items: tuple[NewsItem, ...]
    retriever: Retriever[NewsItem]
    by_key: ItemKeys
    mtime_ns: int
    by_id: dict[str, NewsItem]


@dataclass(frozen=True)
class ReloadOutcome:
    """What a reload did: ``added`` items are new to this process; ``problems`` if rejected.

    ``held_back``: the edit was valid but dropped most items (a half-written file?), so
    the last good knowledge is kept; ``problems`` says what it would have dropped.
    """

    changed: bool
    added: tuple[NewsItem, ...] = ()
    problems: tuple[Problem, ...] = ()
    held_back: bool = False


# A valid edit that keeps fewer than this share of the file's items is held back: a file
# cut short by a non-atomic write (an editor, a copy) looks exactly like that.
KEEP_AT_LEAST = 0.5
# Held back only from files this large: a three-item test file may shrink to one.
HOLD_BACK_FROM = 4


def _mtime_ns(path: Path) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return -1


def _signature(path: Path) -> tuple[int, int]:
    try:
        info = os.stat(path)
    except OSError:
        return (-1, -1)
    return (info.st_mtime_ns, info.st_size)


def item_from_record(record: PublishedRecord) -> NewsItem:
    """The knowledge item a published row holds."""
    return NewsItem(
        id=record.item_id,
        title=record.title,
        date=record.date,
        summary=record.summary,
        url=record.url,
        tags=record.tags,
    )


def merge(file_items: Sequence[NewsItem], published: Iterable[NewsItem]) -> list[NewsItem]:
    """The file's items, then the published ones whose id the file does not hold."""
    in_file = {item.id for item in file_items}
    return [*file_items, *(item for item in published if item.id not in in_file)]


class Newsroom:
    """Holds the current knowledge and retriever; reloads the file; publishes items."""

    def __init__(
        self,
        path: Path,
        items: Sequence[NewsItem],
        mtime_ns: int = -1,
        *,
        store: PublishedItemRepository | None = None,
        settle_seconds: float = 0.2,
        cache_folder: Path | None = None,
    ) -> None:
        self.path = path
        self.cache_folder = cache_folder
        """Where the retriever keeps item vectors and its word index between starts."""
        self._store = store
        self.settle_seconds = settle_seconds
        """A changed file is read, then looked at again after this long: if it changed in
        between, someone is still writing it, and it is read at the next look instead."""
        self._lock = asyncio.Lock()
        self._file_items: tuple[NewsItem, ...] = tuple(items)
        # Published items by id, in publishing order; those the file shadows included.
        self._published: dict[str, NewsItem] = {}
        self._cursor = 0
        self._shadowed: set[str] = set()
        self._rejected: set[str] = set()  # invalid published rows, reported once
        self._snapshot = self._build(self._file_items, mtime_ns)

    @classmethod
    def open(
        cls,
        path: Path,
        store: PublishedItemRepository | None = None,
        *,
        cache_folder: Path | None = None,
    ) -> Newsroom:
        """Load ``path``; raises ``KnowledgeError`` if invalid (there is no last good yet).

        With a ``store``, call ``pick_up_published`` next to merge what was published.
        Without one (a one-off tool), published items live in this process only.
        """
        mtime = _mtime_ns(path)
        items = load_knowledge(path, cache_folder)
        return cls(path, items, mtime, store=store, cache_folder=cache_folder)

    def _merged(self, file_items: Sequence[NewsItem]) -> list[NewsItem]:
        in_file = {item.id for item in file_items}
        for item_id in self._published.keys() & in_file - self._shadowed:
            self._shadowed.add(item_id)
            logger.warning(
                "published item %s is also in the knowledge file: the file wins", item_id
            )
        return merge(file_items, self._published.values())

    def _build(self, items: Sequence[NewsItem], mtime_ns: int) -> Snapshot:
        items = self._merged(items)
        by_id = {item.id: item for item in items}
        kept = tuple(items)
        return Snapshot(
            kept,
            Retriever(list(items), cache_folder=self.cache_folder),
            ItemKeys(kept),
            mtime_ns,
            by_id,
        )

    def _extended(self, new: Sequence[NewsItem]) -> Snapshot:
        snapshot = self._snapshot
        if len(new) > REBUILD_ABOVE:
            return self._build(self._file_items, snapshot.mtime_ns)
        # Searches see the items from now on; a rebuild would take seconds at 100k items.
        snapshot.retriever.add_many(new)
        items = (*snapshot.items, *new)
        return Snapshot(
            items,
            snapshot.retriever,
            snapshot.by_key.extended(items, new),
            snapshot.mtime_ns,
            {**snapshot.by_id, **{i.id: i for i in new}},
        )

    @property
    def items(self) -> tuple[NewsItem, ...]:
        """The merged knowledge: what ``newsbot export`` writes."""
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
        """Take a valid edit of the file; an invalid one keeps the last good knowledge.

        A file still being written (it changes while it is read) is left for the next look.
        A valid edit that drops more than half the items is held back and reported: it is
        taken at the next start, or once an edit brings most items back.
        """
        async with self._lock:
            before = _signature(self.path)
            if before[0] == self._snapshot.mtime_ns:
                return ReloadOutcome(changed=False)
            items: list[NewsItem] | None = None
            error: KnowledgeError | None = None
            try:
                items = await asyncio.to_thread(load_knowledge, self.path, self.cache_folder)
            except KnowledgeError as exc:
                error = exc
            await asyncio.sleep(self.settle_seconds)
            mtime, _ = after = _signature(self.path)
            if after != before:
                logger.info(
                    "knowledge file %s is still being written; reading it later", self.path
                )
                return ReloadOutcome(changed=False)
            if items is None:
                assert error is not None
                # Remember this mtime so the same bad edit is reported once, not every tick.
                self._snapshot = _with_mtime(self._snapshot, mtime)
                logger.warning("knowledge edit rejected, keeping last good: %s", error)
                return ReloadOutcome(changed=False, problems=tuple(error.problems))
            kept = {item.id for item in items}
            dropped = [item.id for item in self._file_items if item.id not in kept]
            old = len(self._file_items)
            if old >= HOLD_BACK_FROM and old - len(dropped) < old * KEEP_AT_LEAST:
                self._snapshot = _with_mtime(self._snapshot, mtime)
                reason = (
                    f"this edit would drop {len(dropped)} of the {old} items (first: "
                    f"{dropped[0]}); a half-written file? I keep the last good knowledge. "
                    "To remove them on purpose, restart the bot after the edit"
                )
                logger.warning("knowledge edit held back: %s", reason)
                problem = Problem(str(self.path), "-", "items", reason)
                return ReloadOutcome(changed=False, problems=(problem,), held_back=True)
            known = self._snapshot.by_id
            added = tuple(item for item in items if item.id not in known)
            self._file_items = tuple(items)
            self._snapshot = await asyncio.to_thread(self._build, items, mtime)
            logger.info("knowledge reloaded: %d items, %d new", len(items), len(added))
            return ReloadOutcome(changed=True, added=added)

    async def publish(self, item: NewsItem, source: str = "broadcast") -> bool:
        """Persist ``item`` as published, then make it searchable here at once.

        The one way the bot adds knowledge (a broadcast, a feed poller). Other processes
        on the database see the item at their next ``pick_up_published``. Returns False
        if this very item was published already (a retry is harmless). Raises
        ``KnowledgeError`` if another item holds the id; nothing is stored then.
        """
        async with self._lock:
            held = self._snapshot.by_id.get(item.id) or self._published.get(item.id)
            if held is not None:
                if held == item and item.id in self._published:
                    return False
                raise KnowledgeError([_clash(item)])
            if self._store is not None:
                record = await self._store.add(
                    item_id=item.id,
                    title=item.title,
                    date=item.date,
                    summary=item.summary,
                    url=item.url,
                    tags=item.tags,
                    source=source,
                )
                if item_from_record(record) != item:
                    raise KnowledgeError([_clash(item)])
            self._published[item.id] = item
            self._snapshot = self._extended([item])
            return True

    async def pick_up_published(self) -> tuple[NewsItem, ...]:
        """Merge items other processes published since the last look; returns the new ones.

        A short poll of the ``published_items`` table (the app calls it with the file
        reload, every few seconds): a broadcast sent through one process is searchable in
        every other one within that interval. Cheap when nothing changed: one indexed
        query reading at most ``PICKUP_LOOKBACK`` rows.
        """
        if self._store is None:
            return ()
        records = await self._store.since(max(0, self._cursor - PICKUP_LOOKBACK))
        async with self._lock:
            new: list[NewsItem] = []
            for record in records:
                self._cursor = max(self._cursor, record.seq)
                if record.item_id in self._published or record.item_id in self._rejected:
                    continue
                try:
                    item = item_from_record(record)
                except ValidationError as exc:
                    logger.error(
                        "published item %s is not valid, left out: %s", record.item_id, exc
                    )
                    self._rejected.add(record.item_id)
                    continue
                self._published[item.id] = item
                if item.id in self._snapshot.by_id:
                    self._merged(self._file_items)  # logs the clash once
                    continue
                new.append(item)
            if new:
                self._snapshot = await asyncio.to_thread(self._extended, new)
            return tuple(new)


def _clash(item: NewsItem) -> Problem:
    return Problem("published items", f"id {item.id!r}", "id", "another item already has this id")


def _with_mtime(snapshot: Snapshot, mtime_ns: int) -> Snapshot:
    return Snapshot(snapshot.items, snapshot.retriever, snapshot.by_key, mtime_ns, snapshot.by_id)
