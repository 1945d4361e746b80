"""newsbot: a Telegram bot that answers questions about the news."""

import os

# python-telegram-bot 22 warns whenever a time period (RetryAfter.retry_after) is read as
# an int; opting in to its future behaviour makes those periods datetime.timedelta, which
# our code expects. Must be set before telegram is imported.
os.environ.setdefault("PTB_TIMEDELTA", "true")

# Ranking is a few small matrix products per question, many questions at once on few
# cores: OpenBLAS's extra threads only fight the event loop for the CPU (measured at 100k
# items under load: p50 20 -> 8 ms, p99 65 -> 15 ms). Set before numpy is imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

# numpy asks the kernel for huge pages for every large array; on this deployment's
# machines (a virtual machine, transparent huge pages on madvise) touching the 256 MB of
# item vectors of 100,000 items for the first time took 0.5-0.8 s that way, 0.1-0.15 s
# with ordinary pages, and a search over them is no slower (p50 2.7 ms either way).
os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")
