"""``newsbot run`` in webhook mode, unpaced: one bot process of the inbound benchmark.

``python -m benchmarks.unpaced_webhook`` reads the same settings as ``newsbot run`` (the
environment) and runs the same webhook mode (``serve_webhook``: listener, inbox, dispatcher,
SIGTERM), with one change: the bot sends without its rate limiter, as ``benchmarks/e2e.py``
and ``benchmarks/webhook.py`` do, so the figure is the bot's capacity and not Telegram's 30
messages a second, which the shared budget would hold for all the processes together.
"""

from __future__ import annotations

import asyncio

from bot.app import build_application
from bot.config import load_settings
from bot.runner import reach_bot_api
from bot.serving.mode import App, serve_webhook


def main() -> None:
    settings = load_settings()

    def build() -> App:
        app = build_application(settings, single_process=True)
        app.bot._rate_limiter = None  # ExtBot sends straight through without one
        return app

    asyncio.run(serve_webhook(settings, build, lambda: reach_bot_api(settings)))


if __name__ == "__main__":
    main()
