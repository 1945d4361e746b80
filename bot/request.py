"""Requests to the Bot API as ``application/json`` bodies.

python-telegram-bot posts ``application/x-www-form-urlencoded`` forms, which httpx builds with
``urllib.parse.urlencode``: every byte of every text is percent-quoted in Python, one at a time.
For an answer of three news items (1.5 KB of HTML and a keyboard) that was the largest single
cost of sending it. The Bot API takes ``application/json`` just as well ("Queries support ...
application/json (except for uploading files)"), and ``json.dumps`` runs in C. Uploads keep
PTB's multipart form.
"""

from __future__ import annotations

import json

import httpx
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, HTTPXRequest, RequestData

JSON_HEADERS = {"User-Agent": HTTPXRequest.USER_AGENT, "Content-Type": "application/json"}


class JsonRequest(HTTPXRequest):
    """``HTTPXRequest`` that sends parameters as one JSON body unless there are files."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if request_data is None or request_data.contains_files:
            return await super().do_request(
                url,
                method,
                request_data,
                read_timeout=read_timeout,
                write_timeout=write_timeout,
                connect_timeout=connect_timeout,
                pool_timeout=pool_timeout,
            )
        client = self._client
        if client.is_closed:
            raise RuntimeError("This JsonRequest is not initialized!")
        defaults = client.timeout
        timeout = httpx.Timeout(
            connect=_given(connect_timeout, defaults.connect),
            read=_given(read_timeout, defaults.read),
            write=_given(write_timeout, defaults.write),
            pool=_given(pool_timeout, defaults.pool),
        )
        body = json.dumps(request_data.parameters, ensure_ascii=False).encode()
        try:
            response = await client.request(
                method=method, url=url, headers=JSON_HEADERS, timeout=timeout, content=body
            )
        except httpx.PoolTimeout as err:
            raise TimedOut(
                "Pool timeout: all connections in the pool are busy; the request was not sent"
            ) from err
        except httpx.TimeoutException as err:
            raise TimedOut from err
        except httpx.HTTPError as err:
            raise NetworkError(f"httpx.{type(err).__name__}: {err}") from err
        return response.status_code, response.content


def _given(value: ODVInput[float], default: float | None) -> float | None:
    return default if isinstance(value, DefaultValue) else value
