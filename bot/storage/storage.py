"""One object holding the database and a repository of each kind, for the application."""

from __future__ import annotations

from dataclasses import dataclass

from bot.storage.audience import AudienceRepository
from bot.storage.broadcasts import BroadcastRepository
from bot.storage.chats import ChatRepository
from bot.storage.database import Clock, Database, utc_now
from bot.storage.drafts import DraftRepository
from bot.storage.feeds import FeedRepository
from bot.storage.follows import FollowRepository
from bot.storage.inbox import InboxRepository
from bot.storage.known_items import KnownItemRepository
from bot.storage.outbox import OutboxRepository
from bot.storage.published import PublishedItemRepository
from bot.storage.questions import QuestionRepository
from bot.storage.retention import RetentionRepository
from bot.storage.retry import RetryPolicy
from bot.storage.send_budget import SendBudgetRepository
from bot.storage.subscriptions import SubscriptionRepository


@dataclass(frozen=True)
class Storage:
    """``storage.chats``, ``storage.subscriptions``, ... over one open ``Database``.

    Open it in the application's ``post_init`` and close it in ``post_shutdown``.
    """

    database: Database
    chats: ChatRepository
    subscriptions: SubscriptionRepository
    follows: FollowRepository
    known_items: KnownItemRepository
    outbox: OutboxRepository
    broadcasts: BroadcastRepository
    questions: QuestionRepository
    audience: AudienceRepository
    published: PublishedItemRepository
    retention: RetentionRepository
    feeds: FeedRepository
    inbox: InboxRepository
    send_budget: SendBudgetRepository
    drafts: DraftRepository

    @classmethod
    def over(cls, database: Database) -> Storage:
        """Repositories over an already open database."""
        return cls(
            database=database,
            chats=ChatRepository(database),
            subscriptions=SubscriptionRepository(database),
            follows=FollowRepository(database),
            known_items=KnownItemRepository(database),
            outbox=OutboxRepository(database),
            broadcasts=BroadcastRepository(database),
            questions=QuestionRepository(database),
            audience=AudienceRepository(database),
            published=PublishedItemRepository(database),
            retention=RetentionRepository(database),
            feeds=FeedRepository(database),
            inbox=InboxRepository(database),
            send_budget=SendBudgetRepository(database),
            drafts=DraftRepository(database),
        )

    @classmethod
    async def open(
        cls, url: str, *, clock: Clock = utc_now, retry: RetryPolicy | None = None
    ) -> Storage:
        """Open (and migrate) the database at ``url`` and wrap it."""
        return cls.over(await Database.open(url, clock=clock, retry=retry))

    async def close(self) -> None:
        """Close the database's connections."""
        await self.database.close()
