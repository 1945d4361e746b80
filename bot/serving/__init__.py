"""Webhook mode: Telegram calls us; an update is acknowledged only once it is stored.

Lives here: ``webhook`` (the HTTP listener: the webhook endpoint with its secret, ``/healthz``
and ``/readyz``), ``dispatcher`` (claims stored updates from the database's inbox, in each
chat's order, and hands them to the ``Application``), ``mode`` (webhook mode's start and
stop: listener, setWebhook, dispatcher, and on SIGTERM the reverse, webhook left set).
May import: ``context`` (the services), ``handlers`` (where updates enter), ``storage``,
``config``, ``errors``; ``telegram`` and ``aiohttp``.
"""
