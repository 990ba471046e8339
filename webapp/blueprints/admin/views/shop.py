"""Back office, Shop menu: orders, shipped and cancelled through the shop rules."""

from __future__ import annotations

from flask_admin.actions import action
from markupsafe import Markup, escape

from webapp.blueprints.admin.views.base import (
    StaffModelView,
    money,
    reader_name,
)
from webapp.models import Order
from webapp.services import shop


def _order_lines(_view, _context, model: Order, _name) -> Markup:
    lines = (f"{item.quantity} × {escape(item.book.title)} at {item.unit_price:.2f}" for item in model.items)
    return Markup("<br>").join(lines)


class OrderAdmin(StaffModelView):
    column_list = ("id", "user", "status", "total", "created_at", "paid_at", "cancelled_at")
    column_details_list = ("id", "user", "status", "total", "created_at", "paid_at", "cancelled_at", "items")
    column_formatters = {"user": reader_name, "total": money}
    column_formatters_detail = {"user": reader_name, "total": money, "items": _order_lines}
    column_searchable_list = ("user.username",)
    column_filters = ("status", "created_at")
    column_default_sort = ("created_at", True)
    can_create = False  # readers check out from their cart
    can_edit = False  # status changes are the actions below, with their rules
    can_delete = False
    can_export = True
    export_types = ["csv"]
    column_export_list = ("id", "user.username", "status", "total", "created_at", "paid_at", "cancelled_at")

    @action("ship", "Mark shipped", "Mark the selected orders as shipped?")
    def action_ship(self, ids: list[str]) -> None:
        self.run_for_each(ids, shop.ship_order, "Orders shipped")

    @action("cancel", "Cancel and restock", "Cancel the selected orders and put their copies back in stock?")
    def action_cancel(self, ids: list[str]) -> None:
        self.run_for_each(ids, lambda order_id: shop.cancel_order(None, order_id), "Orders cancelled")
