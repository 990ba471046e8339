"""Transaction helpers shared by the services that change stock, copies and loans."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from functools import wraps
from typing import NoReturn, ParamSpec, TypeVar

from sqlalchemy import Select, delete, update
from sqlalchemy.exc import OperationalError

from webapp.extensions import db
from webapp.models import User
from webapp.services.errors import NotFound, ServiceError

# MariaDB/MySQL: "Deadlock found when trying to get lock" and "Lock wait timeout exceeded".
RETRYABLE_ERRORS = (1213, 1205)
ATTEMPTS = 4

P = ParamSpec("P")
R = TypeVar("R")


def is_retryable(error: OperationalError) -> bool:
    """True when the database gave up on the transaction only because of other transactions' locks."""
    code = error.orig.args[0] if error.orig is not None and error.orig.args else None
    return code in RETRYABLE_ERRORS


def retried_on_deadlock(service: Callable[P, R]) -> Callable[P, R]:
    """Run a one-transaction service again (up to ATTEMPTS times) when the database picks it as a deadlock victim.

    InnoDB rolls the whole transaction back in that case and asks for it to be re-issued;
    the services decorated here read everything they decide on inside their transaction,
    so running them again is safe. Never decorate a service that works in its caller's
    transaction (change_copies, change_stock): the rollback would undo the caller's work.
    Under load (benchmarks/soak.py on MariaDB) conditional UPDATEs of a book row and
    inserts that check a foreign key to it do deadlock now and then.
    """

    @wraps(service)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        for attempt in range(1, ATTEMPTS):
            try:
                return service(*args, **kwargs)
            except OperationalError as error:
                db.session.rollback()
                if not is_retryable(error):
                    raise
                time.sleep(random.uniform(0.005, 0.02) * attempt)
        return service(*args, **kwargs)

    return run


def delete_by_primary_key(model, ids: Select) -> None:
    """Delete the ``model`` rows that ``ids`` selects, by primary key, in the current transaction.

    A DELETE whose WHERE ranges over a secondary index takes gap locks on MariaDB, and two
    requests that each delete and insert then deadlock on each other's INSERT (the soak test
    found it with log-ins); reading the ids first and deleting by primary key locks only the
    rows that go.
    """
    found = list(db.session.scalars(ids))
    if found:
        db.session.execute(delete(model).where(model.id.in_(found)))


def lock_reader(user_id: int) -> None:
    """Start a transaction whose first statement locks the reader's row.

    Any transaction already open (reads only, in the services) is ended first: MariaDB's
    REPEATABLE READ fixes a snapshot at the first read, and reads after the lock must see
    what other requests committed while this one waited. The lock is a write
    (``UPDATE users SET id = id``), so SQLite takes its write lock at once too; one
    reader's requests therefore run one after another on both backends.
    """
    db.session.commit()  # ends the read transaction, if any (a no-op otherwise)
    if not db.session.execute(update(User).where(User.id == user_id).values(id=User.id)).rowcount:
        fail(NotFound("There is no such reader."))


def fail(error: ServiceError) -> NoReturn:
    """Roll the transaction back and raise ``error``: nothing the request did is kept."""
    db.session.rollback()
    raise error


def own_record(model, record_id: int, user_id: int, message: str):
    """The ``model`` row with this id if it belongs to the reader; NotFound otherwise.

    Someone else's record gets the same answer as a missing one, so ids reveal nothing.
    Any open transaction is rolled back before raising.
    """
    record = db.session.get(model, record_id, populate_existing=True)
    if record is None or record.user_id != user_id:
        fail(NotFound(message))
    return record
