"""Console mode: the terminal is a Telegram chat with the bot.

The bot runs unchanged (the real python-telegram-bot ``Application``, long
polling over HTTP) against the bundled local Bot API server; what you type is
sent as a user's message, and the bot's replies are printed as text. Buttons
are shown as numbered choices: type ``#1`` to press the first.
"""

from __future__ import annotations

import asyncio
import sys
import textwrap
from typing import TextIO

from bot.app import build_application, running
from bot.config import Settings
from bot.localapi import TEST_TOKEN, LocalBotApiServer, RecordedMessage

CONSOLE_USER_ID = 1000
QUIET_SECONDS = 0.4
REPLY_TIMEOUT = 15.0
WIDTH = 88

BANNER = """newsbot console: you are chatting with the bot through a local Bot API server.
Type a question (try: what's new on child labour?), a command (/help), #N to press
button N under the last reply, or /quit to leave. The console user is an admin."""


class ConsoleChat:
    """Tracks what the terminal user has already seen of the chat."""

    def __init__(self, server: LocalBotApiServer, out: TextIO) -> None:
        self.server = server
        self.out = out
        self._seen: dict[int, int] = {}  # message id -> number of versions printed
        self._buttons: list[tuple[int, str]] = []

    def _fresh(self) -> list[RecordedMessage]:
        fresh = []
        for message in self.server.messages(CONSOLE_USER_ID):
            versions = len(message.history) + 1
            if self._seen.get(message.message_id, 0) < versions and not message.deleted:
                fresh.append(message)
                self._seen[message.message_id] = versions
        return fresh

    async def wait_and_print(self) -> None:
        """Print what the bot says, waiting until it has been quiet for a moment."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + REPLY_TIMEOUT
        printed_any = False
        quiet_since = loop.time()
        while loop.time() < deadline:
            fresh = self._fresh()
            if fresh:
                for message in fresh:
                    self._print(message)
                printed_any = True
                quiet_since = loop.time()
            elif printed_any and loop.time() - quiet_since >= QUIET_SECONDS:
                return
            await asyncio.sleep(0.05)
        if not printed_any:
            print("bot> (no answer)", file=self.out)

    def _print(self, message: RecordedMessage) -> None:
        label = "bot (edited)>" if message.edited else "bot>"
        indent = " " * (len(label) + 1)
        lines = [
            textwrap.fill(line, WIDTH, initial_indent=indent, subsequent_indent=indent) or ""
            for line in message.text.splitlines()
        ]
        print(f"{label} " + "\n".join(lines).lstrip(), file=self.out)
        choices = [(t, d) for t, d in message.buttons if d is not None]
        if choices:
            self._buttons = [(message.message_id, data) for _, data in choices]
            shown = "  ".join(f"[#{n} {text}]" for n, (text, _) in enumerate(choices, start=1))
            print(f"{' ' * (len(label) + 1)}{shown}", file=self.out)
        self.out.flush()

    def handle(self, line: str) -> bool:
        """Send what the user typed; False if nothing was sent."""
        if line.startswith("#") and line[1:].strip().isdigit():
            number = int(line[1:].strip())
            if not 1 <= number <= len(self._buttons):
                print(f"(there is no button #{number})", file=self.out)
                return False
            message_id, data = self._buttons[number - 1]
            self.server.user_presses(CONSOLE_USER_ID, message_id, data)
            return True
        self.server.user_sends(CONSOLE_USER_ID, line, first_name="You")
        return True


async def console(
    settings: Settings, stdin: TextIO | None = None, stdout: TextIO | None = None
) -> None:
    """Run the bot against a local Bot API server and chat with it in the terminal."""
    source = stdin or sys.stdin
    out = stdout or sys.stdout
    async with LocalBotApiServer() as server:
        local = settings.model_copy(
            update={
                "telegram_api_base_url": server.base_url,
                "admin_ids": settings.admin_ids | {CONSOLE_USER_ID},
            }
        )
        app = build_application(local, token=TEST_TOKEN)
        async with running(app):
            chat = ConsoleChat(server, out)
            print(BANNER, file=out)
            try:
                while True:
                    if source.isatty():
                        print("you> ", end="", file=out, flush=True)
                    line = await asyncio.to_thread(source.readline)
                    if not line:
                        break
                    line = line.strip()
                    if not line:
                        continue
                    if line in {"/quit", "/exit"}:
                        break
                    if not source.isatty():
                        print(f"you> {line}", file=out)
                    if chat.handle(line):
                        await chat.wait_and_print()
            except KeyboardInterrupt:
                pass
