"""flask backup: a consistent copy of the SQLite database, restorable, taken while the site writes."""

from __future__ import annotations

import sqlite3
import threading
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from tests.helpers import make_book, make_config
from webapp import create_app
from webapp.extensions import db
from webapp.models import Loan, Order, OrderItem
from webapp.models.base import utcnow
from webapp.models.shop import ORDER_PAID
from webapp.services import circulation


@pytest.fixture()
def sqlite_only(app):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("flask backup copies SQLite files; MariaDB is backed up with mariadb-dump (README)")


def _counts() -> tuple[int, int, int]:
    return (
        db.session.scalar(select(func.count()).select_from(Loan)),
        db.session.scalar(select(func.count()).select_from(Order)),
        db.session.scalar(select(func.count()).select_from(OrderItem)),
    )


def test_a_backup_restores_every_loan_and_order(app, runner, reader, sqlite_only, tmp_path):
    books = [make_book(f"Book {n}") for n in range(3)]
    for book in books:
        circulation.borrow(reader.id, book.id)
        order = Order(user_id=reader.id, status=ORDER_PAID, total=Decimal("9.99"), paid_at=utcnow())
        order.items.append(OrderItem(book_id=book.id, quantity=1, unit_price=Decimal("9.99")))
        db.session.add(order)
    db.session.commit()
    expected = _counts()

    target = tmp_path / "backup.sqlite"
    result = runner.invoke(args=["backup", str(target)])
    assert result.exit_code == 0, result.output
    assert "Backed up the database" in result.output

    restored = create_app(make_config(f"sqlite:///{target}"))
    with restored.app_context():
        assert _counts() == expected == (3, 3, 3)
        titles = {loan.book.title for loan in db.session.scalars(select(Loan))}
        assert titles == {"Book 0", "Book 1", "Book 2"}


def test_a_backup_taken_during_writes_is_consistent(app, runner, reader, sqlite_only, tmp_path):
    book = make_book(copies_total=500, copies_available=500)
    writer_app = create_app(make_config(app.config["SQLALCHEMY_DATABASE_URI"]))
    stop = threading.Event()
    errors: list[BaseException] = []

    def keep_writing() -> None:
        try:
            with writer_app.app_context():
                while not stop.is_set():
                    db.session.add(Order(user_id=reader.id, status=ORDER_PAID, total=Decimal("1"), paid_at=utcnow()))
                    db.session.commit()
        except BaseException as error:  # noqa: BLE001 (reported by the test)
            errors.append(error)

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        for number in range(3):
            result = runner.invoke(args=["backup", str(tmp_path / f"copy{number}.sqlite")])
            assert result.exit_code == 0, result.output
    finally:
        stop.set()
        writer.join(30)
    assert not writer.is_alive() and errors == []
    for number in range(3):
        copy = sqlite3.connect(tmp_path / f"copy{number}.sqlite")
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert copy.execute("SELECT copies_available FROM books WHERE id = ?", (book.id,)).fetchone() == (500,)
        copy.close()


def test_backup_refuses_a_folder(app, runner, sqlite_only, tmp_path):
    result = runner.invoke(args=["backup", str(tmp_path)])
    assert result.exit_code != 0
