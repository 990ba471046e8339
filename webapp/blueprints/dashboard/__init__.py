"""The staff statistics screen and the JSON views that feed its charts."""

from flask import Blueprint

bp = Blueprint("dashboard", __name__)

from webapp.blueprints.dashboard import routes  # noqa: E402,F401
