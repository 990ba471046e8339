"""Borrowing, renewing and returning copies; the hold queue."""

from flask import Blueprint

bp = Blueprint("borrowing", __name__)

from webapp.blueprints.borrowing import routes  # noqa: E402,F401
