"""Book-page views are written in batches, and none is lost on the way."""

import pytest
from sqlalchemy import func, select

from tests.helpers import create_user, make_book
from webapp.extensions import db
from webapp.models import BookView
from webapp.services import book_views
from webapp.services.errors import NotFound


def _stored() -> int:
    return db.session.scalar(select(func.count()).select_from(BookView))


@pytest.fixture()
def batched(app, monkeypatch):
    """Views batched for up to a minute, as a busy site would run."""
    book_views.flush_views()
    monkeypatch.setitem(app.config, "VIEW_FLUSH_SECONDS", 60)
    yield
    book_views.flush_views()


def test_views_wait_for_the_batch_then_are_written_together(app, client, batched):
    book = make_book("Dune")
    for _ in range(3):
        assert client.get(f"/books/{book.id}").status_code == 200
    assert _stored() == 0 and book_views.pending_views() == 3
    assert book_views.flush_views() == 3
    assert _stored() == 3 and book_views.pending_views() == 0


def test_a_full_batch_is_written_at_once(app, batched, monkeypatch):
    monkeypatch.setattr(book_views, "VIEW_BATCH_SIZE", 5)
    book = make_book("Dune")
    reader = create_user("alice")
    for _ in range(5):
        book_views.record_view(book.id, reader.id)
    assert _stored() == 5
    assert db.session.scalar(select(func.count()).where(BookView.user_id == reader.id)) == 5


def test_due_views_are_written_after_the_next_request(app, client, batched, monkeypatch):
    book = make_book("Dune")
    client.get(f"/books/{book.id}")
    assert _stored() == 0
    monkeypatch.setattr(book_views, "_last_flush", book_views._last_flush - 61)  # a minute later ...
    client.get("/healthz")  # ... any request writes them
    assert _stored() == 1


def test_without_batching_every_view_is_written_at_once(app, client):
    book = make_book("Dune")
    client.get(f"/books/{book.id}")
    assert _stored() == 1 and book_views.pending_views() == 0


def test_a_missing_book_is_not_counted(app, client, batched):
    with pytest.raises(NotFound):
        book_views.record_view(424242, None)
    assert client.get("/books/424242").status_code == 404
    assert book_views.pending_views() == 0
