"""What the bot's messages look like: HTML within Telegram's limits, replies, button data.

Lives here: ``render`` (items as Telegram HTML, split within 4096 characters), ``reply`` (a
reply as texts and button specs), ``callbacks`` (inline-button data within 64 bytes, decoded
defensively). Pure: no I/O, no ``telegram``.
May import: ``knowledge`` (its models).
"""
