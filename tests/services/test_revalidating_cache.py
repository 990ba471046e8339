"""Shared rankings: reused while fresh, served stale while one thread recomputes them, never lost to a failure."""

from __future__ import annotations

import runpy
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy.exc import OperationalError

from tests.helpers import make_book
from webapp import revalidating_cache
from webapp.extensions import cache
from webapp.revalidating_cache import kept
from webapp.services import catalogue, reader_recs, recommendations
from webapp.services.recommendations import POPULAR_RANKING_KEY


class Counter:
    """A computation that counts its calls and returns ``value``; it can be held back or made to fail."""

    def __init__(self, value: str) -> None:
        self.value, self.calls, self.fail = value, 0, False
        self.release = threading.Event()
        self.release.set()

    def __call__(self) -> str:
        self.calls += 1
        self.release.wait(5)
        if self.fail:
            raise RuntimeError("the database went away")
        return self.value


@pytest.fixture()
def clock(monkeypatch):
    """The helper's clock, moved on by hand."""
    now = [1_000_000.0]
    monkeypatch.setattr(revalidating_cache.time, "time", lambda: now[0])
    return now


@pytest.fixture()
def background(app, monkeypatch):
    monkeypatch.setitem(app.config, "REFRESH_IN_BACKGROUND", True)


def _wait_for(condition, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the background refresh did not finish"
        time.sleep(0.01)


def test_period_zero_computes_every_time(app):
    compute = Counter("ranking")
    assert [kept("k", compute, 0) for _ in range(3)] == ["ranking"] * 3
    assert compute.calls == 3


def test_a_fresh_value_is_computed_once(app, clock):
    compute = Counter("ranking")
    assert kept("k", compute, 60) == kept("k", compute, 60) == "ranking"
    clock[0] += 59
    assert kept("k", compute, 60) == "ranking"
    assert compute.calls == 1


def test_a_stale_value_is_served_while_one_thread_recomputes_it(app, clock, background):
    kept("k", Counter("old"), 60)
    clock[0] += 61
    newer = Counter("new")
    newer.release.clear()  # the refresh is still running while readers come
    assert [kept("k", newer, 60) for _ in range(5)] == ["old"] * 5
    newer.release.set()
    _wait_for(lambda: cache.get("k")[1] == "new")
    assert kept("k", newer, 60) == "new"
    assert newer.calls == 1  # five stale reads, one refresh


def test_a_failed_refresh_keeps_the_old_value_and_is_tried_again(app, clock):
    kept("k", Counter("old"), 60)
    clock[0] += 61
    broken = Counter("new")
    broken.fail = True
    assert kept("k", broken, 60) == "old"
    assert kept("k", broken, 60) == "old"
    assert broken.calls == 2  # the claim was given back, so the next stale read tried again
    broken.fail = False
    kept("k", broken, 60)
    assert kept("k", broken, 60) == "new"


def test_the_hot_books_follow_new_activity_after_their_period(app, clock, monkeypatch, reader_client):
    monkeypatch.setitem(app.config, "HOT_RANKING_SECONDS", 60)
    quiet, busy = make_book("Quiet"), make_book("Busy")
    assert catalogue.hot_scores() == []
    reader_client.post(f"/books/{busy.id}/rate", data={"stars": "5"})
    assert catalogue.hot_scores() == []  # within the period: the ranking is kept
    clock[0] += 61
    catalogue.hot_scores()  # stale: served once more, and recomputed (inline in the tests)
    assert [book_id for book_id, _ in catalogue.hot_scores()] == [busy.id]
    assert quiet.id not in dict(catalogue.hot_scores())


def _gunicorn_hook():
    return runpy.run_path(str(Path(__file__).parents[2] / "gunicorn.conf.py"))["post_worker_init"]


def test_a_gunicorn_worker_computes_the_shared_rankings_as_it_starts(app, monkeypatch):
    monkeypatch.setitem(app.config, "POPULAR_RANKING_SECONDS", 300)
    monkeypatch.setitem(app.config, "HOT_RANKING_SECONDS", 60)
    book = make_book("Dune")
    _gunicorn_hook()(SimpleNamespace(wsgi=app, cfg=SimpleNamespace(timeout=30)))
    _wait_for(lambda: cache.get(f"hot-ranking:{catalogue.HOT_PAGE_BOOKS}:None") is not None)
    assert cache.get(POPULAR_RANKING_KEY)[1].book_ids.tolist() == [book.id]
    for limit in (catalogue.HOME_HOT_BOOKS, catalogue.HOT_PAGE_BOOKS):
        assert cache.get(f"hot-ranking:{limit}:None") is not None


def test_a_worker_starts_even_when_the_rankings_cannot_be_computed(app, monkeypatch, caplog):
    monkeypatch.setitem(app.config, "POPULAR_RANKING_SECONDS", 300)

    def broken() -> None:
        raise OperationalError("SELECT", {}, Exception("no such table: books"))

    monkeypatch.setattr(recommendations, "_popular_ranking", broken)
    _gunicorn_hook()(SimpleNamespace(wsgi=app, cfg=SimpleNamespace(timeout=30)))
    _wait_for(lambda: "Could not compute the shared rankings and the live model" in caplog.text)
    assert cache.get(POPULAR_RANKING_KEY) is None


def test_a_slow_warm_up_does_not_hold_the_worker_past_half_its_timeout(app, monkeypatch):
    finish = threading.Event()
    monkeypatch.setattr(reader_recs, "warm_up", lambda: finish.wait(5))
    started = time.monotonic()
    _gunicorn_hook()(SimpleNamespace(wsgi=app, cfg=SimpleNamespace(timeout=0.4)))
    assert 0.15 < time.monotonic() - started < 2  # waited about 0.2 s, then let the worker serve
    finish.set()
