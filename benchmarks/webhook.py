"""Webhook mode: inbound questions per second through the webhook, against long polling.

The set-up of ``benchmarks/e2e.py``: "Telegram and its users" (the local Bot API server and
the simulated users) in a second process, the bot alone in this one, so the CPU time measured
here is the bot's. In webhook mode the server POSTs every update to the bot's listener on
loopback (at most 40 connections, one chat at a time, as Telegram does); the bot stores it
in the inbox (SQLite) before answering 200, and the dispatcher claims it, hands it to the
Application and marks it done: three transactions per update that polling does not make.
The peer is the same bot long-polling the same server under the same load, in the same run;
the bots take turns (polling, webhook, polling, webhook) and the better round of each counts.
No rate limiter on either (pacing is Telegram's rule, not a cost), flood limits off.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from benchmarks.e2e import Load, newsbot, newsbot_settings, world
from bot.app import build_application
from bot.localapi import TEST_TOKEN
from bot.localapi.balancer import free_port
from bot.serving.mode import readiness, webhook_running
from bot.serving.webhook import WebhookListener

LOAD = (50, 20)
"""50 users asking 20 questions each, one after the other: 1,000 questions per round."""
ROUNDS = 2


@asynccontextmanager
async def webhook_newsbot(base_url: str) -> AsyncIterator[None]:
    """newsbot in webhook mode (one process), its listener on a loopback port."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="newsbot-webhook-") as tmp:
        settings = newsbot_settings(Path(tmp), base_url).model_copy(
            update={
                "webhook_url": f"http://127.0.0.1:{port}/hook",
                "webhook_listen": f"127.0.0.1:{port}",
            }
        )
        app = build_application(settings, token=TEST_TOKEN)
        app.bot._rate_limiter = None  # unpaced, like the polling peer
        listener = WebhookListener(settings.webhook_path, lambda: readiness(app.bot_data))
        await listener.start("127.0.0.1", port)
        try:
            async with webhook_running(app, settings, listener):
                yield
        finally:
            await listener.close()


async def measure() -> dict[str, Load]:
    users, each = LOAD
    best: dict[str, Load] = {}
    async with world() as telegram:
        for _ in range(ROUNDS):
            for name in ("polling", "webhook"):
                runner = (
                    newsbot(telegram.base_url, paced=False)
                    if name == "polling"
                    else webhook_newsbot(telegram.base_url)
                )
                async with runner:
                    await telegram.warm()
                    load = await telegram.load(users, each)
                if name not in best or load.rate > best[name].rate:
                    best[name] = load
    return best


def _ms(load: Load) -> str:
    return f"{load.percentile(0.5) * 1000:.0f} / {load.percentile(0.99) * 1000:.0f}"


def run() -> str:
    best = asyncio.run(measure())
    polling, hook = best["polling"], best["webhook"]
    users, each = LOAD
    rows = [
        f"| {name} | {load.rate:.0f} | {load.cpu_ms_per_question:.2f} | {_ms(load)} "
        f"| {load.busy:.0%} |"
        for name, load in (("long polling", polling), ("webhook, 1 process", hook))
    ]
    return "\n".join(
        [
            "## Webhook mode: inbound questions per second",
            "",
            __doc__.split("\n\n", 1)[1].replace("\n", " ").strip() if __doc__ else "",
            "",
            f"{users} users × {each} questions, best of {ROUNDS} rounds; "
            "`python -m benchmarks webhook`.",
            "",
            "| mode | q/s | bot CPU ms per question | p50 / p99 ms | bot process busy |",
            "|---|---:|---:|---:|---:|",
            *rows,
            "",
            f"Webhook mode answers **{hook.rate / polling.rate:.2f}×** the questions per second "
            f"of long polling, at {hook.cpu_ms_per_question / polling.cpu_ms_per_question:.2f}× "
            "the CPU per question: the price of storing every update before acknowledging it "
            "and of the claim and the done mark (batched: one transaction for all the updates "
            "that arrived, or finished, while the previous one was written).",
            "",
        ]
    )


if __name__ == "__main__":
    print(run())
