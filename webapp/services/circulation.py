"""Lending rules: borrow, renew, return, the hold queue, overdue loans and fines.

Every change runs in one transaction that starts by locking the reader's row
(``UPDATE users SET id = id``), so one reader's requests are serialized on every
backend, and copies change with conditional UPDATEs (``... WHERE copies_available > 0``),
so two readers can never take the last copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from webapp.extensions import db
from webapp.models import Book, Hold, Loan
from webapp.models.base import utcnow
from webapp.models.circulation import (
    ACTIVE_HOLD_STATUSES,
    HOLD_CANCELLED,
    HOLD_EXPIRED,
    HOLD_FULFILLED,
    HOLD_READY,
    HOLD_WAITING,
)
from webapp.services import reader_recs
from webapp.services.errors import NotFound, ServiceError
from webapp.services.locking import fail, lock_reader, own_record, retried_on_deadlock


def _setting(name: str) -> int | float:
    return current_app.config[name]


def _book(book_id: int) -> Book:
    book = db.session.get(Book, book_id, populate_existing=True)
    if book is None:
        fail(NotFound("There is no such book."))
    return book


def _pass_copy_on(book_id: int, now: datetime) -> Hold | None:
    """A copy came back: set it aside for the first waiting reader, or make it available."""
    hold = db.session.scalar(
        select(Hold)
        .where(Hold.book_id == book_id, Hold.status == HOLD_WAITING)
        .order_by(Hold.created_at, Hold.id)
        .limit(1)
    )
    if hold is not None:
        hold.status = HOLD_READY
        hold.ready_until = now + timedelta(days=_setting("HOLD_COLLECT_DAYS"))
        return hold
    db.session.execute(
        update(Book)
        .where(Book.id == book_id, Book.copies_available < Book.copies_total)
        .values(copies_available=Book.copies_available + 1)
    )
    return None


def expire_uncollected_holds(book_id: int | None = None, now: datetime | None = None) -> int:
    """Holds whose copy was not collected in time expire; their copies pass on. Returns how many."""
    now = now or utcnow()
    stmt = select(Hold).where(Hold.status == HOLD_READY, Hold.ready_until < now)
    if book_id is not None:
        stmt = stmt.where(Hold.book_id == book_id)
    expired = list(db.session.scalars(stmt.order_by(Hold.ready_until)))
    for hold in expired:
        hold.status = HOLD_EXPIRED
        _pass_copy_on(hold.book_id, now)
    if expired:
        db.session.commit()
    return len(expired)


def change_copies(book_id: int, delta: int, now: datetime | None = None) -> None:
    """Staff add (``delta`` > 0) or withdraw (``delta`` < 0) copies for loan, in the caller's transaction.

    A new copy goes to the first reader waiting for the book, as a returned one would;
    only copies on the shelf can be withdrawn. Raises ServiceError and changes nothing
    (the caller rolls back) when there are not enough copies on the shelf.
    """
    now = now or utcnow()
    if delta > 0:
        db.session.execute(update(Book).where(Book.id == book_id).values(copies_total=Book.copies_total + delta))
        for _ in range(delta):
            _pass_copy_on(book_id, now)
    elif delta < 0:
        withdrawn = db.session.execute(
            update(Book)
            .where(Book.id == book_id, Book.copies_available >= -delta)
            .values(copies_total=Book.copies_total + delta, copies_available=Book.copies_available + delta)
        ).rowcount
        if not withdrawn:
            on_shelf = db.session.scalar(select(Book.copies_available).where(Book.id == book_id))
            raise ServiceError(
                f"Only {on_shelf} copies are on the shelf, so at most {on_shelf} can be withdrawn; "
                "the others are on loan or set aside for a hold."
            )


@retried_on_deadlock
def borrow(user_id: int, book_id: int, now: datetime | None = None) -> Loan:
    """Lend a copy to the reader, or raise ServiceError saying why not (nothing changes)."""
    now = now or utcnow()
    expire_uncollected_holds(book_id, now)
    lock_reader(user_id)
    book = _book(book_id)
    open_loans = list(db.session.scalars(select(Loan).where(Loan.user_id == user_id, Loan.returned_at.is_(None))))
    if any(loan.book_id == book_id for loan in open_loans):
        fail(ServiceError("You already have this book on loan."))
    if any(loan.overdue_at(now) for loan in open_loans):
        fail(ServiceError("You have an overdue loan: return it before borrowing again."))
    if len(open_loans) >= _setting("MAX_ACTIVE_LOANS"):
        fail(ServiceError(f"You can have at most {_setting('MAX_ACTIVE_LOANS')} books on loan at once."))
    ready = db.session.scalar(
        select(Hold).where(Hold.user_id == user_id, Hold.book_id == book_id, Hold.status == HOLD_READY)
    )
    if ready is not None:
        ready.status = HOLD_FULFILLED  # the copy was set aside for this reader
    else:
        taken = db.session.execute(
            update(Book)
            .where(Book.id == book_id, Book.copies_available > 0)
            .values(copies_available=Book.copies_available - 1)
        ).rowcount
        if not taken:
            fail(ServiceError(f"No copy of “{book.title}” is free right now. You can join the hold queue."))
        waiting = db.session.scalar(
            select(Hold).where(Hold.user_id == user_id, Hold.book_id == book_id, Hold.status == HOLD_WAITING)
        )
        if waiting is not None:
            waiting.status = HOLD_FULFILLED
    loan = Loan(user_id=user_id, book_id=book_id, borrowed_at=now, due_at=now + timedelta(days=_setting("LOAN_DAYS")))
    db.session.add(loan)
    db.session.commit()
    reader_recs.after_reader_action(user_id)
    return loan


def _own_loan(user_id: int, loan_id: int) -> Loan:
    return own_record(Loan, loan_id, user_id, "There is no such loan of yours.")


@retried_on_deadlock
def return_loan(user_id: int, loan_id: int, now: datetime | None = None) -> Loan:
    """Return a loan: the copy goes to the first reader waiting for it, or back on the shelf."""
    now = now or utcnow()
    lock_reader(user_id)
    loan = _own_loan(user_id, loan_id)
    returned = db.session.execute(
        update(Loan).where(Loan.id == loan_id, Loan.returned_at.is_(None)).values(returned_at=now)
    ).rowcount
    if not returned:
        fail(ServiceError("This loan was already returned."))
    _pass_copy_on(loan.book_id, now)
    db.session.commit()
    db.session.refresh(loan)
    return loan


@retried_on_deadlock
def renew(user_id: int, loan_id: int, now: datetime | None = None) -> Loan:
    """Extend a loan by the loan period, at most MAX_RENEWALS times, not when overdue or wanted."""
    now = now or utcnow()
    lock_reader(user_id)
    loan = _own_loan(user_id, loan_id)
    if loan.returned_at is not None:
        fail(ServiceError("This loan was already returned."))
    if loan.overdue_at(now):
        fail(ServiceError("An overdue loan cannot be renewed: please return it."))
    if loan.renewals >= _setting("MAX_RENEWALS"):
        fail(ServiceError(f"A loan can be renewed at most {_setting('MAX_RENEWALS')} times."))
    wanted = db.session.scalar(
        select(func.count()).where(
            Hold.book_id == loan.book_id, Hold.status.in_(ACTIVE_HOLD_STATUSES), Hold.user_id != user_id
        )
    )
    if wanted:
        fail(ServiceError("Other readers are waiting for this book, so it cannot be renewed."))
    changed = db.session.execute(  # only if nobody renewed or returned it since we read it
        update(Loan)
        .where(Loan.id == loan_id, Loan.returned_at.is_(None), Loan.renewals == loan.renewals)
        .values(due_at=loan.due_at + timedelta(days=_setting("LOAN_DAYS")), renewals=loan.renewals + 1)
    ).rowcount
    if not changed:
        fail(ServiceError("This loan changed meanwhile; reload the page."))
    db.session.commit()
    db.session.refresh(loan)
    return loan


@retried_on_deadlock
def place_hold(user_id: int, book_id: int, now: datetime | None = None) -> Hold:
    """Join the queue of a book that has no free copy."""
    now = now or utcnow()
    lock_reader(user_id)
    book = _book(book_id)
    if book.copies_total == 0:
        fail(ServiceError("The library owns no copy of this book."))
    if book.copies_available > 0:
        fail(ServiceError("A copy is free: borrow it instead of joining the queue."))
    if db.session.scalar(
        select(func.count()).where(Loan.user_id == user_id, Loan.book_id == book_id, Loan.returned_at.is_(None))
    ):
        fail(ServiceError("You have this book on loan already."))
    if db.session.scalar(
        select(func.count()).where(
            Hold.user_id == user_id, Hold.book_id == book_id, Hold.status.in_(ACTIVE_HOLD_STATUSES)
        )
    ):
        fail(ServiceError("You are already in the queue for this book."))
    hold = Hold(user_id=user_id, book_id=book_id, created_at=now, status=HOLD_WAITING)
    db.session.add(hold)
    db.session.commit()
    return hold


@retried_on_deadlock
def cancel_hold(user_id: int, hold_id: int, now: datetime | None = None) -> Hold:
    """Leave the queue; a copy that was set aside passes to the next reader."""
    now = now or utcnow()
    lock_reader(user_id)
    hold = own_record(Hold, hold_id, user_id, "There is no such hold of yours.")
    if hold.status not in ACTIVE_HOLD_STATUSES:
        fail(ServiceError("This hold is no longer active."))
    was_ready = hold.status == HOLD_READY
    hold.status = HOLD_CANCELLED
    if was_ready:
        _pass_copy_on(hold.book_id, now)
    db.session.commit()
    return hold


@dataclass
class QueuePlace:
    """Where a reader stands in a book's queue and when a copy should reach them."""

    hold: Hold
    position: int
    estimated: datetime | None


