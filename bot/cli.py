"""The ``newsbot`` command: ask, import, export, check, run, console."""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bot.errors import ConfigError, NewsbotError

if TYPE_CHECKING:
    from bot.knowledge.models import NewsItem

DEFAULT_KNOWLEDGE = "knowledge/news.yaml"
CONSOLE_LOG = Path("data/console.log")


def _cmd_ask(args: argparse.Namespace) -> int:
    from bot.knowledge.store import load_knowledge
    from bot.retrieval import Retriever

    if args.limit < 1:
        raise NewsbotError("--limit must be a positive number")
    if args.knowledge is not None:
        path = _existing(args.knowledge, "--knowledge")
    else:
        path = _existing(_default_knowledge(), "KNOWLEDGE_FILE")
    retriever = Retriever(load_knowledge(path), cache_folder=_embedding_cache())
    result = retriever.search(args.question, limit=args.limit)
    if args.json:
        payload = {
            "query": args.question,
            "kind": result.kind,
            "results": [hit.to_json() for hit in result.hits],
            "suggestions": [hit.to_json() for hit in result.suggestions],
        }
        print(json.dumps(payload, ensure_ascii=False, indent=2))
        return 0
    if not result.hits:
        print(f"Nothing found about {args.question!r}.")
        if result.suggestions:
            print("Did you mean:")
            for hit in result.suggestions:
                print(f"  - {hit.item.title} ({hit.item.date.isoformat()})")
        return 0
    for number, hit in enumerate(result.hits, start=1):
        item = hit.item
        print(f"{number}. {item.title}  [{item.date.isoformat()}, score {hit.score:.2f}]")
        print(f"   {item.summary}")
        if item.url:
            print(f"   {item.url}")
        print()
    return 0


def _embedding_cache() -> Path | None:
    from bot.config import load_settings

    return load_settings().embedding_cache


def _default_knowledge() -> Path:
    from bot.config import load_settings

    return load_settings().knowledge_file


def _existing(path: Path, setting: str) -> Path:
    """``path`` if it is there; else a ConfigError naming the setting that chose it."""
    if not path.exists():
        raise ConfigError(f"{setting}: {path} does not exist")
    if path.is_dir():
        raise ConfigError(f"{setting}: {path} is a folder, not a knowledge file")
    return path


