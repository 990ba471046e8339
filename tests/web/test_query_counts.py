"""No N+1 queries: each main page runs a small, fixed number of SQL statements."""

import pytest
from sqlalchemy import event, func

from tests.helpers import clear_all_tables, create_user, log_in, make_book
from webapp.extensions import cache, db
from webapp.models import Book, CartItem, Favourite, Rating, Review


class StatementCounter:
    """Counts the SQL statements an engine runs inside the ``with`` block."""

    def __init__(self, engine):
        self.engine = engine
        self.count = 0

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._count)

    def _count(self, *args):
        self.count += 1


def _fill(n_books: int) -> None:
    reader = create_user("bob")
    for i in range(n_books):
        book = make_book(f"Book {i}", f"Author {i}", category=f"Category {i % 3}")
        db.session.add_all(
            [
                Rating(user_id=reader.id, book_id=book.id, rating=1 + i % 5),
                Review(user_id=reader.id, book_id=book.id, body=f"review {i}"),
                Favourite(user_id=reader.id, book_id=book.id),
                CartItem(user_id=reader.id, book_id=book.id, quantity=1),
            ]
        )
    db.session.commit()


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/books",
        "/books?q=book",
        "/categories/category-1",
        "/hot",
        "/books/{book_id}",
        "/profile/",
        "/cart",
    ],
)
def test_statement_count_does_not_grow_with_the_data(app, monkeypatch, url):
    monkeypatch.setitem(app.config, "BOOKS_PER_PAGE", 2)  # full pages (which count their rows) at both sizes
    counts = []
    for n_books in (6, 60):
        with app.app_context():  # a fresh context: its own session and g, like a real request
            clear_all_tables()
            cache.clear()
            _fill(n_books)
            first_book = db.session.scalar(db.select(func.min(Book.id)))
        client = app.test_client()
        with app.app_context():
            log_in(client, "bob")
        with app.app_context(), StatementCounter(db.engine) as counter:
            assert client.get(url.format(book_id=first_book)).status_code == 200
        counts.append(counter.count)
    assert counts[1] <= counts[0], counts  # ten times the rows, no more statements
    assert counts[1] <= 25, counts
