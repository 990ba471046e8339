"""Accounts: readers and staff."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from webapp.extensions import db
from webapp.models.base import utcnow

ROLE_READER = "reader"
ROLE_ADMIN = "admin"


class User(UserMixin, db.Model):
    """A reader or a member of staff. Imported readers have no password and cannot log in."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('reader', 'admin')", name="role_known"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default=ROLE_READER, server_default=ROLE_READER)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    # Reader id in the Goodreads data set, for imported readers.
    source_user_id: Mapped[int | None] = mapped_column(Integer, unique=True)

    # The token of the login session this object was loaded for (not stored: see LoginSession).
    session_token = None

    def get_id(self) -> str:
        """What Flask-Login keeps in the session and remember-me cookies: the login session's token."""
        if not self.session_token:
            raise RuntimeError("Open a login session (accounts.start_session) before logging a user in.")
        return self.session_token

    def set_password(self, password: str) -> None:
        """Store a salted scrypt hash of ``password``."""
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        """True when ``password`` matches; always False for accounts without a password."""
        if not self.password_hash:
            return False
        return check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # Flask-Login asks this before logging in
        return bool(self.active)

    @property
    def can_log_in(self) -> bool:
        """Imported readers (no password) and deactivated accounts cannot log in."""
        return bool(self.active and self.password_hash)

    @property
    def is_admin(self) -> bool:
        return self.role == ROLE_ADMIN

    def __repr__(self) -> str:
        return f"<User {self.username}>"
