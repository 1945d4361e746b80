"""Configuration: a bad setting stops start-up with one line naming the variable."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.config import load_settings
from bot.errors import ConfigError


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    for name in (
        "TELEGRAM_BOT_TOKEN",
        "TELEGRAM_API_BASE_URL",
        "ADMIN_IDS",
        "DATABASE_URL",
        "DEFAULT_TIMEZONE",
        "DEFAULT_DIGEST_TIME",
        "LOG_LEVEL",
        "QUESTIONS_PER_MINUTE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(str(tmp_path))  # no .env from the working copy


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("DEFAULT_TIMEZONE", "Mars/Olympus", "DEFAULT_TIMEZONE: expected an IANA time zone"),
        ("DEFAULT_DIGEST_TIME", "25:99", "DEFAULT_DIGEST_TIME: expected a time of day as HH:MM"),
        ("ADMIN_IDS", "12, bob", "ADMIN_IDS: expected comma-separated numeric user ids"),
        ("TELEGRAM_BOT_TOKEN", "not-a-token", "TELEGRAM_BOT_TOKEN: expected a token"),
        (
            "TELEGRAM_API_BASE_URL",
            "http://x/api",
            "TELEGRAM_API_BASE_URL: expected an http(s) URL",
        ),
        ("DATABASE_URL", "mysql://db/x", "DATABASE_URL: expected sqlite+aiosqlite"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL: expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
        ("QUESTIONS_PER_MINUTE", "-1", "QUESTIONS_PER_MINUTE: expected at least 1, got '-1'"),
        ("QUESTIONS_PER_MINUTE", "many", "QUESTIONS_PER_MINUTE: expected a whole number"),
        ("SEND_RATE_PER_SECOND", "99", "SEND_RATE_PER_SECOND: expected at most 30"),
        (
            "PAID_BROADCAST_RATE",
            "1001",
            "PAID_BROADCAST_RATE: expected a whole number of messages per second from 1 to "
            "1000 (Telegram's paid-broadcast limit), or 0 for off, got '1001'",
        ),
        ("PAID_BROADCAST_RATE", "fast", "PAID_BROADCAST_RATE: expected a whole number"),
        ("PAID_BROADCAST_RATE", "-5", "PAID_BROADCAST_RATE: expected a whole number"),
        ("DELIVERY_LEASE_SECONDS", "0", "DELIVERY_LEASE_SECONDS: expected at least 1"),
        ("WEBHOOK_URL", "ftp://bot.example.org/x", "WEBHOOK_URL: expected the public https URL"),
        ("WEBHOOK_URL", "http://bot.example.org/x", "WEBHOOK_URL: Telegram calls https URLs only"),
        ("WEBHOOK_LISTEN", "8443", "WEBHOOK_LISTEN: expected host:port"),
        ("WEBHOOK_SECRET", "a b+c", "WEBHOOK_SECRET: expected 1 to 256 characters"),
        ("WEBHOOK_MAX_CONNECTIONS", "101", "WEBHOOK_MAX_CONNECTIONS: expected at most 100"),
    ],
)
def test_a_bad_setting_is_named_with_what_is_expected(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert str(caught.value).startswith(expected)
    assert "\n" not in str(caught.value)


def test_defaults_and_friendly_spellings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_IDS", " 12, 34 ")
    monkeypatch.setenv("DATABASE_URL", "postgresql://bot@db/newsbot")
    monkeypatch.setenv("DEFAULT_DIGEST_TIME", "7.30")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ_abc")
    settings = load_settings()
    assert settings.admin_ids == frozenset({12, 34})
    assert settings.database_url == "postgresql+asyncpg://bot@db/newsbot"
    assert settings.default_digest_time == dt.time(7, 30)
    assert settings.telegram_bot_token is not None
    assert "ABCDEFG" not in repr(settings)


def test_webhook_mode_is_read_from_the_url_its_path_and_the_listen_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert load_settings().webhook_url is None  # long polling unless WEBHOOK_URL is set
    monkeypatch.setenv("WEBHOOK_URL", " https://bot.example.org/telegram/hook ")
    monkeypatch.setenv("WEBHOOK_LISTEN", "127.0.0.1:8080")
    monkeypatch.setenv("WEBHOOK_SECRET", "s3cret_-token")
    settings = load_settings()
    assert settings.webhook_url == "https://bot.example.org/telegram/hook"
    assert settings.webhook_path == "/telegram/hook"
    assert settings.listen_address == ("127.0.0.1", 8080)
    assert settings.webhook_secret is not None and "s3cret" not in repr(settings)


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [("utc", "UTC"), ("europe/berlin", "Europe/Berlin"), ("AMERICA/NEW_YORK", "America/New_York")],
)
def test_time_zone_names_are_taken_in_any_case_and_kept_in_iana_spelling(
    monkeypatch: pytest.MonkeyPatch, typed: str, canonical: str
) -> None:
    monkeypatch.setenv("DEFAULT_TIMEZONE", typed)
    monkeypatch.setenv("LOG_LEVEL", "debug")
    settings = load_settings()
    assert settings.default_timezone == canonical
    assert settings.log_level == "DEBUG"


def test_the_embedding_cache_folder_is_a_setting_and_empty_keeps_vectors_in_memory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("NEWSBOT_EMBEDDING_CACHE", raising=False)
    assert load_settings(_env_file=None).embedding_cache == Path("data/embeddings")
    monkeypatch.setenv("NEWSBOT_EMBEDDING_CACHE", "/var/cache/newsbot")
    assert load_settings(_env_file=None).embedding_cache == Path("/var/cache/newsbot")
    monkeypatch.setenv("NEWSBOT_EMBEDDING_CACHE", " ")
    assert load_settings(_env_file=None).embedding_cache is None


def test_retrieval_reads_no_environment() -> None:
    root = Path(__file__).resolve().parents[1] / "bot" / "retrieval"
    for path in root.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "environ.get" not in text and "getenv" not in text, path.name


def test_every_setting_is_in_the_readme_table_and_in_env_example() -> None:
    from bot.config import Settings

    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text(encoding="utf-8")
    example = (root / ".env.example").read_text(encoding="utf-8")
    for name, field in Settings.model_fields.items():
        variable = str(field.validation_alias or name).upper()
        assert f"| `{variable}` |" in readme, variable
        assert f"{variable}=" in example, variable
