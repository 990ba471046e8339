"""Everything of one reader's, for the personal centre."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from webapp.extensions import db
from webapp.models import Favourite, Hold, Loan, Order, Rating, Review
from webapp.models.circulation import ACTIVE_HOLD_STATUSES


@dataclass
class PersonalCentre:
    """A reader's loans, holds, orders, ratings, reviews and favourites (the lists a tab asked for)."""

    current_loans: list[Loan] = field(default_factory=list)
    past_loans: list[Loan] = field(default_factory=list)
    holds: list[Hold] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)
    ratings: list[Rating] = field(default_factory=list)
    reviews: list[Review] = field(default_factory=list)
    favourites: list[Favourite] = field(default_factory=list)


# The personal centre's tabs, in the order it shows them; each reads only what it shows.
TABS = {
    "loans": "Loans",
    "holds": "Holds",
    "orders": "Orders",
    "ratings": "Ratings",
    "reviews": "Reviews",
    "favourites": "Favourites",
    "recs": "For you",
    "account": "Account",
}


def personal_centre(user_id: int, tab: str, history_limit: int = 50) -> PersonalCentre:
    """The reader's own records that ``tab`` shows, newest first, each row with its book (one query a list)."""

    def rows(model, *where, order, limit=history_limit):
        stmt = select(model).where(model.user_id == user_id, *where).order_by(order).limit(limit)
        return list(db.session.scalars(stmt.options(joinedload(model.book))))

    if tab == "loans":
        return PersonalCentre(
            current_loans=rows(Loan, Loan.returned_at.is_(None), order=Loan.due_at.asc(), limit=None),
            past_loans=rows(Loan, Loan.returned_at.is_not(None), order=Loan.returned_at.desc()),
        )
    if tab == "holds":
        return PersonalCentre(
            holds=rows(Hold, Hold.status.in_(ACTIVE_HOLD_STATUSES), order=Hold.created_at.asc(), limit=None)
        )
    if tab == "orders":
        stmt = (
            select(Order)
            .where(Order.user_id == user_id)
            .order_by(Order.created_at.desc())
            .limit(history_limit)
            .options(selectinload(Order.items))
        )
        return PersonalCentre(orders=list(db.session.scalars(stmt)))
    if tab == "ratings":
        return PersonalCentre(ratings=rows(Rating, order=Rating.updated_at.desc()))
    if tab == "reviews":
        return PersonalCentre(reviews=rows(Review, order=Review.created_at.desc()))
    if tab == "favourites":
        return PersonalCentre(favourites=rows(Favourite, order=Favourite.created_at.desc()))
    return PersonalCentre()
