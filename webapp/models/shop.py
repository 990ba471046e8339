"""The shop: cart items, orders and their lines."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    ColumnElement,
    DateTime,
    ForeignKey,
    Integer,
    Numeric,
    Select,
    String,
    UniqueConstraint,
    func,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db
from webapp.models.base import utcnow
from webapp.models.catalogue import Book
from webapp.models.users import User

ORDER_PENDING = "pending"
ORDER_PAID = "paid"
ORDER_SHIPPED = "shipped"
ORDER_CANCELLED = "cancelled"


class CartItem(db.Model):
    """A line in a reader's cart (one per book)."""

    __tablename__ = "cart_items"
    __table_args__ = (
        UniqueConstraint("user_id", "book_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    book_id: Mapped[int] = mapped_column(ForeignKey("books.id", ondelete="CASCADE"), index=True)
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    added_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    book: Mapped[Book] = relationship()

    @classmethod
    def copies_in_cart(cls, user_id: ColumnElement[int]) -> Select:
        """How many copies a reader's cart holds (0 when it is empty), as a query on ``user_id``."""
        return select(func.coalesce(func.sum(cls.quantity), 0)).where(cls.user_id == user_id)


class Order(db.Model):
    """A checkout: the books bought, at the prices of that moment."""

    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'paid', 'shipped', 'cancelled')", name="status_known"),
        CheckConstraint("total >= 0", name="total_not_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=ORDER_PENDING, index=True)
    total: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal("0.00"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    paid_at: Mapped[datetime | None] = mapped_column(DateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime)
    # One order per submitted checkout form, however often it is replayed.
    checkout_token: Mapped[str | None] = mapped_column(String(64), unique=True)

    user: Mapped[User] = relationship()
    items: Mapped[list[OrderItem]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderItem.id"
    )


class OrderItem(db.Model):
    """One book in an order, with the unit price captured at purchase."""

    __tablename__ = "order_items"
    __table_args__ = (
        UniqueConstraint("order_id", "book_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price >= 0", name="unit_price_not_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    book_id: Mapped[int] = mapped_column(ForeignKey("books.id", ondelete="RESTRICT"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(Numeric(8, 2))

    order: Mapped[Order] = relationship(back_populates="items")
    book: Mapped[Book] = relationship()
