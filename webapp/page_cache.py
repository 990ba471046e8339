"""Micro-caching of the pages anonymous visitors see.

Most traffic to a catalogue is anonymous and sees the same HTML, so home, the book
lists, search results and book pages are kept for ``ANONYMOUS_PAGE_SECONDS`` (30 s by
default) per URL. When a copy expires, the first visitor to ask re-renders it while the
others still get the old copy (at most twice as old), and when there is no copy the
others wait for that first one: a busy page is never rendered by every thread at once.
With a shared cache (Redis, see ``REDIS_URL``) the copy serves every worker and server,
and an expired copy is re-rendered by one of them: the first to claim it in the cache.

A page is never cached or served from the cache for a logged-in reader, or while the
visitor has a flash message waiting (it would be shown to everyone else). Anonymous
pages hold no CSRF token (their only action, "Borrow", is a link to the login page), so
a cached page carries nothing that belongs to one visitor.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from urllib.parse import urlencode

from flask import current_app, request, session
from flask_login import current_user

from webapp.extensions import cache


def _key() -> str:
    arguments = sorted(request.args.items(multi=True))
    return f"page:{request.path}?{urlencode(arguments)}"


# How long one worker's claim to re-render an expired page holds, should it die while rendering.
RENDER_CLAIM_SECONDS = 10

_rendering: dict[str, threading.Event] = {}
_rendering_lock = threading.Lock()


def _claim_render(key: str) -> tuple[threading.Event, bool]:
    """The event set once ``key`` is rendered, and whether this thread is the one of its process to render it."""
    with _rendering_lock:
        if key in _rendering:
            return _rendering[key], False
        done = _rendering[key] = threading.Event()
        return done, True


def _release(key: str, done: threading.Event) -> None:
    with _rendering_lock:
        _rendering.pop(key, None)
    done.set()


def _render_and_store(key: str, render: Callable[[], str], seconds: int, done: threading.Event | None) -> str:
    try:
        html = render()
        cache.set(key, (html, time.time() + seconds), timeout=2 * seconds)
        return html
    finally:
        if done is not None:
            _release(key, done)


def cached_for_anonymous(render: Callable[[], str]) -> str:
    """The HTML ``render`` makes; for anonymous visitors, reused for a few seconds per URL."""
    seconds = current_app.config.get("ANONYMOUS_PAGE_SECONDS", 0)
    if not seconds or current_user.is_authenticated or session.get("_flashes"):
        return render()
    key = _key()
    entry = cache.get(key)
    if entry is not None:
        html, fresh_until = entry
        if time.time() < fresh_until:
            return html
        done, mine = _claim_render(key)
        if not mine:
            return html
        if not cache.add(f"{key}#rendering", True, timeout=RENDER_CLAIM_SECONDS):  # another process renders it
            _release(key, done)
            return html
        try:
            return _render_and_store(key, render, seconds, done)
        finally:
            cache.delete(f"{key}#rendering")
    done, mine = _claim_render(key)
    if mine:
        return _render_and_store(key, render, seconds, done)
    # Another thread is rendering it: wait for its copy rather than render it again.
    if done.wait(timeout=10) and (entry := cache.get(key)) is not None:
        return entry[0]
    return _render_and_store(key, render, seconds, None)
