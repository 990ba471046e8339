"""The JSON API: the reader's recommendations and the health check. Every error here is JSON."""

from flask import Blueprint

from webapp.errors import answers_json

bp = answers_json(Blueprint("api", __name__))

from webapp.blueprints.api import routes  # noqa: E402,F401
