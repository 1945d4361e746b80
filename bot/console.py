"""Console mode: the terminal is a Telegram chat with the bot.

The bot runs unchanged (the real python-telegram-bot ``Application``, long
polling over HTTP) against the bundled local Bot API server; what you type is
sent as a user's message, and the bot's replies are printed as text. Buttons
are shown as numbered choices: type ``#1`` to press the first.

In a terminal the prompt is prompt_toolkit's: what the bot sends on its own (a digest,
an alert, a broadcast's progress) is printed above the prompt as it arrives, and what
is being typed stays as it was. Ctrl+C and Ctrl+D leave at once. Logs go to a file,
not over the prompt. With piped input (tests, scripts) each line waits for its answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from bot.app import build_application, running
from bot.config import Settings
from bot.localapi import TEST_TOKEN, LocalBotApiServer, RecordedMessage

CONSOLE_USER_ID = 1000
QUIET_SECONDS = 1.2
"""Piped input: the bot has answered once it is this quiet; above the 1 s Telegram puts
between two messages to one chat, or a reply in several messages is cut in two."""
DRAIN_SECONDS = 30.0
DRAIN_QUIET = 3.0
"""At the end of piped input, what is still coming (a broadcast's report) is printed: until
the bot has been quiet this long, for at most DRAIN_SECONDS."""
REPLY_TIMEOUT = 15.0
POLL_SECONDS = 0.1
WIDTH = 88
PROMPT = "you> "

BANNER = """newsbot console: you are chatting with the bot through a local Bot API server.
Type a question (try: what's new on child labour?), a command (/help), #N to press
button N under the last reply, or /quit (Ctrl+D, Ctrl+C) to leave. The console user is an
admin."""


def with_urls(text: str, entities: Sequence[dict[str, Any]]) -> str:
    """``Read more`` → ``Read more (https://…)``: a terminal cannot click a hidden link."""
    links = sorted(
        (e for e in entities if e.get("type") == "text_link" and e.get("url")),
        key=lambda e: int(e["offset"]) + int(e["length"]),
        reverse=True,
    )
    if not links:
        return text
    # Entity offsets count UTF-16 code units (https://core.telegram.org/bots/api#messageentity).
    units = text.encode("utf-16-le")
    for link in links:
        end = 2 * (int(link["offset"]) + int(link["length"]))
        units = units[:end] + f" ({link['url']})".encode("utf-16-le") + units[end:]
    return units.decode("utf-16-le")


class ConsoleChat:
    """Tracks what the terminal user has already seen of the chat."""

    def __init__(self, server: LocalBotApiServer, out: TextIO | None = None) -> None:
        self.server = server
        self._out = out
        self._seen: dict[int, int] = {}  # message id -> number of versions printed
        self._buttons: list[tuple[int, str]] = []

    @property
    def out(self) -> TextIO:
        # Looked up at each print: under prompt_toolkit's patch_stdout, sys.stdout is the
        # proxy that prints above the prompt.
        return self._out if self._out is not None else sys.stdout

    def _fresh(self) -> list[RecordedMessage]:
        fresh = []
        for message in self.server.messages(CONSOLE_USER_ID):
            versions = len(message.history) + 1
            if self._seen.get(message.message_id, 0) < versions and not message.deleted:
                fresh.append(message)
                self._seen[message.message_id] = versions
        return fresh

    def print_fresh(self) -> bool:
        """Print what the bot said since the last look; True if there was anything."""
        fresh = self._fresh()
        for message in fresh:
            self._print(message)
        return bool(fresh)

    async def print_as_they_come(self) -> None:
        """Print the bot's messages and edits as they arrive, until cancelled."""
        while True:
            self.print_fresh()
            await asyncio.sleep(POLL_SECONDS)

    async def wait_and_print(
        self, *, seconds: float = REPLY_TIMEOUT, quiet: float = QUIET_SECONDS, drain: bool = False
    ) -> None:
        """Print what the bot says, waiting until it has been ``quiet`` for a moment; with
        ``drain`` (the end of the input), also when it says nothing, and silently then."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        printed_any = drain
        quiet_since = loop.time()
        while loop.time() < deadline:
            if self.print_fresh():
                printed_any = True
                quiet_since = loop.time()
            elif printed_any and loop.time() - quiet_since >= quiet:
                return
            await asyncio.sleep(0.05)
        if not printed_any:
            print("bot> (no answer)", file=self.out)

    def _print(self, message: RecordedMessage) -> None:
        label = "bot (edited)>" if message.edited else "bot>"
        indent = " " * (len(label) + 1)
        lines = [
            textwrap.fill(line, WIDTH, initial_indent=indent, subsequent_indent=indent) or ""
            for line in with_urls(message.text, message.entities).splitlines()
        ]
        text = f"{label} " + "\n".join(lines).lstrip()
        choices = [(t, d) for t, d in message.buttons if d is not None]
        # "#N" presses a button under the last message printed: none if it has none (a
        # confirmation edited in place of a "did you mean" takes its buttons away).
        self._buttons = [(message.message_id, data) for _, data in choices]
        if choices:
            shown = "  ".join(f"[#{n} {text}]" for n, (text, _) in enumerate(choices, start=1))
            text += f"\n{' ' * (len(label) + 1)}{shown}"
        # One write per message: above a prompt, each write is a redraw.
        print(text, file=self.out, flush=True)

    def handle(self, line: str) -> bool:
        """Send what the user typed; False if nothing was sent."""
        if line.startswith("#") and line[1:].strip().isdigit():
            number = int(line[1:].strip())
            if not 1 <= number <= len(self._buttons):
                print(f"(there is no button #{number})", file=self.out, flush=True)
                return False
            message_id, data = self._buttons[number - 1]
            try:
                self.server.user_presses(CONSOLE_USER_ID, message_id, data)
            except ValueError:  # the message went or changed meanwhile
                self._buttons = []
                print(f"(button #{number} is gone)", file=self.out, flush=True)
                return False
            return True
        self.server.user_sends(CONSOLE_USER_ID, line, first_name="You")
        return True


async def console(
    settings: Settings,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    *,
    log_file: Path | None = None,
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
        # Known to the server from the start, so the bot can write first (an admin notice).
        server.add_private_chat(CONSOLE_USER_ID, first_name="You")
        app = build_application(local, token=TEST_TOKEN)
        async with running(app):
            print(BANNER, file=out)
            if log_file is not None:
                print(f"The log is in {log_file}.", file=out)
            out.flush()
            if stdin is None and stdout is None and source.isatty() and out.isatty():
                await _interactive(ConsoleChat(server))
            else:
                await _piped(ConsoleChat(server, out), source, out)


async def _interactive(chat: ConsoleChat) -> None:
    """A prompt_toolkit prompt; the bot's messages print above it as they arrive."""
    from prompt_toolkit import PromptSession
    from prompt_toolkit.patch_stdout import patch_stdout

    session: PromptSession[str] = PromptSession(PROMPT)
    with patch_stdout(raw=True):
        printer = asyncio.create_task(chat.print_as_they_come())
        try:
            while True:
                try:
                    line = (await session.prompt_async()).strip()
                except (EOFError, KeyboardInterrupt):
                    # Ctrl+D or Ctrl+C: leave now, the shell prompt on a line of its own.
                    break
                if line in {"/quit", "/exit"}:
                    break
                if line:
                    chat.handle(line)
        finally:
            printer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await printer
            chat.print_fresh()


async def _piped(chat: ConsoleChat, source: TextIO, out: TextIO) -> None:
    """Lines from a pipe or a file: each is echoed and waits for the bot's answer."""
    while True:
        line = await asyncio.to_thread(source.readline)
        if not line:
            break
        line = line.strip()
        if not line:
            continue
        if line in {"/quit", "/exit"}:
            break
        print(f"{PROMPT}{line}", file=out)
        if chat.handle(line):
            await chat.wait_and_print()
    await chat.wait_and_print(seconds=DRAIN_SECONDS, quiet=DRAIN_QUIET, drain=True)
