"""Each database constraint rejects what it should, whatever Python does."""

from decimal import Decimal

import pytest
from sqlalchemy import insert, update
from sqlalchemy.exc import DBAPIError

from tests.helpers import create_user
from webapp.extensions import db
from webapp.models import Book, CartItem, Category, Favourite, Loan, OrderItem, Rating, User
from webapp.models.base import utcnow


@pytest.fixture()
def book(app):
    category = Category(name="Fantasy", slug="fantasy")
    book = Book(
        title="Dune",
        authors="Frank Herbert",
        category=category,
        price=Decimal("9.99"),
        copies_total=3,
        copies_available=3,
        stock=5,
    )
    db.session.add(book)
    db.session.commit()
    return book


def _rejected(statement) -> None:
    with pytest.raises(DBAPIError):
        db.session.execute(statement)
        db.session.commit()
    db.session.rollback()


@pytest.mark.parametrize(
    "values",
    [
        {"stock": -1},
        {"copies_total": -1, "copies_available": 0},
        {"copies_available": -1},
        {"copies_available": 4},  # more than the 3 copies owned
        {"price": Decimal("-0.01")},
    ],
)
def test_book_counts_are_checked(book, values):
    _rejected(update(Book).where(Book.id == book.id).values(**values))
    db.session.refresh(book)
    assert (book.stock, book.copies_total, book.copies_available) == (5, 3, 3)


@pytest.mark.parametrize("stars", [0, 6, -3])
def test_rating_must_be_1_to_5(book, reader, stars):
    _rejected(insert(Rating).values(user_id=reader.id, book_id=book.id, rating=stars))
    assert db.session.query(Rating).count() == 0


def test_one_rating_per_reader_and_book(book, reader):
    db.session.add(Rating(user_id=reader.id, book_id=book.id, rating=4))
    db.session.commit()
    _rejected(insert(Rating).values(user_id=reader.id, book_id=book.id, rating=2))
    assert [r.rating for r in db.session.query(Rating)] == [4]


def test_one_favourite_per_reader_and_book(book, reader):
    db.session.add(Favourite(user_id=reader.id, book_id=book.id))
    db.session.commit()
    _rejected(insert(Favourite).values(user_id=reader.id, book_id=book.id))


@pytest.mark.parametrize("field", ["username", "email"])
def test_usernames_and_emails_are_unique(reader, field):
    values = {"username": "bob", "email": "bob@example.org", "role": "reader"}
    values[field] = getattr(reader, field)
    _rejected(insert(User).values(**values))
    assert db.session.query(User).count() == 1


def test_role_must_be_known(app):
    _rejected(insert(User).values(username="eve", email="eve@example.org", role="superuser"))


@pytest.mark.parametrize("quantity", [0, -3])
def test_cart_quantity_must_be_positive(book, reader, quantity):
    _rejected(insert(CartItem).values(user_id=reader.id, book_id=book.id, quantity=quantity))


def test_loan_due_date_after_borrowing(book, reader):
    now = utcnow()
    _rejected(insert(Loan).values(user_id=reader.id, book_id=book.id, borrowed_at=now, due_at=now))


def test_order_item_needs_an_existing_order(book):
    _rejected(insert(OrderItem).values(order_id=999, book_id=book.id, quantity=1, unit_price=Decimal("1.00")))


def test_imported_readers_cannot_log_in(app):
    imported = User(username="reader8", email="reader8@goodreads.invalid", source_user_id=8)
    db.session.add(imported)
    db.session.commit()
    assert not imported.can_log_in
    assert not imported.check_password("")
    active = create_user("carol")
    assert active.can_log_in
    active.active = False
    assert not active.can_log_in
