"""The back office: who gets in, and what staff can change (through the same rules as readers)."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from tests.helpers import create_user, make_book
from webapp.extensions import db
from webapp.models import Book, Category, Hold, Loan, ModelRun, Order, OrderItem, Rating, Review, User
from webapp.models.base import utcnow
from webapp.models.circulation import HOLD_CANCELLED, HOLD_READY
from webapp.models.shop import ORDER_CANCELLED, ORDER_PAID, ORDER_SHIPPED
from webapp.services import circulation

LIST_VIEWS = [
    "/admin/",
    "/admin/book/",
    "/admin/book/new/",
    "/admin/book/export/csv/",
    "/admin/book_import/",
    "/admin/category/",
    "/admin/category/new/",
    "/admin/reader/",
    "/admin/loan/",
    "/admin/overdue/",
    "/admin/overdue/export/csv/",
    "/admin/hold/",
    "/admin/order/",
    "/admin/order/export/csv/",
    "/admin/review/",
    "/admin/rating/",
    "/admin/model_run/",
    "/admin/recommendation/",
    "/dashboard",
    "/dashboard/api/summary",
    "/dashboard/api/loans",
    "/dashboard/api/sales",
    "/dashboard/api/new-readers",
    "/dashboard/api/top-loans",
    "/dashboard/api/top-sales",
    "/dashboard/api/categories",
    "/dashboard/api/ratings",
    "/dashboard/api/inventory",
    "/dashboard/api/overdue",
    "/dashboard/api/recommender",
]


@pytest.fixture()
def library(app, reader):
    """A book, a reader with a loan and an order, a review and a rating: something for every view."""
    book = make_book("Dune", copies_total=2, copies_available=2, stock=5)
    loan = circulation.borrow(reader.id, book.id)
    order = Order(user_id=reader.id, status=ORDER_PAID, total=Decimal("19.98"), paid_at=utcnow())
    order.items.append(OrderItem(book_id=book.id, quantity=2, unit_price=Decimal("9.99")))
    db.session.add_all([order, Review(user_id=reader.id, book_id=book.id, body="Spice!")])
    db.session.add(Rating(user_id=reader.id, book_id=book.id, rating=5))
    db.session.add(ModelRun(algorithm="neumf", status="succeeded", metrics={"neumf": {"hr@10": 0.5}}))
    db.session.commit()
    return {"reader": reader, "book": book, "loan": loan, "order": order}


def _detail_urls(library) -> list[str]:
    return [
        f"/admin/book/edit/?id={library['book'].id}",
        f"/admin/book/details/?id={library['book'].id}",
        f"/admin/reader/edit/?id={library['reader'].id}",
        f"/admin/reader/details/?id={library['reader'].id}",
        f"/admin/order/details/?id={library['order'].id}",
        f"/admin/loan/details/?id={library['loan'].id}",
    ]


@pytest.mark.parametrize("url", LIST_VIEWS)
def test_anonymous_visitors_are_sent_to_log_in(client, url):
    response = client.get(url)
    if url.startswith("/dashboard/api/"):
        assert response.status_code == 401 and response.json["status"] == 401
    else:
        assert response.status_code == 302
        assert "/auth/login" in response.headers["Location"]


@pytest.mark.parametrize("url", LIST_VIEWS)
def test_readers_are_refused(reader_client, url):
    response = reader_client.get(url)
    assert response.status_code == 403
    if url.startswith("/dashboard/api/"):
        assert response.json["error"] == "Forbidden"
    else:
        assert "staff only" in response.get_data(as_text=True)


@pytest.mark.parametrize("url", LIST_VIEWS)
def test_staff_get_in(staff_client, library, url):
    response = staff_client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]


def test_staff_see_every_detail_page(staff_client, library):
    for url in _detail_urls(library):
        assert staff_client.get(url).status_code == 200, url


def test_readers_cannot_post_to_any_admin_view(reader_client, library):
    book, loan, order = library["book"], library["loan"], library["order"]
    posts = [
        (f"/admin/book/edit/?id={book.id}", {"title": "Hacked", "authors": "x", "price": "0", "stock": "0"}),
        ("/admin/book/new/", {"title": "New", "authors": "x", "price": "1", "stock": "1", "copies_total": "1"}),
        ("/admin/loan/action/", {"action": "mark_returned", "rowid": str(loan.id)}),
        ("/admin/order/action/", {"action": "cancel", "rowid": str(order.id)}),
        ("/admin/review/delete/", {"id": str(db.session.scalar(select(Review.id)))}),
        (f"/admin/reader/edit/?id={library['reader'].id}", {"role": "admin", "active": "y"}),
        ("/admin/book_import/", {}),
    ]
    for url, data in posts:
        assert reader_client.post(url, data=data).status_code == 403, url
    db.session.rollback()
    assert db.session.get(Book, book.id).title == "Dune"
    assert db.session.scalar(select(func.count()).select_from(Book)) == 1
    assert db.session.get(Loan, loan.id).returned_at is None
    assert db.session.get(Order, order.id).status == ORDER_PAID
    assert db.session.scalar(select(func.count()).select_from(Review)) == 1
    assert db.session.get(User, library["reader"].id).role == "reader"


def test_anonymous_posts_change_nothing(client, library):
    response = client.post("/admin/loan/action/", data={"action": "mark_returned", "rowid": str(library["loan"].id)})
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    db.session.rollback()
    assert db.session.get(Loan, library["loan"].id).returned_at is None


def test_admin_forms_carry_a_token_the_site_accepts(database_url, library, admin_user):
    """With CSRF on (as in production), admin forms post with Flask-WTF's token; without it, 400."""
    from tests.helpers import make_config
    from webapp import create_app

    app = create_app(make_config(database_url, WTF_CSRF_ENABLED=True))
    client = app.test_client()
    login_page = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page).group(1)
    client.post("/auth/login", data={"username": "staff", "password": "correct-horse-1", "csrf_token": token})
    book = library["book"]
    form = client.get(f"/admin/book/edit/?id={book.id}").get_data(as_text=True)
    token = re.search(r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
    fields = {"title": "Dune", "authors": "Frank Herbert", "price": "11.50", "stock": "5", "copies_total": "2"}
    refused = client.post(f"/admin/book/edit/?id={book.id}", data=fields)
    assert refused.status_code == 400
    saved = client.post(f"/admin/book/edit/?id={book.id}", data={**fields, "csrf_token": token})
    assert saved.status_code == 302
    db.session.rollback()
    assert db.session.get(Book, book.id).price == Decimal("11.50")


def _edit_book(client, book, **changes):
    fields = {
        "title": book.title,
        "authors": book.authors,
        "isbn13": book.isbn13 or "",
        "price": str(book.price),
        "stock": str(book.stock),
        "copies_total": str(book.copies_total),
        "category": str(book.category_id),
    }
    fields.update({key: str(value) for key, value in changes.items()})
    return client.post(f"/admin/book/edit/?id={book.id}", data=fields, follow_redirects=True)


def _fresh(model, id_):
    db.session.rollback()
    return db.session.get(model, id_)


def test_staff_edit_a_price(staff_client, library):
    book = library["book"]
    page = _edit_book(staff_client, book, price="12.49").get_data(as_text=True)
    assert "Record was successfully saved" in page
    assert _fresh(Book, book.id).price == Decimal("12.49")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"price": "-1"}, "The price must be 0 or more."),
        ({"price": "abc"}, "Not a valid decimal value"),
        ({"stock": "-3"}, "Stock must be 0 or more."),
        ({"copies_total": "-1"}, "Copies must be 0 or more."),
        ({"copies_total": "0"}, "Only 1 copies are on the shelf, so at most 1 can be withdrawn"),
        ({"title": ""}, "This field is required."),
    ],
)
def test_edits_that_would_break_a_rule_are_refused(staff_client, library, changes, message):
    book = library["book"]  # 2 copies, 1 on loan; 5 in stock
    page = _edit_book(staff_client, book, **changes).get_data(as_text=True)
    assert message in page
    stored = _fresh(Book, book.id)
    assert (stored.title, stored.price, stored.stock) == ("Dune", Decimal("9.99"), 5)
    assert (stored.copies_total, stored.copies_available) == (2, 1)


