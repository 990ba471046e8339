"""Login sessions (one per log-in, revocable) and failed log-in attempts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db
from webapp.models.base import utcnow
from webapp.models.users import User


class LoginSession(db.Model):
    """One logged-in browser. Its token (stored hashed) is what the session and remember-me cookies carry,
    so deleting the row ends that browser's session, whatever cookies were copied from it."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)

    user: Mapped[User] = relationship(lazy="joined")


class LoginFailure(db.Model):
    """One failed log-in, counted under a key such as ``account:alice`` or ``address:192.0.2.1``."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), index=True)
    failed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
