"""Lists, search, categories, hot books and the book page with its actions."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.helpers import create_user, log_in, make_book
from webapp.extensions import db
from webapp.models import Book, BookView, Favourite, Loan, Rating, Review
from webapp.models.base import utcnow
from webapp.services.catalogue import paginate


@pytest.fixture()
def books(app):
    return {
        "dune": make_book("Dune", "Frank Herbert", isbn13="9780441172719", ratings_count=500),
        "messiah": make_book("Dune Messiah", "Frank Herbert", ratings_count=200, publication_year=1969),
        "emma": make_book(
            "Emma", "Jane Austen", category="Classics", ratings_count=300, publication_year=1815, average_rating=3.9
        ),
        "norwegian": make_book("ノルウェイの森", "村上 春樹", category="Literary Fiction", ratings_count=50),
        "odd": make_book("Ready Player One: A Novel", "Ernest Cline", ratings_count=10, publication_year=2011),
    }


def _titles(response) -> list[str]:
    import re

    return re.findall(r"stretched-link[^>]*>([^<]+)<", response.get_data(as_text=True))


def test_book_list_sorts(client, books):
    assert _titles(client.get("/books"))[:3] == ["Dune", "Emma", "Dune Messiah"]
    assert _titles(client.get("/books?sort=title"))[0] == "Dune"
    assert _titles(client.get("/books?sort=newest"))[0] == "Ready Player One: A Novel"
    assert _titles(client.get("/books?sort=rating"))[0] == "Dune"


def test_pagination(app, client, books):
    app.config["BOOKS_PER_PAGE"] = 2
    try:
        assert len(_titles(client.get("/books?page=1"))) == 2
        assert len(_titles(client.get("/books?page=3"))) == 1
        assert _titles(client.get("/books?page=99")) == []
        assert client.get("/books?page=-4").status_code == 200
    finally:
        app.config["BOOKS_PER_PAGE"] = 24


@pytest.mark.parametrize(
    "page, shown, total, pages",
    [(1, 2, 5, 3), (2, 2, 5, 3), (3, 1, 5, 3), (4, 0, 5, 3), (-4, 2, 5, 3)],
)
def test_a_page_knows_the_total_whether_or_not_it_counted(app, books, page, shown, total, pages):
    pagination = paginate(select(Book).order_by(Book.id), page, per_page=2)
    assert (len(pagination.items), pagination.total, pagination.pages) == (shown, total, pages)


@pytest.mark.parametrize(
    "query, expected_first",
    [
        ("dune", "Dune"),
        ("  DUNE  ", "Dune"),
        ("dune messiah", "Dune Messiah"),
        ("herbert", "Dune"),
        ("ready player one a novel", "Ready Player One: A Novel"),
        ("ready-player-one!!", "Ready Player One: A Novel"),
        ("9780441172719", "Dune"),
        ("978-0-441-17271-9", "Dune"),
        ("村上", "ノルウェイの森"),
    ],
)
def test_search_is_tolerant_and_puts_exact_titles_first(client, books, query, expected_first):
    titles = _titles(client.get("/books", query_string={"q": query}))
    assert titles and titles[0] == expected_first


@pytest.mark.parametrize(
    "query",
    [
        "",
        "'; DROP TABLE books; --",
        "<script>alert(1)</script>",
        "%",
        "_%_",
        "x" * 2000,
        "\\",
        "\x00",
    ],
)
def test_search_survives_hostile_input(client, books, query):
    response = client.get("/books", query_string={"q": query})
    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Rating)) == 0  # and the tables are still there


def test_category_page(client, books):
    response = client.get("/categories/classics")
    assert response.status_code == 200
    assert _titles(response) == ["Emma"]
    assert client.get("/categories/no-such-thing").status_code == 404


def test_book_page_shows_everything_and_counts_a_view(client, books):
    book = books["dune"]
    reader = create_user("bob")
    db.session.add_all(
        [
            Rating(user_id=reader.id, book_id=book.id, rating=4),
            Review(user_id=reader.id, book_id=book.id, body="<b>Spice</b> must flow"),
        ]
    )
    db.session.commit()
    page = client.get(f"/books/{book.id}").get_data(as_text=True)
    assert "Frank Herbert" in page and "ISBN 9780441172719" in page
    assert "3 of 3 copies free to borrow" in page
    assert "★ 4.00 from 1 rating" in page
    assert "&lt;b&gt;Spice&lt;/b&gt; must flow" in page
    assert "Log in to rate, review, borrow or buy" in page
    assert db.session.scalar(select(func.count()).select_from(BookView)) == 1


def test_missing_book_is_404(client):
    assert client.get("/books/424242").status_code == 404


def test_rate_and_change_rating(reader_client, reader, books):
    book = books["dune"]
    response = reader_client.post(f"/books/{book.id}/rate", data={"stars": "5"}, follow_redirects=True)
    assert "You rated this book 5★." in response.get_data(as_text=True)
    reader_client.post(f"/books/{book.id}/rate", data={"stars": "2"})
    assert db.session.scalars(select(Rating.rating)).all() == [2]


@pytest.mark.parametrize("stars", ["0", "9", "-3", "abc", ""])
def test_bad_ratings_are_refused(reader_client, books, stars):
    response = reader_client.post(f"/books/{books['dune'].id}/rate", data={"stars": stars}, follow_redirects=True)
    text = response.get_data(as_text=True)
    assert "1 to 5 stars" in text or "Choose 1 to 5 stars" in text or "Not a valid integer" in text
    assert db.session.scalar(select(func.count()).select_from(Rating)) == 0


def test_actions_on_a_missing_book_are_404(reader_client):
    assert reader_client.post("/books/999/rate", data={"stars": "3"}).status_code == 404
    assert reader_client.post("/books/999/favourite").status_code == 404
    assert reader_client.post("/books/999/reviews", data={"body": "hi"}).status_code == 404


def test_favourite_toggles(reader_client, books):
    url = f"/books/{books['emma'].id}/favourite"
    assert "Added to your favourites." in reader_client.post(url, follow_redirects=True).get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Favourite)) == 1
    assert "Removed from your favourites." in reader_client.post(url, follow_redirects=True).get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Favourite)) == 0


def test_review_write_edit_delete(reader_client, books):
    book = books["dune"]
    reader_client.post(f"/books/{book.id}/reviews", data={"body": "Great <i>sand</i>."})
    review = db.session.scalar(select(Review))
    assert review.body == "Great <i>sand</i>."
    reader_client.post(f"/reviews/{review.id}/edit", data={"body": "Even better."})
    db.session.refresh(review)
    assert review.body == "Even better."
    reader_client.post(f"/reviews/{review.id}/delete")
    assert db.session.scalar(select(func.count()).select_from(Review)) == 0


@pytest.mark.parametrize("body, message", [("", "A review needs some text."), ("x" * 5001, "at most 5000")])
def test_bad_reviews_are_refused(reader_client, books, body, message):
    response = reader_client.post(f"/books/{books['dune'].id}/reviews", data={"body": body}, follow_redirects=True)
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Review)) == 0


def test_someone_elses_review_is_404(client, books):
    author = create_user("bob")
    db.session.add(Review(user_id=author.id, book_id=books["dune"].id, body="mine"))
    db.session.commit()
    review_id = db.session.scalar(select(Review.id))
    create_user("mallory")
    log_in(client, "mallory")
    assert client.get(f"/reviews/{review_id}/edit").status_code == 404
    assert client.post(f"/reviews/{review_id}/edit", data={"body": "hacked"}).status_code == 404
    assert client.post(f"/reviews/{review_id}/delete").status_code == 404
    assert db.session.scalar(select(Review.body)) == "mine"


def test_anonymous_action_goes_to_login_and_comes_back(client, reader, books):
    book = books["dune"]
    response = client.post(f"/books/{book.id}/rate", data={"stars": "4"})
    assert response.status_code == 302 and "/auth/login" in response.location
    assert f"next=/books/{book.id}" in response.location.replace("%2F", "/")
    back = client.post(
        "/auth/login", data={"username": "alice", "password": "correct-horse-1", "next": f"/books/{book.id}"}
    )
    assert back.location == f"/books/{book.id}"


def test_hot_books_follow_recent_activity(client, books):
    reader = create_user("bob")
    now = utcnow()
    # Emma: two loans today; Dune: many ratings long ago (outside the 30-day window).
    db.session.add_all(
        [
            Loan(
                user_id=reader.id,
                book_id=books["emma"].id,
                borrowed_at=now - timedelta(hours=1),
                due_at=now + timedelta(days=30),
                returned_at=now,
            ),
            Loan(
                user_id=reader.id,
                book_id=books["emma"].id,
                borrowed_at=now - timedelta(hours=2),
                due_at=now + timedelta(days=30),
                returned_at=now,
            ),
            Rating(
                user_id=reader.id,
                book_id=books["dune"].id,
                rating=5,
                created_at=now - timedelta(days=60),
                updated_at=now - timedelta(days=60),
            ),
            BookView(book_id=books["odd"].id, viewed_at=now - timedelta(days=14)),
        ]
    )
    db.session.commit()
    from webapp.services.catalogue import hot_scores

    scores = dict(hot_scores())
    assert scores[books["emma"].id] == pytest.approx(6.0, rel=0.11)  # 2 loans x 3, less than a day old
    assert books["dune"].id not in scores
    assert scores[books["odd"].id] == pytest.approx(0.5 * 0.25)  # two half-lives old
    page = client.get("/hot").get_data(as_text=True)
    assert page.index("Emma") < page.index("Ready Player One")
    assert "loses half its weight" in page
