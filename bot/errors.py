"""The application's error tree.

Every error a person can cause carries text they can act on.

    NewsbotError            base; ``user_message`` is safe to show a user
    ├── ConfigError         a missing or malformed setting (names the variable)
    ├── KnowledgeError      a knowledge file that does not validate (file, item, field)
    └── ImportFormatError   a news listing that cannot be imported (line number)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


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
        # "-" marks a problem of the whole file (or of no one field): it is left out.
        where = [part for part in (self.file, self.item, self.field) if part != "-"]
        return ": ".join([*where, self.reason])


class KnowledgeError(NewsbotError):
    """A knowledge file failed validation; ``problems`` lists every error found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class ImportFormatError(NewsbotError):
    """A source listing is malformed; the message names the line (or the feed entry).

    ``line`` is None where the source has no meaningful line (a feed entry is named by its
    number instead); ``reasons`` holds every problem found, the first also in ``reason``.
    """

    def __init__(self, source: str, line: int | None, reason: str, *more: str) -> None:
        self.source = source
        self.line = line
        self.reason = reason
        self.reasons = (reason, *more)
        where = source if line is None else f"{source}:{line}"
        super().__init__("\n".join(f"{where}: {r}" for r in self.reasons))


def plain_reason(error: Mapping[str, Any]) -> str:
    """What one pydantic error means, in words a person acts on (not "Input should be...").

    ``error`` is one entry of ``ValidationError.errors()``; the value typed is quoted.
    """
    kind = str(error.get("type", ""))
    ctx: Mapping[str, Any] = error.get("ctx") or {}
    value = error.get("input")
    got = f", got {value!r}" if isinstance(value, str | int | float) else ""
    if kind == "missing":
        return "required field is missing"
    if kind in {"list_type", "tuple_type", "set_type", "frozen_set_type"}:
        field = (error.get("loc") or ("",))[-1]
        if field == "items":
            return f"expected a list of items, each starting with '- id: ...'{got}"
        if field == "tags":
            return f"expected a list such as [child labour, schools]{got}"
        return f"expected a list{got}"
    if kind.startswith("date") or kind.startswith("datetime"):
        detail = str(ctx.get("error", "")).replace(" value is outside expected range", "")
        if "outside expected range" in str(ctx.get("error", "")):
            return (
                f"expected a real date such as 2021-06-10{got}: no such {detail} in the calendar"
            )
        return f"expected a date such as 2021-06-10{got}"
    if kind == "string_type":
        return "is empty" if value is None else f"expected text{got or f', got {value!r}'}"
    if kind == "string_too_short":
        return "is empty"
    if kind == "string_too_long":
        return f"is {len(str(value))} characters, more than the {ctx.get('max_length')} allowed"
    if kind in {"model_type", "dict_type", "model_attributes_type"}:
        return f"expected a mapping of fields (id: ..., title: ...), found {type(value).__name__}"
    if kind in {"int_parsing", "int_type", "int_from_float"}:
        return f"expected a whole number{got}"
    if kind in {"float_parsing", "float_type"}:
        return f"expected a number{got}"
    if kind in {"bool_parsing", "bool_type"}:
        return f"expected true or false{got}"
    if kind == "greater_than_equal":
        return f"expected at least {ctx.get('ge')}{got}"
    if kind == "greater_than":
        return f"expected more than {ctx.get('gt')}{got}"
    if kind == "less_than_equal":
        return f"expected at most {ctx.get('le')}{got}"
    if kind == "less_than":
        return f"expected less than {ctx.get('lt')}{got}"
    return str(error.get("msg", "invalid")).removeprefix("Value error, ")