def queue_places(holds: list[Hold]) -> list[QueuePlace]:
    """Each hold's position (0 = ready, 1 = next) and an estimate from the due dates of the loans ahead.

    Two statements for any number of holds: the waiting holds ahead of each, and the open
    loans of their books in due-date order.
    """
    waiting = [hold for hold in holds if hold.status != HOLD_READY]
    ahead: dict[int, int] = {}
    due_dates: dict[int, list[datetime]] = {}
    if waiting:
        earlier = aliased(Hold)
        ahead = dict(
            db.session.execute(
                select(Hold.id, func.count(earlier.id))
                .outerjoin(
                    earlier,
                    (earlier.book_id == Hold.book_id)
                    & (earlier.status == HOLD_WAITING)
                    & (
                        (earlier.created_at < Hold.created_at)
                        | ((earlier.created_at == Hold.created_at) & (earlier.id < Hold.id))
                    ),
                )
                .where(Hold.id.in_([hold.id for hold in waiting]))
                .group_by(Hold.id)
            ).all()
        )
        for book_id, due_at in db.session.execute(
            select(Loan.book_id, Loan.due_at)
            .where(Loan.book_id.in_({hold.book_id for hold in waiting}), Loan.returned_at.is_(None))
            .order_by(Loan.book_id, Loan.due_at)
        ):
            due_dates.setdefault(book_id, []).append(due_at)
    places = []
    for hold in holds:
        if hold.status == HOLD_READY:
            places.append(QueuePlace(hold, 0, hold.ready_until))
            continue
        position = ahead.get(hold.id, 0) + 1
        dates = due_dates.get(hold.book_id, [])
        places.append(QueuePlace(hold, position, dates[position - 1] if position <= len(dates) else None))
    return places


