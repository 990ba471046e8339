"""Figures for the statistics screen and the back-office home page.

Every figure is aggregated by the database (COUNT/SUM ... GROUP BY); the per-day series
and the ratings by star are aggregated once per settled day and kept (``daily_figures``).
Python only adds days up, fills the days or weeks without events with zeros and shapes
the JSON. Time series and rankings cover a date range, by default the last 90 days up
to today (UTC); snapshots (inventory, overdue loans, counters) describe the library now.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import case, func, literal, select
from sqlalchemy.sql.elements import ColumnElement

from webapp.extensions import db
from webapp.models import Book, Category, Hold, Loan, ModelRun, Order, OrderItem, Recommendation
from webapp.models.base import utcnow
from webapp.models.circulation import HOLD_READY
from webapp.models.recs import METRICS_LEAVE_ONE_OUT, RUN_SUCCEEDED
from webapp.models.shop import ORDER_CANCELLED
from webapp.revalidating_cache import kept
from webapp.services import circulation, daily_figures
from webapp.services.errors import NotFound, ServiceError

DEFAULT_DAYS = 90
MAX_DAYS = 3 * 366
# Ranges must lie within these days (the dates Python and the databases compute with safely).
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(9999, 12, 1)
TOP_BOOKS = 10
# Buckets of days overdue: (label, first day, last day or None for "and more").
OVERDUE_BUCKETS = (("1-7 days", 1, 7), ("8-14 days", 8, 14), ("15-30 days", 15, 30), ("31-60 days", 31, 60))
OVERDUE_LAST_BUCKET = "over 60 days"


@dataclass(frozen=True)
class DateRange:
    """Whole days from ``first`` to ``last``, both included."""

    first: date
    last: date

    @property
    def starts_at(self) -> datetime:
        return datetime.combine(self.first, time.min)

    @property
    def ends_before(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time.min)

    def days(self) -> list[date]:
        return daily_figures.days_between(self.first, self.last)

    def weeks(self) -> list[date]:
        """Mondays of the weeks the range touches."""
        monday = self.first - timedelta(days=self.first.weekday())
        return [monday + timedelta(weeks=n) for n in range((self.last - monday).days // 7 + 1)]

    def covers(self, column: ColumnElement) -> ColumnElement[bool]:
        return (column >= self.starts_at) & (column < self.ends_before)

    def as_json(self) -> dict[str, str]:
        return {"from": self.first.isoformat(), "to": self.last.isoformat()}


def _parse_day(raw: str, name: str) -> date:
    try:
        day = date.fromisoformat(raw.strip())
    except ValueError:
        raise ServiceError(f"'{name}' must be a date written YYYY-MM-DD, got {raw[:40]!r}.") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ServiceError(f"'{name}' must lie between {FIRST_DAY} and {LAST_DAY}, got {day}.")
    return day


def parse_date_range(raw_from: str | None, raw_to: str | None, today: date | None = None) -> DateRange:
    """The range asked for in ``?from=YYYY-MM-DD&to=YYYY-MM-DD``, or ServiceError saying what is wrong.

    Missing ends default to the last DEFAULT_DAYS days up to today; the range may not
    be reversed nor longer than MAX_DAYS.
    """
    today = today or utcnow().date()
    last = _parse_day(raw_to, "to") if raw_to else today
    first = _parse_day(raw_from, "from") if raw_from else last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise ServiceError(f"The range is reversed: 'from' ({first}) is after 'to' ({last}).")
    if (last - first).days + 1 > MAX_DAYS:
        raise ServiceError(f"The range is too long: at most {MAX_DAYS} days.")
    return DateRange(first, last)


def _series(values: dict[date, Any], keys: list[date]) -> list[float]:
    """``values`` laid out on ``keys``, zero where there is none."""
    return [_number(values.get(key, 0)) for key in keys]


def _number(value: Any) -> float | int:
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    as_float = float(value)
    return int(as_float) if as_float.is_integer() else round(as_float, 2)


def headline(now: datetime | None = None) -> dict[str, int | float]:
    """The counters across the top of the statistics screen and on the back-office home."""
    now = now or utcnow()
    week_start = datetime.combine(now.date() - timedelta(days=now.weekday()), time.min)
    overdue = func.count(case((Loan.overdue_at(now), 1)))
    loans = db.session.execute(select(func.count(), overdue).where(Loan.returned_at.is_(None))).one()
    orders = db.session.execute(
        select(func.count(), func.sum(Order.total)).where(
            Order.created_at >= week_start, Order.status != ORDER_CANCELLED
        )
    ).one()
    return {
        "readers": daily_figures.total("new_readers"),  # counting the accounts grows with them
        "books": db.session.scalar(select(func.count()).select_from(Book)),
        "loans_out": loans[0],
        "overdue": loans[1],
        "orders_this_week": orders[0],
        "revenue_this_week": _number(orders[1]),
    }


def loans_and_returns(period: DateRange) -> dict[str, Any]:
    """Loans and returns per day."""
    figures = daily_figures.per_day(period.first, period.last, ("loans", "returns"))
    days = period.days()
    return {
        "days": [day.isoformat() for day in days],
        "loans": _series(figures["loans"], days),
        "returns": _series(figures["returns"], days),
    }


def sales(period: DateRange) -> dict[str, Any]:
    """Orders and revenue per day (cancelled orders left out)."""
    figures = daily_figures.per_day(period.first, period.last, ("orders", "revenue"))
    days = period.days()
    return {
        "days": [day.isoformat() for day in days],
        "orders": _series(figures["orders"], days),
        "revenue": _series(figures["revenue"], days),
    }


def new_readers(period: DateRange) -> dict[str, Any]:
    """Reader accounts created per week, Monday to Sunday, for every week the range touches.

    Each week is counted whole, so the first and last bars are not cut short by the weekday
    the range starts or ends on; ``week_in_progress`` says the last week has not ended yet.
    """
    weeks = period.weeks()
    last = weeks[-1] + timedelta(days=6)
    joined = daily_figures.per_day(weeks[0], last, ("new_readers",))["new_readers"]
    per_week: dict[date, int] = defaultdict(int)
    for day, count in joined.items():
        per_week[day - timedelta(days=day.weekday())] += count
    return {
        "weeks": [week.isoformat() for week in weeks],
        "readers": _series(per_week, weeks),
        "week_in_progress": last >= utcnow().date(),
    }


def top_books_by_loans(period: DateRange, limit: int = TOP_BOOKS) -> dict[str, Any]:
    """The most borrowed books."""
    loans = func.count(Loan.id).label("loans")
    rows = db.session.execute(
        select(Book.id, Book.title, loans)
        .join(Loan, Loan.book_id == Book.id)
        .where(period.covers(Loan.borrowed_at))
        .group_by(Book.id, Book.title)
        .order_by(loans.desc(), Book.title)
        .limit(limit)
    ).all()
    return {"books": [{"id": row.id, "title": row.title, "loans": row.loans} for row in rows]}


def top_books_by_sales(period: DateRange, limit: int = TOP_BOOKS) -> dict[str, Any]:
    """The best-selling books by copies sold, with their revenue."""
    copies = func.sum(OrderItem.quantity).label("copies")
    revenue = func.sum(OrderItem.quantity * OrderItem.unit_price).label("revenue")
    rows = db.session.execute(
        select(Book.id, Book.title, copies, revenue)
        .join(OrderItem, OrderItem.book_id == Book.id)
        .join(Order, Order.id == OrderItem.order_id)
        .where(period.covers(Order.created_at), Order.status != ORDER_CANCELLED)
        .group_by(Book.id, Book.title)
        .order_by(copies.desc(), Book.title)
        .limit(limit)
    ).all()
    return {
        "books": [
            {"id": row.id, "title": row.title, "copies": _number(row.copies), "revenue": _number(row.revenue)}
            for row in rows
        ]
    }


def by_category(period: DateRange) -> dict[str, Any]:
    """Loans and copies sold per category, busiest first."""
    name = func.coalesce(Category.name, literal("Uncategorised")).label("name")
    loans = dict(
        db.session.execute(
            select(name, func.count(Loan.id))
            .select_from(Loan)
            .join(Book, Book.id == Loan.book_id)
            .outerjoin(Category, Category.id == Book.category_id)
            .where(period.covers(Loan.borrowed_at))
            .group_by(name)
        ).all()
    )
    sold = dict(
        db.session.execute(
            select(name, func.sum(OrderItem.quantity))
            .select_from(OrderItem)
            .join(Order, Order.id == OrderItem.order_id)
            .join(Book, Book.id == OrderItem.book_id)
            .outerjoin(Category, Category.id == Book.category_id)
            .where(period.covers(Order.created_at), Order.status != ORDER_CANCELLED)
            .group_by(name)
        ).all()
    )
    names = sorted(set(loans) | set(sold), key=lambda n: (-(loans.get(n, 0) + _number(sold.get(n, 0))), n))
    return {
        "categories": names,
        "loans": [loans.get(n, 0) for n in names],
        "sold": [_number(sold.get(n, 0)) for n in names],
    }


def rating_distribution(period: DateRange) -> dict[str, Any]:
    """How many ratings of each star were given."""
    figures = daily_figures.per_day(period.first, period.last, daily_figures.STAR_FIGURES)
    return {
        "stars": list(daily_figures.STARS),
        "ratings": [sum(figures[name].values()) for name in daily_figures.STAR_FIGURES],
    }


def inventory() -> dict[str, Any]:
    """Copies for loan on the shelf / on loan / set aside, and titles for sale in stock / sold out."""
    copies = db.session.execute(
        select(func.sum(Book.copies_available), func.count(case((Book.stock > 0, 1))), func.count())
    ).one()
    on_loan = db.session.scalar(select(func.count()).select_from(Loan).where(Loan.returned_at.is_(None)))
    held = db.session.scalar(select(func.count()).select_from(Hold).where(Hold.status == HOLD_READY))
    in_stock, titles = copies[1], copies[2]
    return {
        "copies": {"on_shelf": _number(copies[0]), "on_loan": on_loan, "held_for_pickup": held},
        "titles_for_sale": {"in_stock": in_stock, "sold_out": titles - in_stock},
    }


def overdue_by_days(now: datetime | None = None) -> dict[str, Any]:
    """Open loans past due, bucketed by days overdue (counted as the reader's page and the fines count them)."""
    now = now or utcnow()
    bucket = case(
        *[(circulation.overdue_clause(now, first, last), literal(label)) for label, first, last in OVERDUE_BUCKETS],
        else_=literal(OVERDUE_LAST_BUCKET),
    ).label("bucket")
    rows = dict(db.session.execute(select(bucket, func.count()).where(Loan.overdue_at(now)).group_by(bucket)).all())
    labels = [label for label, _, _ in OVERDUE_BUCKETS] + [OVERDUE_LAST_BUCKET]
    return {"buckets": labels, "loans": [rows.get(label, 0) for label in labels]}


def _distinct_count(column: ColumnElement, *conditions: ColumnElement[bool]) -> int:
    """How many distinct values; as a subquery of DISTINCT, which both databases read from a covering index."""
    return db.session.scalar(select(func.count()).select_from(select(column).distinct().where(*conditions).subquery()))


def recommender(period: DateRange) -> dict[str, Any]:
    """HR@10 and NDCG@10 of each evaluated model run, and the coverage of the cached recommendations."""
    runs = db.session.execute(
        select(ModelRun.id, ModelRun.algorithm, ModelRun.started_at, ModelRun.metrics, ModelRun.is_active)
        .where(ModelRun.status == RUN_SUCCEEDED, period.covers(ModelRun.started_at))
        .order_by(ModelRun.started_at, ModelRun.id)
    ).all()
    evaluated = []
    for run in runs:
        own = (run.metrics or {}).get(run.algorithm)
        if own:
            evaluated.append(
                {
                    "id": run.id,
                    "algorithm": run.algorithm,
                    "started_at": run.started_at.isoformat(timespec="seconds"),
                    "hr@10": own.get("hr@10"),
                    "ndcg@10": own.get("ndcg@10"),
                    "protocol": own.get("protocol", METRICS_LEAVE_ONE_OUT),
                    "readers": own.get("readers"),
                    "active": bool(run.is_active),
                }
            )
    active = db.session.scalar(select(ModelRun.id).where(ModelRun.is_active.is_(True)))
    books = db.session.scalar(select(func.count()).select_from(Book))
    covered = readers = 0
    if active is not None:
        of_run = Recommendation.model_run_id == active
        covered = _distinct_count(Recommendation.book_id, of_run)
        readers = _distinct_count(Recommendation.user_id, of_run)
    return {
        "runs": evaluated,
        "coverage": {
            "model_run": active,
            "books_recommended": covered,
            "books": books,
            "share": round(covered / books, 4) if books else 0.0,
            "readers": readers,
        },
    }


# URL name -> figures for a date range. The statistics screen draws one chart per entry.
CHARTS: dict[str, Callable[[DateRange], dict[str, Any]]] = {
    "loans": loans_and_returns,
    "sales": sales,
    "new-readers": new_readers,
    "top-loans": top_books_by_loans,
    "top-sales": top_books_by_sales,
    "categories": by_category,
    "ratings": rating_distribution,
    "inventory": lambda _period: inventory(),
    "overdue": lambda _period: overdue_by_days(),
    "recommender": recommender,
    "summary": lambda _period: headline(),
}


def chart(name: str, period: DateRange) -> dict[str, Any]:
    """``{"generated_at": ..., "data": figures}`` of one chart, shared by every staff member.

    The figures are computed at most once per ``STATISTICS_SECONDS`` for each chart and
    range, in the background while the last ones are served (:func:`kept`), so the
    screen's response time does not grow with the circulation its aggregates read; it
    redraws every minute anyway. ``generated_at`` says how old they are. NotFound for an
    unknown chart.
    """
    figures = CHARTS.get(name)
    if figures is None:
        raise NotFound(f"There is no chart called {name!r}.")

    def compute() -> dict[str, Any]:
        return {"generated_at": utcnow().isoformat(timespec="seconds"), "data": figures(period)}

    key = f"statistics:{name}:{period.first.isoformat()}:{period.last.isoformat()}"
    return kept(key, compute, current_app.config.get("STATISTICS_SECONDS", 0))
