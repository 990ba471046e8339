"""Back office, Library menu: loans, overdue loans and holds, through the circulation rules."""

from __future__ import annotations

from flask_admin.actions import action

from webapp.blueprints.admin.views.base import (
    StaffModelView,
    YesNoFilter,
    reader_name,
    title_of,
)
from webapp.models import Loan
from webapp.models.base import utcnow
from webapp.services import circulation


class LoanAdmin(StaffModelView):
    column_list = ("id", "user", "book", "borrowed_at", "due_at", "returned_at", "renewals")
    column_formatters = {"user": reader_name, "book": title_of}
    column_searchable_list = ("user.username", "book.title")
    column_filters = (
        YesNoFilter(Loan.due_at, "Overdue", lambda: Loan.overdue_at(utcnow())),
        YesNoFilter(Loan.returned_at, "Out", lambda: Loan.returned_at.is_(None)),
        "borrowed_at",
        "due_at",
    )
    column_sortable_list = ("id", "borrowed_at", "due_at", "returned_at", "renewals")
    column_default_sort = ("borrowed_at", True)
    can_create = False  # readers borrow from the book page; the rules live there
    can_edit = False
    can_delete = False

    @action("mark_returned", "Mark returned", "Mark the selected loans as returned?")
    def action_mark_returned(self, ids: list[str]) -> None:
        self.run_for_each(ids, circulation.return_loan_for_staff, "Loans returned")


def _days_overdue(_view, _context, model: Loan, _name) -> str:
    return str(circulation.overdue_status(model).days_overdue)


def _fine(_view, _context, model: Loan, _name) -> str:
    return f"{circulation.overdue_status(model).fine:.2f}"


class OverdueLoanAdmin(LoanAdmin):
    """Open loans past their due date, most overdue first, with the fine so far."""

    column_list = ("id", "user", "book", "borrowed_at", "due_at", "days_overdue", "fine", "renewals")
    column_formatters = {"user": reader_name, "book": title_of, "days_overdue": _days_overdue, "fine": _fine}
    column_default_sort = ("due_at", False)
    column_filters = ("due_at",)
    can_export = True
    export_types = ["csv"]
    column_export_list = ("id", "user.username", "user.email", "book.title", "due_at")

    def _overdue(self, query):
        return query.filter(Loan.overdue_at(utcnow()))

    def get_query(self):
        return self._overdue(super().get_query())

    def get_count_query(self):
        return self._overdue(super().get_count_query())


class HoldAdmin(StaffModelView):
    column_list = ("id", "user", "book", "created_at", "status", "ready_until")
    column_formatters = {"user": reader_name, "book": title_of}
    column_searchable_list = ("user.username", "book.title")
    column_filters = ("status", "created_at")
    column_default_sort = ("created_at", True)
    can_create = False
    can_edit = False
    can_delete = False

    @action("cancel", "Cancel hold", "Cancel the selected holds? A copy set aside passes to the next reader.")
    def action_cancel(self, ids: list[str]) -> None:
        self.run_for_each(ids, circulation.cancel_hold_for_staff, "Holds cancelled")
