"""Routes of the main blueprint."""

from flask import jsonify, render_template
from sqlalchemy import text

from webapp.blueprints.main import bp
from webapp.extensions import db
from webapp.services import catalogue as catalogue_service


@bp.route("/")
def index():
    """Home page: the categories and the books readers are into."""
    return render_template(
        "main/index.html",
        categories=catalogue_service.categories_with_counts(),
        popular_books=catalogue_service.popular_books(limit=12),
        new_books=catalogue_service.newest_books(limit=6),
    )


@bp.route("/healthz")
def healthz():
    """Liveness and database check for load balancers and uptime monitors."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as error:  # the database is down or unreachable
        db.session.rollback()
        return jsonify(status="error", database="unreachable", detail=type(error).__name__), 503
    return jsonify(status="ok", database="ok")
