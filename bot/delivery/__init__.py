"""The one send path: the outbox courier, flood control, the Telegram sender, broadcasts.

Lives here: ``courier`` (outbox rows sent once, outcomes classified, leases renewed),
``ratelimit`` (Telegram's flood limits under python-telegram-bot), ``shared_budget`` (those
limits for every process on one PostgreSQL, kept in the database), ``telegram_sender`` and
``replies`` (sending through python-telegram-bot: HTML, plain-text fallback, retries),
``broadcast`` (an admin's item to every subscriber: publish, queue, resume, progress).
May import: ``messages``, ``knowledge``, ``storage``, ``telegram``.
"""
