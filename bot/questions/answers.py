"""What the bot says to a question: pure functions from a search result to a reply.

No Telegram objects here: a ``Reply`` is HTML texts plus button specs, which the
handlers turn into messages and inline keyboards.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.knowledge.models import NewsItem
from bot.messages import callbacks
from bot.messages.render import MESSAGE_LIMIT, escape, render_item, render_items, visible_length

# Re-exported: handlers build their own replies from the same two shapes.
from bot.messages.reply import Button as Button
from bot.messages.reply import Reply as Reply
from bot.retrieval import SearchResult, impossible_date
from bot.retrieval.text import normalize

PAGE_SIZE = 3
MAX_PAGES = 10
BUTTON_LABEL_LIMIT = 60
LATIN_END = "\u024f"
"""The last letter of the Latin scripts (Latin Extended-B)."""


def _quote(query: str, limit: int = 80) -> str:
    text = " ".join(query.split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return f"“{escape(text)}”"


def _label(item: NewsItem) -> str:
    title = item.title
    if len(title) > BUTTON_LABEL_LIMIT:
        title = title[: BUTTON_LABEL_LIMIT - 1].rstrip() + "…"
    return title


def fit_page(items: Sequence[NewsItem], header: str, start: int) -> tuple[str, int]:
    """One message: the header and as many of ``items`` (up to PAGE_SIZE) as fit the limit."""
    text = header
    used = 0
    for offset, item in enumerate(items[:PAGE_SIZE]):
        block = render_item(item, number=start + offset)
        candidate = f"{text}\n\n{block}"
        if used and visible_length(candidate) > MESSAGE_LIMIT:
            break
        text, used = candidate, used + 1
    return text, used


def results_page(query: str, hits: Sequence[NewsItem], page: int, header: str) -> Reply:
    """Page ``page`` (0-based) of a result list, with a "More results" button if more remain."""
    start = page * PAGE_SIZE
    if start >= len(hits):
        return Reply([f"No more results for {_quote(query)}."])
    text, used = fit_page(hits[start:], header, start + 1)
    row: list[Button] = []
    if page > 0:
        back = callbacks.encode(callbacks.MorePage(query=query, page=page - 1))
        if back is not None:
            row.append(Button("◂ Back", back))
    if start + used < len(hits) and page + 1 < MAX_PAGES:
        data = callbacks.encode(callbacks.MorePage(query=query, page=page + 1))
        if data is not None:
            row.append(Button("More results ▸", data))
    return Reply([text], [row] if row else [])


def answer(result: SearchResult[NewsItem], latest: Sequence[NewsItem], page: int = 0) -> Reply:
    """The reply to a question, from the retriever's result."""
    query = result.query
    items = [hit.item for hit in result.hits]
    if result.kind == "did_you_mean" and result.suggestions:
        rows = []
        for hit in result.suggestions[:3]:
            data = callbacks.encode(callbacks.ShowItem(callbacks.item_key(hit.item.id)))
            if data is not None:
                rows.append([Button(_label(hit.item), data)])
        text = f"I am not sure what you mean by {_quote(query)}. Did you mean one of these?"
        return Reply([text], rows)
    if not items:
        text = f"I found nothing about {_quote(query)} in the news I know.{_why_nothing(query)}"
        if latest:
            header = f"{text}\nHere is the latest news instead:"
            return Reply(render_items(latest[:PAGE_SIZE], header=header))
        return Reply([text])
    if result.kind == "latest" and result.topic:
        header = f"<b>Latest news on {_quote(result.topic)}</b>"
    elif result.kind == "latest":
        header = "<b>Latest news</b>"
    elif result.kind == "date":
        header = f"News for {_quote(query)}:"
    else:
        header = f"Here is what I found about {_quote(query)}:"
    return results_page(query, items, page, header)


def _why_nothing(query: str) -> str:
    """What may have gone wrong, when the question says: a day that is in no calendar, or
    words in a script the bot does not read."""
    wrong = impossible_date(normalize(query))
    if wrong is not None:
        return f" There is no {_quote(wrong)} in the calendar: is the day or the month mistyped?"
    letters = [c for c in query if c.isalpha()]
    if letters and not any(c <= LATIN_END for c in letters):
        return " I read questions in English best: try asking in English."
    return ""


_GREETING = re.compile(
    r"(?:hi|hello|hey|hiya|howdy|yo|good\s+(?:morning|afternoon|evening|day)|greetings)"
    r"(?:\s+(?:there|bot|newsbot|all|everyone))?"
)
_THANKS = re.compile(
    r"(?:(?:many\s+)?thanks?(?:\s+(?:you|a\s+lot|so\s+much|very\s+much))*|thx|ty|cheers"
    r"|ok(?:ay)?|great|nice|cool|got\s+it|perfect)"
)
_TRIM = re.compile(r"^[\W_]+|[\W_]+$")
EXAMPLE = "what's new on child labour?"


def small_talk(text: str) -> str | None:
    """The answer to a message that is not a question about the news ("hi", "thanks!", an
    emoji alone), or None: such messages are not searched, nor logged as unanswered."""
    words = " ".join(_TRIM.sub("", normalize(text)).split())
    if not any(c.isalnum() for c in words):
        return f"Ask me about the news in words, for example: {EXAMPLE} or: latest news"
    if _GREETING.fullmatch(words):
        return f"Hello! Ask me about the news, for example: {EXAMPLE} or: latest news"
    if _THANKS.fullmatch(words):
        return "Glad to help. Ask me anything else about the news, or /help."
    return None


def latest_reply(items: Sequence[NewsItem]) -> Reply:
    """``/latest N``: the newest items, split across messages at item boundaries."""
    if not items:
        return Reply(["There is no news yet."])
    return Reply(render_items(items, header="<b>Latest news</b>"))


def item_reply(item: NewsItem) -> Reply:
    """A single item, as shown after a "did you mean" choice."""
    return Reply([render_item(item)])
