"""Routes of the dashboard blueprint: the page, and one JSON view per chart."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, jsonify, render_template, request

from webapp.access import staff_required
from webapp.blueprints.dashboard import api_bp, bp
from webapp.models.base import utcnow
from webapp.services import statistics

# URL name -> figures for a date range. The page draws one chart per entry.
CHARTS: dict[str, Callable[[statistics.DateRange], dict[str, Any]]] = {
    "loans": statistics.loans_and_returns,
    "sales": statistics.sales,
    "new-readers": statistics.new_readers,
    "top-loans": statistics.top_books_by_loans,
    "top-sales": statistics.top_books_by_sales,
    "categories": statistics.by_category,
    "ratings": statistics.rating_distribution,
    "inventory": lambda _period: statistics.inventory(),
    "overdue": lambda _period: statistics.overdue_by_days(),
    "recommender": statistics.recommender,
    "summary": lambda _period: statistics.headline(),
}


@bp.before_request
@api_bp.before_request
@staff_required
def only_staff():
    """Every page and JSON view of the dashboard is for staff only."""


@bp.route("/dashboard")
def index():
    """The full-screen statistics page; its charts fetch their data from the JSON views."""
    return render_template("dashboard/index.html", charts=list(CHARTS))


@api_bp.route("/dashboard/api/<chart>")
def chart_data(chart: str):
    """Figures for one chart, for ``?from=YYYY-MM-DD&to=YYYY-MM-DD`` (default: the last 90 days)."""
    figures = CHARTS.get(chart)
    if figures is None:
        abort(404, description=f"There is no chart called {chart!r}.")
    period = statistics.parse_date_range(request.args.get("from"), request.args.get("to"))
    return jsonify(
        chart=chart, range=period.as_json(), generated_at=utcnow().isoformat(timespec="seconds"), data=figures(period)
    )
