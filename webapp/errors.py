"""Styled error pages for browsers, JSON errors for JSON clients."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from webapp.extensions import db
from webapp.services.errors import TooManyAttempts


def wants_json() -> bool:
    """True when the client asked for JSON rather than a page."""
    if request.path.startswith(("/api/", "/dashboard/api/")) or request.path == "/healthz":
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def _render(code: int, name: str, description: str):
    if wants_json():
        return jsonify(error=name, message=description, status=code), code
    template = f"errors/{code}.html" if code in (403, 404, 500) else "errors/generic.html"
    return render_template(template, code=code, name=name, description=description), code


def register_error_handlers(app: Flask) -> None:
    """Install the handlers for HTTP errors, CSRF failures and unexpected exceptions."""

    @app.errorhandler(CSRFError)
    def handle_csrf_error(error: CSRFError):
        return _render(400, "Form expired", "The form was too old or incomplete. Reload the page and try again.")

    @app.errorhandler(TooManyAttempts)
    def handle_too_many_attempts(error: TooManyAttempts):
        return _render(429, "Too Many Requests", error.message)

    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException):
        if isinstance(error, InternalServerError):
            return handle_server_error(error)
        return _render(error.code or 500, error.name, error.description or "")

    @app.errorhandler(Exception)
    def handle_server_error(error: Exception):
        db.session.rollback()
        if not isinstance(error, HTTPException):
            app.logger.exception("Unhandled error on %s", request.path)
        return _render(500, "Internal Server Error", "Something went wrong on our side. Nothing was changed.")
