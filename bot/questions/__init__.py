"""Answering questions: a search result becomes a reply; who may ask how often; unanswered ones.

Lives here: ``answers`` (search result -> reply, pure), ``throttle`` (questions per user per
minute), ``question_log`` (unanswered questions for /stats, written in batches).
May import: ``messages``, ``knowledge``, ``retrieval``, ``storage``. Never ``telegram``.
"""
