"""No N+1 queries: each main page runs a small, fixed number of SQL statements."""

import pytest
from sqlalchemy import event

from tests.conftest import create_user, log_in, make_book
from webapp.extensions import db
from webapp.models import Favourite, Rating, Review


class StatementCounter:
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
            ]
        )
    db.session.commit()


@pytest.mark.parametrize(
    "url", ["/", "/books", "/books?q=book", "/categories/category-1", "/hot", "/books/1", "/profile/"]
)
def test_statement_count_does_not_grow_with_the_data(client, url):
    counts = []
    for n_books in (3, 30):
        db.session.rollback()
        from tests.conftest import clear_all_tables
        from webapp.services.catalogue import clear_hot_cache

        clear_all_tables()
        clear_hot_cache()
        _fill(n_books)
        log_in(client, "bob")
        with StatementCounter(db.engine) as counter:
            assert client.get(url).status_code == 200
        counts.append(counter.count)
    assert counts[1] <= counts[0], counts  # ten times the rows, no more statements
    assert counts[1] <= 25, counts
