"""Registering, logging in and out, and the rules around them."""

import re

import pytest
from sqlalchemy import select

from tests.helpers import create_user, log_in
from webapp.extensions import db
from webapp.models import User


def _register(client, **overrides):
    data = {"username": "bob", "email": "bob@example.org", "password": "s3cret-enough", "password2": "s3cret-enough"}
    return client.post("/auth/register", data={**data, **overrides})


def test_register_creates_a_reader_and_logs_in(client):
    response = _register(client)
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.username == "bob"))
    assert user.role == "reader" and user.password_hash.startswith(("scrypt:", "pbkdf2:"))
    assert "Welcome, bob" in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"username": "alice"}, "That username is taken."),
        ({"email": "ALICE@example.org"}, "An account with that email already exists."),
        ({"password": "short1", "password2": "short1"}, "Use at least 10 characters."),
        ({"password": "onlyletterslong", "password2": "onlyletterslong"}, "Mix letters with digits or symbols."),
        ({"password2": "something-else1"}, "The passwords do not match."),
        ({"email": "not-an-email"}, "Invalid email address."),
        ({"username": "a b<script>"}, "Use letters, digits"),
    ],
)
def test_register_explains_bad_fields(client, reader, overrides, message):
    response = _register(client, **overrides)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.username == "bob")) is None


def test_login_and_logout(client, reader):
    response = log_in(client)
    assert response.location == "/"
    assert "My account" in client.get("/").get_data(as_text=True)
    client.post("/auth/logout")
    assert "Log in" in client.get("/").get_data(as_text=True)


def test_logout_needs_post(client, reader):
    log_in(client)
    assert client.get("/auth/logout").status_code == 405


@pytest.mark.parametrize("username, password", [("alice", "wrong-password-1"), ("nobody", "correct-horse-1")])
def test_same_message_for_unknown_user_and_wrong_password(client, reader, username, password):
    response = client.post("/auth/login", data={"username": username, "password": password})
    assert response.status_code == 200
    assert "Wrong username or password." in response.get_data(as_text=True)


def test_imported_and_deactivated_accounts_cannot_log_in(client):
    db.session.add(User(username="reader8", email="r8@goodreads.invalid", source_user_id=8))
    user = create_user("carol")
    user.active = False
    db.session.commit()
    for username, password in (("reader8", ""), ("reader8", "anything-1"), ("carol", "correct-horse-1")):
        response = client.post("/auth/login", data={"username": username, "password": password})
        assert response.status_code == 200


@pytest.mark.parametrize(
    "target, expected",
    [
        ("/books/1", "/books/1"),
        ("/profile/?tab=loans", "/profile/?tab=loans"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
    ],
)
def test_next_only_redirects_inside_the_site(client, reader, target, expected):
    response = client.post("/auth/login", data={"username": "alice", "password": "correct-horse-1", "next": target})
    assert response.location == expected


def test_repeated_failed_logins_are_refused_for_a_while(client, reader):
    for _ in range(5):
        assert client.post("/auth/login", data={"username": "alice", "password": "nope-nope-1"}).status_code == 200
    response = client.post("/auth/login", data={"username": "alice", "password": "correct-horse-1"})
    assert response.status_code == 429
    assert "Too many failed logins" in response.get_data(as_text=True)


def test_successful_logins_do_not_count_against_the_limit(client, reader):
    for _ in range(8):
        assert log_in(client).status_code == 302
        client.post("/auth/logout")


def test_session_cookie_flags(client, reader):
    response = client.post("/auth/login", data={"username": "alice", "password": "correct-horse-1", "remember_me": "y"})
    cookies = response.headers.getlist("Set-Cookie")
    session_cookie = next(c for c in cookies if c.startswith("session="))
    assert "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie
    assert any(c.startswith("remember_token=") for c in cookies)


def test_forms_need_a_csrf_token(database_url):
    from tests.helpers import make_config
    from webapp import create_app

    app = create_app(make_config(database_url, WTF_CSRF_ENABLED=True))
    response = app.test_client().post("/auth/login", data={"username": "alice", "password": "x"})
    assert response.status_code == 400
    assert "Form expired" in response.get_data(as_text=True)


def _account_link(html: str) -> str:
    """The text of the header's link to the personal centre."""
    link = re.search(r'<a class="nav-link account-link.*?</a>', html, re.S).group(0)
    return " ".join(re.sub(r"<[^>]+>", " ", link).split())


def test_the_header_names_the_reader_and_marks_staff(client, reader, admin_user):
    log_in(client)
    page = client.get("/").get_data(as_text=True)
    assert _account_link(page) == "alice · My account"
    assert 'href="/profile/"' in re.search(r'<a class="nav-link account-link[^>]*>', page).group(0)
    client.post("/auth/logout")
    log_in(client, "staff")
    assert _account_link(client.get("/books").get_data(as_text=True)) == "staff Staff · My account"
    client.post("/auth/logout")
    assert "account-link" not in client.get("/").get_data(as_text=True)
