"""Accounts: registration, logging in, login sessions, changing email and password."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime
from functools import cache

from flask import current_app, request
from flask_login import current_user, login_user, logout_user
from sqlalchemy import Select, String, bindparam, func, inspect, select
from werkzeug.security import check_password_hash, generate_password_hash

from webapp.extensions import db
from webapp.models import LoginSession, User
from webapp.models.base import utcnow
from webapp.models.users import ROLE_ADMIN
from webapp.services import daily_figures, login_throttle
from webapp.services.errors import ServiceError, TooManyAttempts
from webapp.services.locking import delete_by_primary_key

MIN_PASSWORD_LENGTH = 10


@cache
def _dummy_hash() -> str:
    return generate_password_hash("not-a-real-password")


def password_problem(password: str) -> str | None:
    """Why ``password`` is too weak, or None when it is acceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters."
    if not re.search(r"[A-Za-z]", password) or not re.search(r"[^A-Za-z]", password):
        return "Mix letters with digits or symbols."
    if len(set(password)) < 4:
        return "Use more different characters."
    return None


def username_taken(username: str) -> bool:
    """True when another account has this username (case-insensitive)."""
    return db.session.scalar(select(func.count()).where(func.lower(User.username) == username.lower())) > 0


def email_taken(email: str, except_user_id: int | None = None) -> bool:
    """True when another account has this email (case-insensitive)."""
    stmt = select(func.count()).where(func.lower(User.email) == email.lower())
    if except_user_id is not None:
        stmt = stmt.where(User.id != except_user_id)
    return db.session.scalar(stmt) > 0


def register(username: str, email: str, password: str) -> User:
    """Create a reader account; raises ServiceError when the name or email is taken or the password weak."""
    username, email = username.strip(), email.strip().lower()
    if username_taken(username):
        raise ServiceError("That username is taken.")
    if email_taken(email):
        raise ServiceError("An account with that email already exists.")
    problem = password_problem(password)
    if problem:
        raise ServiceError(problem)
    user = User(username=username, email=email, role="reader", active=True)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    return user


def authenticate(username: str, password: str, address: str) -> User | None:
    """The account for these credentials, or None (same answer for unknown user and wrong password).

    Raises TooManyAttempts while the account or the ``address`` has failed too often
    (see login_throttle); failures and successes are counted there.
    """
    if login_throttle.is_locked(username, address):
        raise TooManyAttempts("Too many failed logins. Wait a few minutes and try again.")
    user = _check_credentials(username, password)
    if user is None:
        login_throttle.record_failure(username, address)
    else:
        login_throttle.record_success(username, address)
    return user


def _check_credentials(username: str, password: str) -> User | None:
    user = db.session.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))
    if user is None or not user.password_hash:
        # Unknown and imported accounts cost one password hash too: timing says nothing.
        check_password_hash(_dummy_hash(), password)
        return None
    if not user.check_password(password) or not user.can_log_in:
        return None
    return user


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _sessions_expire_before() -> datetime:
    """Login sessions opened before this moment have expired (they last as long as remember-me)."""
    return utcnow() - current_app.config["REMEMBER_COOKIE_DURATION"]


def log_in(user: User, remember: bool = False) -> None:
    """Open a new login session for ``user`` in this browser (Flask-Login's session and remember-me cookies)."""
    token = secrets.token_urlsafe(32)
    expired = select(LoginSession.id).where(
        LoginSession.user_id == user.id, LoginSession.created_at < _sessions_expire_before()
    )
    delete_by_primary_key(LoginSession, expired)
    db.session.add(LoginSession(user_id=user.id, token_hash=_token_hash(token)))
    db.session.commit()
    user.session_token = token
    login_user(user, remember=remember)


def log_out() -> None:
    """End this browser's login session: cookies copied from it stop working too."""
    token = getattr(current_user, "session_token", None)
    if token:
        this_browser = select(LoginSession.id).where(LoginSession.token_hash == _token_hash(token))
        delete_by_primary_key(LoginSession, this_browser)
        db.session.commit()
    logout_user()


def log_out_everywhere(user: User) -> None:
    """End every login session of ``user`` and open a fresh one for this browser only."""
    delete_by_primary_key(LoginSession, select(LoginSession.id).where(LoginSession.user_id == user.id))
    db.session.commit()
    log_in(user, remember=current_app.config["REMEMBER_COOKIE_NAME"] in request.cookies)


def user_for_session(token: str) -> User | None:
    """The account of a live login session, or None (ended, expired, unknown, or the account cannot log in)."""
    if not token or len(token) > 100:
        return None
    login = db.session.scalar(_login_session_query(), {"token_hash": _token_hash(token)})
    if login is None or login.created_at < _sessions_expire_before() or not login.user.can_log_in:
        return None
    login.user.session_token = token
    return login.user


@cache
def _login_session_query() -> Select:
    """The login session (with its account) of a bound ``token_hash``, built once: every request runs it."""
    return select(LoginSession).where(LoginSession.token_hash == bindparam("token_hash", type_=String))


def change_email(user: User, email: str) -> None:
    """Set a new email address; raises ServiceError when another account has it."""
    email = email.strip().lower()
    if email_taken(email, except_user_id=user.id):
        raise ServiceError("An account with that email already exists.")
    user.email = email
    db.session.commit()


def change_password(user: User, current: str, new: str) -> None:
    """Change the password after checking the current one; every other login session of ``user`` ends."""
    if not user.check_password(current):
        raise ServiceError("Your current password is not correct.")
    problem = password_problem(new)
    if problem:
        raise ServiceError(problem)
    user.set_password(new)
    db.session.commit()
    log_out_everywhere(user)


def apply_staff_change(actor_id: int, account: User) -> None:
    """Check a change of role or of ``active`` that staff made to ``account``, before it is committed.

    Staff may change roles and deactivate accounts, but never take away their own access.
    A new role moves the account in or out of the new readers of its joining day.
    """
    if account.id == actor_id and (account.role != ROLE_ADMIN or not account.active):
        raise ServiceError("You cannot take away your own staff access or deactivate yourself.")
    if inspect(account).attrs.role.history.has_changes():
        daily_figures.forget(account.created_at.date())
