"""Browsing, searching and the book pages with their reader actions."""

from flask import Blueprint

bp = Blueprint("catalogue", __name__)

from webapp.blueprints.catalogue import routes  # noqa: E402,F401