def _read_source(source: str) -> str:
    """The text of a listing or feed: a local file, or an http(s) address fetched."""
    if re.match(r"^https?://", source, re.IGNORECASE):
        import httpx

        try:
            response = httpx.get(source, follow_redirects=True, timeout=30.0)
            response.raise_for_status()
        except httpx.HTTPStatusError as exc:
            status = exc.response.status_code
            raise NewsbotError(f"{source}: the server answered {status}") from None
        except httpx.HTTPError as exc:
            raise NewsbotError(f"{source}: cannot fetch: {exc or type(exc).__name__}") from None
        try:
            return response.content.decode("utf-8-sig")
        except UnicodeDecodeError:
            return response.text
    try:
        return Path(source).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise NewsbotError(f"{source}: does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise NewsbotError(f"{source}: cannot read: {exc}") from None


def _cmd_import(args: argparse.Namespace) -> int:
    from bot.errors import ImportFormatError
    from bot.knowledge.importers import import_text
    from bot.knowledge.store import summarize, write_knowledge
    from bot.storage.location import missing_folders

    try:
        items = import_text(_read_source(args.source), args.source)
    except ImportFormatError as exc:
        for line in str(exc).splitlines():
            print(line, file=sys.stderr)
        count = len(exc.reasons)
        print(f"{args.source}: {count} problem{'s' if count != 1 else ''}", file=sys.stderr)
        return 1
    output: Path = args.output
    missing = missing_folders(output)
    write_knowledge(output, items)
    created = f" (created the folder {missing})" if missing is not None else ""
    print(f"{output}: wrote {summarize(items)}{created}")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    import asyncio

    from bot.config import load_settings
    from bot.knowledge.store import summarize, write_knowledge

    settings = load_settings()
    knowledge = args.knowledge or settings.knowledge_file
    items = asyncio.run(_merged_knowledge(knowledge, settings.database_url))
    write_knowledge(args.output, items)
    print(f"{args.output}: wrote {summarize(items)}")
    return 0


async def _merged_knowledge(knowledge: Path, database_url: str) -> list[NewsItem]:
    """The knowledge file merged with the items published in the database."""
    from bot.knowledge.newsroom import Newsroom
    from bot.storage import Storage

    Newsroom.open(knowledge)  # a bad file is reported before the database is opened
    storage = await Storage.open(database_url)
    try:
        newsroom = Newsroom.open(knowledge, storage.published, cache_folder=_embedding_cache())
        await newsroom.pick_up_published()
    finally:
        await storage.close()
    return list(newsroom.items)


def _cmd_check(args: argparse.Namespace) -> int:
    from bot.errors import KnowledgeError
    from bot.knowledge.store import load_knowledge, summarize

    if args.path is None:
        args.path = _existing(_default_knowledge(), "KNOWLEDGE_FILE")
    try:
        items = load_knowledge(args.path)
    except KnowledgeError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        count = len(exc.problems)
        print(f"{args.path}: {count} problem{'s' if count != 1 else ''}", file=sys.stderr)
        return 1
    print(f"{args.path}: ok, {summarize(items)}")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from bot.runtime import heap

    heap.pause_for_start_up()  # until the bot is built (``heap.settle``)
    from bot.config import load_settings
    from bot.logs import configure_logging
    from bot.retrieval.dense import preload

    settings = load_settings()
    _existing(settings.knowledge_file, "KNOWLEDGE_FILE")
    preload(settings.embedding_cache)  # while the rest of the bot loads and connects
    from bot.runner import run_bot, run_console

    token = settings.telegram_bot_token
    secrets = [token.get_secret_value()] if token else []
    if settings.webhook_secret is not None:
        secrets.append(settings.webhook_secret.get_secret_value())
    if token is None or args.command == "console":
        # The terminal is the chat: the log goes to a file, not over the prompt.
        log_file: Path | None = CONSOLE_LOG
        try:
            CONSOLE_LOG.parent.mkdir(parents=True, exist_ok=True)
            CONSOLE_LOG.touch()
        except OSError:
            log_file = None
        if log_file is None:
            configure_logging("WARNING" if settings.log_level == "INFO" else settings.log_level)
        else:
            configure_logging(settings.log_level, file=log_file)
            # Its INFO is a line per job run, every few seconds.
            logging.getLogger("apscheduler").setLevel(logging.WARNING)
        run_console(settings, log_file)
    else:
        configure_logging(settings.log_level, secrets)
        run_bot(settings)
    return 0


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("newsbot")
    except PackageNotFoundError:
        return "unknown"


def _cmd_feeds(args: argparse.Namespace) -> int:
    import asyncio

    return asyncio.run(_feeds(args))


async def _feeds(args: argparse.Namespace) -> int:
    import datetime as dt

    from bot.config import load_settings
    from bot.feeds.addresses import RefusedAddress, vet_feed_url
    from bot.feeds.listing import ago
    from bot.storage import Storage

    settings = load_settings()
    url = args.url
    if args.action == "add":
        try:
            url = await vet_feed_url(args.url, allow_private=settings.feeds_allow_private)
        except RefusedAddress as exc:
            raise NewsbotError(f"cannot follow {args.url}: {exc}") from None
    storage = await Storage.open(settings.database_url)
    try:
        if args.action == "add":
            added = await storage.feeds.add(url, push=args.push, added_by=None)
            print(f"following {url}" if added else f"already following {url}")
        elif args.action == "remove":
            feed = await storage.feeds.by_url(url)
            if feed is None or await storage.feeds.remove(feed.id) is None:
                raise NewsbotError(f"not following {url}")
            print(f"stopped following {url}")
        else:
            now = dt.datetime.now(dt.UTC)
            for feed in await storage.feeds.all():
                push = " push" if feed.push else ""
                error = f" error: {feed.last_error}" if feed.last_error else ""
                print(
                    f"{feed.url}{push}  last fetch {ago(feed.last_fetch_at, now)}, "
                    f"last new item {ago(feed.last_new_at, now)}{error}"
                )
    finally:
        await storage.close()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsbot", description="A Telegram bot that answers questions about the news."
    )
    parser.add_argument("--version", action="version", version=f"newsbot {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ask = commands.add_parser("ask", help="answer a question from the knowledge file")
    ask.add_argument("question", help='e.g. "what\'s new on child labour?"')
    ask.add_argument("--json", action="store_true", help="print JSON")
    ask.add_argument(
        "--knowledge", type=Path, help=f"knowledge file (default {DEFAULT_KNOWLEDGE})"
    )
    ask.add_argument("--limit", type=int, default=5, help="at most this many results (default 5)")
    ask.set_defaults(handler=_cmd_ask)

    imp = commands.add_parser("import", help="turn a news listing into a knowledge file")
    imp.add_argument(
        "source",
        help="a file or http(s) address: an RSS/Atom feed or a listing (N. Title, date, summary)",
    )
    imp.add_argument("-o", "--output", required=True, type=Path, help="knowledge file to write")
    imp.set_defaults(handler=_cmd_import)

    export = commands.add_parser(
        "export", help="write the knowledge file merged with the items the bot published"
    )
    export.add_argument("-o", "--output", required=True, type=Path, help="file to write")
    export.add_argument("--knowledge", type=Path, help="knowledge file (default: KNOWLEDGE_FILE)")
    export.set_defaults(handler=_cmd_export)

    check = commands.add_parser("check", help="validate a knowledge file")
    check.add_argument(
        "path", type=Path, nargs="?", help="the file to check (default: KNOWLEDGE_FILE)"
    )
    check.set_defaults(handler=_cmd_check)

    feeds = commands.add_parser("feeds", help="the feeds the bot follows: add, list, remove")
    feed_actions = feeds.add_subparsers(dest="action", required=True, metavar="ACTION")
    feed_add = feed_actions.add_parser("add", help="follow a feed (RSS, Atom or JSON Feed)")
    feed_add.add_argument("url")
    feed_add.add_argument(
        "--push", action="store_true", help="send each new item to every subscriber"
    )
    feed_actions.add_parser("list", help="every feed with its last fetch, new item, error")
    feed_remove = feed_actions.add_parser("remove", help="stop following a feed")
    feed_remove.add_argument("url")
    feeds.set_defaults(handler=_cmd_feeds, url=None, push=False)

    run = commands.add_parser("run", help="run the bot (console mode without a token)")
    run.set_defaults(handler=_cmd_run)
    console = commands.add_parser("console", help="chat with the bot in this terminal")
    console.set_defaults(handler=_cmd_run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``newsbot`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except NewsbotError as exc:
        print(f"newsbot {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
