"""The reader's personal centre."""

from flask import Blueprint

bp = Blueprint("profile", __name__)

from webapp.blueprints.profile import routes  # noqa: E402,F401
