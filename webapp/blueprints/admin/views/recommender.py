"""Back office, Recommender menu: model runs and the cached recommendations (read-only)."""

from __future__ import annotations

from markupsafe import Markup

from webapp.blueprints.admin.views.base import (
    RELATION_LABELS,
    ReadOnlyAdmin,
    reader_name,
    title_of,
)


def _json_table(_view, _context, model, name) -> Markup:
    value = getattr(model, name) or {}
    rows = []
    for key, inner in value.items():
        if isinstance(inner, dict):
            inner = ", ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in inner.items())
        rows.append(Markup("<tr><th>{}</th><td>{}</td></tr>").format(key, inner))
    return Markup('<table class="table table-sm mb-0">{}</table>').format(Markup("").join(rows)) if rows else ""


class ModelRunAdmin(ReadOnlyAdmin):
    column_list = ("id", "algorithm", "status", "is_active", "started_at", "finished_at", "n_users", "n_items")
    column_details_list = (
        "id",
        "algorithm",
        "status",
        "is_active",
        "started_at",
        "finished_at",
        "n_users",
        "n_items",
        "n_interactions",
        "parameters",
        "timings",
        "metrics",
        "error",
    )
    column_labels = {
        **RELATION_LABELS,
        "is_active": "Serving",
        "n_users": "Readers",
        "n_items": "Books",
        "n_interactions": "Events",
    }
    column_formatters_detail = {"parameters": _json_table, "timings": _json_table, "metrics": _json_table}
    column_filters = ("algorithm", "status")
    column_default_sort = ("started_at", True)


class RecommendationAdmin(ReadOnlyAdmin):
    column_list = ("model_run_id", "user", "rank", "book", "score", "reason")
    column_labels = {**RELATION_LABELS, "model_run_id": "Run"}
    column_formatters = {"user": reader_name, "book": title_of, "score": lambda _v, _c, m, _n: f"{m.score:.4f}"}
    column_searchable_list = ("user.username",)
    column_filters = ("model_run_id", "rank")
    column_sortable_list = ("model_run_id", "rank", "score")
    can_view_details = False
