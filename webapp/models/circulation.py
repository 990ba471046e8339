"""Lending: loans of copies and the hold queue."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Integer, String, and_
from sqlalchemy.ext.hybrid import hybrid_method
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db
from webapp.models.base import utcnow
from webapp.models.catalogue import Book
from webapp.models.users import User

HOLD_WAITING = "waiting"
HOLD_READY = "ready"
HOLD_FULFILLED = "fulfilled"
HOLD_CANCELLED = "cancelled"
HOLD_EXPIRED = "expired"
HOLD_STATUSES = (HOLD_WAITING, HOLD_READY, HOLD_FULFILLED, HOLD_CANCELLED, HOLD_EXPIRED)
# A hold still in the queue: waiting for a copy, or with a copy set aside to collect.
ACTIVE_HOLD_STATUSES = (HOLD_WAITING, HOLD_READY)


class Loan(db.Model):
    """One copy of a book lent to a reader; open while ``returned_at`` is NULL."""

    __tablename__ = "loans"
    __table_args__ = (
        CheckConstraint("renewals >= 0", name="renewals_not_negative"),
        CheckConstraint("due_at > borrowed_at", name="due_after_borrowed"),
        CheckConstraint("returned_at IS NULL OR returned_at >= borrowed_at", name="returned_after_borrowed"),
        Index("ix_loans_user_id_returned_at", "user_id", "returned_at"),
        Index("ix_loans_book_id_returned_at", "book_id", "returned_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    book_id: Mapped[int] = mapped_column(ForeignKey("books.id", ondelete="CASCADE"), index=True)
    borrowed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    due_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    returned_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    renewals: Mapped[int] = mapped_column(Integer, default=0)

    user: Mapped[User] = relationship()
    book: Mapped[Book] = relationship()

    @hybrid_method
    def overdue_at(self, now: datetime) -> bool:
        """Still out and past its due date at ``now``: the one definition of overdue (also as SQL on Loan)."""
        return self.returned_at is None and self.due_at < now

    @overdue_at.expression
    def overdue_at(cls, now: datetime):
        return and_(cls.returned_at.is_(None), cls.due_at < now)


class Hold(db.Model):
    """A reader's place in the queue for a book with no free copy."""

    __tablename__ = "holds"
    __table_args__ = (
        CheckConstraint("status IN ('waiting', 'ready', 'fulfilled', 'cancelled', 'expired')", name="status_known"),
        Index("ix_holds_book_id_status_created_at", "book_id", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    book_id: Mapped[int] = mapped_column(ForeignKey("books.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    status: Mapped[str] = mapped_column(String(16), default=HOLD_WAITING, index=True)
    # Set when a returned copy is put aside for this reader: collect it before then.
    ready_until: Mapped[datetime | None] = mapped_column(DateTime)

    user: Mapped[User] = relationship()
    book: Mapped[Book] = relationship()
