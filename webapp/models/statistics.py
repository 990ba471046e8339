"""What happened on each settled day, counted once for the statistics screen."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Date, DateTime, Integer, Numeric
from sqlalchemy.orm import Mapped, mapped_column

from webapp.extensions import db


class DailyFigures(db.Model):
    """One day's loans, returns, orders, revenue, new readers and ratings by star (part of a day not yet settled).

    Derived from those tables by ``services.daily_figures``: an action that changes a past
    day's figures (an order cancelled, a rating changed, a reader made staff) deletes that
    day's row, and it is counted again when a chart next needs it.
    """

    __tablename__ = "daily_figures"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    # Set while a request counts the day (the figures are zeros until then), NULL once counted.
    claim: Mapped[int | None] = mapped_column(BigInteger)
    # NULL for a settled day, counted whole; for a day not yet settled, the moment its figures
    # were counted up to (the events from the day's start until then).
    counted_before: Mapped[datetime | None] = mapped_column(DateTime)
    loans: Mapped[int] = mapped_column(Integer)
    returns: Mapped[int] = mapped_column(Integer)
    orders: Mapped[int] = mapped_column(Integer)
    revenue: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    new_readers: Mapped[int] = mapped_column(Integer)
    stars_1: Mapped[int] = mapped_column(Integer)
    stars_2: Mapped[int] = mapped_column(Integer)
    stars_3: Mapped[int] = mapped_column(Integer)
    stars_4: Mapped[int] = mapped_column(Integer)
    stars_5: Mapped[int] = mapped_column(Integer)
