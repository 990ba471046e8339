"""The attacks of the security review, each refused: big ids and bodies, bad dates, password guessing,
copied cookies, framing, and forms in other encodings."""

from __future__ import annotations

import io
import os

import pytest
from sqlalchemy import func, select

from tests.helpers import change_password, create_user, make_book, make_config
from webapp import create_app
from webapp.extensions import db
from webapp.models import Book, LoginFailure, Review, User
from webapp.services import accounts

BIG = str(2**64)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"/books/{BIG}"),
        ("POST", f"/books/{BIG}/borrow"),
        ("POST", f"/books/{BIG}/hold"),
        ("POST", f"/books/{BIG}/rate"),
        ("POST", f"/books/{BIG}/reviews"),
        ("POST", f"/books/{BIG}/favourite"),
        ("POST", f"/cart/add/{BIG}"),
        ("POST", f"/cart/items/{BIG}"),
        ("POST", f"/cart/items/{BIG}/remove"),
        ("GET", f"/orders/{BIG}"),
        ("POST", f"/orders/{BIG}/cancel"),
        ("POST", f"/loans/{BIG}/renew"),
        ("POST", f"/loans/{BIG}/return"),
        ("POST", f"/holds/{BIG}/cancel"),
        ("GET", f"/reviews/{BIG}/edit"),
        ("GET", f"/books/{2**63}"),
    ],
)
def test_ids_no_row_can_have_are_not_found(reader_client, method, path):
    response = reader_client.open(path, method=method, data={"rating": "5", "body": "x", "quantity": "1"})
    assert response.status_code == 404
    assert "Athenaeum" in response.get_data(as_text=True)


def test_the_largest_database_id_is_still_looked_up(reader_client):
    assert reader_client.get(f"/books/{2**63 - 1}").status_code == 404


@pytest.mark.parametrize("query", [f"page={BIG}", f"page={2**63 - 1}", f"page_size={BIG}", "page=-1"])
def test_back_office_pages_beyond_any_list_are_not_found(staff_client, query):
    assert staff_client.get(f"/admin/book/?{query}").status_code == 404


def test_back_office_actions_refuse_impossible_row_ids_and_change_nothing(staff_client):
    book = make_book()
    response = staff_client.post("/admin/book/action/", data={"action": "delete", "rowid": [str(book.id), BIG]})
    assert response.status_code == 400
    assert db.session.get(Book, book.id) is not None


def test_back_office_details_of_an_impossible_id_say_it_does_not_exist(staff_client):
    response = staff_client.get(f"/admin/book/details/?id={BIG}", follow_redirects=True)
    assert response.status_code == 200
    assert "Record does not exist" in response.get_data(as_text=True)


def test_an_oversized_review_gets_the_sites_413_page_and_nothing_is_stored(reader_client):
    book = make_book()
    response = reader_client.post(f"/books/{book.id}/reviews", data={"body": "x" * (7 * 1024 * 1024)})
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "Log out" in page and "Request Entity Too Large" in page
    assert db.session.scalar(select(func.count()).select_from(Review)) == 0


def test_an_oversized_import_gets_413_and_a_large_one_the_imports_own_message(staff_client):
    huge = {"file": (io.BytesIO(b"title,authors\n" + b"x" * (20 * 1024 * 1024)), "books.csv")}
    assert staff_client.post("/admin/book_import/", data=huge).status_code == 413
    large = {"file": (io.BytesIO(b"title,authors\n" + b"x" * (5 * 1024 * 1024 + 10)), "books.csv")}
    response = staff_client.post("/admin/book_import/", data=large)
    assert "The file is larger than 5 MB." in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("from=9999-12-30&to=9999-12-31", "'to' must lie between"),
        ("to=0001-01-01", "'to' must lie between"),
        ("from=0001-01-01&to=2026-01-02", "'from' must lie between"),
        ("from=1899-12-31", "'from' must lie between"),
    ],
)
@pytest.mark.parametrize("chart", ["loans", "sales", "new-readers", "top-loans", "categories", "recommender"])
def test_dashboard_dates_out_of_range_are_a_400_with_the_reason(staff_client, chart, query, reason):
    response = staff_client.get(f"/dashboard/api/{chart}?{query}")
    assert response.status_code == 400
    assert reason in response.get_json()["message"]


