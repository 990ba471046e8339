"""Configuration classes, read from environment variables."""

from __future__ import annotations

import os
from datetime import timedelta


def _int_env(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def _float_env(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value not in (None, "") else default


class Config:
    """Base configuration: everything comes from the environment with safe defaults."""

    # Unset: create_app reads (or on first run creates) a random key in SECRET_KEY_FILE,
    # by default instance/secret_key. Set SECRET_KEY when several servers share sessions.
    SECRET_KEY = os.environ.get("SECRET_KEY") or None
    SECRET_KEY_FILE = os.environ.get("SECRET_KEY_FILE") or None
    # None means "an SQLite file in the instance folder"; create_app fills it in.
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL") or None
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    PRODUCTION = os.environ.get("FLASK_ENV") == "production" or os.environ.get("ATHENAEUM_PRODUCTION", "").lower() in (
        "1",
        "true",
        "yes",
    )

    # Front-end assets are served from the app: no CDN, installs may be offline.
    BOOTSTRAP_SERVE_LOCAL = True

    # Failed logins, counted in the database (or in Redis when REDIS_URL is set) so that
    # every worker and every server sees the same counts: at most this many per account
    # from one address, per account from all addresses, and per address over all accounts,
    # within LOGIN_FAILURE_WINDOW_SECONDS. A successful login clears its account's counts.
    LOGIN_FAILURE_WINDOW_SECONDS = _int_env("LOGIN_FAILURE_WINDOW_SECONDS", 300)
    LOGIN_MAX_FAILURES = _int_env("LOGIN_MAX_FAILURES", 5)
    LOGIN_MAX_ACCOUNT_FAILURES = _int_env("LOGIN_MAX_ACCOUNT_FAILURES", 20)
    LOGIN_MAX_ADDRESS_FAILURES = _int_env("LOGIN_MAX_ADDRESS_FAILURES", 50)
    # Reverse proxies in front of the app whose X-Forwarded-* headers are trusted (0: none).
    TRUSTED_PROXY_COUNT = _int_env("TRUSTED_PROXY_COUNT", 0)
    # Shared state for several workers and servers: failed-login counts and the page cache.
    # Unset: the counts live in the database and each worker keeps its own page cache.
    REDIS_URL = os.environ.get("REDIS_URL") or None

    # Pages anonymous visitors see (home, lists, search, book pages) are cached this many
    # seconds; logged-in readers always get fresh pages. The cache is Redis when REDIS_URL
    # is set (one copy for every worker and server), else each worker's own memory;
    # CACHE_TYPE names another Flask-Caching backend.
    CACHE_TYPE = os.environ.get("CACHE_TYPE") or None
    CACHE_KEY_PREFIX = "athenaeum:"
    CACHE_THRESHOLD = 2000
    ANONYMOUS_PAGE_SECONDS = _int_env("ANONYMOUS_PAGE_SECONDS", 30)
    # Parts of logged-in pages that are the same for every reader (webapp/fragments.py).
    SHARED_FRAGMENT_SECONDS = _int_env("SHARED_FRAGMENT_SECONDS", 30)
    # The popularity ranking behind new readers' recommendations is recomputed this often (0: every time).
    POPULAR_RANKING_SECONDS = _int_env("POPULAR_RANKING_SECONDS", 300)
    # The hot books (home page, /hot) are recomputed this often (0: every time).
    HOT_RANKING_SECONDS = _int_env("HOT_RANKING_SECONDS", 60)
    # The statistics screen's figures are recomputed this often per chart and range (0: every time).
    STATISTICS_SECONDS = _int_env("STATISTICS_SECONDS", 60)
    # The rankings and the statistics are recomputed by a thread while the last ones are served
    # (webapp/revalidating_cache.py).
    REFRESH_IN_BACKGROUND = True
    # Book-page views are written in batches at most this many seconds late (0: at once).
    VIEW_FLUSH_SECONDS = _int_env("VIEW_FLUSH_SECONDS", 1)

    SESSION_COOKIE_HTTPONLY = True
    # Secure cookies whenever the site is served over HTTPS (always in production).
    SESSION_COOKIE_SECURE = PRODUCTION or os.environ.get("HTTPS", "").lower() in ("1", "true", "yes")
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_NAME = "remember_token"
    REMEMBER_COOKIE_DURATION = timedelta(days=_int_env("REMEMBER_DAYS", 30))

    # Back office: Flask-Admin's own settings.
    FLASK_ADMIN_RAISE_ON_VIEW_EXCEPTION = False
    # Request bodies larger than this are refused with 413 before they are read; the CSV
    # import has its own, smaller limit (5 MB) with its own message.
    MAX_CONTENT_LENGTH = 6 * 1024 * 1024

    # Circulation rules (used by the services; configurable per deployment).
    LOAN_DAYS = _int_env("LOAN_DAYS", 30)
    MAX_ACTIVE_LOANS = _int_env("MAX_ACTIVE_LOANS", 5)
    MAX_RENEWALS = _int_env("MAX_RENEWALS", 2)
    HOLD_COLLECT_DAYS = _int_env("HOLD_COLLECT_DAYS", 3)
    FINE_PER_DAY = _float_env("FINE_PER_DAY", 0.25)

    BOOKS_PER_PAGE = 24
    DATA_DIR = os.environ.get("ATHENAEUM_DATA_DIR") or os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data"
    )


class TestConfig(Config):
    """Configuration for the test suite: a throw-away database, no CSRF friction."""

    TESTING = True
    SECRET_KEY = "test-secret-key"
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL") or "sqlite://"
    WTF_CSRF_ENABLED = False
    PRODUCTION = False
    ANONYMOUS_PAGE_SECONDS = 0
    SHARED_FRAGMENT_SECONDS = 0
    POPULAR_RANKING_SECONDS = 0
    STATISTICS_SECONDS = 0
    REFRESH_IN_BACKGROUND = False  # a stale ranking is recomputed by the request that finds it
    VIEW_FLUSH_SECONDS = 0
