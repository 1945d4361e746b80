"""Stories of the bot in webhook mode: a real ``newsbot run`` process, the local Bot API
server delivering to it over HTTP, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import signal
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest
from harness import ADMIN, ALICE, SEED_KNOWLEDGE
from processes import BotProcess

from bot.localapi import SECRET_HEADER, Fault, LocalBotApiServer
from bot.localapi.balancer import free_port
from bot.serving import webhook as webhook_module
from bot.serving.webhook import WebhookListener
from bot.storage import Storage

SECRET = "webhook-secret_for-tests"


class WebhookBot(BotProcess):
    """``newsbot run`` in webhook mode on a loopback port of its own."""

    def __init__(
        self, server: LocalBotApiServer, workdir: Path, database_url: str | None, **env: str
    ) -> None:
        self.port = free_port()
        settings = {
            "WEBHOOK_URL": f"http://127.0.0.1:{self.port}/telegram/hook",
            "WEBHOOK_LISTEN": f"127.0.0.1:{self.port}",
            "WEBHOOK_LEASE_SECONDS": "2",
            **env,
        }
        super().__init__(server, workdir, admin=ADMIN, database_url=database_url, env=settings)
        shutil.copy(SEED_KNOWLEDGE, self.knowledge)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def get(self, path: str) -> tuple[int, str]:
        async with aiohttp.ClientSession() as http, http.get(self.base + path) as response:
            return response.status, await response.text()

    async def post(self, body: bytes, secret: str | None) -> int:
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers[SECRET_HEADER] = secret
        async with (
            aiohttp.ClientSession() as http,
            http.post(self.base + "/telegram/hook", data=body, headers=headers) as response,
        ):
            return response.status

    async def until_ready(self, seconds: float = 60.0) -> None:
        await until(lambda: self.server.webhook_url != "", seconds, "setWebhook", self)
        async with asyncio.timeout(seconds):
            while (await self.get("/readyz"))[0] != 200:  # noqa: ASYNC110 - HTTP, no event
                await asyncio.sleep(0.1)


async def until(condition: Callable[[], bool], seconds: float, what: str, bot: BotProcess) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{bot.logs()}")
        if bot.process is not None and bot.process.returncode is not None:
            raise AssertionError(f"the bot exited while waiting for {what}\n{bot.logs()}")
        await asyncio.sleep(0.05)


@pytest.fixture
async def telegram() -> AsyncIterator[LocalBotApiServer]:
    """The local Bot API server, retrying a failing webhook quickly."""
    server = LocalBotApiServer(webhook_retry=(0.1, 0.5))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def webhook_bot(
    telegram: LocalBotApiServer, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[WebhookBot]:
    """The bot process (not started), on SQLite or, for ``database_url``, PostgreSQL."""
    url = None
    if "database_url" in request.fixturenames:
        url = request.getfixturevalue("database_url")
        if url.startswith("sqlite"):
            url = None
    bot = WebhookBot(telegram, tmp_path, url)
    telegram.add_private_chat(ALICE, "Alice")
    try:
        yield bot
    finally:
        await bot.stop()


def message_update(update_id: int, text: str, *, message_id: int = 900) -> bytes:
    """An update as Telegram would POST it: a text message from Alice."""
    user = {"id": ALICE, "is_bot": False, "first_name": "Alice"}
    message = {
        "message_id": message_id,
        "date": 1_700_000_000,
        "chat": {"id": ALICE, "type": "private", "first_name": "Alice"},
        "from": user,
        "text": text,
    }
    return json.dumps({"update_id": update_id, "message": message}).encode()


async def settle(server: LocalBotApiServer, chat_id: int, count: int) -> None:
    """Give a second reply, if one were coming, time to arrive; then there must be ``count``."""
    await asyncio.sleep(1.5)
    assert len(server.messages(chat_id)) == count, [m.text for m in server.messages(chat_id)]


async def test_a_question_is_answered_a_forger_refused_and_an_update_sent_twice_answered_once(
    database_url: str, webhook_bot: WebhookBot
) -> None:
    server = webhook_bot.server
    await webhook_bot.start()
    await webhook_bot.until_ready()
    server.user_sends(ALICE, "child labour")
    [reply] = await server.wait_for_messages(ALICE, 1, timeout=20)
    assert "child labour" in reply.text.lower()
    assert server.webhook_calls[-1].status == 200
    # The secret was generated and kept in the database, for every process to share.
    secret = server.webhook_secret
    storage = await Storage.open(webhook_bot.database_url)
    try:
        assert secret == await storage.inbox.webhook_secret()
    finally:
        await storage.close()

    body = message_update(50_000, "child labour")
    assert await webhook_bot.post(body, None) == 403
    assert await webhook_bot.post(body, "guessed") == 403
    assert await webhook_bot.post(b'{"update_id": ', secret) == 400
    assert await webhook_bot.post(b'{"no": "update"}', secret) == 400
    await asyncio.sleep(0.5)
    assert len(server.messages(ALICE)) == 1  # nothing forged or broken was handled

    # Telegram sends an update again when our 200 did not reach it: one answer only.
    assert await webhook_bot.post(body, secret) == 200
    assert await webhook_bot.post(body, secret) == 200
    await server.wait_for_messages(ALICE, 2, timeout=20)
    await settle(server, ALICE, 2)
    logs = webhook_bot.logs()
    assert logs.count("without the right secret token") == 1  # once per source address
    assert secret not in logs and "Traceback" not in logs


async def test_an_update_acknowledged_by_a_process_killed_at_once_is_answered_once_after(
    database_url: str, webhook_bot: WebhookBot
) -> None:
    server = webhook_bot.server
    await webhook_bot.start()
    await webhook_bot.until_ready()
    # The reply hangs at Telegram: the update is stored, acknowledged and in hand.
    server.inject("sendMessage", Fault.timeout(30), chat_id=ALICE)
    server.user_sends(ALICE, "child labour")
    await server.wait_for_webhook_calls(1, timeout=10, acknowledged=True)
    await until(lambda: server.world.faults.pending() == 0, 10, "the reply", webhook_bot)
    await webhook_bot.kill()
    server.clear_faults()
    assert server.messages(ALICE) == []
    assert server.updates_pending() == []  # Telegram will not send it again

    await webhook_bot.start()
    await server.wait_for_messages(ALICE, 1, timeout=30)
    await settle(server, ALICE, 1)


async def test_one_chats_subscribe_then_unsubscribe_back_to_back_end_unsubscribed(
    database_url: str, webhook_bot: WebhookBot
) -> None:
    server = webhook_bot.server
    await webhook_bot.start()
    await webhook_bot.until_ready()
    for _ in range(3):
        server.user_sends(ALICE, "/subscribe 08:00 Europe/Berlin")
        server.user_sends(ALICE, "/unsubscribe")
    replies = await server.wait_for_messages(ALICE, 6, timeout=30)
    kinds = [
        "sub"
        if m.text.startswith("You are subscribed")
        else "unsub"
        if m.text.startswith("You are unsubscribed")
        else m.text
        for m in replies
    ]
    assert kinds == ["sub", "unsub"] * 3
    storage = await Storage.open(webhook_bot.database_url)
    try:
        subscription = await storage.subscriptions.get(ALICE)
    finally:
        await storage.close()
    assert subscription is None or not subscription.active, replies[-1].text


async def test_readyz_says_503_until_the_bot_is_ready_and_again_when_the_database_is_gone(
    webhook_bot: WebhookBot,
) -> None:
    server = webhook_bot.server
    server.inject("getMe", Fault.slow(4))  # start-up waits for the Bot API
    await webhook_bot.start()
    async with asyncio.timeout(30):
        while True:
            try:
                if (await webhook_bot.get("/healthz"))[0] == 200:
                    break
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.1)
    status, text = await webhook_bot.get("/readyz")
    assert (status, text.split(":")[0]) == (503, "not ready")
    await webhook_bot.until_ready()

    (webhook_bot.workdir / "newsbot.db").unlink()
    status, text = await webhook_bot.get("/readyz")
    assert status == 503 and "deleted" in text
    assert (await webhook_bot.get("/healthz"))[0] == 200  # alive, not ready


async def test_sigterm_finishes_the_update_in_hand_and_leaves_the_webhook_then_polling_takes_over(
    webhook_bot: WebhookBot,
) -> None:
    server = webhook_bot.server
    await webhook_bot.start()
    await webhook_bot.until_ready()
    server.inject("sendMessage", Fault.slow(2), chat_id=ALICE)  # the reply is slow to go
    server.user_sends(ALICE, "child labour")
    await until(lambda: server.world.faults.pending() == 0, 10, "the reply", webhook_bot)
    assert webhook_bot.process is not None
    webhook_bot.process.send_signal(signal.SIGTERM)
    await asyncio.sleep(0.3)
    server.user_sends(ALICE, "latest news")  # comes while stopping: not taken, kept
    assert await asyncio.wait_for(webhook_bot.process.wait(), 15) == 0
    assert len(server.messages(ALICE)) == 1  # the update in hand was answered
    assert server.webhook_url != ""  # still registered, for the next process
    assert not [r for r in server.requests if r.method.lower() == "deletewebhook"]
    assert len(server.updates_pending()) == 1

    # Back to long polling: the webhook is deleted first, then getUpdates brings the rest.
    del webhook_bot.extra_env["WEBHOOK_URL"]
    await webhook_bot.start()
    await server.wait_for_messages(ALICE, 2, timeout=30)
    assert server.webhook_url == ""
    assert not [r for r in server.requests if r.status == 409], webhook_bot.logs()


async def test_forged_requests_from_many_addresses_do_not_flood_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stranger who found the webhook's address posts from address after address: each
    of the first sources is logged once, then one line says no more are, and that is all."""
    monkeypatch.setattr(webhook_module, "MAX_LOGGED_SOURCES", 3)
    storage = await Storage.open(f"sqlite+aiosqlite:///{tmp_path / 'newsbot.db'}")
    listener = WebhookListener("/hook", readiness=_always_ready)
    listener.accept(storage.inbox, SECRET, lambda: None)
    port = free_port()
    await listener.start("127.0.0.1", port)
    try:
        with caplog.at_level(logging.WARNING, logger="bot.serving.webhook"):
            for last_octet in range(2, 9):  # 127.0.0.2 … 127.0.0.8, all loopback on Linux
                connector = aiohttp.TCPConnector(local_addr=(f"127.0.0.{last_octet}", 0))
                async with aiohttp.ClientSession(connector=connector) as session:
                    for _ in range(2):
                        url = f"http://127.0.0.1:{port}/hook"
                        async with session.post(url, data=message_update(1, "hi")) as answer:
                            assert answer.status == 403
    finally:
        await listener.close()
        await storage.close()
    lines = [r.getMessage() for r in caplog.records if "secret token" in r.getMessage()]
    assert len(lines) == 4, lines
    assert "no more are logged" in lines[-1] and "127.0.0.5" in lines[-1]
    assert listener.forged == 14


async def _always_ready() -> str | None:
    return None
