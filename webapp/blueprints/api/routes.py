"""Routes of the api blueprint."""

from flask import jsonify
from flask_login import current_user, login_required
from sqlalchemy import text

from webapp.blueprints.api import bp
from webapp.extensions import db
from webapp.services import reader_recs


@bp.route("/api/recommendations")
@login_required
def recommendations():
    """The logged-in reader's current recommendations as JSON."""
    items = reader_recs.recommendations_for(current_user.id, limit=20)
    return jsonify(
        user_id=current_user.id,
        recommendations=[
            {
                "book_id": item.book.id,
                "title": item.book.title,
                "score": item.score,
                "reason": item.reason,
                "model_run_id": item.model_run_id,
            }
            for item in items
        ],
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
