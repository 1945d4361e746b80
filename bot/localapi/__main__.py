"""Run the local Bot API server standalone: ``python -m bot.localapi --port 8081``.

Prints the base URL to give the bot (``Bot(token, base_url=...)``). With ``--chat-as
USER_ID`` each line typed on standard input is sent to the bot as that user, and the bot's
messages are printed; ``/press MESSAGE_ID DATA`` presses an inline button.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys

from bot.localapi.limits import FloodLimits
from bot.localapi.server import LocalBotApiServer


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bot.localapi", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081, help="0 picks a free port")
    parser.add_argument("--token", default=None, help="accept only this token")
    parser.add_argument("--no-flood-limits", action="store_true", help="never answer 429")
    parser.add_argument("--chat-as", type=int, default=None, metavar="USER_ID")
    return parser.parse_args(argv)


async def _print_bot_messages(server: LocalBotApiServer, chat_id: int) -> None:
    shown: dict[int, int] = {}  # message id -> edits shown
    while True:
        for message in server.messages(chat_id):
            if shown.get(message.message_id) == len(message.history):
                continue
            label = "edited" if message.history else "bot"
            buttons = "".join(f" [{text} -> {data}]" for text, data in message.buttons)
            print(f"<{label} #{message.message_id}> {message.text}{buttons}", flush=True)
            shown[message.message_id] = len(message.history)
        await server.world.changed.wait_until(lambda: False, 0.2)


async def _chat(server: LocalBotApiServer, user_id: int) -> None:
    printer = asyncio.create_task(_print_bot_messages(server, user_id))
    loop = asyncio.get_running_loop()
    try:
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            text = line.rstrip("\n")
            if text.startswith("/press "):
                _, message_id, data = text.split(" ", 2)
                try:
                    server.user_presses(user_id, int(message_id), data)
                except ValueError as exc:
                    print(f"! {exc}", flush=True)
            elif text:
                server.user_sends(user_id, text)
    finally:
        printer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await printer


async def _serve(args: argparse.Namespace) -> None:
    limits = FloodLimits.off() if args.no_flood_limits else FloodLimits()
    async with LocalBotApiServer(args.host, args.port, limits=limits, token=args.token) as server:
        print(f"base_url: {server.base_url}", flush=True)
        print(f"base_file_url: {server.base_file_url}", flush=True)
        if args.chat_as is None:
            await asyncio.Event().wait()
        else:
            await _chat(server, args.chat_as)


def main(argv: list[str] | None = None) -> None:
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(_arguments(argv)))


if __name__ == "__main__":
    main()
