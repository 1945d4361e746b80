"""A local Telegram Bot API server for tests, benchmarks and console runs.

Serves the subset of the Bot API that newsbot uses over real HTTP on loopback, in
Telegram's JSON shapes and with Telegram's errors, so the real python-telegram-bot
``Application`` talks to it through ``base_url``::

    async with LocalBotApiServer() as server:
        bot = telegram.Bot(TEST_TOKEN, base_url=server.base_url)
        server.user_sends(42, "/start")
        ...
        [reply] = await server.wait_for_messages(42, 1)
"""

from bot.localapi.errors import ApiError
from bot.localapi.faults import Fault, FaultKind
from bot.localapi.limits import FloodLimits
from bot.localapi.recording import (
    CallbackAnswer,
    MessageVersion,
    RecordedMessage,
    RequestRecord,
    WaitTimeout,
)
from bot.localapi.server import LocalBotApiServer
from bot.localapi.state import TEST_TOKEN
from bot.localapi.webhook import SECRET_HEADER, WebhookCall

__all__ = [
    "SECRET_HEADER",
    "TEST_TOKEN",
    "ApiError",
    "CallbackAnswer",
    "Fault",
    "FaultKind",
    "FloodLimits",
    "LocalBotApiServer",
    "MessageVersion",
    "RecordedMessage",
    "RequestRecord",
    "WaitTimeout",
    "WebhookCall",
]
