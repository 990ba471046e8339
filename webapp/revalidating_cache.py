"""Values every reader shares (the popularity ranking, the hot books): stale while they are recomputed.

Such a value takes a second or more to compute on the demo and is the same for everyone,
so no reader's request should wait for it. It is kept in the app's cache (each worker's
memory, or Redis for every worker and server) with the moment it was computed, for
``KEPT_PERIODS`` periods. A request that finds it fresh uses it. One that finds it older
than its period still uses it, and the first such request (one per period across every
worker and server: claimed with the cache's atomic ``add``) starts a thread that
recomputes it. Only a request that finds nothing, the first after a start or a long idle,
computes it while the reader waits.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app

from webapp.extensions import cache

KEPT_PERIODS = 12
Value = TypeVar("Value")
log = logging.getLogger(__name__)


def kept(key: str, compute: Callable[[], Value], seconds: int) -> Value:
    """``compute()``'s value, computed at most once per ``seconds`` and shared; computed every time when 0.

    ``compute`` runs inside an application context (the request's, or the refreshing
    thread's own) and must not read the request.
    """
    if not seconds:
        return compute()
    entry: tuple[float, Any] | None = cache.get(key)
    if entry is None:
        return _store(key, compute, seconds)
    computed_at, value = entry
    if time.time() - computed_at >= seconds and cache.add(f"{key}:refreshing", True, timeout=seconds):
        app = current_app._get_current_object()
        if app.config.get("REFRESH_IN_BACKGROUND", True):
            threading.Thread(
                target=_refresh, args=(app, key, compute, seconds), name=f"refresh {key}", daemon=True
            ).start()
        else:  # the tests' inline mode: the claiming request recomputes it
            _refresh(app, key, compute, seconds)
    return value


def _store(key: str, compute: Callable[[], Value], seconds: int) -> Value:
    value = compute()
    cache.set(key, (time.time(), value), timeout=seconds * KEPT_PERIODS)
    return value


def _refresh(app: Flask, key: str, compute: Callable[[], Any], seconds: int) -> None:
    """Recompute and store the value in an application context of its own; a failure keeps the old value."""
    with app.app_context():
        try:
            _store(key, compute, seconds)
        except Exception:
            log.exception("Could not refresh %s; the previous value is kept.", key)
        finally:
            cache.delete(f"{key}:refreshing")
