"""Helpers shared by the model modules."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """The current UTC time as a naive datetime (how every timestamp is stored)."""
    return datetime.now(UTC).replace(tzinfo=None)
