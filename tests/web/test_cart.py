"""Cart, checkout and orders."""

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from tests.helpers import create_user, log_in, make_book
from webapp.extensions import db
from webapp.models import Book, CartItem, Order, OrderItem
from webapp.services import shop
from webapp.services.errors import NotFound, ServiceError


def _stock(book_id: int) -> int:
    return db.session.scalar(select(Book.stock).where(Book.id == book_id))


def test_add_change_and_check_out(reader_client, reader):
    dune, emma = make_book("Dune", stock=5, price=Decimal("10.00")), make_book("Emma", stock=2, price=Decimal("4.50"))
    reader_client.post(f"/cart/add/{dune.id}", data={"quantity": "1"})
    reader_client.post(f"/cart/add/{emma.id}", data={"quantity": "1"})
    item = db.session.scalar(select(CartItem).where(CartItem.book_id == dune.id))
    reader_client.post(f"/cart/items/{item.id}", data={"quantity": "3"})
    page = reader_client.get("/cart").get_data(as_text=True)
    assert "$30.00" in page and "$34.50" in page
    assert 'cart-count">4<' in page
    token = "a" * 32
    response = reader_client.post("/cart/checkout", data={"token": token})
    order = db.session.scalar(select(Order))
    assert response.location == f"/orders/{order.id}"
    assert order.status == "paid" and order.total == Decimal("34.50")
    assert {(i.book_id, i.quantity, i.unit_price) for i in order.items} == {
        (dune.id, 3, Decimal("10.00")),
        (emma.id, 1, Decimal("4.50")),
    }
    assert _stock(dune.id) == 2 and _stock(emma.id) == 1
    assert db.session.scalar(select(func.count()).select_from(CartItem)) == 0


def test_replayed_checkout_makes_one_order(reader_client, reader):
    book = make_book("Dune", stock=5)
    reader_client.post(f"/cart/add/{book.id}", data={"quantity": "2"})
    first = reader_client.post("/cart/checkout", data={"token": "t" * 32})
    second = reader_client.post("/cart/checkout", data={"token": "t" * 32})
    assert first.location == second.location
    assert db.session.scalar(select(func.count()).select_from(Order)) == 1
    assert _stock(book.id) == 3


@pytest.mark.parametrize(
    "quantity, message",
    [
        ("0", "at least 1"),
        ("-3", "at least 1"),
        ("1000000000", "at most 99"),
        ("abc", "whole number"),
        ("6", "Only 5 copies"),
        ("2.5", "whole number"),
    ],
)
def test_bad_quantities_are_refused(reader_client, reader, quantity, message):
    book = make_book("Dune", stock=5)
    page = reader_client.post(f"/cart/add/{book.id}", data={"quantity": quantity}, follow_redirects=True)
    assert message in page.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(CartItem)) == 0


@pytest.mark.parametrize("quantity", ["0", "-3", "1000000000", "abc", "6"])
def test_bad_quantity_changes_leave_the_line_alone(reader_client, reader, quantity):
    book = make_book("Dune", stock=5)
    reader_client.post(f"/cart/add/{book.id}", data={"quantity": "2"})
    item = db.session.scalar(select(CartItem))
    reader_client.post(f"/cart/items/{item.id}", data={"quantity": quantity})
    db.session.refresh(item)
    assert item.quantity == 2


def test_short_stock_buys_nothing_and_names_the_line(app, reader):
    dune, emma = make_book("Dune", stock=5), make_book("Emma", stock=3)
    shop.add_to_cart(reader.id, dune.id, 2)
    shop.add_to_cart(reader.id, emma.id, 3)
    db.session.execute(db.update(Book).where(Book.id == emma.id).values(stock=1))  # sold meanwhile
    db.session.commit()
    with pytest.raises(ServiceError, match="Not enough stock for “Emma”: you asked for 3, 1 left"):
        shop.checkout(reader.id, "x" * 32)
    assert _stock(dune.id) == 5 and _stock(emma.id) == 1
    assert db.session.scalar(select(func.count()).select_from(Order)) == 0
    assert db.session.scalar(select(func.count()).select_from(CartItem)) == 2


def test_empty_cart_cannot_check_out(app, reader):
    with pytest.raises(ServiceError, match="Your cart is empty"):
        shop.checkout(reader.id, "e" * 32)


def test_cancel_puts_the_stock_back_once(reader_client, reader):
    book = make_book("Dune", stock=5)
    shop.add_to_cart(reader.id, book.id, 2)
    order = shop.checkout(reader.id, "c" * 32)
    reader_client.post(f"/orders/{order.id}/cancel")
    page = reader_client.post(f"/orders/{order.id}/cancel", follow_redirects=True).get_data(as_text=True)
    assert "cannot be cancelled" in page
    assert _stock(book.id) == 5
    assert db.session.scalar(select(Order.status)) == "cancelled"


def test_shipped_order_cannot_be_cancelled(app, reader):
    book = make_book("Dune", stock=5)
    shop.add_to_cart(reader.id, book.id, 1)
    order = shop.checkout(reader.id, "s" * 32)
    order.status = "shipped"
    db.session.commit()
    with pytest.raises(ServiceError, match="has shipped"):
        shop.cancel_order(reader.id, order.id)
    assert _stock(book.id) == 4


def test_someone_elses_order_and_cart_line_are_404(client, reader):
    book = make_book("Dune", stock=5)
    shop.add_to_cart(reader.id, book.id, 1)
    item_id = db.session.scalar(select(CartItem.id))
    order = shop.checkout(reader.id, "o" * 32)
    shop.add_to_cart(reader.id, book.id, 1)
    item_id = db.session.scalar(select(CartItem.id))
    create_user("mallory")
    log_in(client, "mallory")
    assert client.get(f"/orders/{order.id}").status_code == 404
    assert client.post(f"/orders/{order.id}/cancel").status_code == 404
    assert client.post(f"/cart/items/{item_id}", data={"quantity": "3"}).status_code == 404
    assert client.post(f"/cart/items/{item_id}/remove").status_code == 404
    assert client.post("/cart/add/99999", data={"quantity": "1"}).status_code == 404
    with pytest.raises(NotFound):
        shop.own_order(db.session.scalar(select(func.max(OrderItem.id))) + 1000, order.id)


def test_add_to_cart_from_a_list_comes_back_to_the_list(reader_client, reader):
    book = make_book("Dune", stock=5)
    page = reader_client.get("/books?sort=title").get_data(as_text=True)
    assert 'Add to cart<span class="visually-hidden">: Dune</span>' in page  # its name says which book
    response = reader_client.post(f"/cart/add/{book.id}", data={"quantity": "1", "next": "/books?sort=title"})
    assert response.location == "/books?sort=title"
    assert db.session.scalar(select(CartItem.quantity)) == 1
    evil = reader_client.post(f"/cart/add/{book.id}", data={"quantity": "1", "next": "https://evil.example/"})
    assert evil.location == f"/books/{book.id}"
