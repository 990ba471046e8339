"""A transaction the database picked as a deadlock victim is run again; other errors are not."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

from webapp.services import locking


class DatabaseError(Exception):
    pass


def _error(code: int) -> OperationalError:
    return OperationalError("UPDATE books ...", {}, DatabaseError(code, "message from the server"))


def _flaky(failures: list[int]):
    calls = []

    @locking.retried_on_deadlock
    def service(value: str) -> str:
        calls.append(value)
        if failures:
            raise _error(failures.pop(0))
        return value

    return service, calls


def test_a_deadlocked_transaction_is_run_again(app):
    service, calls = _flaky([1213, 1205])
    assert service("done") == "done"
    assert calls == ["done"] * 3


def test_it_gives_up_after_the_last_attempt(app):
    service, calls = _flaky([1213] * locking.ATTEMPTS)
    with pytest.raises(OperationalError):
        service("x")
    assert len(calls) == locking.ATTEMPTS


def test_other_database_errors_are_not_retried(app):
    service, calls = _flaky([2006])  # the server went away
    with pytest.raises(OperationalError):
        service("x")
    assert calls == ["x"]


def test_services_that_work_in_their_callers_transaction_are_not_retried():
    """A retry rolls back first: around change_copies or change_stock it would undo the back office's edit."""
    from webapp.services import circulation, shop

    assert not hasattr(circulation.change_copies, "__wrapped__")
    assert not hasattr(shop.change_stock, "__wrapped__")
    assert hasattr(circulation.borrow, "__wrapped__") and hasattr(shop.checkout, "__wrapped__")
