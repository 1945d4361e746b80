"""newsbot: a Telegram bot that answers questions about the news."""