@dataclass
class OverdueLoan:
    """An open loan past its due date, with its fine."""

    loan: Loan
    days_overdue: int
    fine: float


def overdue_status(loan: Loan, now: datetime | None = None) -> OverdueLoan:
    """Days overdue (calendar days; due earlier today counts 1) and the fine of an overdue loan."""
    now = now or utcnow()
    days = max((now.date() - loan.due_at.date()).days, 1)
    return OverdueLoan(loan, days, round(days * float(_setting("FINE_PER_DAY")), 2))


def overdue_clause(now: datetime, min_days: int = 1, max_days: int | None = None) -> ColumnElement[bool]:
    """SQL: open loans overdue by ``min_days`` to ``max_days`` days, counted as :func:`overdue_status` counts.

    days = max(today - due date, 1), so days >= m when the due date is at least m - 1
    days before today, and days <= M when it is at most M days before today.
    """
    today = datetime.combine(now.date(), time.min)
    clause = Loan.overdue_at(now)
    if min_days > 1:
        clause = clause & (Loan.due_at < today - timedelta(days=min_days - 1))
    if max_days is not None:
        clause = clause & (Loan.due_at >= today - timedelta(days=max_days))
    return clause


def overdue_loans(user_id: int | None = None, now: datetime | None = None) -> list[OverdueLoan]:
    """Open loans past due (one reader's, or everyone's for staff), most overdue first."""
    now = now or utcnow()
    stmt = select(Loan).where(Loan.overdue_at(now)).order_by(Loan.due_at)
    if user_id is not None:
        stmt = stmt.where(Loan.user_id == user_id)
    return [overdue_status(loan, now) for loan in db.session.scalars(stmt)]


def _owner(model, record_id: int, message: str) -> int:
    """The reader a loan or hold belongs to, for staff acting on it; NotFound when there is none."""
    user_id = db.session.scalar(select(model.user_id).where(model.id == record_id))
    if user_id is None:
        fail(NotFound(message))
    return user_id


def return_loan_for_staff(loan_id: int, now: datetime | None = None) -> Loan:
    """Staff mark a loan returned: the same rules as the reader's own return."""
    return return_loan(_owner(Loan, loan_id, "There is no such loan."), loan_id, now)


def cancel_hold_for_staff(hold_id: int, now: datetime | None = None) -> Hold:
    """Staff cancel a hold: the same rules as the reader leaving the queue."""
    return cancel_hold(_owner(Hold, hold_id, "There is no such hold."), hold_id, now)
