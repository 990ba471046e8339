"""The base of every back-office view: staff only, CSRF-protected forms, bounded pages and ids."""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import abort, flash, request
from flask_admin import AdminIndexView, expose
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla.filters import BaseSQLAFilter
from sqlalchemy.exc import IntegrityError

from webapp.access import is_staff, refuse_non_staff
from webapp.blueprints.admin.forms import StaffForm
from webapp.security import is_database_id
from webapp.services import statistics
from webapp.services.errors import ServiceError

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
    list_template = "admin/model/athenaeum_list.html"

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


def money(_view, _context, model, name) -> str:
    return f"{getattr(model, name):.2f}"


def title_of(_view, _context, model, _name) -> str:
    return model.book.title if model.book else ""


def reader_name(_view, _context, model, _name) -> str:
    return model.user.username if model.user else ""


class ReadOnlyAdmin(StaffModelView):
    """Records staff may look at but not change here."""

    can_create = False
    can_edit = False
    can_delete = False
