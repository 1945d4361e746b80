"""Configuration: one pydantic-settings class read from the environment and ``.env``.

Only the entry point and the application factory read it. The token is a
``SecretStr``: it never appears in a repr, a log line or an error message.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.errors import ConfigError, plain_reason
from bot.storage.values import check_timezone, parse_clock

TELEGRAM_BASE_URL = "https://api.telegram.org/bot"
# setWebhook's secret_token: 1-256 characters of A-Z a-z 0-9 _ - (Bot API, setWebhook).
SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class Settings(BaseSettings):
    """Everything the bot reads from its environment; see ``.env.example``."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    telegram_bot_token: SecretStr | None = None
    telegram_api_base_url: str = TELEGRAM_BASE_URL
    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    database_url: str = "sqlite+aiosqlite:///data/newsbot.db"
    knowledge_file: Path = Path("knowledge/news.yaml")
    default_timezone: str = "UTC"
    default_digest_time: dt.time = dt.time(8, 0)
    questions_per_minute: int = Field(default=20, ge=1, le=1000)
    send_rate_per_second: float = Field(default=28.0, gt=0, le=30)
    # Paid broadcasts (Bot API allow_paid_broadcast: up to 1000 messages a second for 0.1
    # Star each): broadcasts go at up to this rate; 0 is off. Digests and alerts stay free.
    paid_broadcast_rate: int = 0
    # How long an outbox row claimed by a process stays its own without a renewal: the
    # rows of a process killed mid-send are sent by another after at most this.
    delivery_lease_seconds: float = Field(default=30.0, ge=1, le=3600)
    # How long a message is retried through network errors, 5xx and 429 after it was
    # queued; only then is it recorded failed. Telegram's own refusals (400, 403) are final.
    delivery_retry_hours: float = Field(default=24.0, gt=0, le=24 * 30)
    # How long a call waits for Telegram's answer; past Telegram's slow answers (10-30 s).
    telegram_read_timeout_seconds: float = Field(default=60.0, gt=0, le=600)
    # The first pause after a failed send; it doubles per try up to 5 minutes (jittered).
    delivery_first_backoff_seconds: float = Field(default=1.0, gt=0, le=300)
    # Sent (and failed, skipped, cancelled) messages and logged questions are deleted after
    # this many days; unfinished broadcasts are never touched.
    retention_days: int = Field(default=30, ge=1, le=3650)
    log_level: str = "INFO"
    # Feeds (bot/feeds): how often each is fetched, how long a fetch may take, how many at
    # once, and whether loopback/private addresses may be fetched (tests, local feeds).
    feed_poll_seconds: float = Field(default=900.0, ge=1, le=7 * 24 * 3600)
    feed_timeout_seconds: float = Field(default=20.0, gt=0, le=300)
    feed_concurrency: int = Field(default=16, ge=1, le=200)
    feeds_allow_private: bool = False
    # Webhook mode (bot/serving): the public URL Telegram calls, where this process listens
    # (a reverse proxy forwards to it), the secret Telegram sends back in every request
    # (generated and kept in the database when unset), how many connections Telegram may
    # open at once, and how long an update claimed by a process that stopped answering
    # waits before another process takes it.
    webhook_url: str | None = None
    webhook_listen: str = "0.0.0.0:8443"
    webhook_secret: SecretStr | None = None
    webhook_max_connections: int = Field(default=40, ge=1, le=100)
    webhook_lease_seconds: float = Field(default=30.0, ge=1, le=3600)
    # Where the retriever keeps what it derives from the items between starts: the meaning
    # models' item vectors and its word index (keyed by the items' text); empty: memory only.
    embedding_cache: Path | None = Field(
        default=Path("data/embeddings"), validation_alias="NEWSBOT_EMBEDDING_CACHE"
    )

    @field_validator("embedding_cache", mode="before")
    @classmethod
    def _empty_is_memory(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("telegram_bot_token", mode="before")
    @classmethod
    def _token_shape(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if not isinstance(value, str) or not re.fullmatch(
            r"\d+:[A-Za-z0-9_-]{20,}", value.strip()
        ):
            raise ValueError("expected a token from @BotFather such as 123456:ABC-DEF...")
        return value.strip()

    @field_validator("paid_broadcast_rate", mode="before")
    @classmethod
    def _paid_rate(cls, value: object) -> object:
        text = str(value).strip() if value is not None else "0"
        if isinstance(value, bool) or not re.fullmatch(r"\d+", text) or int(text) > 1000:
            raise ValueError(
                "expected a whole number of messages per second from 1 to 1000 (Telegram's "
                f"paid-broadcast limit), or 0 for off, got {value!r}"
            )
        return int(text)

    @field_validator("webhook_url", mode="before")
    @classmethod
    def _webhook_url(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if not isinstance(value, str):
            return value
        url = value.strip()
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError(
                "expected the public https URL Telegram calls, e.g. https://bot.example.org/telegram"
            )
        if parts.scheme == "http" and parts.hostname not in _LOOPBACK_HOSTS:
            # Telegram calls https URLs only; http is for a local Bot API server on loopback.
            raise ValueError(f"Telegram calls https URLs only, got {url}")
        return url

    @field_validator("webhook_listen")
    @classmethod
    def _webhook_listen(cls, value: str) -> str:
        host, sep, port = value.strip().rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("expected host:port such as 0.0.0.0:8443 or 127.0.0.1:8080")
        return value.strip()

    @field_validator("webhook_secret", mode="before")
    @classmethod
    def _webhook_secret(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, str) and not SECRET_TOKEN.fullmatch(value.strip()):
            raise ValueError("expected 1 to 256 characters of A-Z, a-z, 0-9, _ and -")
        return value.strip() if isinstance(value, str) else value

    @property
    def webhook_path(self) -> str:
        """The path of ``WEBHOOK_URL`` (``/`` when it has none): where the webhook is served."""
        return urlsplit(self.webhook_url or "").path or "/"

    @property
    def listen_address(self) -> tuple[str, int]:
        """``WEBHOOK_LISTEN`` as (host, port)."""
        host, _, port = self.webhook_listen.rpartition(":")
        return host.strip("[]"), int(port)

    @field_validator("telegram_api_base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if not re.fullmatch(r"https?://\S+/bot", value.strip()):
            raise ValueError(
                "expected an http(s) URL ending in /bot, e.g. http://127.0.0.1:8081/bot"
            )
        return value.strip()

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _admin_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [part.strip() for part in value.split(",") if part.strip()]
            if not all(re.fullmatch(r"-?\d+", part) for part in parts):
                raise ValueError("expected comma-separated numeric user ids such as 12345,67890")
            return frozenset(int(part) for part in parts)
        return value

    @field_validator("admin_ids")
    @classmethod
    def _admins_are_users(cls, value: frozenset[int]) -> frozenset[int]:
        # A user's id is positive; groups and channels have negative ids, and an admin
        # notice sent to one would reach everyone in it.
        wrong = sorted(i for i in value if i <= 0)
        if wrong:
            raise ValueError(
                f"expected positive user ids such as 12345,67890, got {wrong[0]} "
                "(a group's or channel's id is negative; 0 is nobody)"
            )
        return value

    @field_validator("default_timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        return check_timezone(value)

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"expected one of {', '.join(LOG_LEVELS)}, got {value!r}")
        return level

    @field_validator("default_digest_time", mode="before")
    @classmethod
    def _digest_time(cls, value: object) -> object:
        return parse_clock(value) if isinstance(value, str) else value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        # The usual spellings name the async drivers the bot runs on.
        value = re.sub(r"^(?:postgres|postgresql)://", "postgresql+asyncpg://", value.strip())
        value = re.sub(r"^sqlite://", "sqlite+aiosqlite://", value)
        if not re.match(r"^(sqlite\+aiosqlite|postgresql\+asyncpg)://", value):
            raise ValueError(
                "expected sqlite+aiosqlite:///path/to/file.db or postgresql+asyncpg://user@host/db"
            )
        return value


def load_settings(**overrides: object) -> Settings:
    """Read the settings; a bad one raises ``ConfigError`` naming the variable, on one line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        error = exc.errors()[0]
        variable = str(error["loc"][0]).upper() if error["loc"] else "configuration"
        reason = plain_reason(error)
        raise ConfigError(f"{variable}: {reason}") from None
