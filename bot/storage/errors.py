"""The storage layer's errors.

    NewsbotError                (bot.errors)
    └── StorageError            base of everything raised here
        ├── StorageUnavailable  the database stayed busy or unreachable through every retry
        │   └── DatabaseGone    the SQLite file was deleted, replaced or made read-only
        ├── UnknownChat         a subscription or follow for a chat never seen (upsert_seen)
        ├── FollowLimitReached  a chat following as many topics as it may
        └── MigrationError      the schema could not be brought up to date at start-up

Other database errors (a bug: bad SQL, a violated constraint) are not wrapped: they
propagate as SQLAlchemy raised them, with the statement attached.
"""

from __future__ import annotations

from bot.errors import NewsbotError


class StorageError(NewsbotError):
    """Base class of storage errors."""

    @property
    def user_message(self) -> str:
        return "Something went wrong on our side. Please try again in a minute."


class StorageUnavailable(StorageError):
    """A transient failure (locked database, dropped connection) outlasted the retries."""

    def __init__(self, operation: str, reason: str, attempts: int) -> None:
        self.operation = operation
        self.reason = reason
        self.attempts = attempts
        super().__init__(f"storage unavailable: {operation}: {reason} after {attempts} attempts")


class DatabaseGone(StorageUnavailable):
    """The SQLite file under the running bot was deleted, replaced, or cannot be written.

    Writes would land in a deleted file and vanish at the next start, so nothing is
    written, nothing is claimed as saved, and the user is told.
    """

    def __init__(self, operation: str, reason: str) -> None:
        super().__init__(operation, reason, 0)

    @property
    def user_message(self) -> str:
        return "Sorry, I cannot save anything right now. Please try again later."


class UnknownChat(StorageError):
    """The chat must be recorded with ``ChatRepository.upsert_seen`` first."""

    def __init__(self, chat_id: int) -> None:
        self.chat_id = chat_id
        super().__init__(f"unknown chat {chat_id}: record it with upsert_seen first")


class FollowLimitReached(StorageError):
    """The chat follows ``limit`` topics already."""

    def __init__(self, chat_id: int, limit: int) -> None:
        self.chat_id = chat_id
        self.limit = limit
        super().__init__(f"chat {chat_id} follows {limit} topics already")


class MigrationError(StorageError):
    """Upgrading the schema failed; the message names the database (without password)."""
