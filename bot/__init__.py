"""newsbot: a Telegram bot that answers questions about the news."""

import os

# python-telegram-bot 22 warns whenever a time period (RetryAfter.retry_after) is read as
# an int; opting in to its future behaviour makes those periods datetime.timedelta, which
# our code expects. Must be set before telegram is imported.
os.environ.setdefault("PTB_TIMEDELTA", "true")
