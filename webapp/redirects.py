"""Where a form may send the reader afterwards."""

from __future__ import annotations

from urllib.parse import urlsplit


def safe_next(target: str | None) -> str | None:
    """``target`` when it is a path inside this site, else None (no open redirects)."""
    if not target:
        return None
    target = target.strip()
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    if any(ord(char) < 32 for char in target):
        return None
    return target
