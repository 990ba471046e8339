"""Parts of logged-in pages that are the same for every reader, rendered once and kept in the cache.

A book's details, its also-liked and similar books, the home page's hot books and new
arrivals, a page of a book list: what they show depends on the catalogue, not on who
looks. Logged-in pages render them once per key and keep them for
``SHARED_FRAGMENT_SECONDS`` in the app's cache (each worker's memory, or Redis when
``REDIS_URL`` is set), while what belongs to the reader (their rating, favourites,
recommendations, cart) is read on every request.

Forms inside a shared fragment ("Add to cart", "Borrow") are rendered with
:data:`CSRF_PLACEHOLDER` instead of a token; :func:`with_csrf` puts the reader's own
token in when the page is sent, so a cached fragment holds nothing of one reader.
Keys name what the fragment shows: a key that includes the figures it depends on (a
book page's ratings count and free copies) is never stale; the others are at most
``SHARED_FRAGMENT_SECONDS`` old, as anonymous pages are.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app, render_template
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from webapp.extensions import cache

CSRF_PLACEHOLDER = "__athenaeum-csrf-token__"


def shared(key: str, build: Callable[[], Any]) -> Any:
    """What ``build`` returns (HTML or a dict of HTML parts), built once per key and period."""
    seconds = current_app.config.get("SHARED_FRAGMENT_SECONDS", 0)
    if not seconds:
        return build()
    key = f"fragment:{key}"
    value = cache.get(key)
    if value is None:
        value = build()
        cache.set(key, value, timeout=seconds)
    return value


def page_parts(key: str, build: Callable[[Callable[..., str]], Any]) -> Any:
    """The parts ``build(render)`` makes: shared under ``key`` by logged-in readers, rendered afresh for
    anonymous visitors (whose whole page :mod:`webapp.page_cache` keeps)."""
    if not current_user.is_authenticated:
        return build(render_template)
    return shared(key, lambda: build(render_shared))


def render_shared(template: str, **context: Any) -> str:
    """A template rendered for every reader: its forms hold the placeholder, not this reader's CSRF token."""
    return render_template(template, csrf_token=lambda: CSRF_PLACEHOLDER, **context)


def with_csrf(html: str) -> str:
    """The page with the reader's CSRF token where its shared fragments hold the placeholder."""
    return html.replace(CSRF_PLACEHOLDER, generate_csrf()) if CSRF_PLACEHOLDER in html else html
