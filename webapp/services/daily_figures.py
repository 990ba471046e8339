"""Per-day figures for the statistics screen, counted once per settled day.

A day is settled once the whole day after it has passed (``SETTLED_AFTER_DAYS``), so a
row stamped just before midnight by a transaction that committed after it is counted.
A settled day's loans, returns, orders, revenue, new readers and ratings by star are
aggregated the first time a chart needs them and stored in ``daily_figures``; after
that a chart over a year reads at most 366 stored rows, however large the circulation,
and aggregates only the days not yet settled. Days before the library's first event
are zeros and are not stored.

A day not yet settled (today, yesterday) is kept in part: its events up to a moment at
least ``LIVE_MARGIN`` old are counted and stored with that moment (``counted_before``),
counted again once the moment is ``LIVE_REFRESH`` behind; a chart adds the events since,
so what it counts each time does not grow with the day's circulation. An event stamped
before the kept moment but committed after it (a transaction held longer than the
margin, or a row written by hand) shows once the day is counted again: at the next
refresh, and at the latest when the day settles and is counted whole.

The stored figures stay true because the events they count do not change once made,
with three exceptions, each of which calls :func:`forget` in its own transaction:
cancelling an order, changing a rating, and changing a reader's role. ``flask seed-demo
--reset`` empties the table with the others; after changing history by hand, run
``flask recount-statistics``. A request claims the days it counts before counting them
(:func:`_claim`), so such an action committed while its day is being counted is never
lost: either the count sees it or the count is not stored.
"""

from __future__ import annotations

import logging
import secrets
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.sql.elements import ColumnElement

from webapp.extensions import db
from webapp.models import DailyFigures, Loan, Order, Rating, User
from webapp.models.base import utcnow
from webapp.models.shop import ORDER_CANCELLED
from webapp.models.users import ROLE_READER

log = logging.getLogger(__name__)

STARS = (1, 2, 3, 4, 5)
STAR_FIGURES = tuple(f"stars_{star}" for star in STARS)
FIGURES = ("loans", "returns", "orders", "revenue", "new_readers", *STAR_FIGURES)
SETTLED_AFTER_DAYS = 2
LIVE_MARGIN = timedelta(minutes=10)  # longer than any transaction holds an event's stamp before committing
LIVE_REFRESH = timedelta(minutes=10)

Figures = dict[str, dict[date, Any]]  # figure -> day -> count (revenue: Decimal); days without events left out


def per_day(first: date, last: date, names: tuple[str, ...] = FIGURES) -> Figures:
    """The figures ``names`` of every day from ``first`` to ``last``, both included."""
    today = utcnow().date()
    settled_last = min(last, today - timedelta(days=SETTLED_AFTER_DAYS))
    by_day: dict[date, dict[str, Any]] = {}
    if first <= settled_last:
        by_day.update(_settled(first, settled_last, names))
    live_first = max(first, settled_last + timedelta(days=1))
    if live_first <= last:
        by_day.update(_live(live_first, last, names))
    figures: Figures = {name: {} for name in names}
    for day, values in by_day.items():
        for name in names:
            if values.get(name):
                figures[name][day] = values[name]
    return figures


def total(name: str) -> int | Decimal:
    """One figure summed over every day so far ("new_readers": every reader account there is)."""
    since = _first_event_day()
    if since is None:
        return 0
    return sum(per_day(since, utcnow().date(), (name,))[name].values())


def forget(day: date) -> None:
    """Have ``day``'s figures counted again, inside the transaction that changed them."""
    db.session.execute(delete(DailyFigures).where(DailyFigures.day == day))


def forget_every_day() -> int:
    """Have every past day counted again (after history was changed by hand); returns how many were kept."""
    forgotten = db.session.execute(delete(DailyFigures)).rowcount
    db.session.commit()
    return forgotten


