"""Back office: reader accounts, and the Readers' activity menu (reviews, ratings)."""

from __future__ import annotations

from flask_login import current_user
from wtforms.validators import ValidationError

from webapp.blueprints.admin.views.base import (
    RELATION_LABELS,
    ReadOnlyAdmin,
    StaffModelView,
    reader_name,
    title_of,
)
from webapp.models import User
from webapp.models.users import ROLE_ADMIN, ROLE_READER
from webapp.services import accounts
from webapp.services.errors import ServiceError


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
        try:
            accounts.apply_staff_change(current_user.id, model)
        except ServiceError as error:
            raise ValidationError(error.message) from None


class ReviewAdmin(StaffModelView):
    """Moderation: read and delete reviews (staff do not rewrite a reader's words)."""

    column_list = ("id", "user", "book", "created_at", "body")
    column_formatters = {
        "user": reader_name,
        "book": title_of,
        "body": lambda _v, _c, model, _n: model.body if len(model.body) <= 160 else model.body[:159] + "…",
    }
    column_searchable_list = ("body", "user.username", "book.title")
    column_filters = ("created_at",)
    column_default_sort = ("created_at", True)
    can_create = False
    can_edit = False


class RatingAdmin(ReadOnlyAdmin):
    column_list = ("id", "user", "book", "rating", "created_at", "updated_at")
    column_formatters = {"user": reader_name, "book": title_of}
    column_searchable_list = ("user.username", "book.title")
    column_filters = ("rating", "created_at")