def test_a_duplicate_isbn_is_refused_with_a_message(staff_client, library):
    make_book("Emma", authors="Jane Austen", isbn13="9780141439587")
    page = _edit_book(staff_client, library["book"], isbn13="9780141439587").get_data(as_text=True)
    assert "Already exists." in page
    assert _fresh(Book, library["book"].id).isbn13 is None


def test_stock_and_copies_change_by_the_difference(staff_client, library):
    """An added copy goes to the reader waiting for it; copies sold meanwhile are not written back."""
    book, waiting = library["book"], create_user("bob")
    circulation.borrow(create_user("carol").id, book.id)  # now 0 on the shelf
    circulation.place_hold(waiting.id, book.id)
    page = _edit_book(staff_client, _fresh(Book, book.id), copies_total=3, stock=8).get_data(as_text=True)
    assert "Record was successfully saved" in page
    stored = _fresh(Book, book.id)
    assert (stored.copies_total, stored.copies_available, stored.stock) == (3, 0, 8)
    assert db.session.scalar(select(Hold.status).where(Hold.user_id == waiting.id)) == HOLD_READY


def test_staff_create_a_book(staff_client, library):
    data = {"title": "Emma", "authors": "Jane Austen", "price": "7.50", "stock": "4", "copies_total": "2"}
    staff_client.post("/admin/book/new/", data=data, follow_redirects=True)
    book = db.session.scalar(select(Book).where(Book.title == "Emma"))
    assert (book.copies_total, book.copies_available, book.stock, book.price) == (2, 2, 4, Decimal("7.50"))
    assert "emma" in book.search_text