# --- Password guessing -------------------------------------------------------------------


def _log_in(client, username: str, password: str, address: str = "192.0.2.1"):
    return client.post(
        "/auth/login", data={"username": username, "password": password}, environ_base={"REMOTE_ADDR": address}
    )


def test_failures_are_shared_by_every_worker(app, reader, database_url):
    """Two apps on one database (two gunicorn workers, or two servers) see the same count."""
    other_worker = create_app(make_config(database_url))
    for _ in range(3):
        assert _log_in(app.test_client(), "alice", "wrong-password-1").status_code == 200
    with other_worker.app_context():
        for _ in range(2):
            assert _log_in(other_worker.test_client(), "alice", "wrong-password-1").status_code == 200
        assert _log_in(other_worker.test_client(), "alice", "correct-horse-1").status_code == 429
    assert _log_in(app.test_client(), "alice", "correct-horse-1").status_code == 429


def test_a_locked_account_does_not_lock_out_others_behind_the_same_address(client, reader):
    create_user("bob")
    for _ in range(5):
        _log_in(client, "alice", "wrong-password-1")
    assert _log_in(client, "alice", "correct-horse-1").status_code == 429
    assert _log_in(client, "bob", "correct-horse-1").status_code == 302


def test_an_account_guessed_from_many_addresses_is_locked(client, reader):
    for number in range(20):
        _log_in(client, "alice", "wrong-password-1", address=f"198.51.100.{number}")
    assert _log_in(client, "alice", "correct-horse-1", address="203.0.113.9").status_code == 429


def test_an_address_guessing_many_accounts_is_locked(client, reader):
    for number in range(50):
        _log_in(client, f"nobody{number}", "wrong-password-1")
    assert _log_in(client, "alice", "correct-horse-1").status_code == 429
    assert _log_in(client, "alice", "correct-horse-1", address="192.0.2.200").status_code == 302


def test_a_successful_login_resets_the_count(client, reader):
    for _ in range(2):
        for _ in range(4):
            assert _log_in(client, "alice", "wrong-password-1").status_code == 200
        assert _log_in(client, "alice", "correct-horse-1").status_code == 302
        client.post("/auth/logout")
    assert db.session.scalar(select(func.count()).select_from(LoginFailure).where(LoginFailure.key.like("pair:%"))) == 0


def test_every_kind_of_account_costs_one_password_hash(app, monkeypatch):
    """Unknown, imported and deactivated accounts take as long as real ones: timing tells nothing."""
    create_user("alice")
    gone = create_user("gone")
    gone.active = False
    db.session.add(User(username="imported", email="imported@example.org", source_user_id=7))
    db.session.commit()
    calls = []
    real_check = accounts.check_password_hash
    monkeypatch.setattr(accounts, "check_password_hash", lambda *a: calls.append(1) or real_check(*a))
    from webapp.models import users

    monkeypatch.setattr(users, "check_password_hash", lambda *a: calls.append(1) or real_check(*a))
    with app.test_request_context():
        for username in ("alice", "nobody", "imported", "gone"):
            calls.clear()
            assert accounts.authenticate(username, "wrong-password-1", "192.0.2.1") is None
            assert len(calls) == 1, username


def test_with_redis_the_counts_live_in_redis(database_url, redis_url, app, reader):
    first = create_app(make_config(database_url, REDIS_URL=redis_url))
    second = create_app(make_config(database_url, REDIS_URL=redis_url))
    with first.app_context():
        for _ in range(4):
            assert _log_in(first.test_client(), "alice", "wrong-password-1").status_code == 200
    with second.app_context():
        assert _log_in(second.test_client(), "alice", "wrong-password-1").status_code == 200
        assert _log_in(second.test_client(), "alice", "correct-horse-1").status_code == 429
    assert db.session.scalar(select(func.count()).select_from(LoginFailure)) == 0


# --- Sessions that end ---------------------------------------------------------------------


def _copy_cookies(source, target, names=("session", "remember_token")) -> None:
    for name in names:
        cookie = source.get_cookie(name)
        if cookie is not None:
            target.set_cookie(name, cookie.value)


def _is_logged_in(client) -> bool:
    return client.get("/profile/").status_code == 200


