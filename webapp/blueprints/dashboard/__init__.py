"""The staff statistics screen, and the JSON views that feed its charts (their own blueprint: errors are JSON)."""

from flask import Blueprint

from webapp.errors import answers_json

bp = Blueprint("dashboard", __name__)
api_bp = answers_json(Blueprint("dashboard_api", __name__))

from webapp.blueprints.dashboard import routes  # noqa: E402,F401
