"""Micro-caching of the pages anonymous visitors see.

Most traffic to a catalogue is anonymous and sees the same HTML, so home, the book
lists, search results and book pages are kept for ``ANONYMOUS_PAGE_SECONDS`` (30 s by
default) per URL. When a copy expires, the first visitor to ask re-renders it while the
others still get the old copy (at most twice as old), and when there is no copy the
others wait for that first one: a busy page is never rendered by every thread at once.
With a shared cache (Redis, see ``REDIS_URL``) the copy serves every worker and server,
and an expired copy is re-rendered by one of them: the first to claim it in the cache
(:mod:`webapp.revalidating_cache`).

A page is never cached or served from the cache for a logged-in reader, or while the
visitor has a flash message waiting (it would be shown to everyone else). Anonymous
pages hold no CSRF token (their only action, "Borrow", is a link to the login page), so
a cached page carries nothing that belongs to one visitor.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from flask import current_app, request, session
from flask_login import current_user

from webapp.revalidating_cache import revalidated


def _key() -> str:
    arguments = sorted(request.args.items(multi=True))
    return f"anonymous-page:{request.path}?{urlencode(arguments)}"


def cached_for_anonymous(render: Callable[[], str]) -> str:
    """The HTML ``render`` makes; for anonymous visitors, reused for a few seconds per URL."""
    seconds = current_app.config.get("ANONYMOUS_PAGE_SECONDS", 0)
    if not seconds or current_user.is_authenticated or session.get("_flashes"):
        return render()
    return revalidated(_key(), render, seconds, keep_for=2 * seconds)
