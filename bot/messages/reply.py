"""A reply before it becomes Telegram messages: HTML texts and inline-button specs."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Button:
    """An inline button: a label and its callback data."""

    label: str
    data: str


@dataclass(frozen=True)
class Reply:
    """HTML messages to send in order; ``buttons`` go under the last one."""

    texts: list[str]
    buttons: list[list[Button]] = field(default_factory=list)
