"""Request parameters: decoding every encoding a Bot API client may use, and typed access.

python-telegram-bot (telegram/request/_requestparameter.py) posts
``application/x-www-form-urlencoded`` (``multipart/form-data`` when uploading) where every
value is a string: strings as they are, everything else ``json.dumps``-ed (``123``, ``true``,
``{"inline_keyboard": ...}``). Other clients post ``application/json`` with native values, or
use the query string. :class:`Params` accepts all of them.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from bot.localapi.errors import bad_request


async def read_params(request: web.Request) -> Params:
    """Merge the query string and the body (JSON, url-encoded or multipart) into Params."""
    values: dict[str, Any] = dict(request.query)
    if request.body_exists:
        content_type = request.content_type
        if content_type == "application/json":
            raw = await request.read()
            if raw.strip():
                try:
                    body = json.loads(raw)
                except ValueError as exc:
                    raise bad_request("can't parse JSON encoded request") from exc
                if not isinstance(body, dict):
                    raise bad_request("JSON object expected")
                values.update(body)
        elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for key, value in form.items():
                values[key] = value.file.read() if isinstance(value, web.FileField) else value
        else:
            await request.read()
    return Params(values)


class Params:
    """Typed, forgiving access to one request's parameters, answering 400 on nonsense."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def __contains__(self, name: str) -> bool:
        return self.values.get(name) is not None

    def raw(self, name: str) -> Any:
        return self.values.get(name)

    def get_str(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is None:
            return None
        if isinstance(value, bytes):
            return value.decode("utf-8", "replace")
        if isinstance(value, bool):
            return "true" if value else "false"
        return value if isinstance(value, str) else json.dumps(value)

    def get_int(self, name: str) -> int | None:
        """An integer, or None when missing or not a number (Telegram reads those as 0)."""
        value = self.values.get(name)
        if value is None or isinstance(value, bool):
            return None
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        try:
            return int(str(value).strip())
        except ValueError:
            return None

    def get_float(self, name: str) -> float | None:
        value = self.values.get(name)
        if value is None:
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            return None

    def get_bool(self, name: str) -> bool:
        value = self.values.get(name)
        if isinstance(value, bool):
            return value
        if isinstance(value, int | float):
            return value != 0
        return isinstance(value, str) and value.strip().lower() in ("true", "1")

    def get_json(self, name: str, what: str) -> Any:
        """A complex parameter, decoding it when it arrives as a JSON string."""
        value = self.values.get(name)
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        if isinstance(value, str):
            if not value.strip():
                return None
            try:
                return json.loads(value)
            except ValueError as exc:
                raise bad_request(f"can't parse {what} JSON object") from exc
        return value

    def chat_id(self) -> int | str:
        """``chat_id`` as an int, or an ``@username`` string; 400 when it is missing."""
        value = self.values.get("chat_id")
        if value is None or value == "":
            raise bad_request("chat_id is empty")
        number = self.get_int("chat_id")
        if number is not None:
            return number
        text = self.get_str("chat_id") or ""
        if not text.startswith("@"):
            raise bad_request("chat not found")
        return text
