"""Subscriptions and the daily digest: when it is due, what it holds, who gets it; topic alerts.

Lives here: ``subscribing`` (reading "/subscribe 08:00 Asia/Tokyo"), ``schedule`` (when a
digest is due in the subscriber's zone, pure), ``digest`` (building one, explaining a silent
one, pure), ``scheduler`` (the tick: due subscribers into the outbox), ``alerts`` (/follow),
``zones`` (common time zones by region, for the /settings buttons).
May import: ``delivery`` (the outbox it queues into), ``messages``, ``knowledge``,
``retrieval``, ``storage``.
"""
