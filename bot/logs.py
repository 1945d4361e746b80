"""Logging set-up: levels, and a guarantee that the bot token never reaches a log line.

httpx logs request URLs at INFO and python-telegram-bot logs its API URL at DEBUG;
both URLs carry the token. httpx is silenced below WARNING, and every record,
whatever its logger or handler, has the token replaced as it is created (a log
record factory), tracebacks included.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

REDACTED = "<redacted-token>"


class _TokenRejectedFilter(logging.Filter):
    """python-telegram-bot logs a rejected token with its traceback before raising it; the
    entry point prints that failure as one line naming the problem, so the record is dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        from telegram.error import InvalidToken

        return not (record.exc_info and isinstance(record.exc_info[1], InvalidToken))


def install_redaction(secrets: Iterable[str]) -> None:
    """Replace each secret in every log record created from now on."""
    hidden = [s for s in secrets if s]
    if not hidden:
        return
    previous = logging.getLogRecordFactory()

    def redact(text: str) -> str:
        for secret in hidden:
            text = text.replace(secret, REDACTED)
        return text

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is logging's to report, not ours
            return record
        record.msg, record.args = redact(message), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return record

    logging.setLogRecordFactory(factory)


def configure_logging(
    level: str, secrets: Iterable[str] = (), *, file: Path | None = None
) -> None:
    """Log to stderr (or to ``file``, appended) at ``level``; never the token."""
    install_redaction(secrets)
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        filename=file,
        encoding="utf-8" if file is not None else None,
    )
    # httpx logs every request URL at INFO, and the URL carries the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    for handler in logging.getLogger().handlers:
        handler.addFilter(_TokenRejectedFilter())
