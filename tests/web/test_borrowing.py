"""Borrow, renew, return and the hold queue, through the pages and the service rules."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.helpers import create_user, log_in, make_book
from webapp.extensions import db
from webapp.models import Book, Hold, Loan
from webapp.models.base import utcnow
from webapp.services import circulation
from webapp.services.errors import NotFound, ServiceError


def _book(book_id: int) -> Book:
    book = db.session.get(Book, book_id)
    db.session.refresh(book)
    return book


def test_borrow_from_the_book_page_and_return_from_the_profile(reader_client, reader):
    book = make_book("Dune", copies_total=2, copies_available=2)
    page = reader_client.post(f"/books/{book.id}/borrow", follow_redirects=True).get_data(as_text=True)
    assert "Enjoy your book!" in page
    loan = db.session.scalar(select(Loan))
    assert loan.user_id == reader.id and (loan.due_at - loan.borrowed_at).days == 30
    assert _book(book.id).copies_available == 1
    profile = reader_client.get("/profile/").get_data(as_text=True)
    assert "Dune</a>" in profile and "Return" in profile
    page = reader_client.post(f"/loans/{loan.id}/return", follow_redirects=True).get_data(as_text=True)
    assert "the book is returned" in page
    assert _book(book.id).copies_available == 2


def test_no_free_copy_means_join_the_queue(app, reader):
    book = make_book("Dune", copies_total=1, copies_available=1)
    other = create_user("bob")
    circulation.borrow(other.id, book.id)
    with pytest.raises(ServiceError, match="No copy of “Dune” is free"):
        circulation.borrow(reader.id, book.id)
    hold = circulation.place_hold(reader.id, book.id)
    (place,) = circulation.queue_places([hold])
    loan = db.session.scalar(select(Loan))
    assert place.position == 1 and place.estimated == loan.due_at


def test_returned_copy_goes_to_the_first_in_the_queue(app, reader):
    book = make_book("Dune", copies_total=1, copies_available=1)
    holder, second = create_user("bob"), create_user("carol")
    loan = circulation.borrow(holder.id, book.id)
    circulation.place_hold(reader.id, book.id, now=utcnow() - timedelta(minutes=5))
    circulation.place_hold(second.id, book.id)
    circulation.return_loan(holder.id, loan.id)
    assert _book(book.id).copies_available == 0  # set aside, not on the shelf
    with pytest.raises(ServiceError):
        circulation.borrow(second.id, book.id)
    circulation.borrow(reader.id, book.id)
    statuses = dict(db.session.execute(select(Hold.user_id, Hold.status)).all())
    assert statuses == {reader.id: "fulfilled", second.id: "waiting"}


def test_uncollected_copy_passes_to_the_next_reader(app, reader):
    book = make_book("Dune", copies_total=1, copies_available=1)
    holder, second = create_user("bob"), create_user("carol")
    loan = circulation.borrow(holder.id, book.id)
    circulation.place_hold(reader.id, book.id, now=utcnow() - timedelta(minutes=5))
    circulation.place_hold(second.id, book.id)
    circulation.return_loan(holder.id, loan.id)
    later = utcnow() + timedelta(days=4)  # the 3 days to collect are over
    assert circulation.expire_uncollected_holds(book.id, now=later) == 1
    statuses = dict(db.session.execute(select(Hold.user_id, Hold.status)).all())
    assert statuses == {reader.id: "expired", second.id: "ready"}


def test_loan_limits(app, reader):
    books = [make_book(f"Book {i}") for i in range(6)]
    for book in books[:5]:
        circulation.borrow(reader.id, book.id)
    with pytest.raises(ServiceError, match="at most 5 books"):
        circulation.borrow(reader.id, books[5].id)
    with pytest.raises(ServiceError, match="already have this book"):
        circulation.borrow(reader.id, books[0].id)


def test_overdue_reader_cannot_borrow_and_pays_a_fine(app, reader):
    old, new = make_book("Old"), make_book("New")
    circulation.borrow(reader.id, old.id, now=utcnow() - timedelta(days=40))
    with pytest.raises(ServiceError, match="overdue loan"):
        circulation.borrow(reader.id, new.id)
    [overdue] = circulation.overdue_loans(reader.id)
    assert overdue.days_overdue == 10 and overdue.fine == pytest.approx(2.50)
    assert _book(new.id).copies_available == 3


def test_renewal_rules(app, reader):
    book = make_book("Dune")
    loan = circulation.borrow(reader.id, book.id)
    due = loan.due_at
    circulation.renew(reader.id, loan.id)
    renewed = circulation.renew(reader.id, loan.id)
    assert renewed.renewals == 2 and renewed.due_at == due + timedelta(days=60)
    with pytest.raises(ServiceError, match="at most 2 times"):
        circulation.renew(reader.id, loan.id)


def test_no_renewal_when_others_wait(app, reader):
    book = make_book("Dune", copies_total=1, copies_available=1)
    loan = circulation.borrow(reader.id, book.id)
    circulation.place_hold(create_user("bob").id, book.id)
    with pytest.raises(ServiceError, match="Other readers are waiting"):
        circulation.renew(reader.id, loan.id)


@pytest.mark.parametrize("action", ["return", "renew"])
def test_acting_on_a_returned_loan_is_refused(app, reader, action):
    book = make_book("Dune")
    loan = circulation.borrow(reader.id, book.id)
    circulation.return_loan(reader.id, loan.id)
    with pytest.raises(ServiceError, match="already returned"):
        getattr(circulation, "return_loan" if action == "return" else "renew")(reader.id, loan.id)
    assert _book(book.id).copies_available == 3


def test_someone_elses_loan_is_404(reader_client, reader):
    book = make_book("Dune")
    other_loan = circulation.borrow(create_user("bob").id, book.id)
    assert reader_client.post(f"/loans/{other_loan.id}/return").status_code == 404
    assert reader_client.post(f"/loans/{other_loan.id}/renew").status_code == 404
    assert reader_client.post("/loans/99999/return").status_code == 404
    assert db.session.scalar(select(Loan.returned_at)) is None


@pytest.mark.parametrize("url", ["/books/99999/borrow", "/books/99999/hold"])
def test_unknown_book_is_404(reader_client, url):
    assert reader_client.post(url).status_code == 404
    assert db.session.scalar(select(func.count()).select_from(Loan)) == 0


def test_returning_twice_through_the_page(reader_client, reader):
    book = make_book("Dune")
    loan = circulation.borrow(reader.id, book.id)
    reader_client.post(f"/loans/{loan.id}/return")
    page = reader_client.post(f"/loans/{loan.id}/return", follow_redirects=True).get_data(as_text=True)
    assert "This loan was already returned." in page
    assert _book(book.id).copies_available == 3


def test_hold_rules(app, reader):
    book = make_book("Dune", copies_total=1, copies_available=1)
    with pytest.raises(ServiceError, match="A copy is free"):
        circulation.place_hold(reader.id, book.id)
    circulation.borrow(create_user("bob").id, book.id)
    hold = circulation.place_hold(reader.id, book.id)
    with pytest.raises(ServiceError, match="already in the queue"):
        circulation.place_hold(reader.id, book.id)
    circulation.cancel_hold(reader.id, hold.id)
    with pytest.raises(ServiceError, match="no longer active"):
        circulation.cancel_hold(reader.id, hold.id)
    with pytest.raises(NotFound):
        circulation.cancel_hold(create_user("carol").id, hold.id)


def test_anonymous_borrow_goes_to_login_and_back(client, reader):
    book = make_book("Dune")
    response = client.post(f"/books/{book.id}/borrow")
    assert "/auth/login" in response.location
    back = log_in(client)
    assert back.location == "/"  # the login form itself carries next; see the browser test
