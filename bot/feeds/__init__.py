"""Feeds: following RSS, Atom and JSON feeds, so news arrives by itself.

Lives here: ``addresses`` (which URLs may be fetched: http(s), public addresses only),
``fetcher`` (one conditional, bounded HTTP GET), ``parser`` (RSS 2.0, RSS 1.0/RDF, Atom
and JSON Feed into entries, entries into news items), ``schedule`` (what a fetch's result
means for the feed: next fetch, backoff, admin notices), ``publishing`` (new items join
the published items), ``poller`` (claims due feeds and runs the above, bounded).
May import: ``digests`` (keyword alerts), ``delivery`` (broadcasts, the outbox), ``messages``,
``knowledge``, ``retrieval``, ``storage``, ``errors``; never ``telegram``.
"""
