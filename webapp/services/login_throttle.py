"""Failed log-ins, counted where every worker and every server sees them.

Failures are counted per account from one address, per account from all addresses,
and per address over all accounts, in a sliding window (django-axes' approach). The
counts live in the database, or in Redis when ``REDIS_URL`` is set; a successful log-in
clears its account's counts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from flask import current_app
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import LoginFailure
from webapp.models.base import utcnow
from webapp.services.locking import delete_by_primary_key


@dataclass(frozen=True)
class Limit:
    """At most ``failures`` failed log-ins under ``key`` within the window."""

    key: str
    failures: int


class FailureStore(Protocol):
    def count(self, keys: list[str], window_seconds: int) -> dict[str, int]: ...

    def add(self, keys: list[str], window_seconds: int) -> None: ...

    def clear(self, keys: list[str]) -> None: ...


class DatabaseFailureStore:
    """One row per failure and key in ``login_failures``; rows older than the window are pruned on write."""

    def count(self, keys: list[str], window_seconds: int) -> dict[str, int]:
        since = utcnow() - timedelta(seconds=window_seconds)
        rows = db.session.execute(
            select(LoginFailure.key, func.count())
            .where(LoginFailure.key.in_(keys), LoginFailure.failed_at >= since)
            .group_by(LoginFailure.key)
        )
        return {key: count for key, count in rows}

    def add(self, keys: list[str], window_seconds: int) -> None:
        now = utcnow()
        stale = select(LoginFailure.id).where(LoginFailure.failed_at < now - timedelta(seconds=window_seconds))
        delete_by_primary_key(LoginFailure, stale)
        db.session.add_all(LoginFailure(key=key, failed_at=now) for key in keys)
        db.session.commit()

    def clear(self, keys: list[str]) -> None:
        delete_by_primary_key(LoginFailure, select(LoginFailure.id).where(LoginFailure.key.in_(keys)))
        db.session.commit()


class RedisFailureStore:
    """A sorted set of failure times per key, expiring with the window."""

    PREFIX = "athenaeum:login-failures:"

    def __init__(self, url: str) -> None:
        import redis

        self.redis = redis.Redis.from_url(url)

    def count(self, keys: list[str], window_seconds: int) -> dict[str, int]:
        since = time.time() - window_seconds
        pipe = self.redis.pipeline()
        for key in keys:
            pipe.zcount(self.PREFIX + key, since, "+inf")
        return dict(zip(keys, pipe.execute()))

    def add(self, keys: list[str], window_seconds: int) -> None:
        now = time.time()
        member = f"{now:.6f}:{time.perf_counter_ns()}"
        pipe = self.redis.pipeline()
        for key in keys:
            name = self.PREFIX + key
            pipe.zadd(name, {member: now})
            pipe.zremrangebyscore(name, "-inf", now - window_seconds)
            pipe.expire(name, window_seconds)
        pipe.execute()

    def clear(self, keys: list[str]) -> None:
        self.redis.delete(*(self.PREFIX + key for key in keys))


_redis_stores: dict[str, RedisFailureStore] = {}


def _store() -> FailureStore:
    url = current_app.config.get("REDIS_URL")
    if not url:
        return DatabaseFailureStore()
    if url not in _redis_stores:
        _redis_stores[url] = RedisFailureStore(url)
    return _redis_stores[url]


def _limits(username: str, address: str) -> list[Limit]:
    config = current_app.config
    account = username.strip().lower()[:64]
    return [
        Limit(f"pair:{account}|{address}", config["LOGIN_MAX_FAILURES"]),
        Limit(f"account:{account}", config["LOGIN_MAX_ACCOUNT_FAILURES"]),
        Limit(f"address:{address}", config["LOGIN_MAX_ADDRESS_FAILURES"]),
    ]


def _window() -> int:
    return current_app.config["LOGIN_FAILURE_WINDOW_SECONDS"]


def is_locked(username: str, address: str) -> bool:
    """True when this account, this address, or this account from this address failed too often lately."""
    limits = _limits(username, address)
    counts = _store().count([limit.key for limit in limits], _window())
    return any(counts.get(limit.key, 0) >= limit.failures for limit in limits)


def record_failure(username: str, address: str) -> None:
    """Count one failed log-in for the account, the address, and the pair."""
    _store().add([limit.key for limit in _limits(username, address)], _window())


def record_success(username: str, address: str) -> None:
    """A successful log-in clears the account's failures (the address keeps its count)."""
    pair, account, _address = _limits(username, address)
    _store().clear([pair.key, account.key])
