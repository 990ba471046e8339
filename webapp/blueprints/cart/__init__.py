"""The cart, checkout and orders."""

from flask import Blueprint

bp = Blueprint("cart", __name__)

from webapp.blueprints.cart import routes  # noqa: E402,F401