def _settled(first: date, last: date, names: tuple[str, ...]) -> dict[date, dict[str, Any]]:
    """The figures ``names`` of settled days; days not counted yet are counted (every figure) and stored."""
    rows = _kept_rows(first, last, names)
    kept = [row for row in rows if row.claim is None and row.counted_before is None]
    stored = {row[0]: dict(zip(names, row[3:], strict=True)) for row in kept}
    if len(stored) == (last - first).days + 1:
        return stored
    since = _first_event_day()
    if since is None:
        return stored
    missing = [day for day in days_between(max(first, since), last) if day not in stored]
    if not missing:
        return stored
    claim = _claim(missing, present={row.day for row in rows})
    counted: dict[date, dict[str, Any]] = {}
    for run_first, run_last in _runs(missing):
        found = _counted(_start(run_first), _end(run_last))
        for day in days_between(run_first, run_last):
            counted[day] = {name: found.get(day, {}).get(name, 0) for name in FIGURES}
    _store(counted, claim)
    return stored | counted


def _live(first: date, last: date, names: tuple[str, ...]) -> dict[date, dict[str, Any]]:
    """The figures ``names`` of days not yet settled: each day's kept part, counted again when it is
    missing or ``LIVE_REFRESH`` behind, plus the events since it, counted now."""
    kept_until = (utcnow() - LIVE_MARGIN).replace(microsecond=0)  # as a DATETIME column keeps it
    rows = _kept_rows(first, last, names)
    parts = {
        row.day: (row.counted_before, dict(zip(names, row[3:], strict=True)))
        for row in rows
        if row.claim is None and row.counted_before is not None
    }
    stale = [
        day
        for day in days_between(first, last)
        if _start(day) < kept_until and (day not in parts or min(_end(day), kept_until) - parts[day][0] >= LIVE_REFRESH)
    ]
    if stale:
        claim = _claim(stale, present={row.day for row in rows})
        for day in stale:
            counted_before = min(_end(day), kept_until)
            found = _counted(_start(day), counted_before).get(day, {})
            parts[day] = (counted_before, {name: found.get(name, 0) for name in FIGURES})
            _store({day: parts[day][1]}, claim, counted_before)
    by_day: dict[date, dict[str, Any]] = {
        day: {name: values[name] for name in names} for day, (_, values) in parts.items()
    }
    # The events since each day's kept part (the whole day where none is kept), a run of days a query.
    tail_starts = {day: parts[day][0] if day in parts else _start(day) for day in days_between(first, last)}
    run_start = tail_starts[first]
    for day in days_between(first + timedelta(days=1), last):
        if tail_starts[day] != _start(day):
            _add_counted(by_day, run_start, _start(day), names)
            run_start = tail_starts[day]
    _add_counted(by_day, run_start, _end(last), names)
    return by_day


def _add_counted(by_day: dict[date, dict[str, Any]], starts_at: datetime, ends_before: datetime, names) -> None:
    """Add the figures ``names`` of the events from ``starts_at`` up to ``ends_before`` to ``by_day``'s."""
    if starts_at >= ends_before:
        return
    for day, values in _counted(starts_at, ends_before, names).items():
        figures = by_day.setdefault(day, {})
        for name, value in values.items():
            figures[name] = figures.get(name, 0) + value


def _claim(days: list[date], present: set[date]) -> int:
    """Mark ``days`` as being counted by this request, committed before it counts; returns the claim.

    The count is stored only into rows that still carry this claim. An action that changes
    one of these days deletes its row (:func:`forget`): if it commits before the count
    reads, the count sees it; if after, the row is gone and this count is not stored. Of
    the rows ``present``, those claimed by a request that never stored them (it failed, or
    lost a race) and those holding a part of a day are taken over; a whole day's are not.
    """
    claim = secrets.randbits(62)
    placeholder = dict.fromkeys(FIGURES, 0)
    try:
        taken_over = [day for day in days if day in present]
        if taken_over:
            db.session.execute(
                update(DailyFigures)
                .where(
                    DailyFigures.day.in_(taken_over),
                    DailyFigures.claim.is_not(None) | DailyFigures.counted_before.is_not(None),
                )
                .values(claim=claim)
            )
        new = [day for day in days if day not in present]
        if new:
            db.session.execute(insert(DailyFigures), [{"day": day, "claim": claim, **placeholder} for day in new])
        db.session.commit()
    except (IntegrityError, OperationalError):
        # Another request claimed some of these days first (or won a lock wait): it stores
        # them; what this one counts is right but is not stored.
        db.session.rollback()
        log.info("Days %s..%s are being counted by another request.", days[0], days[-1])
    return claim


