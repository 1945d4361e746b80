"""The ``newsbot`` command: ask, import, check, run, console."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.errors import NewsbotError

DEFAULT_KNOWLEDGE = "knowledge/news.yaml"


def _cmd_ask(args: argparse.Namespace) -> int:
    from bot.knowledge.store import load_knowledge
    from bot.retrieval import Retriever

    if args.limit < 1:
        raise NewsbotError("--limit must be a positive number")
    path = args.knowledge or _default_knowledge()
    retriever = Retriever(load_knowledge(path))
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


def _default_knowledge() -> Path:
    from bot.config import load_settings

    return load_settings().knowledge_file


def _cmd_import(args: argparse.Namespace) -> int:
    from bot.knowledge.importers import import_text
    from bot.knowledge.store import summarize, write_knowledge

    source = Path(args.source)
    try:
        text = source.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise NewsbotError(f"{source}: cannot read: {exc}") from None
    items = import_text(text, str(source))
    write_knowledge(args.output, items)
    print(f"{args.output}: wrote {summarize(items)}")
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    from bot.errors import KnowledgeError
    from bot.knowledge.store import load_knowledge, summarize

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
    from bot.config import load_settings
    from bot.logs import configure_logging
    from bot.runner import run_bot, run_console

    settings = load_settings()
    token = settings.telegram_bot_token
    secrets = [token.get_secret_value()] if token else []
    if token is None or args.command == "console":
        # The terminal is the chat: only warnings and errors go to the log.
        configure_logging(
            "WARNING" if settings.log_level.upper() == "INFO" else settings.log_level
        )
        run_console(settings)
    else:
        configure_logging(settings.log_level, secrets)
        run_bot(settings)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsbot", description="A Telegram bot that answers questions about the news."
    )
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
    imp.add_argument("source", help="a listing: 'N. Title', a date line, a summary")
    imp.add_argument("-o", "--output", required=True, type=Path, help="knowledge file to write")
    imp.set_defaults(handler=_cmd_import)

    check = commands.add_parser("check", help="validate a knowledge file")
    check.add_argument("path", type=Path)
    check.set_defaults(handler=_cmd_check)

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
