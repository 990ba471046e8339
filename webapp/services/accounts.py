"""Accounts: registration, logging in, changing email and password."""

from __future__ import annotations

import re
from functools import cache

from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from webapp.extensions import db
from webapp.models import User
from webapp.services.errors import ServiceError

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


def authenticate(username: str, password: str) -> User | None:
    """The account for these credentials, or None (same answer for unknown user and wrong password)."""
    user = db.session.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))
    if user is None:
        check_password_hash(_dummy_hash(), password)  # same work as a real check: timing says nothing
        return None
    if not user.can_log_in or not user.check_password(password):
        return None
    return user


def change_email(user: User, email: str) -> None:
    """Set a new email address; raises ServiceError when another account has it."""
    email = email.strip().lower()
    if email_taken(email, except_user_id=user.id):
        raise ServiceError("An account with that email already exists.")
    user.email = email
    db.session.commit()


def change_password(user: User, current: str, new: str) -> None:
    """Change the password after checking the current one."""
    if not user.check_password(current):
        raise ServiceError("Your current password is not correct.")
    problem = password_problem(new)
    if problem:
        raise ServiceError(problem)
    user.set_password(new)
    db.session.commit()