def test_book_list_searches_and_filters(staff_client, library):
    make_book("Emma", authors="Jane Austen", copies_total=1, copies_available=0, category="Classics")
    page = staff_client.get("/admin/book/?search=austen").get_data(as_text=True)
    assert "Emma" in page and "Dune" not in page
    csv_text = staff_client.get("/admin/book/export/csv/").get_data(as_text=True)
    assert csv_text.splitlines()[0].startswith("Id,Title,Authors")
    assert "Dune" in csv_text and "Emma" in csv_text


def test_category_names_stay_unique(staff_client, library):
    page = staff_client.post("/admin/category/new/", data={"name": "Science Fiction"}, follow_redirects=True)
    assert "Already exists." in page.get_data(as_text=True)
    page = staff_client.post("/admin/category/new/", data={"name": "science fiction"}, follow_redirects=True)
    # MariaDB's collation already calls this a duplicate; on SQLite the view's own check does.
    text = page.get_data(as_text=True)
    assert "Already exists." in text or "Another category already has the name “science fiction”." in text
    assert db.session.scalar(select(func.count()).select_from(Category)) == 1
    staff_client.post("/admin/category/new/", data={"name": "Mystery & Crime"}, follow_redirects=True)
    assert db.session.scalar(select(Category.slug).where(Category.name == "Mystery & Crime")) == "mystery-crime"


def test_reader_pages_never_show_password_hashes(staff_client, library):
    for url in ("/admin/reader/", f"/admin/reader/details/?id={library['reader'].id}"):
        page = staff_client.get(url).get_data(as_text=True)
        assert "alice" in page
        assert "scrypt:" not in page and "pbkdf2:" not in page and "Password Hash" not in page


def test_staff_change_a_role_and_deactivate(staff_client, library):
    reader = library["reader"]
    staff_client.post(f"/admin/reader/edit/?id={reader.id}", data={"role": "reader"}, follow_redirects=True)
    assert _fresh(User, reader.id).active is False  # an unchecked box deactivates
    assert not _fresh(User, reader.id).can_log_in


def test_staff_cannot_lock_themselves_out(staff_client, admin_user):
    page = staff_client.post(
        f"/admin/reader/edit/?id={admin_user.id}", data={"role": "reader", "active": "y"}, follow_redirects=True
    )
    assert "You cannot take away your own staff access" in page.get_data(as_text=True)
    assert _fresh(User, admin_user.id).role == "admin"


def test_mark_returned_goes_through_the_circulation_service(staff_client, library):
    book, loan = library["book"], library["loan"]
    circulation.borrow(create_user("carol").id, book.id)
    waiting = create_user("bob")
    circulation.place_hold(waiting.id, book.id)
    page = staff_client.post(
        "/admin/loan/action/", data={"action": "mark_returned", "rowid": [str(loan.id)]}, follow_redirects=True
    ).get_data(as_text=True)
    assert "Loans returned: 1." in page
    assert _fresh(Loan, loan.id).returned_at is not None
    assert db.session.scalar(select(Hold.status).where(Hold.user_id == waiting.id)) == HOLD_READY
    assert _fresh(Book, book.id).copies_available == 0  # the copy is set aside for bob
    again = staff_client.post(
        "/admin/loan/action/", data={"action": "mark_returned", "rowid": [str(loan.id)]}, follow_redirects=True
    ).get_data(as_text=True)
    assert "This loan was already returned." in again


