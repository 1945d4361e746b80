"""The outbox: every message the bot will send, durable before it is sent.

A message's life: ``pending`` → ``sending`` (claimed by a sender) → ``sent``, or back to
``pending`` for a retry, or ``failed`` / ``skipped`` / ``cancelled``.

Delivery window. A sender claims a row (``sending``, with a lease until ``lease_until``),
calls Telegram, then records the outcome. A crash between Telegram accepting the message
and ``mark_sent`` committing leaves the row in ``sending``; once its lease has passed,
``requeue_expired`` puts it back to ``pending`` and it is sent again (a process alone on its
database, SQLite, may take back every ``sending`` row at start: ``requeue_stale_sending``).
So delivery is at-least-once, with the duplicate window being exactly that gap. A live
sender renews the leases of its sends in flight (``renew``), so no row is taken from a
process that is still sending it. Without the requeue it would be at-most-once.

Several processes (PostgreSQL): claims use ``FOR UPDATE SKIP LOCKED``, so concurrent
claimers take disjoint rows without waiting for each other.

Enqueueing is idempotent per ``dedupe_key``, so a digest or broadcast enqueued twice (a
retry, a second scheduler) still yields one row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import Connection, RowMapping, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.database import Database
from bot.storage.dialect import insert_for
from bot.storage.models import (
    OUTBOX_KINDS,
    OUTBOX_STATUSES,
    NewOutboxMessage,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
)
from bot.storage.tables import outbox

# Rows per INSERT: 12 columns x 500 stays far below both drivers' bound-parameter limits.
_CHUNK = 500
# Telegram errors can be long; the row keeps the start, which names the cause.
_MAX_ERROR = 1000
# How long a claim is its process's without a renewal (DELIVERY_LEASE_SECONDS).
DEFAULT_LEASE = dt.timedelta(seconds=30)
# Clocks of processes on different machines differ a little (NTP keeps them within
# milliseconds); a lease this much further ahead than its length is still believed.
LEASE_SLACK = dt.timedelta(seconds=5)


def _message(row: RowMapping) -> OutboxMessage:
    return OutboxMessage.model_validate(dict(row))


class OutboxRepository:
    """Enqueue, claim and settle outgoing messages; safe with several senders."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def enqueue_many(self, messages: Sequence[NewOutboxMessage]) -> int:
        """Queue the messages as ``pending``; returns how many were new.

        A message whose ``dedupe_key`` is already queued (in any status) is dropped. All
        messages are queued in one transaction: a broadcast is queued whole or not at all.
        """
        now = self._db.now()
        rows = [
            {
                "kind": m.kind,
                "dedupe_key": m.dedupe_key,
                "chat_id": m.chat_id,
                "text": m.text,
                "parse_mode": m.parse_mode,
                "reply_markup": m.reply_markup,
                "status": "pending",
                "attempts": 0,
                "not_before": m.not_before or now,
                "created_at": now,
                "broadcast_id": m.broadcast_id,
                "item_id": m.item_id,
            }
            for m in messages
        ]
        if not rows:
            return 0

        async def work(conn: AsyncConnection) -> int:
            new = 0
            for start in range(0, len(rows), _CHUNK):
                statement = (
                    insert_for(self._db.dialect, outbox)
                    .values(rows[start : start + _CHUNK])
                    .on_conflict_do_nothing(index_elements=[outbox.c.dedupe_key])
                    .returning(outbox.c.id)
                )
                new += len((await conn.execute(statement)).all())
            return new

        return await self._db.run("outbox.enqueue_many", work)

    async def claim_due(
        self, now: dt.datetime, limit: int, lease: dt.timedelta = DEFAULT_LEASE
    ) -> list[OutboxMessage]:
        """Take up to ``limit`` pending messages due by ``now``, oldest id first, leased
        until ``now + lease``.

        Each is marked ``sending`` with ``claimed_at=now`` and ``attempts`` + 1 in the same
        statement that selects it, so two concurrent claimers never get the same row.
        PostgreSQL: ``FOR UPDATE SKIP LOCKED`` lets them take disjoint rows without waiting,
        and the repeated ``status = 'pending'`` test drops any row another claimer won.
        SQLite: the UPDATE holds the single write lock for its whole run.
        """
        due = (
            select(outbox.c.id)
            .where(outbox.c.status == "pending", outbox.c.not_before <= now)
            .order_by(outbox.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .cte("due")
            # Evaluated once. As a plain IN (subquery), PostgreSQL may run the LIMITed
            # subquery more than once per UPDATE and claim more than `limit` rows.
            .prefix_with("MATERIALIZED")
        )
        statement = (
            update(outbox)
            .where(outbox.c.id.in_(select(due.c.id)), outbox.c.status == "pending")
            .values(
                status="sending",
                claimed_at=now,
                lease_until=now + lease,
                attempts=outbox.c.attempts + 1,
            )
            .returning(*outbox.c)
        )

        async def work(conn: AsyncConnection) -> list[OutboxMessage]:
            rows = (await conn.execute(statement)).mappings().all()
            # RETURNING promises no order.
            return sorted((_message(row) for row in rows), key=lambda m: m.id)

        return await self._db.run("outbox.claim_due", work)

    async def mark_sent(self, id: int, telegram_message_id: int, sent_at: dt.datetime) -> None:
        """Telegram accepted the message. Urgent: until this commits, a kill resends it."""
        values: dict[str, object] = {
            "status": "sent",
            "sent_at": sent_at,
            "telegram_message_id": telegram_message_id,
            "last_error": None,
        }
        await self._settle("outbox.mark_sent", id, values, urgent=True)

    async def mark_sent_many(self, sent: Sequence[tuple[int, int, dt.datetime]]) -> None:
        """``mark_sent`` for several messages in one transaction: (row id, Telegram's
        message id, sent at). Urgent, like ``mark_sent``; one commit records them all."""
        if not sent:
            return
        statement = (
            update(outbox)
            .where(outbox.c.id == bindparam("b_id"))
            .values(
                status="sent",
                sent_at=bindparam("b_at"),
                telegram_message_id=bindparam("b_mid"),
                last_error=None,
            )
        )
        # In id order, as other writers lock them: two processes' batches cannot deadlock.
        params = [{"b_id": id, "b_mid": mid, "b_at": at} for id, mid, at in sorted(sent)]

        def work(conn: Connection) -> None:
            conn.execute(statement, params)

        await self._db.run_urgent("outbox.mark_sent_many", work)

    async def mark_retry(
        self, id: int, not_before: dt.datetime, error: str, *, unknown_fate: bool = False
    ) -> None:
        """A transient failure (rate limit, network): back to ``pending`` from ``not_before``.

        ``unknown_fate``: the try may have delivered the message (a read timeout); counted.
        """
        extra: dict[str, object] = (
            {"unknown_fate": outbox.c.unknown_fate + 1} if unknown_fate else {}
        )
        values: dict[str, object] = {
            "status": "pending",
            "not_before": not_before,
            "claimed_at": None,
            "lease_until": None,
            "last_error": error[:_MAX_ERROR],
            **extra,
        }
        await self._settle("outbox.mark_retry", id, values)

    async def mark_failed(self, id: int, error: str) -> None:
        """A permanent failure (blocked, chat not found, bad markup): never retried."""
        values: dict[str, object] = {"status": "failed", "last_error": error[:_MAX_ERROR]}
        await self._settle("outbox.mark_failed", id, values)

    async def mark_skipped(self, id: int, reason: str) -> None:
        """Deliberately not sent (the chat went inactive, the digest was empty, ...)."""
        values: dict[str, object] = {"status": "skipped", "last_error": reason[:_MAX_ERROR]}
        await self._settle("outbox.mark_skipped", id, values)

    async def _settle(
        self, operation: str, id: int, values: dict[str, object], *, urgent: bool = False
    ) -> None:
        statement = update(outbox).where(outbox.c.id == id).values(**values)

        async def work(conn: AsyncConnection) -> None:
            await conn.execute(statement)

        await self._db.run(operation, work, urgent=urgent)

    async def cancel_broadcast(self, broadcast_id: int) -> int:
        """Cancel the broadcast's messages still ``pending``; returns how many.

        Messages already ``sending`` are in flight and are left to finish.
        """
        statement = (
            update(outbox)
            .where(outbox.c.broadcast_id == broadcast_id, outbox.c.status == "pending")
            .values(status="cancelled")
        )

        async def work(conn: AsyncConnection) -> int:
            return (await conn.execute(statement)).rowcount

        return await self._db.run("outbox.cancel_broadcast", work)

    async def requeue_stale_sending(self, older_than: dt.datetime | None = None) -> int:
        """Return rows claimed before ``older_than`` (every claimed row for None) and never
        settled to ``pending``.

        For after a crash; see the module docstring for the duplicate window this opens.
        None is what a start-up wants: a lease stamped by a clock that ran fast is in the
        future, and must not strand its row until the clock catches up.
        """
        condition = outbox.c.status == "sending"
        if older_than is not None:
            condition = condition & (outbox.c.claimed_at < older_than)
        statement = (
            update(outbox)
            .where(condition)
            # Its send may have reached Telegram before the process died.
            .values(
                status="pending",
                claimed_at=None,
                lease_until=None,
                unknown_fate=outbox.c.unknown_fate + 1,
            )
        )

        async def work(conn: AsyncConnection) -> int:
            return (await conn.execute(statement)).rowcount

        return await self._db.run("outbox.requeue_stale_sending", work)

    async def requeue_expired(self, now: dt.datetime, lease: dt.timedelta) -> int:
        """Take back the ``sending`` rows whose claimer is presumed dead; returns how many.

        Presumed dead: its lease has passed (a live sender renews it), or the lease ends
        further ahead than ``lease`` allows, which only a clock that ran fast can stamp
        (issue 12: such a row would otherwise wait until the clock caught up), or the row
        has no lease (claimed by a release before leases).
        """
        condition = (outbox.c.status == "sending") & (
            (outbox.c.lease_until < now)
            | (outbox.c.lease_until > now + lease + LEASE_SLACK)
            | outbox.c.lease_until.is_(None)
        )
        statement = (
            update(outbox)
            .where(condition)
            .values(
                status="pending",
                claimed_at=None,
                lease_until=None,
                unknown_fate=outbox.c.unknown_fate + 1,
            )
        )

        async def work(conn: AsyncConnection) -> int:
            return (await conn.execute(statement)).rowcount

        return await self._db.run("outbox.requeue_expired", work)

    async def renew(self, ids: Sequence[int], until: dt.datetime) -> int:
        """Extend the leases of these rows still ``sending`` (sends in flight) to ``until``."""
        if not ids:
            return 0

        async def work(conn: AsyncConnection) -> int:
            renewed = 0
            for start in range(0, len(ids), _CHUNK):
                statement = (
                    update(outbox)
                    .where(
                        outbox.c.id.in_(list(ids[start : start + _CHUNK])),
                        outbox.c.status == "sending",
                    )
                    .values(lease_until=until)
                )
                renewed += (await conn.execute(statement)).rowcount
            return renewed

        return await self._db.run("outbox.renew", work)

    async def pull_back_future(self, now: dt.datetime, horizon: dt.timedelta) -> int:
        """Make pending rows due later than ``now + horizon`` due at ``now``; returns how many.

        No honest retry waits that long (backoff is at most minutes): such a ``not_before``
        was computed by a clock that ran fast, and would hold the message back for as long.
        """
        statement = (
            update(outbox)
            .where(outbox.c.status == "pending", outbox.c.not_before > now + horizon)
            .values(not_before=now)
        )

        async def work(conn: AsyncConnection) -> int:
            return (await conn.execute(statement)).rowcount

        return await self._db.run("outbox.pull_back_future", work)

    async def counts_by_status(self, broadcast_id: int | None = None) -> dict[OutboxStatus, int]:
        """How many messages are in each status (every status present, zeros included).

        For one broadcast's progress, or the whole outbox when ``broadcast_id`` is None.
        """
        statement = select(outbox.c.status, func.count()).group_by(outbox.c.status)
        if broadcast_id is not None:
            statement = statement.where(outbox.c.broadcast_id == broadcast_id)

        async def work(conn: AsyncConnection) -> dict[OutboxStatus, int]:
            found = {status: n for status, n in (await conn.execute(statement)).all()}
            return {status: found.get(status, 0) for status in OUTBOX_STATUSES}

        return await self._db.run("outbox.counts_by_status", work)

    async def items_received(self, chat_ids: Sequence[int]) -> dict[int, set[str]]:
        """The items each chat got (or has on its way) as a broadcast or an alert.

        Sent, sending and pending rows count; failed, skipped and cancelled ones do not.
        """
        if not chat_ids:
            return {}
        found: dict[int, set[str]] = {}

        async def work(conn: AsyncConnection) -> dict[int, set[str]]:
            found.clear()
            unique = list(dict.fromkeys(chat_ids))
            for start in range(0, len(unique), _CHUNK):
                statement = select(outbox.c.chat_id, outbox.c.item_id).where(
                    outbox.c.chat_id.in_(unique[start : start + _CHUNK]),
                    outbox.c.item_id.is_not(None),
                    outbox.c.status.in_(("pending", "sending", "sent")),
                )
                for chat_id, item_id in (await conn.execute(statement)).all():
                    found.setdefault(chat_id, set()).add(item_id)
            return found

        return await self._db.run("outbox.items_received", work)

    async def maybe_twice(self, broadcast_id: int) -> int:
        """The broadcast's messages sent after a try of unknown fate: they may have arrived
        twice."""
        statement = select(func.count()).where(
            outbox.c.broadcast_id == broadcast_id,
            outbox.c.status == "sent",
            outbox.c.unknown_fate > 0,
        )

        async def work(conn: AsyncConnection) -> int:
            return int((await conn.execute(statement)).scalar_one())

        return await self._db.run("outbox.maybe_twice", work)

    async def sent_since(self, since: dt.datetime) -> dict[OutboxKind, int]:
        """Messages sent at or after ``since``, by kind (every kind present, zeros included)."""
        statement = (
            select(outbox.c.kind, func.count())
            .where(outbox.c.status == "sent", outbox.c.sent_at >= since)
            .group_by(outbox.c.kind)
        )

        async def work(conn: AsyncConnection) -> dict[OutboxKind, int]:
            found = {kind: n for kind, n in (await conn.execute(statement)).all()}
            return {kind: found.get(kind, 0) for kind in OUTBOX_KINDS}

        return await self._db.run("outbox.sent_since", work)

    async def has_pending_for_chat(self, chat_id: int, kind: OutboxKind | None = None) -> bool:
        """Whether the chat has a message not yet delivered (``pending`` or ``sending``)."""
        statement = select(outbox.c.id).where(
            outbox.c.chat_id == chat_id, outbox.c.status.in_(("pending", "sending"))
        )
        if kind is not None:
            statement = statement.where(outbox.c.kind == kind)
        statement = statement.limit(1)

        async def work(conn: AsyncConnection) -> bool:
            return (await conn.execute(statement)).first() is not None

        return await self._db.run("outbox.has_pending_for_chat", work)

    async def get(self, id: int) -> OutboxMessage | None:
        """One message by id, or None."""
        statement = select(outbox).where(outbox.c.id == id)

        async def work(conn: AsyncConnection) -> OutboxMessage | None:
            row = (await conn.execute(statement)).mappings().one_or_none()
            return None if row is None else _message(row)

        return await self._db.run("outbox.get", work)

    async def sending_window(self, broadcast_id: int) -> tuple[dt.datetime, dt.datetime] | None:
        """When a broadcast's first and last messages were sent; None before the first."""
        statement = select(func.min(outbox.c.sent_at), func.max(outbox.c.sent_at)).where(
            outbox.c.broadcast_id == broadcast_id, outbox.c.sent_at.is_not(None)
        )

        async def work(conn: AsyncConnection) -> tuple[dt.datetime, dt.datetime] | None:
            first, last = (await conn.execute(statement)).one()
            return None if first is None or last is None else (first, last)

        return await self._db.run("outbox.sending_window", work)
