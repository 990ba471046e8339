"""Shared values served stale while one request (or thread) recomputes them.

Two kinds of value use it: the anonymous visitors' pages (:mod:`webapp.page_cache`) and
what every reader or member of staff shares (the popularity ranking, the hot books, the
statistics screen's figures: :func:`kept`). Each is kept in the app's cache (each
worker's memory, or Redis for every worker and server) with the moment it was computed.
A request that finds it fresh uses it. One that finds it older than its period still uses
it, and the first such request (one per period across every worker and server: claimed
in the process, then with the cache's atomic ``add``) recomputes it: inline (a page needs
its request) or in a thread of its own (a ranking or a chart needs none, so no one waits
for it). A failed recomputation keeps the old value. Only when there is no value at all
does a request compute it while the reader waits, and the other requests of its process
wait for that one rather than compute it again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app

from webapp.extensions import cache

# A kept ranking stays this many periods after it was computed (to be served stale meanwhile).
KEPT_PERIODS = 12
# How long one process's claim to recompute a value holds, should it die while computing.
CLAIM_SECONDS = 30
# How long a request waits for another one computing a value that is not there at all.
WAIT_SECONDS = 10

Value = TypeVar("Value")
log = logging.getLogger(__name__)
_computing: dict[str, threading.Event] = {}
_computing_lock = threading.Lock()


def kept(key: str, compute: Callable[[], Value], seconds: int) -> Value:
    """``compute()``'s value, computed at most once per ``seconds`` and shared; computed every time when 0.

    A stale value is recomputed by a thread (inline when the config's
    ``REFRESH_IN_BACKGROUND`` is off, as in the tests). ``compute`` runs inside an
    application context (the request's, or the thread's own) and must not read the request.
    """
    if not seconds:
        return compute()
    background = current_app.config.get("REFRESH_IN_BACKGROUND", True)
    return revalidated(key, compute, seconds, keep_for=seconds * KEPT_PERIODS, background=background)


def revalidated(
    key: str, compute: Callable[[], Value], seconds: int, *, keep_for: int, background: bool = False
) -> Value:
    """The value stored at ``key`` if computed less than ``seconds`` ago; else as the module says.

    Values stay in the cache for ``keep_for`` seconds after they were computed; with
    ``background`` a stale value is recomputed by a thread with an application context of its own.
    """
    entry: tuple[float, Any] | None = cache.get(key)
    if entry is None:
        return _first_value(key, compute, keep_for)
    computed_at, value = entry
    if time.time() - computed_at < seconds:
        return value
    done, mine = _claim(key)
    if not mine:
        return value
    if not cache.add(f"{key}:refreshing", True, timeout=CLAIM_SECONDS):  # another process recomputes it
        _release(key, done)
        return value
    if background:
        app = current_app._get_current_object()
        threading.Thread(
            target=_refresh_in, args=(app, key, compute, keep_for, done), name=f"refresh {key}", daemon=True
        ).start()
        return value
    return _refresh(key, compute, keep_for, done, fallback=value)


def _first_value(key: str, compute: Callable[[], Value], keep_for: int) -> Value:
    done, mine = _claim(key)
    if mine:
        try:
            return _store(key, compute, keep_for)
        finally:
            _release(key, done)
    if done.wait(WAIT_SECONDS) and (entry := cache.get(key)) is not None:
        return entry[1]
    return _store(key, compute, keep_for)  # the other request failed or took too long


def _claim(key: str) -> tuple[threading.Event, bool]:
    """The event set when ``key`` has been computed in this process, and whether this thread claimed it.

    When another thread of the process is already at it, the event is that thread's.
    """
    with _computing_lock:
        if key in _computing:
            return _computing[key], False
        done = _computing[key] = threading.Event()
        return done, True


def _release(key: str, done: threading.Event) -> None:
    with _computing_lock:
        _computing.pop(key, None)
    done.set()


def _store(key: str, compute: Callable[[], Value], keep_for: int) -> Value:
    value = compute()
    cache.set(key, (time.time(), value), timeout=keep_for)
    return value


def _refresh(key: str, compute: Callable[[], Value], keep_for: int, done: threading.Event, fallback: Value) -> Value:
    """Recompute and store the value; a failure is logged and ``fallback`` (the stale value) served."""
    try:
        return _store(key, compute, keep_for)
    except Exception:
        log.exception("Could not recompute %s; the previous value is kept.", key)
        return fallback
    finally:
        cache.delete(f"{key}:refreshing")
        _release(key, done)


def _refresh_in(app: Flask, key: str, compute: Callable[[], Any], keep_for: int, done: threading.Event) -> None:
    with app.app_context():
        _refresh(key, compute, keep_for, done, fallback=None)
