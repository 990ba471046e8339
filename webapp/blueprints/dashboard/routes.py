"""Routes of the dashboard blueprint: the page, and one JSON view per chart."""

from __future__ import annotations

from flask import jsonify, render_template, request

from webapp.access import staff_required
from webapp.blueprints.dashboard import api_bp, bp
from webapp.services import statistics


@bp.before_request
@api_bp.before_request
@staff_required
def only_staff():
    """Every page and JSON view of the dashboard is for staff only."""


@bp.route("/dashboard")
def index():
    """The full-screen statistics page; its charts fetch their data from the JSON views."""
    return render_template("dashboard/index.html", charts=list(statistics.CHARTS))


@api_bp.route("/dashboard/api/<chart>")
def chart_data(chart: str):
    """Figures for one chart, for ``?from=YYYY-MM-DD&to=YYYY-MM-DD`` (default: the last 90 days)."""
    period = statistics.parse_date_range(request.args.get("from"), request.args.get("to"))
    return jsonify(chart=chart, range=period.as_json(), **statistics.chart(chart, period))
