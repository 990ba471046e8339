"""Everything of one reader's, for the personal centre."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from webapp.extensions import db
from webapp.models import Favourite, Hold, Loan, Order, Rating, Review
from webapp.models.circulation import ACTIVE_HOLD_STATUSES


@dataclass
class PersonalCentre:
    """A reader's loans, holds, orders, ratings, reviews and favourites."""

    current_loans: list[Loan]
    past_loans: list[Loan]
    holds: list[Hold]
    orders: list[Order]
    ratings: list[Rating]
    reviews: list[Review]
    favourites: list[Favourite]


def personal_centre(user_id: int, history_limit: int = 50) -> PersonalCentre:
    """The reader's own records only, newest first, each list with its books loaded."""

    def rows(model, *where, order, limit=history_limit):
        stmt = select(model).where(model.user_id == user_id, *where).order_by(order).limit(limit)
        return list(db.session.scalars(stmt.options(selectinload(model.book))))

    return PersonalCentre(
        current_loans=rows(Loan, Loan.returned_at.is_(None), order=Loan.due_at.asc(), limit=None),
        past_loans=rows(Loan, Loan.returned_at.is_not(None), order=Loan.returned_at.desc()),
        holds=rows(Hold, Hold.status.in_(ACTIVE_HOLD_STATUSES), order=Hold.created_at.asc(), limit=None),
        orders=list(
            db.session.scalars(
                select(Order)
                .where(Order.user_id == user_id)
                .order_by(Order.created_at.desc())
                .limit(history_limit)
                .options(selectinload(Order.items))
            )
        ),
        ratings=rows(Rating, order=Rating.updated_at.desc()),
        reviews=rows(Review, order=Review.created_at.desc()),
        favourites=rows(Favourite, order=Favourite.created_at.desc()),
    )
