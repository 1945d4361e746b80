"""The garbage collector at start-up and after a knowledge swap.

The model, the index, the knowledge and python-telegram-bot's objects are some 360,000
tracked objects at 100,000 items that live as long as the bot. While start-up builds them,
each pass of the collector walks the growing heap and frees next to nothing (43 unreachable
objects at the end of a warm start with 100,000 items): ``newsbot run`` pauses the collector
first thing (``pause_for_start_up``), about 0.3 s of a 3.4 s start. Once the bot is built,
``settle`` moves what is there into the permanent generation (``gc.freeze``), so that the
full collections under load do not walk it again (about 70 ms each), and resumes the
collector.
"""

from __future__ import annotations

import gc
import time

QUICK_START_SECONDS = 20.0
"""A start-up slower than this (the items embedded for the first time, the Bot API waited
for) may have left garbage worth a full collection, which then costs it little."""

_paused = False
_paused_at = 0.0


def pause_for_start_up() -> None:
    """Pause the collector until ``settle``: what start-up builds, it keeps."""
    global _paused, _paused_at
    _paused, _paused_at = gc.isenabled(), time.monotonic()
    gc.disable()


def collect_while_paused() -> None:
    """Free what a start-up that waits (the Bot API unreachable, retried for minutes) left
    behind: a failed try's exception and client hold reference cycles."""
    if _paused:
        gc.collect()


def settle() -> None:
    """Take the heap as it is now out of the collector's full collections.

    After a quick paused start-up it is frozen as it is (a full collection first would take
    0.2 s more to free a few dozen objects). Otherwise (a slow start, a knowledge swap, a
    test's second bot) there may be garbage, an old snapshot: unfreezing and collecting
    first frees it, so nothing is kept that a collection would have freed.
    """
    global _paused
    quick = _paused and time.monotonic() - _paused_at < QUICK_START_SECONDS
    _paused = False
    if not quick:
        gc.unfreeze()
        gc.collect()
    gc.freeze()
    gc.enable()


def thaw() -> None:
    """Give what ``settle`` froze back to the collector, which runs again (a bot that
    stops, or whose start-up failed)."""
    global _paused
    _paused = False
    gc.unfreeze()
    gc.enable()
