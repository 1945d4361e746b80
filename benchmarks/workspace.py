"""A benchmark run's own working files: a copy of the seed knowledge and a fresh SQLite file."""

from __future__ import annotations

import shutil
from pathlib import Path

from bot.config import Settings

ROOT = Path(__file__).resolve().parents[1]
KNOWLEDGE = ROOT / "knowledge" / "news.yaml"


def bot_settings(workdir: Path, base_url: str, **overrides: object) -> Settings:
    """Settings for newsbot in ``workdir``, talking to the server at ``base_url``."""
    knowledge = workdir / "news.yaml"
    shutil.copy(KNOWLEDGE, knowledge)
    values: dict[str, object] = {
        "telegram_bot_token": None,
        "telegram_api_base_url": base_url,
        "knowledge_file": knowledge,
        "database_url": f"sqlite+aiosqlite:///{workdir / 'newsbot.db'}",
        "default_timezone": "UTC",
        "_env_file": None,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]
