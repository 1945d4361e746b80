"""The pacing arithmetic of the rate limiter, with the clock passed in."""

from __future__ import annotations

from bot.delivery.ratelimit import Pace


def test_a_private_chat_gets_a_short_burst_then_one_message_a_second() -> None:
    pace = Pace(rate=1.0, burst=3)
    waits = [pace.reserve(now=100.0) for _ in range(5)]
    assert waits == [0.0, 0.0, 0.0, 1.0, 2.0]


def test_thirty_a_second_overall_spaces_messages_evenly() -> None:
    pace = Pace(rate=30.0)
    waits = [pace.reserve(now=0.0) for _ in range(31)]
    assert waits[0] == 0.0
    assert abs(waits[30] - 1.0) < 1e-9


def test_a_429_pauses_the_chat_for_its_retry_after() -> None:
    pace = Pace(rate=1.0, burst=3)
    pace.pause_until(10.0)
    assert pace.reserve(now=0.0) == 10.0
    # After a 429 the chat gets no burst: one message a second, Telegram's own pace.
    assert pace.reserve(now=0.0) == 11.0
