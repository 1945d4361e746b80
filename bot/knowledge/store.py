"""Read, validate and write knowledge files.

Validation collects every problem with its file, item (id or position) and
field, so a person fixes a file in one pass. Writes (``newsbot import``,
``newsbot export``; the bot itself never writes the operator's file) are atomic: a
temporary file in the same folder, fsync, then ``os.replace``, so a crash never
leaves a half-written knowledge file. A file keeps its mode; a new one gets the
mode any new file gets (0666 less the umask), not ``mkstemp``'s private 0600.
"""

from __future__ import annotations

import datetime as dt
import os
import stat
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bot.errors import KnowledgeError, Problem, plain_reason
from bot.knowledge import parsed
from bot.knowledge.models import KnowledgeFile, NewsItem
from bot.knowledge.reading import collector_paused, load_plain

MAX_FILE_BYTES = 50 * 1024 * 1024


def _item_label(raw_items: Sequence[Any], index: int) -> str:
    raw = raw_items[index] if index < len(raw_items) else None
    if isinstance(raw, dict) and isinstance(raw.get("id"), str) and raw["id"].strip():
        return f"item {index + 1} (id {raw['id']!r})"
    return f"item {index + 1}"


def validate_document(data: Any, file: str) -> list[NewsItem]:
    """Validate parsed YAML/JSON (``{"items": [...]}`` or a bare list) into items."""
    if data is None:
        raise KnowledgeError([Problem(file, "-", "items", "the file is empty")])
    if isinstance(data, list):
        data = {"items": data}
    if not isinstance(data, dict):
        found = type(data).__name__
        reason = f"expected a mapping with an 'items' list, found {found}"
        raise KnowledgeError([Problem(file, "-", "items", reason)])
    raw_items = data.get("items")
    raw_items = raw_items if isinstance(raw_items, list) else []
    try:
        document = KnowledgeFile.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = error["loc"]
            if not loc and "duplicate id" in str(error["msg"]):
                continue  # reported once below, naming both items
            if len(loc) >= 2 and loc[0] == "items" and isinstance(loc[1], int):
                item = _item_label(raw_items, loc[1])
                field = ".".join(str(part) for part in loc[2:]) or "-"
            else:
                item, field = "-", ".".join(str(part) for part in loc) or "items"
            problems.append(Problem(file, item, field, _reason(error, field)))
        problems.extend(_raw_duplicates(raw_items, file))
        raise KnowledgeError(problems) from None
    return document.items


def _reason(error: Any, field: str) -> str:
    if error["type"] == "missing":
        return "required field is missing"
    if error["type"] == "string_pattern_mismatch":
        if field == "id":
            return "expected lower-case letters, digits and hyphens, e.g. 2021-06-10-child-labour"
        if field == "url":
            return "expected an http:// or https:// address without spaces"
    if error["type"] == "extra_forbidden":
        return "unknown field (allowed: id, title, date, summary, url, tags)"
    return plain_reason(error)


def _raw_duplicates(raw_items: Sequence[Any], file: str) -> list[Problem]:
    first: dict[str, int] = {}
    problems = []
    for index, raw in enumerate(raw_items, start=1):
        item_id = raw.get("id") if isinstance(raw, dict) else None
        if not isinstance(item_id, str):
            continue
        if item_id in first:
            reason = f"duplicate id, first used by item {first[item_id]}"
            problems.append(Problem(file, f"item {index} (id {item_id!r})", "id", reason))
        first.setdefault(item_id, index)
    return problems


def load_knowledge(
    path: str | os.PathLike[str], cache_folder: Path | None = None
) -> list[NewsItem]:
    """Load and validate a knowledge file; raise ``KnowledgeError`` naming every problem.

    ``cache_folder``: where a large file's items are kept once read (``parsed``), so the
    next start with the same file reads them three times as fast.
    """
    file = str(path)
    try:
        size = os.path.getsize(path)
        if size > MAX_FILE_BYTES:
            limit = MAX_FILE_BYTES // 2**20
            reason = (
                f"the file is {size:,} bytes, more than the {limit} MiB "
                f"({MAX_FILE_BYTES:,} bytes) allowed"
            )
            raise KnowledgeError([Problem(file, "-", "-", reason)])
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise KnowledgeError([Problem(file, "-", "-", "does not exist")]) from None
    except OSError as exc:
        raise KnowledgeError([Problem(file, "-", "-", exc.strerror or str(exc))]) from None
    copy = parsed.place(cache_folder, raw)
    kept = parsed.load(copy)  # only a file that was read and valid has a copy
    if kept is not None:
        return kept
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        reason = f"not UTF-8 text (byte {exc.start}); save the file as UTF-8"
        raise KnowledgeError([Problem(file, "-", "-", reason)]) from None
    with collector_paused():
        items = _parse(text, file)
    parsed.save(copy, items)
    return items


def _parse(text: str, file: str) -> list[NewsItem]:
    try:
        data = load_plain(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "-"
        problem = getattr(exc, "problem", None) or "not valid YAML"
        reason = f"YAML syntax: {problem}{_import_hint(text, file)}"
        raise KnowledgeError([Problem(file, where, "-", reason)]) from None
    return validate_document(data, file)


def _import_hint(text: str, file: str) -> str:
    """For a feed or a news listing given as the knowledge file: how to convert it."""
    from bot.knowledge.importers import IMPORTERS  # feedparser: only on this error's path

    for importer in IMPORTERS:
        if importer.sniff(text):
            return (
                f"; this looks like a news listing ({importer.name}), not a knowledge file: "
                f"convert it with `newsbot import {file} -o knowledge/news.yaml`"
            )
    return ""


def _to_plain(item: NewsItem) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": item.id,
        "title": item.title,
        "date": item.date.isoformat(),
        "summary": item.summary,
    }
    if item.url:
        data["url"] = item.url
    if item.tags:
        data["tags"] = list(item.tags)
    return data


def dump_knowledge(items: Sequence[NewsItem]) -> str:
    """The YAML text of a knowledge file holding ``items``."""
    document = {"items": [_to_plain(item) for item in items]}
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)


def _mode_for(target: Path) -> int:
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        umask = os.umask(0o022)  # reading the umask means setting it; put it straight back
        os.umask(umask)
        return 0o666 & ~umask


def write_knowledge(path: str | os.PathLike[str], items: Sequence[NewsItem]) -> None:
    """Write atomically: never leaves a half-written file, even if killed mid-write.

    An existing file keeps its mode; a new one gets 0666 less the umask.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    text = dump_knowledge(items)
    mode = _mode_for(target)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def summarize(items: Sequence[NewsItem]) -> str:
    """One line: how many items and the date range they span."""
    if not items:
        return "0 items"
    first: dt.date = min(item.date for item in items)
    last: dt.date = max(item.date for item in items)
    count = f"{len(items)} item{'s' if len(items) != 1 else ''}"
    if first == last:
        return f"{count}, {first.isoformat()}"
    return f"{count}, {first.isoformat()} to {last.isoformat()}"
