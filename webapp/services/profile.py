"""Everything of one reader's, for the personal centre."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cache

from sqlalchemy import Integer, Select, bindparam, select
from sqlalchemy.orm import joinedload, selectinload

from webapp.extensions import db
from webapp.models import Favourite, Hold, Loan, Order, Rating, Review
from webapp.models.base import utcnow
from webapp.models.circulation import ACTIVE_HOLD_STATUSES
from webapp.services.circulation import OverdueLoan, overdue_status


@dataclass
class PersonalCentre:
    """A reader's loans, holds, orders, ratings, reviews and favourites (the lists a tab asked for)."""

    current_loans: list[Loan] = field(default_factory=list)
    overdue: dict[int, OverdueLoan] = field(default_factory=dict)  # by loan id, among the current loans
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


def personal_centre(user_id: int, tab: str, history_limit: int = 50, now: datetime | None = None) -> PersonalCentre:
    """The reader's own records that ``tab`` shows, newest first, each row with its book (one query a list)."""

    def rows(name: str) -> list:
        return list(db.session.scalars(_list_queries()[name], {"user_id": user_id, "limit": history_limit}))

    if tab == "loans":
        now = now or utcnow()
        current_loans = rows("current_loans")
        return PersonalCentre(
            current_loans=current_loans,
            overdue={loan.id: overdue_status(loan, now) for loan in current_loans if loan.overdue_at(now)},
            past_loans=rows("past_loans"),
        )
    if tab in ("holds", "orders", "ratings", "reviews", "favourites"):
        return PersonalCentre(**{tab: rows(tab)})
    return PersonalCentre()


@cache
def _list_queries() -> dict[str, Select]:
    """Each list's query for a bound ``user_id`` (and ``limit`` for the histories), built once per process.

    The personal centre is opened often, and building a select with its book joined is much of its Python work.
    """
    user_id, limit = bindparam("user_id", type_=Integer), bindparam("limit", type_=Integer)

    def of_reader(model, *where, order) -> Select:
        return select(model).where(model.user_id == user_id, *where).order_by(order).options(joinedload(model.book))

    return {
        "current_loans": of_reader(Loan, Loan.returned_at.is_(None), order=Loan.due_at.asc()),
        "past_loans": of_reader(Loan, Loan.returned_at.is_not(None), order=Loan.returned_at.desc()).limit(limit),
        "holds": of_reader(Hold, Hold.status.in_(ACTIVE_HOLD_STATUSES), order=Hold.created_at.asc()),
        "orders": select(Order)
        .where(Order.user_id == user_id)
        .order_by(Order.created_at.desc())
        .limit(limit)
        .options(selectinload(Order.items)),
        "ratings": of_reader(Rating, order=Rating.updated_at.desc()).limit(limit),
        "reviews": of_reader(Review, order=Review.created_at.desc()).limit(limit),
        "favourites": of_reader(Favourite, order=Favourite.created_at.desc()).limit(limit),
    }
