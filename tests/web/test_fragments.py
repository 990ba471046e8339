"""Logged-in pages share what is the same for every reader, and never show a reader stale or foreign state."""

import re

import pytest
from sqlalchemy import event

from tests.helpers import create_user, log_in, make_book
from webapp.extensions import cache, db
from webapp.fragments import CSRF_PLACEHOLDER
from webapp.services import book_views

TOKEN = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')


@pytest.fixture()
def sharing(app, monkeypatch):
    """Shared fragments (and the shared popularity ranking) on, as in production, starting from an empty cache."""
    monkeypatch.setitem(app.config, "SHARED_FRAGMENT_SECONDS", 30)
    monkeypatch.setitem(app.config, "POPULAR_RANKING_SECONDS", 300)
    monkeypatch.setitem(app.config, "VIEW_FLUSH_SECONDS", 60)  # book views written in batches
    cache.clear()
    yield app
    book_views.flush_views()
    cache.clear()


@pytest.fixture()
def shelf(sharing):
    books = [
        make_book(f"Book {n}", f"Author {n}", category="Fantasy", copies_total=2, copies_available=2) for n in range(4)
    ]
    for name in ("alice", "bob", "carol"):
        create_user(name)
    return books


def _statements(app, client, url: str) -> tuple[int, str]:
    statements = []

    def count(*_args) -> None:
        statements.append(1)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        response = client.get(url)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert response.status_code == 200
    return len(statements), response.get_data(as_text=True)


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/books",
        "/books?q=book&sort=title",
        "/categories/fantasy",
        "/books/{book}",
        "/profile/",
        "/profile/?tab=ratings",
        "/profile/?tab=recs",
        "/cart",
    ],
)
def test_a_logged_in_page_runs_at_most_six_statements(app, shelf, url):
    client = app.test_client()
    log_in(client, "alice")
    url = url.format(book=shelf[0].id)
    client.post(f"/books/{shelf[0].id}/rate", data={"stars": 5})
    client.post(f"/books/{shelf[1].id}/borrow")
    client.get(url)  # the first visit renders the shared parts
    count, _page = _statements(app, client, url)
    assert count <= 6


def test_the_holds_tab_reads_every_queue_place_at_once(app, shelf):
    """Three holds in two queues: the tab shows each place and estimate in at most six statements."""
    books = [make_book(f"Rare {n}", copies_total=1, copies_available=1) for n in range(3)]
    bob, carol = app.test_client(), app.test_client()
    log_in(bob, "bob")
    log_in(carol, "carol")
    for book in books:
        bob.post(f"/books/{book.id}/borrow")
    carol.post(f"/books/{books[0].id}/hold")  # carol queues first for Rare 0
    alice = app.test_client()
    log_in(alice, "alice")
    for book in books:
        alice.post(f"/books/{book.id}/hold")
    count, page = _statements(app, alice, "/profile/?tab=holds")
    assert count <= 6
    places = re.findall(r"(Rare \d) ·\s*number (\d) in the queue(, expected around)?", page)
    assert places == [("Rare 0", "2", ""), ("Rare 1", "1", ", expected around"), ("Rare 2", "1", ", expected around")]


def test_each_reader_gets_their_own_csrf_token_in_the_shared_part(app, shelf):
    alice, bob = app.test_client(), app.test_client()
    log_in(alice, "alice")
    log_in(bob, "bob")
    pages = {}
    for name, client in (("alice", alice), ("bob", bob)):
        with app.app_context():  # a fresh context per request, as in a server: its own g and CSRF token
            pages[name] = client.get(f"/books/{shelf[0].id}").get_data(as_text=True)
    for page in pages.values():
        assert CSRF_PLACEHOLDER not in page
        assert "Borrow</button>" in page and 'value="Publish review"' in page
        # The borrow, cart and review forms (shared) carry the token the rating form (the reader's own) has.
        assert len(TOKEN.findall(page)) >= 5 and len(set(TOKEN.findall(page))) == 1
    assert TOKEN.findall(pages["alice"])[0] != TOKEN.findall(pages["bob"])[0]


def test_a_rating_shows_at_once_on_a_book_page_whose_shared_part_is_kept(app, shelf):
    bob = app.test_client()
    log_in(bob, "bob")
    book_id = shelf[1].id
    assert "no ratings yet" in bob.get(f"/books/{book_id}").get_data(as_text=True)
    carol = app.test_client()
    log_in(carol, "carol")
    carol.post(f"/books/{book_id}/rate", data={"stars": 4})
    page = bob.get(f"/books/{book_id}").get_data(as_text=True)
    assert "★ 4.00 from 1 rating" in page


def test_borrowing_the_last_copy_shows_at_once_for_every_reader(app, shelf):
    alice, bob, carol = app.test_client(), app.test_client(), app.test_client()
    for client, name in ((alice, "alice"), (bob, "bob"), (carol, "carol")):
        log_in(client, name)
    book_id = shelf[2].id
    assert "2 of 2 copies free" in bob.get(f"/books/{book_id}").get_data(as_text=True)
    for client in (alice, carol):
        assert client.post(f"/books/{book_id}/borrow").status_code == 302
    page = bob.get(f"/books/{book_id}").get_data(as_text=True)
    assert "0 of 2 copies free" in page and "Join the hold queue" in page


def test_a_readers_own_rating_and_favourite_are_never_shared(app, shelf):
    alice, bob = app.test_client(), app.test_client()
    log_in(alice, "alice")
    log_in(bob, "bob")
    book_id = shelf[3].id
    alice.post(f"/books/{book_id}/favourite")
    alice_page = alice.get(f"/books/{book_id}").get_data(as_text=True)
    bob_page = bob.get(f"/books/{book_id}").get_data(as_text=True)
    assert "In your favourites" in alice_page
    assert "In your favourites" not in bob_page and "Add to favourites" in bob_page


def test_recommendation_cards_are_shared_but_carry_each_readers_token(app, shelf):
    """Readers shown the same book for the same reason share its card; its forms hold each one's own token."""
    carol, alice, bob = app.test_client(), app.test_client(), app.test_client()
    for client, name in ((carol, "carol"), (alice, "alice"), (bob, "bob")):
        log_in(client, name)
    carol.post(f"/books/{shelf[0].id}/rate", data={"stars": 5})  # the popular book of the month
    pages = {}
    for name, client in (("alice", alice), ("bob", bob)):
        with app.app_context():
            pages[name] = client.get("/").get_data(as_text=True)
    for page in pages.values():
        assert "Recommended for you" in page and "Popular" in page and "Not interested" in page
        assert CSRF_PLACEHOLDER not in page
        assert len(set(TOKEN.findall(page))) == 1
    assert TOKEN.findall(pages["alice"])[0] != TOKEN.findall(pages["bob"])[0]
    alice.post(f"/books/{shelf[0].id}/not-interested", data={"next": "/"})
    assert f"/books/{shelf[0].id}/not-interested" not in alice.get("/").get_data(as_text=True)
    assert f"/books/{shelf[0].id}/not-interested" in bob.get("/").get_data(as_text=True)
