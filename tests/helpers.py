"""Helpers the tests share: configs, users, books, logging in. Import them from here, not from conftest."""

from __future__ import annotations

import os

from sqlalchemy import delete

from webapp.config import TestConfig
from webapp.extensions import db
from webapp.models import User

SHARED_DATA_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data")


def make_config(database_url: str, **overrides) -> type[TestConfig]:
    """A TestConfig subclass bound to ``database_url`` (and to TEST_REDIS_URL's Redis when that is set)."""
    shared = {"REDIS_URL": os.environ["TEST_REDIS_URL"]} if os.environ.get("TEST_REDIS_URL") else {}
    return type("BoundTestConfig", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": database_url, **shared, **overrides})


def clear_all_tables() -> None:
    """Delete every row, children first, leaving the schema in place."""
    db.session.rollback()
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(delete(table))
    db.session.commit()


def create_user(username: str = "alice", password: str = "correct-horse-1", role: str = "reader") -> User:
    """A reader (or admin) who can log in."""
    user = User(username=username, email=f"{username}@example.org", role=role)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    return user


def log_in(client, username: str = "alice", password: str = "correct-horse-1"):
    """Log ``client`` in through the login form."""
    response = client.post("/auth/login", data={"username": username, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response


def change_password(client, current: str, new: str):
    """Change the logged-in reader's password through the personal centre's form."""
    return client.post(
        "/profile/password", data={"current_password": current, "new_password": new, "new_password2": new}
    )


def make_book(title: str = "Dune", authors: str = "Frank Herbert", category: str = "Science Fiction", **values):
    """A book in ``category`` (created when missing)."""
    from decimal import Decimal

    from webapp.models import Book, Category
    from webapp.services.genres import slugify

    found = db.session.scalar(db.select(Category).where(Category.name == category))
    if found is None:
        found = Category(name=category, slug=slugify(category))
    defaults = {
        "price": Decimal("9.99"),
        "copies_total": 3,
        "copies_available": 3,
        "stock": 3,
        "publication_year": 1965,
        "average_rating": 4.2,
        "ratings_count": 100,
    }
    book = Book(title=title, authors=authors, category=found, **{**defaults, **values})
    db.session.add(book)
    db.session.commit()
    return book


def fill_login(page, username: str = "alice", password: str = "correct-horse-1") -> None:
    """Fill in and send the login form the page is showing."""
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def fill_registration(page, username: str, email: str, password: str) -> None:
    """Fill in and send the registration form the page is showing."""
    page.get_by_label("Username").fill(username)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Repeat password").fill(password)
    page.get_by_role("button", name="Create account").click()
