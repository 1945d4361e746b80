"""Console mode stories, through a real pseudo-terminal with real keys (pexpect).

``newsbot console`` runs as a separate process in a pty, as in a newcomer's terminal:
prompt_toolkit draws the prompt, the bot's messages print above it, Ctrl+C and Ctrl+D
leave at once.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from bot.console import with_urls

ROOT = Path(__file__).resolve().parents[1]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
CTRL_C = "\x03"
CTRL_D = "\x04"
HARBOUR = """- id: 2021-06-12-harbour-workers-win-a-pay-rise
  title: Harbour workers win a pay rise
  date: '2021-06-12'
  summary: Dock workers agreed a deal.
  url: https://example.org/harbour
"""


def screen_text(raw: str) -> str:
    """What was printed, without the terminal's control sequences."""
    return ANSI.sub("", raw).replace("\r", "")


@pytest.fixture
def console(tmp_path: Path) -> Iterator[pexpect.spawn]:
    shutil.copy(ROOT / "knowledge" / "news.yaml", tmp_path / "news.yaml")
    with (tmp_path / "news.yaml").open("a", encoding="utf-8") as knowledge:
        knowledge.write(HARBOUR)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "NEWSBOT"))}
    env.update(
        TERM="xterm-256color",
        # A pty without a terminal behind it never answers prompt_toolkit's cursor query.
        PROMPT_TOOLKIT_NO_CPR="1",
        KNOWLEDGE_FILE="news.yaml",
        DATABASE_URL="sqlite+aiosqlite:///data/newsbot.db",
        LOG_LEVEL="INFO",
    )
    child = pexpect.spawn(
        sys.executable,
        ["-m", "bot", "console"],
        cwd=str(tmp_path),
        env=env,
        encoding="utf-8",
        timeout=30,
        dimensions=(50, 120),
    )
    child.expect("The log is in data/console.log.")
    child.expect("you>")
    try:
        yield child
    finally:
        if child.isalive():
            child.terminate(force=True)


def _leave(child: pexpect.spawn, key: str) -> tuple[float, str]:
    """Press ``key``; seconds until the process ended, and the rest of what it printed."""
    pressed = time.monotonic()
    child.send(key)
    child.expect(pexpect.EOF, timeout=15)
    elapsed = time.monotonic() - pressed
    child.close()
    return elapsed, screen_text(child.before or "")


def test_a_message_that_arrives_on_its_own_prints_above_what_is_being_typed(
    console: pexpect.spawn, tmp_path: Path
) -> None:
    console.send("what is new on child lab")  # typed, not sent
    knowledge = tmp_path / "news.yaml"
    good = knowledge.read_text(encoding="utf-8")
    knowledge.write_text(good + "- {id: BROKEN}\n", encoding="utf-8")
    # The bot tells its admin (the console user) about the bad edit, unasked.
    console.expect("The knowledge file was edited but is not valid", timeout=20)
    console.expect("summary: required field is missing")
    # The prompt is drawn again below it, with what was typed still there.
    console.expect("you> what is new on child lab")
    knowledge.write_text(good, encoding="utf-8")
    console.send("our\r")
    console.expect("Global progress to end child labour has stalled")
    # The log (the rejected edit's WARNING) went to the file, not over the prompt.
    elapsed, rest = _leave(console, CTRL_C)
    assert elapsed < 5
    assert console.exitstatus == 0
    log = (tmp_path / "data" / "console.log").read_text(encoding="utf-8")
    assert "WARNING bot.knowledge.newsroom: knowledge edit rejected" in log
    assert "WARNING" not in rest and "Traceback" not in rest


def test_ctrl_c_at_the_prompt_leaves_at_once(console: pexpect.spawn) -> None:
    console.send("half a question")
    elapsed, rest = _leave(console, CTRL_C)
    assert (console.exitstatus, console.signalstatus) == (0, None)
    assert elapsed < 5
    assert "Traceback" not in rest and "KeyboardInterrupt" not in rest


def test_ctrl_d_leaves_with_the_shell_prompt_on_a_line_of_its_own(
    console: pexpect.spawn,
) -> None:
    console.send("latest news\r")
    # A link is shown with its address: a terminal cannot open a hidden one.
    console.expect(r"Read more \(https://example.org/harbour\)")
    console.expect("you>")
    elapsed, rest = _leave(console, CTRL_D)
    assert console.exitstatus == 0
    assert elapsed < 5
    assert rest.endswith("\n")


def test_a_piped_session_prints_each_answer_under_its_line_and_survives_a_gone_button(
    tmp_path: Path,
) -> None:
    shutil.copy(ROOT / "knowledge" / "news.yaml", tmp_path / "news.yaml")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "NEWSBOT"))}
    env.update(KNOWLEDGE_FILE="news.yaml", DATABASE_URL="sqlite+aiosqlite:///data/newsbot.db")
    lines = [
        "jobs for young people",
        "#1",  # the did-you-mean choice: the message becomes the item, without buttons
        "#1",
        "/broadcast Harbour workers win a pay rise | 2021-06-12 | Dock workers agreed a deal.",
        "#1",  # Send: a confirmation, then the report, a second apart (one chat's pace)
        "harbour workers pay",
    ]
    done = subprocess.run(
        [sys.executable, "-m", "bot", "console"],
        input="".join(f"{line}\n" for line in lines),
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert "(there is no button #1)" in done.stdout
    before, after = done.stdout.split("you> harbour workers pay")
    assert "Broadcast finished" in before
    assert "Here is what I found about “harbour workers pay”" in after
    assert "Broadcast" not in after


def test_links_are_shown_with_their_address_counted_in_utf16() -> None:
    text = "🙂 Title\nRead more"
    entities = [{"type": "bold", "offset": 0, "length": 8}]
    entities.append({"type": "text_link", "offset": 9, "length": 9, "url": "https://e.org/x"})
    assert with_urls(text, entities) == "🙂 Title\nRead more (https://e.org/x)"
