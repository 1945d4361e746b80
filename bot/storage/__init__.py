"""Storage: SQLite or PostgreSQL behind repositories that return frozen pydantic models.

Callers never see rows, connections or sessions. ``Storage.open(url)`` migrates the
schema to this release's head and returns one repository of each kind.
May import: ``errors`` only; the bottom of the layers.
"""

from bot.storage.audience import AudienceRepository
from bot.storage.broadcasts import BroadcastRepository
from bot.storage.chats import ChatRepository
from bot.storage.database import Clock, Database, utc_now
from bot.storage.drafts import AdminDraft, DraftRepository, DraftStep
from bot.storage.errors import (
    DatabaseGone,
    FollowLimitReached,
    MigrationError,
    StorageError,
    StorageUnavailable,
    UnknownChat,
)
from bot.storage.feeds import Feed, FeedOutcome, FeedRepository, SeenEntry
from bot.storage.follows import FollowRepository, normalize_phrase
from bot.storage.inbox import InboxRepository, InboxUpdate, NewUpdate
from bot.storage.known_items import KnownItemRepository
from bot.storage.models import (
    Broadcast,
    BroadcastStatus,
    Chat,
    ChatCounts,
    Follow,
    KnownItem,
    NewOutboxMessage,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
    PublishedRecord,
    QuestionRecord,
    Subscription,
    UnansweredQuestion,
)
from bot.storage.outbox import OutboxRepository
from bot.storage.published import PublishedItemRepository
from bot.storage.questions import NewQuestion, QuestionRepository, normalize_question
from bot.storage.retention import Pruned, RetentionRepository
from bot.storage.retry import RetryPolicy
from bot.storage.send_budget import SendBudgetRepository
from bot.storage.storage import Storage
from bot.storage.subscriptions import DigestClaim, SubscriptionRepository

__all__ = [
    "AdminDraft",
    "AudienceRepository",
    "Broadcast",
    "BroadcastRepository",
    "BroadcastStatus",
    "Chat",
    "ChatCounts",
    "ChatRepository",
    "Clock",
    "Database",
    "DatabaseGone",
    "DigestClaim",
    "DraftRepository",
    "DraftStep",
    "Feed",
    "FeedOutcome",
    "FeedRepository",
    "Follow",
    "FollowLimitReached",
    "FollowRepository",
    "InboxRepository",
    "InboxUpdate",
    "KnownItem",
    "KnownItemRepository",
    "MigrationError",
    "NewOutboxMessage",
    "NewQuestion",
    "NewUpdate",
    "OutboxKind",
    "OutboxMessage",
    "OutboxRepository",
    "OutboxStatus",
    "Pruned",
    "PublishedItemRepository",
    "PublishedRecord",
    "QuestionRecord",
    "QuestionRepository",
    "RetentionRepository",
    "RetryPolicy",
    "SeenEntry",
    "SendBudgetRepository",
    "Storage",
    "StorageError",
    "StorageUnavailable",
    "Subscription",
    "SubscriptionRepository",
    "UnansweredQuestion",
    "UnknownChat",
    "normalize_phrase",
    "normalize_question",
    "utc_now",
]
