"""The shop: cart, checkout in one transaction, orders and cancellations.

Stock changes only through conditional UPDATEs (``SET stock = stock - n WHERE stock >= n``),
so concurrent checkouts can never sell more copies than there are. A checkout carries a
token from its form; the token is unique on orders, so a replayed or double-clicked
checkout returns the first order instead of making a second.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Protocol

from sqlalchemy import Integer, Select, bindparam, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from webapp.extensions import db
from webapp.models import Book, CartItem, Order, OrderItem
from webapp.models.base import utcnow
from webapp.models.shop import ORDER_CANCELLED, ORDER_PAID, ORDER_PENDING, ORDER_SHIPPED
from webapp.services import daily_figures, reader_recs
from webapp.services.errors import NotFound, ServiceError
from webapp.services.locking import fail, lock_reader, own_record, retried_on_deadlock

MAX_LINE_QUANTITY = 99


def parse_quantity(raw: object) -> int:
    """A positive whole quantity from form input, or ServiceError."""
    try:
        quantity = int(str(raw).strip())
    except (TypeError, ValueError):
        raise ServiceError("The quantity must be a whole number.") from None
    if quantity < 1:
        raise ServiceError("The quantity must be at least 1.")
    if quantity > MAX_LINE_QUANTITY:
        raise ServiceError(f"You can order at most {MAX_LINE_QUANTITY} copies of a book at once.")
    return quantity


@retried_on_deadlock
def add_to_cart(user_id: int, book_id: int, quantity: int = 1) -> CartItem:
    """Put copies of a book in the cart (adding to a line that is already there)."""
    lock_reader(user_id)
    book = db.session.get(Book, book_id, populate_existing=True)
    if book is None:
        fail(NotFound("There is no such book."))
    item = db.session.scalar(select(CartItem).where(CartItem.user_id == user_id, CartItem.book_id == book_id))
    wanted = quantity + (item.quantity if item else 0)
    if book.stock < 1:
        fail(ServiceError(f"“{book.title}” is sold out."))
    if wanted > book.stock:
        fail(ServiceError(f"Only {book.stock} copies of “{book.title}” are in stock."))
    if wanted > MAX_LINE_QUANTITY:
        fail(ServiceError(f"You can order at most {MAX_LINE_QUANTITY} copies of a book at once."))
    if item is None:
        item = CartItem(user_id=user_id, book_id=book_id, quantity=quantity)
        db.session.add(item)
    else:
        item.quantity = wanted
    db.session.commit()
    return item


def change_stock(book_id: int, delta: int) -> None:
    """Staff add to or take from the stock for sale, in the caller's transaction.

    Relative, so copies sold meanwhile are not written back; raises ServiceError (the
    caller rolls back) when the stock would go below zero.
    """
    changed = db.session.execute(
        update(Book).where(Book.id == book_id, Book.stock + delta >= 0).values(stock=Book.stock + delta)
    ).rowcount
    if not changed:
        left = db.session.scalar(select(Book.stock).where(Book.id == book_id))
        raise ServiceError(f"Stock cannot go below zero: {left} copies are left to sell.")


def _own_item(user_id: int, item_id: int) -> CartItem:
    return own_record(CartItem, item_id, user_id, "There is no such line in your cart.")


@retried_on_deadlock
def set_quantity(user_id: int, item_id: int, quantity: int) -> CartItem:
    """Change a cart line to ``quantity`` copies (1 up to the stock)."""
    lock_reader(user_id)
    item = _own_item(user_id, item_id)
    if quantity > item.book.stock:
        fail(ServiceError(f"Only {item.book.stock} copies of “{item.book.title}” are in stock."))
    item.quantity = quantity
    db.session.commit()
    return item


@retried_on_deadlock
def remove_item(user_id: int, item_id: int) -> None:
    """Take a line out of the cart."""
    lock_reader(user_id)
    db.session.delete(_own_item(user_id, item_id))
    db.session.commit()


@dataclass
class CartLine:
    item: CartItem
    line_total: Decimal


@dataclass
class Cart:
    lines: list[CartLine]
    total: Decimal
    count: int


def _cart_items(user_id: int) -> list[CartItem]:
    """The reader's cart lines with their books, in the order they were added."""
    return list(
        db.session.scalars(
            select(CartItem)
            .where(CartItem.user_id == user_id)
            .options(selectinload(CartItem.book))
            .order_by(CartItem.id)
        )
    )


def cart(user_id: int) -> Cart:
    """The reader's cart with line totals at today's prices."""
    items = _cart_items(user_id)
    lines = [CartLine(item, item.book.price * item.quantity) for item in items]
    return Cart(lines, sum((line.line_total for line in lines), Decimal("0.00")), sum(i.quantity for i in items))


def cart_count(user_id: int) -> int:
    """How many copies are in the reader's cart (for the navigation)."""
    return db.session.scalar(_cart_count_query(), {"user_id": user_id})


