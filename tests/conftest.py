"""Fixtures: an app on a fresh database (SQLite, or TEST_DATABASE_URL for MariaDB/MySQL)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
from flask import Flask, g, has_app_context
from flask.testing import FlaskClient

from tests.helpers import SHARED_DATA_DIR, clear_all_tables, create_user, log_in, make_config
from webapp import create_app
from webapp.extensions import cache, db
from webapp.models import User


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """TEST_DATABASE_URL when set (CI's MariaDB run), else an SQLite file of this test session."""
    return os.environ.get("TEST_DATABASE_URL") or "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite")


class OwnUserClient(FlaskClient):
    """A test client that never sees another client's user.

    The tests run inside one app context, and Flask-Login keeps the loaded user in its
    ``g``: without this, a second client in the same test would act as the first one's user.
    """

    def open(self, *args, **kwargs):
        if has_app_context():
            g.pop("_login_user", None)
        return super().open(*args, **kwargs)


@pytest.fixture(scope="session")
def session_app(database_url: str) -> Iterator[Flask]:
    app = create_app(make_config(database_url))
    app.test_client_class = OwnUserClient
    with app.app_context():
        db.drop_all()
        db.create_all()
    yield app
    with app.app_context():
        db.drop_all()
        db.engine.dispose()


@pytest.fixture()
def app(session_app: Flask) -> Iterator[Flask]:
    """The app inside an application context, on an empty database."""
    if session_app.config.get("REDIS_URL"):  # CI's run with TEST_REDIS_URL: no counts or pages from an earlier test
        import redis

        redis.Redis.from_url(session_app.config["REDIS_URL"]).flushdb()
    with session_app.app_context():
        cache.clear()  # no ranking or fragment from an earlier test
        clear_all_tables()
        yield session_app
        db.session.remove()
        clear_all_tables()


@pytest.fixture()
def client(app: Flask):
    return app.test_client()


@pytest.fixture()
def runner(app: Flask):
    return app.test_cli_runner()


@pytest.fixture()
def reader(app: Flask) -> User:
    return create_user()


@pytest.fixture()
def admin_user(app: Flask) -> User:
    return create_user("staff", role="admin")


@pytest.fixture()
def reader_client(client, reader):
    """A test client logged in as the reader ``alice``."""
    log_in(client)
    return client


@pytest.fixture()
def staff_client(client, admin_user):
    """A test client logged in as the member of staff ``staff``."""
    log_in(client, "staff")
    return client


@pytest.fixture(scope="session")
def small_demo_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The goodbooks files cut down to 60 shelved books, their shelves, ratings and marks."""
    import pandas as pd

    source = os.path.join(SHARED_DATA_DIR, "goodbooks")
    target = tmp_path_factory.mktemp("small_demo")
    books = pd.read_csv(os.path.join(source, "books.csv"), dtype=str, keep_default_na=False)
    shelves = pd.read_csv(os.path.join(source, "book_tags.csv"), dtype=str, keep_default_na=False)
    ratings = pd.read_csv(os.path.join(source, "ratings.csv"), dtype=str, keep_default_na=False)
    to_read = pd.read_csv(os.path.join(source, "to_read.csv"), dtype=str, keep_default_na=False)
    rated_ids = ratings["book_id"].unique()[:60]
    chosen = books[books["book_id"].isin(rated_ids) & books["goodreads_book_id"].isin(shelves["goodreads_book_id"])]
    chosen.to_csv(target / "books.csv", index=False)
    shelves[shelves["goodreads_book_id"].isin(chosen["goodreads_book_id"])].to_csv(
        target / "book_tags.csv", index=False
    )
    kept_ratings = ratings[ratings["book_id"].isin(chosen["book_id"])]
    kept_readers = kept_ratings["user_id"].unique()[:1500]
    kept_ratings[kept_ratings["user_id"].isin(kept_readers)].to_csv(target / "ratings.csv", index=False)
    marks = to_read[to_read["book_id"].isin(chosen["book_id"]) & to_read["user_id"].isin(kept_readers)]
    marks.to_csv(target / "to_read.csv", index=False)
    with open(os.path.join(source, "tags.csv"), "rb") as src, open(target / "tags.csv", "wb") as dst:
        dst.write(src.read())
    return str(target)


@pytest.fixture()
def redis_url() -> Iterator[str]:
    """A Redis to fill: TEST_REDIS_URL's (CI's), emptied first, or a throw-away redis-server on a free port."""
    import redis

    if os.environ.get("TEST_REDIS_URL"):
        url = os.environ["TEST_REDIS_URL"]
        redis.Redis.from_url(url).flushdb()
        yield url
        return
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port)
    for _ in range(50):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.1)
    yield f"redis://127.0.0.1:{port}/0"
    process.terminate()
    process.wait(10)


DATABASE_FIXTURES = {"session_app", "app", "client", "runner", "database_url"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses a database fixture ``db``: CI runs those again on MariaDB."""
    for item in items:
        if DATABASE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.db)
