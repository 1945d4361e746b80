"""Configuration: a bad setting stops start-up with one line naming the variable."""

from __future__ import annotations

import datetime as dt

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