@cache
def _cart_count_query() -> Select:
    """cart_count's query for a bound ``user_id``, built once: the navigation of every page runs it."""
    return CartItem.copies_in_cart(bindparam("user_id", type_=Integer))


class PaymentProvider(Protocol):
    """Where a real payment provider plugs in: charge the order or raise ServiceError."""

    def charge(self, order: Order) -> None: ...


class SimulatedPayment:
    """The demo's payment: every order is paid at once."""

    def charge(self, order: Order) -> None:
        order.status = ORDER_PAID
        order.paid_at = utcnow()


@retried_on_deadlock
def checkout(user_id: int, token: str, payment: PaymentProvider | None = None) -> Order:
    """Buy everything in the cart in one transaction, or nothing.

    Each line's stock is decreased with a conditional UPDATE; if any line lacks stock the
    whole checkout is rolled back, the cart stays as it was and the error names the line
    and what is left. A token seen before returns the order it made.
    """
    payment = payment or SimulatedPayment()
    if not token or len(token) > 64:
        raise ServiceError("The checkout form is incomplete; reload the cart and try again.")
    lock_reader(user_id)
    existing = db.session.scalar(select(Order).where(Order.checkout_token == token))
    if existing is not None:
        db.session.rollback()
        if existing.user_id != user_id:
            raise ServiceError("The checkout form is not valid; reload the cart and try again.")
        return existing
    items = _cart_items(user_id)
    if not items:
        fail(ServiceError("Your cart is empty."))
    order = Order(user_id=user_id, status=ORDER_PENDING, checkout_token=token, total=Decimal("0.00"))
    db.session.add(order)
    total = Decimal("0.00")
    for item in items:
        sold = db.session.execute(
            update(Book)
            .where(Book.id == item.book_id, Book.stock >= item.quantity)
            .values(stock=Book.stock - item.quantity)
        ).rowcount
        if not sold:
            left = db.session.scalar(select(Book.stock).where(Book.id == item.book_id))
            fail(
                ServiceError(
                    f"Not enough stock for “{item.book.title}”: you asked for {item.quantity}, {left} left. "
                    "Nothing was bought."
                )
            )
        order.items.append(OrderItem(book_id=item.book_id, quantity=item.quantity, unit_price=item.book.price))
        total += item.book.price * item.quantity
    order.total = total
    payment.charge(order)
    db.session.execute(delete(CartItem).where(CartItem.user_id == user_id))
    try:
        db.session.commit()
    except IntegrityError:  # the same token committed by a concurrent request
        db.session.rollback()
        return db.session.scalar(select(Order).where(Order.checkout_token == token, Order.user_id == user_id))
    reader_recs.after_reader_action(user_id)
    return order


def own_order(user_id: int, order_id: int) -> Order:
    """The reader's order with its lines; NotFound for anyone else's."""
    order = db.session.scalar(
        select(Order).where(Order.id == order_id).options(selectinload(Order.items).selectinload(OrderItem.book))
    )
    if order is None or order.user_id != user_id:
        raise NotFound("There is no such order of yours.")
    return order


@retried_on_deadlock
def cancel_order(user_id: int | None, order_id: int) -> Order:
    """Cancel an order that has not shipped and put its copies back in stock.

    ``user_id`` None means staff acting on any reader's order.
    """
    if user_id is not None:
        lock_reader(user_id)
    order = db.session.get(Order, order_id, populate_existing=True)
    if order is None or (user_id is not None and order.user_id != user_id):
        fail(NotFound("There is no such order of yours."))
    cancelled = db.session.execute(
        update(Order)
        .where(Order.id == order_id, Order.status.in_([ORDER_PENDING, ORDER_PAID]))
        .values(status=ORDER_CANCELLED, cancelled_at=utcnow())
    ).rowcount
    if not cancelled:
        fail(ServiceError("This order has shipped or is already cancelled, so it cannot be cancelled."))
    for item in order.items:
        db.session.execute(update(Book).where(Book.id == item.book_id).values(stock=Book.stock + item.quantity))
    daily_figures.forget(order.created_at.date())  # its day's orders and revenue change
    db.session.commit()
    db.session.refresh(order)
    return order


@retried_on_deadlock
def ship_order(order_id: int) -> Order:
    """Staff: mark a paid order as shipped (a pending or cancelled one cannot ship)."""
    db.session.commit()  # see what other requests committed before deciding
    order = db.session.get(Order, order_id, populate_existing=True)
    if order is None:
        fail(NotFound("There is no such order."))
    shipped = db.session.execute(
        update(Order).where(Order.id == order_id, Order.status == ORDER_PAID).values(status=ORDER_SHIPPED)
    ).rowcount
    if not shipped:
        fail(ServiceError(f"Order #{order_id} is {order.status}: only a paid order can be shipped."))
    db.session.commit()
    db.session.refresh(order)
    return order
