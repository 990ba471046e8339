"""What readers did with books, as one stream of events: the one definition of "activity".

The hot books, the popularity fallback of the recommendations and the training data of
the recommender all read it, so they agree on what counts: ratings, loans, purchases
(never of cancelled orders), favourites, reviews and page views (anonymous views have no
reader).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Select, literal, select, union_all
from sqlalchemy.sql import Subquery
from sqlalchemy.sql.elements import BindParameter

from webapp.models import BookView, Favourite, Loan, Order, OrderItem, Rating, Review
from webapp.models.shop import ORDER_CANCELLED

EVENT_KINDS = ("rating", "loan", "purchase", "favourite", "review", "view")


def _columns(reader, book, kind: str, moment, rating=None) -> Select:
    return select(
        reader.label("user_id"),
        book.label("book_id"),
        literal(kind).label("kind"),
        moment.label("moment"),
        (rating if rating is not None else literal(0)).label("rating"),
    )


# Kinds stored one row per event: (model, moment column, stars column or None).
_SIMPLE_KINDS = {
    "rating": (Rating, Rating.updated_at, Rating.rating),
    "loan": (Loan, Loan.borrowed_at, None),
    "favourite": (Favourite, Favourite.created_at, None),
    "review": (Review, Review.created_at, None),
    "view": (BookView, BookView.viewed_at, None),
}


def _part(kind: str) -> tuple[Select, object, object]:
    """(the select of one kind's events, its moment column, its reader column)."""
    if kind == "purchase":  # every copy line of an order that was not cancelled
        stmt = (
            _columns(Order.user_id, OrderItem.book_id, kind, Order.created_at)
            .join(Order, Order.id == OrderItem.order_id)
            .where(Order.status != ORDER_CANCELLED)
        )
        return stmt, Order.created_at, Order.user_id
    if kind not in _SIMPLE_KINDS:
        raise ValueError(f"Unknown event kind {kind!r}; choose from {', '.join(EVENT_KINDS)}.")
    model, moment, stars = _SIMPLE_KINDS[kind]
    return _columns(model.user_id, model.book_id, kind, moment, stars), moment, model.user_id


def reader_events(
    kinds: Iterable[str] = EVENT_KINDS,
    since: datetime | None = None,
    user_id: int | BindParameter[int] | None = None,
    until: datetime | None = None,
) -> Subquery:
    """Events of ``kinds`` (since a moment, before another, of one reader: an id or a bound parameter) as a subquery.

    Columns: user_id (None for anonymous views), book_id, kind, moment, rating (the stars
    of a rating, else 0). The filters are applied inside each part, where the indexes are.
    """
    parts = []
    for kind in kinds:
        stmt, moment, reader = _part(kind)
        if since is not None:
            stmt = stmt.where(moment >= since)
        if until is not None:
            stmt = stmt.where(moment < until)
        if user_id is not None:
            stmt = stmt.where(reader == user_id)
        parts.append(stmt)
    return union_all(*parts).subquery("events")
