"""Transaction helpers shared by the services that change stock, copies and loans."""

from __future__ import annotations

from typing import NoReturn

from sqlalchemy import update

from webapp.extensions import db
from webapp.models import User
from webapp.services.errors import NotFound, ServiceError


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