def _store(counted: dict[date, dict[str, Any]], claim: int, counted_before: datetime | None = None) -> None:
    """Store the counted days whose rows still carry ``claim``; the others were forgotten or claimed again.

    ``counted_before``: the moment the figures of a day not yet settled were counted up to.
    """
    table = DailyFigures.__table__
    statement = (
        update(table)
        .where(table.c.day == bindparam("counted_day"), table.c.claim == claim)
        .values(claim=None, counted_before=counted_before, **{name: bindparam(f"counted_{name}") for name in FIGURES})
    )
    rows = [
        {"counted_day": day, **{f"counted_{name}": value for name, value in values.items()}}
        for day, values in counted.items()
    ]
    try:
        db.session.execute(statement, rows)
        db.session.commit()
    except OperationalError:  # a lock wait lost: these days are counted again next time
        db.session.rollback()
        log.info("Could not store days %s..%s; they are counted again next time.", min(counted), max(counted))


def _counted(
    starts_at: datetime, ends_before: datetime, names: tuple[str, ...] = FIGURES
) -> dict[date, dict[str, Any]]:
    """The figures ``names`` (and those counted with them) of the events from ``starts_at`` up to
    ``ends_before``, by day; days without events are left out."""

    def grouped(column: ColumnElement, *aggregates: ColumnElement, keys: tuple = (), where: tuple = ()):
        day = func.date(column)
        return db.session.execute(
            select(day, *keys, *aggregates)
            .where(column >= starts_at, column < ends_before, *where)
            .group_by(day, *keys)
        ).all()

    wanted = set(names)
    by_day: dict[date, dict[str, Any]] = defaultdict(dict)
    if "loans" in wanted:
        for day, count in grouped(Loan.borrowed_at, func.count()):
            by_day[_as_date(day)]["loans"] = count
    if "returns" in wanted:
        for day, count in grouped(Loan.returned_at, func.count()):
            by_day[_as_date(day)]["returns"] = count
    if wanted & {"orders", "revenue"}:
        for day, count, revenue in grouped(
            Order.created_at, func.count(), func.sum(Order.total), where=(Order.status != ORDER_CANCELLED,)
        ):
            by_day[_as_date(day)].update(orders=count, revenue=Decimal(str(revenue or 0)))
    if "new_readers" in wanted:
        for day, count in grouped(User.created_at, func.count(), where=(User.role == ROLE_READER,)):
            by_day[_as_date(day)]["new_readers"] = count
    if wanted & set(STAR_FIGURES):
        for day, stars, count in grouped(Rating.created_at, func.count(), keys=(Rating.rating,)):
            by_day[_as_date(day)][f"stars_{stars}"] = count
    return dict(by_day)


def _first_event_day() -> date | None:
    """The day of the library's first loan, order, reader or rating (each an indexed MIN)."""
    firsts = [
        db.session.scalar(select(func.min(column)))
        for column in (Loan.borrowed_at, Order.created_at, User.created_at, Rating.created_at)
    ]
    moments = [_as_date(moment) for moment in firsts if moment is not None]
    return min(moments) if moments else None


def _start(day: date) -> datetime:
    return datetime.combine(day, time.min)


def _end(day: date) -> datetime:
    return _start(day + timedelta(days=1))


def _kept_rows(first: date, last: date, names: tuple[str, ...]) -> list:
    """The rows kept for the days from ``first`` to ``last``: day, claim, counted_before, then the figures ``names``."""
    columns = [getattr(DailyFigures, name) for name in names]
    return db.session.execute(
        select(DailyFigures.day, DailyFigures.claim, DailyFigures.counted_before, *columns).where(
            DailyFigures.day.between(first, last)
        )
    ).all()


def days_between(first: date, last: date) -> list[date]:
    """Every day from ``first`` to ``last``, both included."""
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


def _runs(days: list[date]) -> Iterator[tuple[date, date]]:
    """Consecutive stretches of sorted ``days``, as (first, last)."""
    if not days:
        return
    run_first = previous = days[0]
    for day in days[1:]:
        if day != previous + timedelta(days=1):
            yield run_first, previous
            run_first = day
        previous = day
    yield run_first, previous


def _as_date(value: Any) -> date:
    """A date from what the database returns for DATE(...) or MIN(timestamp): a date, datetime or ISO text."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])
