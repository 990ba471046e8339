"""One definition of reader activity: the hot books, the recommendation fallback and the training data agree."""

from __future__ import annotations

from decimal import Decimal

import pytest

from webapp.extensions import db
from webapp.models import Order, OrderItem
from webapp.models.base import utcnow
from webapp.models.shop import ORDER_CANCELLED, ORDER_PAID
from webapp.services import catalogue, events, recommendations


@pytest.fixture()
def cancelled_and_paid(app, reader):
    """Book A was ordered five times and every order was cancelled; book B was bought once."""
    from tests.helpers import make_book

    cancelled, bought = make_book("Cancelled A", ratings_count=5000), make_book("Bought B", ratings_count=10)
    for status, book, times in ((ORDER_CANCELLED, cancelled, 5), (ORDER_PAID, bought, 1)):
        for _ in range(times):
            order = Order(user_id=reader.id, status=status, total=Decimal("9.99"), paid_at=utcnow())
            order.items.append(OrderItem(book_id=book.id, quantity=1, unit_price=Decimal("9.99")))
            db.session.add(order)
    db.session.commit()
    return cancelled, bought


def test_cancelled_orders_are_not_purchases_anywhere(cancelled_and_paid):
    cancelled, bought = cancelled_and_paid
    hot = dict(catalogue.hot_scores())
    assert cancelled.id not in hot and hot[bought.id] > 0
    popular = recommendations.fallback_recommendations(None, limit=2)
    assert [shown.book.id for shown in popular] == [bought.id, cancelled.id]
    training = recommendations.load_events()
    purchases = training[training["kind"] == "purchase"]
    assert purchases["item_id"].tolist() == [bought.id]


def test_reader_events_filters_by_kind_moment_and_reader(cancelled_and_paid, reader):
    stream = events.reader_events(["purchase"], since=utcnow().replace(year=2000), user_id=reader.id)
    rows = db.session.execute(db.select(stream)).all()
    assert [(row.kind, row.user_id) for row in rows] == [("purchase", reader.id)]
    assert db.session.execute(db.select(events.reader_events(["purchase"], user_id=reader.id + 1))).all() == []


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="Unknown event kind"):
        events.reader_events(["gossip"])


@pytest.mark.parametrize("chunk_rows", [1, 2, 1000])
def test_training_events_read_in_chunks_are_the_same_events(app, reader, monkeypatch, chunk_rows):
    from tests.helpers import make_book
    from webapp.services import activity

    books = [make_book(f"Book {n}") for n in range(3)]
    for stars, book in zip((5, 3, 4), books, strict=True):
        activity.rate(reader.id, book.id, stars)
    activity.toggle_favourite(reader.id, books[0].id)
    monkeypatch.setattr(recommendations, "EVENT_CHUNK_ROWS", chunk_rows)
    frame = recommendations.load_events()
    assert sorted(zip(frame["kind"], frame["item_id"], frame["rating"], strict=True)) == sorted(
        [
            ("rating", books[0].id, 5),
            ("rating", books[1].id, 3),
            ("rating", books[2].id, 4),
            ("favourite", books[0].id, 0),
        ]
    )
    assert list(frame.columns) == ["user_id", "item_id", "kind", "rating", "timestamp"]
    assert frame["timestamp"].dtype == "float64" and (frame["user_id"] == reader.id).all()


def test_no_events_give_an_empty_frame_with_the_columns(app):
    frame = recommendations.load_events()
    assert frame.empty and list(frame.columns) == ["user_id", "item_id", "kind", "rating", "timestamp"]
