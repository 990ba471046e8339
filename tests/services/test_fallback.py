"""New readers' recommendations: one popularity ranking for everyone, the reader's own books fresh."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from tests.helpers import create_user, make_book
from webapp.extensions import cache, db
from webapp.models import Rating
from webapp.services import activity, recommendations


@pytest.fixture()
def shelf(app, monkeypatch):
    """Six books in two categories, popularity by Goodreads' counts; the ranking kept for 5 minutes."""
    monkeypatch.setitem(app.config, "POPULAR_RANKING_SECONDS", 300)
    cache.clear()
    books = [make_book(f"Science {n}", ratings_count=100 - n) for n in range(3)]
    books += [make_book(f"Classic {n}", category="Classics", ratings_count=50 - n) for n in range(3)]
    yield books
    cache.clear()


def _statements(run) -> tuple[object, int]:
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        result = run()
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    return result, len(seen)


def test_the_ranking_is_computed_once_and_shared_by_every_reader(shelf):
    alice, bob = create_user("alice").id, create_user("bob").id
    first, cold = _statements(lambda: recommendations.fallback_recommendations(alice, limit=3))
    second, warm = _statements(lambda: recommendations.fallback_recommendations(bob, limit=3))
    assert (
        [shown.book.title for shown in first]
        == [shown.book.title for shown in second]
        == [
            "Science 0",
            "Science 1",
            "Science 2",
        ]
    )
    assert warm == cold - 1 == 2  # the reader's own books and the chosen books; the ranking came from the cache


def test_a_readers_own_action_shows_at_once_though_the_ranking_is_kept(shelf):
    alice = create_user("alice")
    recommendations.fallback_recommendations(alice.id, limit=3)  # the ranking is now cached
    activity.rate(alice.id, shelf[3].id, 5)  # she rates "Classic 0" ...
    shown = recommendations.fallback_recommendations(alice.id, limit=3)
    assert "Classic 0" not in [item.book.title for item in shown]  # ... it is not offered back
    assert [(item.book.title, item.reason) for item in shown][:2] == [
        ("Classic 1", "Popular in Classics this month"),  # and her category comes first
        ("Classic 2", "Popular in Classics this month"),
    ]
    assert db.session.query(Rating).count() == 1


def test_new_activity_reaches_the_ranking_when_it_is_recomputed(shelf, monkeypatch):
    alice, bob = create_user("alice"), create_user("bob")
    assert recommendations.fallback_recommendations(None, limit=1)[0].book.title == "Science 0"
    db.session.add_all([Rating(user_id=reader.id, book_id=shelf[5].id, rating=4) for reader in (alice, bob)])
    db.session.commit()
    assert recommendations.fallback_recommendations(None, limit=1)[0].book.title == "Science 0"  # kept
    cache.delete(recommendations.POPULAR_RANKING_KEY)  # what the 5 minutes do
    assert recommendations.fallback_recommendations(None, limit=1)[0].book.title == "Classic 2"


def test_a_book_deleted_after_the_ranking_was_kept_is_left_out(shelf):
    recommendations.fallback_recommendations(None, limit=3)  # the ranking, with "Science 0", is now cached
    db.session.delete(shelf[0])
    db.session.commit()
    shown = recommendations.fallback_recommendations(None, limit=3)
    assert [item.book.title for item in shown] == ["Science 1", "Science 2"]
