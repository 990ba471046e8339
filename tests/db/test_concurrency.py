"""Twenty readers at once for three copies: exactly three succeed, nothing drifts.

Each thread works in its own application context, so through its own session and
database connection, and all of them start together at a barrier.
"""

import threading
from collections import Counter

import pytest
from sqlalchemy import func, select

from tests.helpers import create_user, make_book
from webapp.extensions import db
from webapp.models import Book, CartItem, Loan, Order, OrderItem, User
from webapp.services import circulation, shop
from webapp.services.errors import ServiceError

READERS = 20


def _run_together(app, work, arguments):
    barrier = threading.Barrier(len(arguments))
    outcomes = [None] * len(arguments)

    def worker(index, argument):
        with app.app_context():
            barrier.wait()
            try:
                work(argument)
                outcomes[index] = "ok"
            except ServiceError as error:
                outcomes[index] = error.message
            except Exception as error:  # a crash is a failure of the test, reported below
                outcomes[index] = f"CRASH {type(error).__name__}: {error}"
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(i, a)) for i, a in enumerate(arguments)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a request never finished"
    return outcomes


@pytest.fixture()
def readers(app):
    return [create_user(f"reader{i}").id for i in range(READERS)]


def test_twenty_borrowers_three_copies(app, readers):
    book_id = make_book("Dune", copies_total=3, copies_available=3).id
    outcomes = _run_together(app, lambda user_id: circulation.borrow(user_id, book_id), readers)
    counts = Counter("ok" if o == "ok" else o.split(" right now")[0] for o in outcomes)
    assert not [o for o in outcomes if o.startswith("CRASH")], outcomes
    assert counts["ok"] == 3, outcomes
    assert all(o == "ok" or "is free right now" in o for o in outcomes)
    db.session.rollback()  # a new transaction: MariaDB's REPEATABLE READ would show the old snapshot
    book = db.session.get(Book, book_id)
    assert (book.copies_available, book.copies_total) == (0, 3)
    assert db.session.scalar(select(func.count()).select_from(Loan)) == 3


def test_twenty_checkouts_three_in_stock(app, readers):
    book_id = make_book("Dune", stock=3).id
    for user_id in readers:
        shop.add_to_cart(user_id, book_id, 1)
    outcomes = _run_together(app, lambda user_id: shop.checkout(user_id, f"token-{user_id}"), readers)
    assert not [o for o in outcomes if o.startswith("CRASH")], outcomes
    assert outcomes.count("ok") == 3, outcomes
    assert all(o == "ok" or "Not enough stock for “Dune”" in o for o in outcomes)
    db.session.rollback()  # a new transaction: MariaDB's REPEATABLE READ would show the old snapshot
    assert db.session.scalar(select(Book.stock).where(Book.id == book_id)) == 0
    assert db.session.scalar(select(func.count()).select_from(Order)) == 3
    assert db.session.scalar(select(func.sum(OrderItem.quantity))) == 3
    # The 17 who got nothing still have their cart line; the 3 buyers' carts are empty.
    assert db.session.scalar(select(func.count()).select_from(CartItem)) == READERS - 3


def test_double_submitted_checkout_makes_one_order(app, reader):
    book_id, reader_id = make_book("Dune", stock=5).id, reader.id
    shop.add_to_cart(reader_id, book_id, 2)
    outcomes = _run_together(app, lambda _: shop.checkout(reader_id, "same-token-0123456789"), list(range(5)))
    assert not [o for o in outcomes if o.startswith("CRASH")], outcomes
    db.session.rollback()  # a new transaction: MariaDB's REPEATABLE READ would show the old snapshot
    assert db.session.scalar(select(func.count()).select_from(Order)) == 1
    assert db.session.scalar(select(Book.stock).where(Book.id == book_id)) == 3


def test_twenty_log_ins_at_once_all_get_an_answer(app, readers):
    """Log-ins insert login sessions and failure counts while deleting old ones: no deadlock, no 500."""
    from datetime import timedelta

    from webapp.models import LoginSession
    from webapp.models.base import utcnow

    names = {user_id: db.session.get(User, user_id).username for user_id in readers}
    long_ago = utcnow() - timedelta(days=400)
    db.session.add_all(
        LoginSession(user_id=user_id, token_hash=f"{user_id:064d}", created_at=long_ago) for user_id in readers
    )
    db.session.commit()
    statuses: list[int] = []

    def log_in_once(user_id: int) -> None:
        password = "correct-horse-1" if user_id % 4 else "wrong-password-1"
        response = app.test_client().post("/auth/login", data={"username": names[user_id], "password": password})
        statuses.append(response.status_code)

    for _ in range(2):
        outcomes = _run_together(app, log_in_once, readers)
        assert not [o for o in outcomes if o != "ok"], outcomes
    assert sorted(set(statuses)) == [200, 302] and len(statuses) == 2 * READERS
    db.session.rollback()
    expired = select(func.count()).select_from(LoginSession).where(LoginSession.created_at == long_ago)
    assert db.session.scalar(expired) == sum(1 for user_id in readers if user_id % 4 == 0)  # never logged in
