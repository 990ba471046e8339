"""Back office, Catalogue menu: books, categories and the CSV import."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_admin import BaseView, expose
from sqlalchemy import inspect
from sqlalchemy.orm.attributes import set_committed_value
from wtforms.validators import NumberRange, Optional, ValidationError

from webapp.blueprints.admin.forms import BookImportForm
from webapp.blueprints.admin.views.base import (
    RELATION_LABELS,
    StaffAccess,
    StaffModelView,
    YesNoFilter,
    money,
)
from webapp.models import Book, Category
from webapp.services import book_import, catalogue, circulation, reader_recs, shop
from webapp.services.errors import ServiceError


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
    column_formatters = {"price": money}
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
        try:
            model.isbn13 = catalogue.clean_isbn(model.isbn13, model.id)
        except ServiceError as error:
            raise ValidationError(error.message) from None
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

    def after_model_change(self, form, model: Book, is_created: bool) -> None:
        if is_created:  # its content vector at once: similar books, and it can be recommended
            reader_recs.add_books([model.id])


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
        try:
            model.name, model.slug = catalogue.clean_category(model.name, model.slug, model.id)
        except ServiceError as error:
            raise ValidationError(error.message) from None

    def on_model_delete(self, model: Category) -> None:
        try:
            catalogue.check_category_can_go(model)
        except ServiceError as error:
            raise ValidationError(error.message) from None


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
