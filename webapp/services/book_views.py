"""Book-page views, written to the database in batches.

A view is a row for the hot-books ranking and the recommender, not something a reader
waits for, so each worker process collects them and writes them in one INSERT at most
``VIEW_FLUSH_SECONDS`` later (1 s by default; 0 writes every view at once) or when
``VIEW_BATCH_SIZE`` are waiting. Batching keeps the busiest page from queueing on the
database's write lock. Views still waiting are written at the end of the next request
that finds them due, and when the worker process exits normally; a worker killed
outright loses at most those few seconds of views, nothing else.
"""

from __future__ import annotations

import atexit
import threading
import time

from flask import Flask, current_app
from sqlalchemy import insert
from sqlalchemy.exc import SQLAlchemyError

from webapp.extensions import db
from webapp.models import BookView
from webapp.models.base import utcnow
from webapp.services.catalogue import book_exists
from webapp.services.errors import NotFound
from webapp.services.locking import retried_on_deadlock

VIEW_BATCH_SIZE = 200

_pending: list[dict] = []
_lock = threading.Lock()
_last_flush = time.monotonic()


def record_view(book_id: int, user_id: int | None, known_to_exist: bool = False) -> None:
    """Count a visit of the book page; NotFound for a book that does not exist.

    ``known_to_exist`` skips the lookup when the caller has just read the book.
    """
    if not known_to_exist and not book_exists(book_id):
        raise NotFound("There is no such book.")
    with _lock:
        _pending.append({"book_id": book_id, "user_id": user_id, "viewed_at": utcnow()})
    if _due():
        flush_views()


def _due() -> bool:
    seconds = current_app.config.get("VIEW_FLUSH_SECONDS", 0)
    return bool(_pending) and (
        not seconds or len(_pending) >= VIEW_BATCH_SIZE or time.monotonic() - _last_flush >= seconds
    )


def flush_views() -> int:
    """Write every waiting view in one transaction; returns how many."""
    global _last_flush
    with _lock:
        batch = _pending[:]
        _pending.clear()
        _last_flush = time.monotonic()
    if batch:
        _write_views(batch)
    return len(batch)


@retried_on_deadlock
def _write_views(batch: list[dict]) -> None:
    db.session.execute(insert(BookView), batch)
    db.session.commit()


def pending_views() -> int:
    """How many views this process has not written yet."""
    return len(_pending)


def init_app(app: Flask) -> None:
    """Write due views after each request, and the rest when the process exits."""

    @app.teardown_request
    def flush_due_views(_error: BaseException | None) -> None:
        if not _due():
            return
        try:
            flush_views()
        except SQLAlchemyError:  # the page has been sent; a lost batch of views must not become an error
            db.session.rollback()
            app.logger.exception("Could not write a batch of book views")

    def flush_at_exit() -> None:
        if _pending:
            with app.app_context():
                flush_views()

    atexit.register(flush_at_exit)
