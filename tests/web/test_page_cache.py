"""Anonymous visitors' pages are cached for a few seconds; readers always see fresh pages."""

import threading
import time

import pytest
from sqlalchemy import func, select

from tests.helpers import create_user, log_in, make_book, make_config
from webapp import create_app, page_cache, revalidating_cache
from webapp.extensions import cache, db
from webapp.models import Book, BookView


@pytest.fixture()
def cache_on(app, monkeypatch):
    """Anonymous pages cached for 30 s, as the site runs (the test config turns it off)."""
    monkeypatch.setitem(app.config, "ANONYMOUS_PAGE_SECONDS", 30)
    cache.clear()
    yield
    cache.clear()


def _rename(book, title):
    book.title = title
    db.session.commit()


@pytest.mark.parametrize("path", ["/", "/books", "/books?sort=title", "/categories/science-fiction", "/hot", "BOOK"])
def test_anonymous_pages_are_reused_and_readers_see_the_change(app, client, cache_on, path):
    book = make_book("Dune")
    path = f"/books/{book.id}" if path == "BOOK" else path
    create_user("alice")
    with app.test_client() as other_visitor:
        assert "Dune" in other_visitor.get(path).get_data(as_text=True)
    _rename(book, "Children of Dune")
    anonymous = client.get(path).get_data(as_text=True)
    assert "Dune" in anonymous and "Children of Dune" not in anonymous  # the cached copy
    log_in(client, "alice")
    assert "Children of Dune" in client.get(path).get_data(as_text=True)


def test_query_strings_in_any_order_share_one_entry_and_different_ones_do_not(app, client, cache_on):
    make_book("Dune")
    client.get("/books?q=dune&sort=title")
    _rename(db.session.scalar(select(Book)), "Dune Messiah")
    assert "Dune Messiah" not in client.get("/books?sort=title&q=dune").get_data(as_text=True)
    assert "Dune Messiah" in client.get("/books?q=dune&sort=rating").get_data(as_text=True)


def test_cached_book_pages_still_count_every_view(app, client, cache_on):
    book = make_book("Dune")
    for _ in range(3):
        assert client.get(f"/books/{book.id}").status_code == 200
    assert db.session.scalar(select(func.count()).select_from(BookView)) == 3


def test_anonymous_pages_carry_no_csrf_token_and_set_no_cookie(app, client, cache_on):
    book = make_book("Dune")
    for path in ("/", "/books", f"/books/{book.id}", "/hot"):
        response = client.get(path)
        assert "csrf_token" not in response.get_data(as_text=True), path
        assert "Set-Cookie" not in response.headers, path
    borrow = client.get(f"/books/{book.id}").get_data(as_text=True)
    assert f'href="/auth/login?next=/books/{book.id}">Borrow</a>' in borrow


def test_a_page_with_a_message_for_one_visitor_is_not_cached(app, client, cache_on):
    make_book("Dune")
    with client.session_transaction() as session:
        session["_flashes"] = [("info", "A message only for you")]
    assert "A message only for you" in client.get("/").get_data(as_text=True)
    with app.test_client() as other_visitor:
        assert "A message only for you" not in other_visitor.get("/").get_data(as_text=True)


def test_an_expired_page_is_served_stale_while_another_request_renders_it(app, client, cache_on, monkeypatch):
    book = make_book("Dune")
    client.get("/books")
    _rename(book, "Dune Messiah")
    clock = time.time() + 31  # the copy is no longer fresh ...
    monkeypatch.setattr(revalidating_cache.time, "time", lambda: clock)
    claim, mine = revalidating_cache._claim("anonymous-page:/books?")  # ... and another thread is re-rendering it
    assert mine
    assert "Dune Messiah" not in client.get("/books").get_data(as_text=True)
    revalidating_cache._release("anonymous-page:/books?", claim)
    assert "Dune Messiah" in client.get("/books").get_data(as_text=True)  # this request re-renders


def test_without_a_copy_other_requests_wait_for_the_one_rendering_it(app, cache_on, monkeypatch):
    make_book("Dune")
    renders = []
    started, release = threading.Event(), threading.Event()
    waiting = threading.Semaphore(0)
    claim = revalidating_cache._claim

    def claim_and_report(key):
        done, mine = claim(key)
        if not mine:
            waiting.release()  # this visitor found the page being rendered and will wait for it
        return done, mine

    monkeypatch.setattr(revalidating_cache, "_claim", claim_and_report)

    def slow_render():
        renders.append(1)
        started.set()
        release.wait(5)
        return "the page"

    def visit(results):
        with app.test_request_context("/books"):
            results.append(page_cache.cached_for_anonymous(slow_render))

    results = []
    first = threading.Thread(target=visit, args=(results,))
    first.start()
    started.wait(5)
    others = [threading.Thread(target=visit, args=(results,)) for _ in range(3)]
    for thread in others:
        thread.start()
    for _ in others:
        assert waiting.acquire(timeout=5), "a visitor did not find the render in progress"
    assert results == []  # all three are waiting while the first one renders
    release.set()
    for thread in [first, *others]:
        thread.join(10)
        assert not thread.is_alive()
    assert results == ["the page"] * 4
    assert len(renders) == 1


def test_with_redis_every_server_shares_one_copy_and_one_re_render(database_url, redis_url, app, monkeypatch):
    """Two servers on one Redis: a page one rendered is served by the other; an expired one is re-rendered once."""
    first, second = (
        create_app(make_config(database_url, REDIS_URL=redis_url, ANONYMOUS_PAGE_SECONDS=30)) for _ in range(2)
    )
    assert first.config["CACHE_TYPE"] == second.config["CACHE_TYPE"] == "RedisCache"
    book = make_book("Dune")

    def books_page(server) -> str:
        with server.app_context():
            return server.test_client().get("/books").get_data(as_text=True)

    assert "Dune" in books_page(first)
    _rename(book, "Dune Messiah")
    assert "Dune Messiah" not in books_page(second)  # the first server's copy
    clock = time.time() + 31
    monkeypatch.setattr(revalidating_cache.time, "time", lambda: clock)  # the copy has expired ...
    with first.app_context():  # ... and a worker of the first server has claimed its re-render
        assert cache.add("anonymous-page:/books?:refreshing", True, timeout=10)
    assert "Dune Messiah" not in books_page(second)  # so the second serves the old copy meanwhile
    with first.app_context():
        cache.delete("anonymous-page:/books?:refreshing")
    assert "Dune Messiah" in books_page(second)  # nobody is rendering it: the second does
    assert "Dune Messiah" in books_page(first)


def test_without_redis_each_worker_keeps_its_own_cache(database_url):
    assert create_app(make_config(database_url, REDIS_URL=None)).config["CACHE_TYPE"] == "SimpleCache"
