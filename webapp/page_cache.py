"""Micro-caching of the pages anonymous visitors see.

Most traffic to a catalogue is anonymous and sees the same HTML, so home, the book
lists, search results and book pages are kept for ``ANONYMOUS_PAGE_SECONDS`` (30 s by
default) per URL. A page is never cached or served from the cache for a logged-in
reader, or while the visitor has a flash message waiting (it would be shown to everyone
else). Anonymous pages hold no CSRF token (their only action, "Borrow", is a link to the
login page), so a cached page carries nothing that belongs to one visitor.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from flask import current_app, request, session
from flask_login import current_user

from webapp.extensions import cache


def _key() -> str:
    arguments = sorted(request.args.items(multi=True))
    return f"page:{request.path}?{urlencode(arguments)}"


def cached_for_anonymous(render: Callable[[], str]) -> str:
    """The HTML ``render`` makes; for anonymous visitors, reused for a few seconds per URL."""
    seconds = current_app.config.get("ANONYMOUS_PAGE_SECONDS", 0)
    if not seconds or current_user.is_authenticated or session.get("_flashes"):
        return render()
    key = _key()
    html = cache.get(key)
    if html is None:
        html = render()
        cache.set(key, html, timeout=seconds)
    return html
