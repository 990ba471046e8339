"""Errors are answered here, once: styled pages for browsers, JSON for JSON blueprints and clients.

Services raise :class:`~webapp.services.errors.ServiceError` when a rule says no and
:class:`~webapp.services.errors.NotFound` when the thing asked for is not there (or not
the reader's); views just call them. A refusal of a form's action is flashed and the
reader goes back to the page named by the view's :func:`on_refusal` (or to the page the
form was on); NotFound is a 404. Blueprints declared with :func:`answers_json` answer
every error as ``{"error", "message", "status"}``.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from webapp.extensions import db
from webapp.redirects import safe_next
from webapp.services.errors import NotFound, ServiceError, TooManyAttempts

JSON_BLUEPRINTS: set[str] = set()


def answers_json(blueprint: Blueprint) -> Blueprint:
    """Declare that every error met in ``blueprint``'s views is answered as JSON."""
    JSON_BLUEPRINTS.add(blueprint.name)
    return blueprint


def on_refusal(target: Callable[..., str]):
    """Decorate a view: when a service refuses its action, go to ``target(**view_args)`` with the reason flashed."""

    def decorate(view):
        view.refusal_target = target
        return view

    return decorate


def wants_json() -> bool:
    """True in a JSON blueprint, or when the client asked for JSON rather than a page."""
    if request.blueprint in JSON_BLUEPRINTS:
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def json_error(code: int, name: str, message: str):
    return jsonify(error=name, message=message, status=code), code


def _render(code: int, name: str, description: str):
    if wants_json():
        return json_error(code, name, description)
    template = f"errors/{code}.html" if code in (403, 404, 500) else "errors/generic.html"
    return render_template(template, code=code, name=name, description=description), code


def _back_after_refusal() -> str:
    """Where a refused action sends the reader: the form's ``next``, the view's target, the form's page, home."""
    view = current_app.view_functions.get(request.endpoint or "")
    target = getattr(view, "refusal_target", None)
    referrer = urlsplit(request.referrer or "")
    form_page = f"{referrer.path}?{referrer.query}" if referrer.query else referrer.path
    return (
        safe_next(request.form.get("next"))
        or (target(**(request.view_args or {})) if target else None)
        or (safe_next(form_page) if referrer.netloc == request.host else None)
        or url_for("main.index")
    )


def register_error_handlers(app: Flask) -> None:
    """Install the handlers for service refusals, HTTP errors, CSRF failures and unexpected exceptions."""

    @app.errorhandler(CSRFError)
    def handle_csrf_error(error: CSRFError):
        return _render(400, "Form expired", "The form was too old or incomplete. Reload the page and try again.")

    @app.errorhandler(TooManyAttempts)
    def handle_too_many_attempts(error: TooManyAttempts):
        return _render(429, "Too Many Requests", error.message)

    @app.errorhandler(NotFound)
    def handle_not_found(error: NotFound):
        db.session.rollback()
        return _render(404, "Not Found", error.message)

    @app.errorhandler(ServiceError)
    def handle_refusal(error: ServiceError):
        db.session.rollback()
        if wants_json() or request.method == "GET":
            return _render(400, "Bad Request", error.message)
        flash(error.message, "danger")
        return redirect(_back_after_refusal())

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
