"""The personal centre shows only the reader's own data."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.helpers import change_password, create_user, log_in, make_book
from webapp.extensions import db
from webapp.models import Favourite, Loan, Rating, User
from webapp.models.base import utcnow
from webapp.services import profile


def test_profile_needs_login(client):
    response = client.get("/profile/")
    assert response.status_code == 302 and "/auth/login" in response.location


def test_profile_shows_own_records_and_highlights_overdue(reader_client, reader):
    book, other_book = make_book("Dune"), make_book("Emma", category="Classics")
    someone = create_user("bob")
    now = utcnow()
    db.session.add_all(
        [
            Loan(
                user_id=reader.id,
                book_id=book.id,
                borrowed_at=now - timedelta(days=40),
                due_at=now - timedelta(days=10),
            ),
            Rating(user_id=reader.id, book_id=book.id, rating=5),
            Favourite(user_id=reader.id, book_id=book.id),
            Rating(user_id=someone.id, book_id=other_book.id, rating=1),
        ]
    )
    db.session.commit()
    page = reader_client.get("/profile/").get_data(as_text=True)
    assert "(overdue 10 days, fine $2.50)" in page and "list-group-item-danger" in page
    ratings = reader_client.get("/profile/?tab=ratings").get_data(as_text=True)
    assert "Dune</a> · 5★" in ratings
    assert "Emma</a> · 1★" not in ratings
    favourites = reader_client.get("/profile/?tab=favourites").get_data(as_text=True)
    assert "Dune</a>" in favourites and "Emma" not in favourites


def test_histories_show_the_newest_first_up_to_the_limit_and_every_current_loan(app, reader):
    now = utcnow()
    books = [make_book(f"Book {n}") for n in range(4)]
    for n, book in enumerate(books):
        db.session.add_all(
            [
                Loan(
                    user_id=reader.id,
                    book_id=book.id,
                    borrowed_at=now - timedelta(days=30 + n),
                    due_at=now + timedelta(days=n + 1),
                ),
                Loan(
                    user_id=reader.id,
                    book_id=book.id,
                    borrowed_at=now - timedelta(days=90),
                    due_at=now - timedelta(days=60),
                    returned_at=now - timedelta(days=60 + n),
                ),
                Rating(user_id=reader.id, book_id=book.id, rating=4, updated_at=now - timedelta(days=n)),
            ]
        )
    db.session.commit()
    loans = profile.personal_centre(reader.id, "loans", history_limit=2)
    assert [loan.book.title for loan in loans.current_loans] == ["Book 0", "Book 1", "Book 2", "Book 3"]
    assert [loan.book.title for loan in loans.past_loans] == ["Book 0", "Book 1"] and loans.overdue == {}
    ratings = profile.personal_centre(reader.id, "ratings", history_limit=3).ratings
    assert [rating.book.title for rating in ratings] == ["Book 0", "Book 1", "Book 2"]


@pytest.mark.parametrize("tab", ["loans", "holds", "orders", "ratings", "reviews", "favourites", "recs", "account"])
def test_each_tab_of_the_personal_centre_is_its_own_page(reader_client, tab):
    page = reader_client.get(f"/profile/?tab={tab}").get_data(as_text=True)
    assert f'id="pane-{tab}"' in page
    assert page.count('aria-current="page"') == 1 and f'href="/profile/?tab={tab}" aria-current="page"' in page


@pytest.mark.parametrize("tab", ["", "nope", "loans%00", "../admin", "x" * 300])
def test_an_unknown_tab_is_not_found(reader_client, tab):
    assert reader_client.get(f"/profile/?tab={tab}").status_code == 404


def test_a_rejected_email_change_shows_the_account_tab_with_its_error(reader_client):
    response = reader_client.post("/profile/email", data={"email": "not-an-address"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and 'id="pane-account"' in page and "is-invalid" in page


def test_change_email_and_password(reader_client, reader):
    response = reader_client.post("/profile/email", data={"email": "new@example.org"})
    assert response.status_code == 302
    response = change_password(reader_client, "correct-horse-1", "battery-staple-2")
    assert response.status_code == 302
    user = db.session.get(User, reader.id)
    db.session.refresh(user)
    assert user.email == "new@example.org" and user.check_password("battery-staple-2")


def test_password_change_needs_the_current_password(reader_client, reader):
    response = reader_client.post(
        "/profile/password",
        data={
            "current_password": "wrong-one-1",
            "new_password": "battery-staple-2",
            "new_password2": "battery-staple-2",
        },
    )
    assert response.status_code == 400
    assert "Your current password is not correct." in response.get_data(as_text=True)
    assert db.session.get(User, reader.id).check_password("correct-horse-1")


def test_email_taken_by_someone_else_is_refused(reader_client, reader):
    create_user("bob")
    response = reader_client.post("/profile/email", data={"email": "bob@example.org"})
    assert response.status_code == 400
    assert "already exists" in response.get_data(as_text=True)
    assert db.session.scalar(select(User.email).where(User.id == reader.id)) == "alice@example.org"


def test_recommendation_json_endpoint(client, reader):
    make_book("Dune")
    assert client.get("/api/recommendations").status_code == 401
    log_in(client)
    data = client.get("/api/recommendations").get_json()
    assert data["user_id"] == reader.id
    assert data["recommendations"][0]["title"] == "Dune"
    assert data["recommendations"][0]["reason"].startswith("Popular")
