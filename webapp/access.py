"""Who may see the staff side: the back office and the statistics screen."""

from __future__ import annotations

from functools import wraps

from flask import abort, current_app
from flask_login import current_user


def is_staff() -> bool:
    """True for a logged-in member of staff (role admin)."""
    return bool(current_user.is_authenticated and current_user.is_admin)


def refuse_non_staff():
    """The answer for someone who is not staff: anonymous visitors log in, readers get 403."""
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    abort(403, description="This page is for library staff only.")


def staff_required(view):
    """Decorate a view so that only staff reach it (see :func:`refuse_non_staff`)."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not is_staff():
            return refuse_non_staff()
        return view(*args, **kwargs)

    return wrapped
