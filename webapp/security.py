"""Defences that every request goes through: the secret key, id bounds in URLs, body checks, headers."""

from __future__ import annotations

import os
import secrets
from urllib.parse import unquote_to_bytes

from flask import Flask, abort, request
from werkzeug.routing import IntegerConverter

# Flask-Admin's templates have two harmless inline snippets: links to "javascript:void(0)" and
# onclick="return false;". 'unsafe-hashes' allows exactly these, and no other inline script.
ADMIN_INLINE_HASHES = [
    "'unsafe-hashes'",
    "'sha256-rRMdkshZyJlCmDX27XnL7g3zXaxv7ei6Sg+yt4R3svU='",  # javascript:void(0)
    "'sha256-2rvfFrggTCtyF5WOiTri1gDS8Boibj4Njn0e+VCBmDI='",  # return false;
]

# The largest id the databases store (a signed 64-bit integer): larger ids in a URL match no route.
MAX_DATABASE_ID = 2**63 - 1


def is_database_id(raw: object) -> bool:
    """True for text that is a whole number a database id can be (0 to MAX_DATABASE_ID)."""
    text = str(raw)
    return text.isascii() and text.isdigit() and len(text) <= 19 and int(text) <= MAX_DATABASE_ID


class DatabaseIdConverter(IntegerConverter):
    """``<int:...>`` in every route: digits up to MAX_DATABASE_ID, so an id no row can have is a 404."""

    def __init__(self, map, *args, **kwargs) -> None:
        kwargs.setdefault("max", MAX_DATABASE_ID)
        super().__init__(map, *args, **kwargs)


def load_or_create_secret_key(path: str) -> str:
    """The secret key kept in ``path``, created (random, mode 0600) on first use.

    Several workers may start at once: the key is written to a temporary file and linked
    into place, so every worker reads the one complete key that won.
    """
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        temporary = f"{path}.{os.getpid()}.{secrets.token_hex(4)}"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_urlsafe(48))
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(temporary)
    with open(path) as file:
        key = file.read().strip()
    if len(key) < 32:
        raise RuntimeError(f"The secret key in {path} is too short; delete the file to make a new one.")
    return key


def _form_is_utf8() -> bool:
    """True unless the URL-encoded body decodes to bytes that are not UTF-8."""
    if request.mimetype != "application/x-www-form-urlencoded":
        return True
    body = request.get_data(cache=True)
    try:
        for part in body.split(b"&"):
            unquote_to_bytes(part.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def init_security(app: Flask) -> None:
    """Refuse forms that are not UTF-8, and send the security headers.

    Flask-Talisman keeps its options on the extension object, so each app gets its own
    (the tests build apps with different settings in one process).
    """
    from flask_talisman import Talisman

    @app.before_request
    def refuse_non_utf8_forms():
        if request.method in ("POST", "PUT", "PATCH") and not _form_is_utf8():
            abort(400, description="The form was not sent as UTF-8 text; nothing was changed.")

    production = bool(app.config.get("PRODUCTION"))
    secure_cookies = production or bool(app.config.get("SESSION_COOKIE_SECURE"))
    app.config.update(SESSION_COOKIE_SECURE=secure_cookies, REMEMBER_COOKIE_SECURE=secure_cookies)
    Talisman(
        app,
        force_https=False,  # the reverse proxy redirects to HTTPS; HSTS below keeps browsers there
        strict_transport_security=production,
        session_cookie_secure=secure_cookies,
        frame_options="DENY",
        referrer_policy="strict-origin-when-cross-origin",
        content_security_policy={
            "default-src": "'self'",
            "script-src": ["'self'", *ADMIN_INLINE_HASHES],
            # Bootstrap and Flask-Admin set style attributes; scripts stay strict.
            "style-src": ["'self'", "'unsafe-inline'"],
            # Goodreads cover images are the only outside content.
            "img-src": ["'self'", "data:", "https:"],
            "object-src": "'none'",
            "base-uri": "'self'",
            "form-action": "'self'",
            "frame-ancestors": "'none'",
        },
        content_security_policy_nonce_in=["script-src"],
    )
