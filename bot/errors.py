"""The application's error tree.

Every error a person can cause carries text they can act on.

    NewsbotError            base; ``user_message`` is safe to show a user
    ├── ConfigError         a missing or malformed setting (names the variable)
    ├── KnowledgeError      a knowledge file that does not validate (file, item, field)
    └── ImportFormatError   a news listing that cannot be imported (line number)
"""

from __future__ import annotations

from dataclasses import dataclass


class NewsbotError(Exception):
    """Base class: ``user_message`` is what a person is told."""

    @property
    def user_message(self) -> str:
        return str(self)


class ConfigError(NewsbotError):
    """A setting is missing or malformed."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a knowledge file: where, which field, and why."""

    file: str
    item: str
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.item}: {self.field}: {self.reason}"


class KnowledgeError(NewsbotError):
    """A knowledge file failed validation; ``problems`` lists every error found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class ImportFormatError(NewsbotError):
    """A source listing is malformed; the message names the line."""

    def __init__(self, source: str, line: int, reason: str) -> None:
        self.source = source
        self.line = line
        self.reason = reason
        super().__init__(f"{source}:{line}: {reason}")
