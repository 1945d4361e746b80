"""The local Bot API server delivers to a webhook as Telegram does: with the secret, in each
chat's order, retried until acknowledged, and getUpdates refused meanwhile."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from telegram import Bot
from telegram.error import BadRequest, Conflict

from bot.localapi import SECRET_HEADER, TEST_TOKEN, LocalBotApiServer

ALICE = 1001
BOB = 1002


class Receiver:
    """A webhook endpoint on loopback: records what it gets, answers what it is told."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.secrets: list[str | None] = []
        self.statuses: list[int] = []  # answers to give first; then 200
        self.hold: asyncio.Event | None = None  # when set up, requests wait for it
        self.in_hand = 0
        self.most_in_hand = 0
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/hook"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        self.in_hand += 1
        self.most_in_hand = max(self.most_in_hand, self.in_hand)
        try:
            body = json.loads(await request.read())
            if self.hold is not None:
                await self.hold.wait()
            status = self.statuses.pop(0) if self.statuses else 200
            if status == 200:
                self.received.append(body)
                self.secrets.append(request.headers.get(SECRET_HEADER))
            return web.Response(status=status)
        finally:
            self.in_hand -= 1

    def texts(self) -> list[str]:
        return [u["message"]["text"] for u in self.received if "message" in u]


@pytest.fixture
async def server() -> AsyncIterator[LocalBotApiServer]:
    api = LocalBotApiServer(webhook_retry=(0.05, 0.2))
    await api.start()
    try:
        yield api
    finally:
        await api.stop()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    hook = Receiver()
    await hook.start()
    try:
        yield hook
    finally:
        if hook.hold is not None:
            hook.hold.set()
        await hook.stop()


@pytest.fixture
async def bot(server: LocalBotApiServer) -> AsyncIterator[Bot]:
    async with Bot(TEST_TOKEN, base_url=server.base_url) as telegram_bot:
        yield telegram_bot


async def until(condition: Any, seconds: float = 5.0) -> None:
    async with asyncio.timeout(seconds):
        while not condition():  # noqa: ASYNC110 - the receiver's state has no event to wait on
            await asyncio.sleep(0.01)


async def test_a_webhook_gets_each_update_with_the_secret_and_getupdates_is_refused(
    server: LocalBotApiServer, receiver: Receiver, bot: Bot
) -> None:
    assert await bot.set_webhook(
        receiver.url, secret_token="s3cret-_token", max_connections=7, allowed_updates=["message"]
    )
    server.user_sends(ALICE, "hello")
    await until(lambda: receiver.texts() == ["hello"])
    assert receiver.secrets == ["s3cret-_token"]
    info = await bot.get_webhook_info()
    assert (info.url, info.max_connections, info.allowed_updates) == (
        receiver.url,
        7,
        ("message",),
    )
    assert info.pending_update_count == 0 and info.last_error_date is None
    with pytest.raises(Conflict, match="can't use getUpdates method while webhook is active"):
        await bot.get_updates()


async def test_a_failing_webhook_is_retried_until_it_acknowledges_and_says_why(
    server: LocalBotApiServer, receiver: Receiver, bot: Bot
) -> None:
    receiver.statuses = [500, 503, 500]
    await bot.set_webhook(receiver.url)
    server.user_sends(ALICE, "first")
    server.user_sends(ALICE, "second")
    await until(lambda: len(server.webhook_calls) >= 2)
    info = await bot.get_webhook_info()
    assert info.pending_update_count == 2
    assert info.last_error_message is not None
    assert info.last_error_message.startswith("Wrong response from the webhook: 5")
    await until(lambda: receiver.texts() == ["first", "second"])
    assert (await bot.get_webhook_info()).pending_update_count == 0


async def test_one_chats_updates_wait_for_each_other_and_other_chats_do_not(
    server: LocalBotApiServer, receiver: Receiver, bot: Bot
) -> None:
    receiver.hold = asyncio.Event()
    await bot.set_webhook(receiver.url, max_connections=2)
    server.user_sends(ALICE, "a1")
    server.user_sends(ALICE, "a2")
    server.user_sends(BOB, "b1")
    server.add_private_chat(1003)
    server.user_sends(1003, "c1")
    await until(lambda: receiver.in_hand == 2)
    await asyncio.sleep(0.2)  # anything else let through would be in hand by now
    assert receiver.in_hand == 2  # a1 and b1: a2 waits for a1, c1 for a free connection
    receiver.hold.set()
    await until(lambda: len(receiver.received) == 4)
    texts = receiver.texts()
    assert texts.index("a1") < texts.index("a2")
    assert receiver.most_in_hand == 2


async def test_an_unreachable_webhook_is_reported_and_deleting_it_lets_polling_get_the_updates(
    server: LocalBotApiServer, receiver: Receiver, bot: Bot
) -> None:
    url = receiver.url
    await receiver.stop()
    await bot.set_webhook(url)
    server.user_sends(ALICE, "anyone there?")
    await until(lambda: len(server.webhook_calls) >= 2)
    info = await bot.get_webhook_info()
    assert info.last_error_message == "Connection refused"
    assert info.pending_update_count == 1
    assert await bot.delete_webhook()
    assert (await bot.get_webhook_info()).url == ""
    [update] = await bot.get_updates(timeout=1)
    assert update.message is not None and update.message.text == "anyone there?"


@pytest.mark.parametrize(
    ("url", "secret", "error"),
    [
        ("http://bot.example.org/hook", None, "An https url must be provided for webhook"),
        ("https://bot.example.org:8080/hook", None, "only on ports 80, 88, 443 or 8443"),
        ("https://bot.example.org/hook", "a+b/c=", "Secret token contains unallowed characters"),
        ("https://bot.example.org/hook", "a" * 257, "Secret token is too long"),
    ],
)
async def test_set_webhook_refuses_what_telegram_refuses(
    bot: Bot, url: str, secret: str | None, error: str
) -> None:
    with pytest.raises(BadRequest, match=f"(?i){error}"):
        await bot.set_webhook(url, secret_token=secret)


async def test_drop_pending_updates_forgets_what_was_waiting(
    server: LocalBotApiServer, receiver: Receiver, bot: Bot
) -> None:
    server.user_sends(ALICE, "old news")
    assert await bot.set_webhook(receiver.url, drop_pending_updates=True)
    server.user_sends(ALICE, "new")
    await until(lambda: receiver.texts() == ["new"])