def test_a_session_copied_before_logout_stops_working(app, reader):
    browser, thief = app.test_client(), app.test_client()
    _log_in(browser, "alice", "correct-horse-1")
    _copy_cookies(browser, thief)
    assert _is_logged_in(thief)
    browser.post("/auth/logout")
    assert not _is_logged_in(thief)


def test_a_remember_me_cookie_copied_before_a_password_change_stops_working(app, reader):
    browser, thief = app.test_client(), app.test_client()
    browser.post("/auth/login", data={"username": "alice", "password": "correct-horse-1", "remember_me": "y"})
    _copy_cookies(browser, thief, names=("remember_token",))
    assert _is_logged_in(thief)
    thief.delete_cookie("session")
    response = change_password(browser, "correct-horse-1", "battery-staple-2")
    assert response.status_code == 302
    assert _is_logged_in(browser)
    assert not _is_logged_in(thief)


def test_log_out_everywhere_ends_every_other_session(app, reader):
    laptop, phone = app.test_client(), app.test_client()
    _log_in(laptop, "alice", "correct-horse-1")
    _log_in(phone, "alice", "correct-horse-1")
    assert _is_logged_in(phone)
    assert laptop.post("/profile/sessions/end").status_code == 302
    assert _is_logged_in(laptop)
    assert not _is_logged_in(phone)


def test_a_deactivated_reader_is_logged_out_at_once(app, reader):
    browser = app.test_client()
    _log_in(browser, "alice", "correct-horse-1")
    reader.active = False
    db.session.commit()
    assert not _is_logged_in(browser)


# --- Headers and encodings -------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/books", "/auth/login"])
def test_pages_send_the_security_headers(client, path):
    headers = client.get(path).headers
    policy = headers["Content-Security-Policy"]
    script_src = next(part for part in policy.split(";") if part.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    assert "frame-ancestors 'none'" in policy
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_staff_pages_have_no_inline_script_without_a_nonce(staff_client):
    import re

    make_book()
    for path in ("/admin/", "/admin/book/", "/admin/book/new/", "/dashboard"):
        response = staff_client.get(path)
        policy = response.headers["Content-Security-Policy"]
        nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
        for tag in re.findall(r"<script\b[^>]*>", response.get_data(as_text=True)):
            assert "src=" in tag or f'nonce="{nonce}"' in tag, (path, tag)


def test_production_sends_hsts_and_secure_cookies(database_url):
    app = create_app(make_config(database_url, PRODUCTION=True))
    with app.app_context():
        response = app.test_client().get("/auth/login", base_url="https://localhost")
    assert "max-age" in response.headers["Strict-Transport-Security"]
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]


def test_a_form_that_is_not_utf8_gets_an_honest_400(database_url):
    app = create_app(make_config(database_url, WTF_CSRF_ENABLED=True))
    with app.app_context():
        response = app.test_client().post(
            "/auth/login", data=b"username=%FF%FE&password=x", content_type="application/x-www-form-urlencoded"
        )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "not sent as UTF-8" in page and "Form expired" not in page


def test_utf8_forms_still_work(reader_client):
    book = make_book()
    response = reader_client.post(f"/books/{book.id}/reviews", data={"body": "Épique — 香料"})
    assert response.status_code == 302
    assert db.session.scalar(select(Review.body)) == "Épique — 香料"


def test_the_secret_key_file_is_private(tmp_path):
    from webapp.security import load_or_create_secret_key

    load_or_create_secret_key(str(tmp_path / "key"))
    assert os.stat(tmp_path / "key").st_mode & 0o077 == 0


def test_the_allowed_inline_snippets_are_exactly_flask_admins_two():
    import base64
    import hashlib

    from webapp.security import ADMIN_INLINE_HASHES

    def digest(snippet: str) -> str:
        return "'sha256-" + base64.b64encode(hashlib.sha256(snippet.encode()).digest()).decode() + "'"

    assert ["'unsafe-hashes'", digest("javascript:void(0)"), digest("return false;")] == ADMIN_INLINE_HASHES


@pytest.mark.parametrize("url", ["%0A", "/admin/book/%0D%0ASet-Cookie:x=1", "%7F"])
def test_back_office_return_addresses_with_control_characters_are_refused(staff_client, url):
    book = make_book()
    response = staff_client.post(f"/admin/book/delete/?url={url}", data={"id": str(book.id)})
    assert response.status_code == 400
    assert db.session.get(Book, book.id) is not None
