"""The duplicate window: between Telegram accepting a message and the commit recording it,
a kill sends the message again. Recording a delivery must not wait behind other work.

The figure itself (a SIGKILL timed after acceptance) is measured by
``python -m benchmarks.duplicate_window`` and stated in the README.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage import NewOutboxMessage, Storage


async def test_recording_a_delivery_goes_before_the_bookkeeping_queued_ahead_of_it(
    tmp_path: Path,
) -> None:
    storage = await Storage.open(f"sqlite+aiosqlite:///{tmp_path / 'newsbot.db'}")
    try:
        await storage.outbox.enqueue_many(
            [NewOutboxMessage(kind="alert", dedupe_key="k", chat_id=1, text="hi")]
        )
        (row,) = await storage.outbox.claim_due(storage.database.now(), 1)
        finished: list[str] = []
        release = asyncio.Event()

        async def slow(conn: AsyncConnection) -> None:
            await release.wait()

        async def bookkeeping(name: str) -> None:
            async def work(conn: AsyncConnection) -> None:
                finished.append(name)

            await storage.database.run(name, work)

        holder = asyncio.create_task(storage.database.run("slow", slow))
        await asyncio.sleep(0.05)
        queued = [asyncio.create_task(bookkeeping(f"claim {n}")) for n in range(5)]
        await asyncio.sleep(0.05)

        async def mark() -> None:
            await storage.outbox.mark_sent_many([(row.id, 42, storage.database.now())])
            finished.append("sent")

        marking = asyncio.create_task(mark())
        await asyncio.sleep(0.05)
        release.set()
        await asyncio.gather(holder, *queued, marking)
        assert finished[0] == "sent", finished
        stored = await storage.outbox.get(row.id)
        assert stored is not None and stored.status == "sent"
        assert stored.telegram_message_id == 42
    finally:
        await storage.close()
