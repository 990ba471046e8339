"""Back-office views: Flask-Admin model views over the library and the shop, all for staff only.

Changes that have rules (returning a loan, cancelling an order, adding or withdrawing
copies and stock) go through the same services as the readers' pages.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import abort, flash, redirect, request, url_for
from flask_admin import AdminIndexView, BaseView, expose
from flask_admin.actions import action
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla.filters import BaseSQLAFilter
from markupsafe import Markup, escape
from sqlalchemy import func, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value
from wtforms.validators import NumberRange, Optional, ValidationError

from webapp.access import is_staff, refuse_non_staff
from webapp.blueprints.admin.forms import BookImportForm, StaffForm
from webapp.extensions import db
from webapp.models import Book, Category, Hold, Loan, Order, User
from webapp.models.base import utcnow
from webapp.models.circulation import ACTIVE_HOLD_STATUSES
from webapp.models.users import ROLE_ADMIN, ROLE_READER
from webapp.security import is_database_id
from webapp.services import book_import, circulation, shop, statistics
from webapp.services.errors import ServiceError
from webapp.services.genres import slugify

logger = logging.getLogger(__name__)

# Beyond these, list pages are a 404: OFFSET page * page_size must stay a database integer.
MAX_PAGE = 10**9
MAX_PAGE_SIZE = 1000


class StaffAccess:
    """Only staff pass: anonymous visitors are sent to log in, readers get 403 (GET and POST alike)."""

    def is_accessible(self) -> bool:
        return is_staff()

    def _handle_view(self, name, **kwargs):
        """Flask-Admin redirects to the ``url`` it is given: one with control characters is refused (400)."""
        return_url = request.values.get("url", "")
        if any(ord(character) < 32 or ord(character) == 127 for character in return_url):
            abort(400, description="The return address holds control characters; nothing was changed.")
        return super()._handle_view(name, **kwargs)

    def inaccessible_callback(self, name, **kwargs):
        return refuse_non_staff()


class StaffHomeView(StaffAccess, AdminIndexView):
    """The back-office home: headline numbers and the way to the statistics screen."""

    @expose("/")
    def index(self):
        return self.render("admin/staff_home.html", numbers=statistics.headline())


# Names for the columns reached through a relationship (list headers and the search box).
RELATION_LABELS = {"user": "Reader", "user.username": "reader", "book": "Book", "book.title": "book title"}


class StaffModelView(StaffAccess, ModelView):
    """Base of every model view: CSRF-protected forms, paging, details pages."""

    column_labels = RELATION_LABELS
    form_base_class = StaffForm
    page_size = 50
    can_set_page_size = True
    can_view_details = True

    def _get_list_extra_args(self):
        """A page number or size no list can reach is a 404 (a huge one would overflow the database's OFFSET)."""
        view_args = super()._get_list_extra_args()
        if not (0 <= (view_args.page or 0) <= MAX_PAGE and 0 <= (view_args.page_size or 0) <= MAX_PAGE_SIZE):
            abort(404, description="There is no such page.")
        return view_args

    def get_one(self, id):
        """None (Flask-Admin says the record does not exist) for an id no row can have."""
        return super().get_one(id) if is_database_id(id) else None

    def handle_action(self, return_view: str | None = None):
        """Actions on rows refuse ids no row can have, before any is touched."""
        if not all(is_database_id(raw) for raw in request.form.getlist("rowid")):
            abort(400, description="The selection holds an id that no record can have; nothing was changed.")
        return super().handle_action(return_view)

    def handle_view_exception(self, exc: Exception) -> bool:
        """A change the database refuses (a duplicate, a broken rule) is reported plainly, not as SQL."""
        if isinstance(exc, IntegrityError):
            logger.warning("Back-office change refused by the database: %s", exc.orig)
            flash("Not saved: the change conflicts with data already stored (a duplicate or a broken rule).", "error")
            return True
        return super().handle_view_exception(exc)

    def run_for_each(self, ids: list[str], change: Callable[[int], object], done: str) -> None:
        """Apply ``change`` to each selected id through a service; flash what worked and what did not."""
        succeeded, refused = 0, []
        for raw_id in ids:
            try:
                change(int(raw_id))
            except ServiceError as error:
                refused.append(f"#{raw_id}: {error.message}")
            else:
                succeeded += 1
        if succeeded:
            flash(f"{done}: {succeeded}.", "success")
        for message in refused:
            flash(message, "error")


class YesNoFilter(BaseSQLAFilter):
    """A yes/no filter on a condition, e.g. "available for loan"."""

    def __init__(self, column, name: str, condition: Callable[[], object]) -> None:
        super().__init__(column, name, options=(("yes", "yes"), ("no", "no")))
        self.condition = condition

    def apply(self, query, value, alias=None):
        condition = self.condition()
        return query.filter(condition if value == "yes" else ~condition)

    def operation(self) -> str:
        return "is"


def _money(_view, _context, model, name) -> str:
    return f"{getattr(model, name):.2f}"


def _title(_view, _context, model, _name) -> str:
    return model.book.title if model.book else ""


def _reader(_view, _context, model, _name) -> str:
    return model.user.username if model.user else ""


class BookAdmin(StaffModelView):
    column_list = ("title", "authors", "isbn13", "category", "price", "stock", "copies_total", "copies_available")
    column_labels = {
        **RELATION_LABELS,
        "isbn13": "ISBN-13",
        "copies_total": "Copies",
        "copies_available": "On shelf",
        "publication_year": "Year",
    }
    column_searchable_list = ("title", "authors", "isbn13")
    column_sortable_list = (
        "title",
        "authors",
        "price",
        "stock",
        "copies_total",
        "copies_available",
        ("category", "category.name"),
    )
    column_filters = (
        "category.name",
        YesNoFilter(Book.copies_available, "Available for loan", lambda: Book.copies_available > 0),
        YesNoFilter(Book.stock, "In stock", lambda: Book.stock > 0),
        "publication_year",
    )
    column_formatters = {"price": _money}
    column_default_sort = "title"
    can_delete = False  # loans and orders refer to books: withdraw copies and stock instead
    can_export = True
    export_types = ["csv"]
    column_export_list = (
        "id",
        "title",
        "authors",
        "isbn13",
        "publication_year",
        "category.name",
        "price",
        "stock",
        "copies_total",
        "copies_available",
    )
    form_columns = (
        "title",
        "authors",
        "isbn13",
        "publication_year",
        "category",
        "description",
        "cover_url",
        "price",
        "stock",
        "copies_total",
    )
    form_args = {
        "price": {"validators": [NumberRange(min=0, max=999999.99, message="The price must be 0 or more.")]},
        "stock": {"validators": [NumberRange(min=0, max=100000, message="Stock must be 0 or more.")]},
        "copies_total": {"validators": [NumberRange(min=0, max=1000, message="Copies must be 0 or more.")]},
        "publication_year": {"validators": [Optional(), NumberRange(min=-3000, max=2100)]},
    }

    def on_model_change(self, form, model: Book, is_created: bool) -> None:
        if model.isbn13:
            model.isbn13 = model.isbn13.replace("-", "").strip()
            with db.session.no_autoflush:
                clash = db.session.scalar(select(Book.title).where(Book.isbn13 == model.isbn13, Book.id != model.id))
            if clash is not None:
                raise ValidationError(f"ISBN {model.isbn13} already belongs to “{clash}”.")
        else:
            model.isbn13 = None
        if is_created:
            model.copies_available = model.copies_total
            return
        # Copies and stock change relative to what the form showed, through the services,
        # so loans and sales made meanwhile are kept and the constraints hold.
        state = inspect(model)
        for attribute, change in (("copies_total", circulation.change_copies), ("stock", shop.change_stock)):
            history = state.attrs[attribute].history
            if not history.deleted:
                continue
            before, after = history.deleted[0], getattr(model, attribute)
            set_committed_value(model, attribute, before)
            try:
                change(model.id, after - before)
            except ServiceError as error:
                raise ValidationError(error.message) from None


class CategoryAdmin(StaffModelView):
    column_list = ("name", "slug")
    column_searchable_list = ("name",)
    column_default_sort = "name"
    form_columns = ("name", "slug")
    form_args = {
        "slug": {
            "validators": [Optional()],
            "description": "Part of the category's address; left empty, it is made from the name.",
        }
    }

    def on_model_change(self, form, model: Category, is_created: bool) -> None:
        model.name = (model.name or "").strip()
        if not model.name:
            raise ValidationError("A category needs a name.")
        model.slug = slugify(model.slug or model.name)
        if not model.slug:
            raise ValidationError("The slug needs at least one letter or digit (a-z, 0-9).")
        for column, label in ((Category.name, "name"), (Category.slug, "slug")):
            value = getattr(model, label)
            same = select(Category.id).where(func.lower(column) == value.lower(), Category.id != model.id)
            with db.session.no_autoflush:
                taken = db.session.scalar(same) is not None
            if taken:
                raise ValidationError(f"Another category already has the {label} “{value}”.")

    def on_model_delete(self, model: Category) -> None:
        if model.books:
            raise ValidationError(f"“{model.name}” still has {len(model.books)} books: move them first.")


class ReaderAdmin(StaffModelView):
    """Accounts. Password hashes are never shown; staff change the role or deactivate."""

    column_list = ("username", "email", "role", "active", "created_at", "source_user_id")
    column_details_list = column_list
    column_labels = {**RELATION_LABELS, "source_user_id": "Goodreads id", "created_at": "Joined"}
    column_searchable_list = ("username", "email")
    column_filters = ("role", "active", "created_at")
    column_sortable_list = ("username", "email", "role", "active", "created_at")
    column_default_sort = ("created_at", True)
    can_create = False  # readers register themselves
    can_delete = False  # deactivate instead: their loans and orders stay on record
    form_columns = ("role", "active")
    form_choices = {"role": [(ROLE_READER, "reader"), (ROLE_ADMIN, "admin (staff)")]}

    def on_model_change(self, form, model: User, is_created: bool) -> None:
        from flask_login import current_user

        if model.id == current_user.id and (model.role != ROLE_ADMIN or not model.active):
            raise ValidationError("You cannot take away your own staff access or deactivate yourself.")


class LoanAdmin(StaffModelView):
    column_list = ("id", "user", "book", "borrowed_at", "due_at", "returned_at", "renewals")
    column_formatters = {"user": _reader, "book": _title}
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
        def give_back(loan_id: int) -> None:
            loan = db.session.get(Loan, loan_id)
            if loan is None:
                raise ServiceError("There is no such loan.")
            circulation.return_loan(loan.user_id, loan_id)

        self.run_for_each(ids, give_back, "Loans returned")


def _days_overdue(_view, _context, model: Loan, _name) -> str:
    return str(circulation.overdue_status(model).days_overdue)


def _fine(_view, _context, model: Loan, _name) -> str:
    return f"{circulation.overdue_status(model).fine:.2f}"


class OverdueLoanAdmin(LoanAdmin):
    """Open loans past their due date, most overdue first, with the fine so far."""

    column_list = ("id", "user", "book", "borrowed_at", "due_at", "days_overdue", "fine", "renewals")
    column_formatters = {"user": _reader, "book": _title, "days_overdue": _days_overdue, "fine": _fine}
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
    column_formatters = {"user": _reader, "book": _title}
    column_searchable_list = ("user.username", "book.title")
    column_filters = ("status", "created_at")
    column_default_sort = ("created_at", True)
    can_create = False
    can_edit = False
    can_delete = False

    @action("cancel", "Cancel hold", "Cancel the selected holds? A copy set aside passes to the next reader.")
    def action_cancel(self, ids: list[str]) -> None:
        def cancel(hold_id: int) -> None:
            hold = db.session.get(Hold, hold_id)
            if hold is None or hold.status not in ACTIVE_HOLD_STATUSES:
                raise ServiceError("This hold is not waiting or ready, so there is nothing to cancel.")
            circulation.cancel_hold(hold.user_id, hold_id)

        self.run_for_each(ids, cancel, "Holds cancelled")


def _order_lines(_view, _context, model: Order, _name) -> Markup:
    lines = (f"{item.quantity} × {escape(item.book.title)} at {item.unit_price:.2f}" for item in model.items)
    return Markup("<br>").join(lines)


class OrderAdmin(StaffModelView):
    column_list = ("id", "user", "status", "total", "created_at", "paid_at", "cancelled_at")
    column_details_list = ("id", "user", "status", "total", "created_at", "paid_at", "cancelled_at", "items")
    column_formatters = {"user": _reader, "total": _money}
    column_formatters_detail = {"user": _reader, "total": _money, "items": _order_lines}
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


class ReviewAdmin(StaffModelView):
    """Moderation: read and delete reviews (staff do not rewrite a reader's words)."""

    column_list = ("id", "user", "book", "created_at", "body")
    column_formatters = {
        "user": _reader,
        "book": _title,
        "body": lambda _v, _c, model, _n: model.body if len(model.body) <= 160 else model.body[:159] + "…",
    }
    column_searchable_list = ("body", "user.username", "book.title")
    column_filters = ("created_at",)
    column_default_sort = ("created_at", True)
    can_create = False
    can_edit = False


class ReadOnlyAdmin(StaffModelView):
    can_create = False
    can_edit = False
    can_delete = False


class RatingAdmin(ReadOnlyAdmin):
    column_list = ("id", "user", "book", "rating", "created_at", "updated_at")
    column_formatters = {"user": _reader, "book": _title}
    column_searchable_list = ("user.username", "book.title")
    column_filters = ("rating", "created_at")


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
    column_formatters = {"user": _reader, "book": _title, "score": lambda _v, _c, m, _n: f"{m.score:.4f}"}
    column_searchable_list = ("user.username",)
    column_filters = ("model_run_id", "rank")
    column_sortable_list = ("model_run_id", "rank", "score")
    can_view_details = False


class BookImportView(StaffAccess, BaseView):
    """Bulk import of books from a CSV file: all rows or none."""

    @expose("/", methods=("GET", "POST"))
    def index(self):
        form = BookImportForm()
        problems: list[tuple[int, str]] = []
        if form.validate_on_submit():
            try:
                report = book_import.import_books(form.file.data.read())
            except book_import.ImportRejected as error:
                flash(error.message, "error")
                problems = error.problems
            else:
                added = f" New categories: {', '.join(report.new_categories)}." if report.new_categories else ""
                flash(f"Imported {report.books} books.{added}", "success")
                return redirect(url_for("book.index_view"))
        elif request.method == "POST":
            for errors in form.errors.values():
                for message in errors:
                    flash(message, "error")
        return self.render(
            "admin/import_books.html",
            form=form,
            problems=problems,
            required=book_import.REQUIRED_COLUMNS,
        )