def test_the_overdue_list_shows_only_late_loans_with_days_and_fine(staff_client, library):
    late = Loan(
        user_id=create_user("bob").id,
        book_id=library["book"].id,
        borrowed_at=utcnow() - timedelta(days=40),
        due_at=utcnow() - timedelta(days=10),
    )
    db.session.add(late)
    db.session.commit()
    page = staff_client.get("/admin/overdue/").get_data(as_text=True)
    assert "bob" in page and "alice" not in page
    assert ">10<" in re.sub(r"\s+", "", page) or "<td>10</td>" in re.sub(r"\s+", "", page)
    assert "2.50" in page  # 10 days at 0.25


def test_holds_can_be_cancelled_by_staff(staff_client, library):
    book = library["book"]
    circulation.borrow(create_user("carol").id, book.id)
    hold = circulation.place_hold(create_user("bob").id, book.id)
    staff_client.post("/admin/hold/action/", data={"action": "cancel", "rowid": [str(hold.id)]})
    assert _fresh(Hold, hold.id).status == HOLD_CANCELLED
    page = staff_client.post(
        "/admin/hold/action/", data={"action": "cancel", "rowid": [str(hold.id)]}, follow_redirects=True
    ).get_data(as_text=True)
    assert "This hold is no longer active." in page


def test_orders_ship_and_cancel_with_restock(staff_client, library):
    order, book = library["order"], library["book"]
    staff_client.post("/admin/order/action/", data={"action": "cancel", "rowid": [str(order.id)]})
    assert _fresh(Order, order.id).status == ORDER_CANCELLED
    assert _fresh(Book, book.id).stock == 7  # 5 + the 2 copies of the order
    page = staff_client.post(
        "/admin/order/action/", data={"action": "ship", "rowid": [str(order.id)]}, follow_redirects=True
    ).get_data(as_text=True)
    assert "only a paid order can be shipped" in page
    assert _fresh(Order, order.id).status == ORDER_CANCELLED


def test_a_paid_order_ships_once(staff_client, library):
    order = library["order"]
    staff_client.post("/admin/order/action/", data={"action": "ship", "rowid": [str(order.id)]})
    assert _fresh(Order, order.id).status == ORDER_SHIPPED
    page = staff_client.post(
        "/admin/order/action/", data={"action": "cancel", "rowid": [str(order.id)]}, follow_redirects=True
    ).get_data(as_text=True)
    assert "cannot be cancelled" in page
    assert _fresh(Book, library["book"].id).stock == 5


def test_staff_delete_a_review(staff_client, library):
    review_id = db.session.scalar(select(Review.id))
    staff_client.post("/admin/review/delete/", data={"id": str(review_id)}, follow_redirects=True)
    assert _fresh(Review, review_id) is None


def test_read_only_views_refuse_changes(staff_client, library):
    rating_id = db.session.scalar(select(Rating.id))
    staff_client.post("/admin/rating/delete/", data={"id": str(rating_id)})
    staff_client.post("/admin/model_run/new/", data={"algorithm": "x"})
    assert _fresh(Rating, rating_id) is not None
    assert db.session.scalar(select(func.count()).select_from(ModelRun)) == 1


def test_the_admin_home_shows_headline_numbers(staff_client, library):
    page = staff_client.get("/admin/").get_data(as_text=True)
    numbers = dict(re.findall(r'data-headline="(\w+)">([\d,]+)<', page))
    assert numbers == {"readers": "1", "books": "1", "loans_out": "1", "overdue": "0", "orders_this_week": "1"}
    assert "/dashboard" in page


def test_back_office_rules_live_in_the_services(app, admin_user):
    """The rules the back office applies can be called without it (the CLI, other pages)."""
    from webapp.services import accounts, catalogue
    from webapp.services.errors import ServiceError

    dune = make_book("Dune", isbn13="9780441013593")
    assert catalogue.clean_isbn(" 978-0441013593 ", dune.id) == "9780441013593"
    assert catalogue.clean_isbn("", None) is None
    with pytest.raises(ServiceError, match="already belongs to “Dune”"):
        catalogue.clean_isbn("9780441013593", None)
    assert catalogue.clean_category("  Space Opera ", "", None) == ("Space Opera", "space-opera")
    with pytest.raises(ServiceError, match="Another category already has the name"):
        catalogue.clean_category("science fiction", "", None)
    with pytest.raises(ServiceError, match="still has 1 books"):
        catalogue.check_category_can_go(dune.category)
    admin_user.active = False
    with pytest.raises(ServiceError, match="your own staff access"):
        accounts.apply_staff_change(admin_user.id, admin_user)
