"""Forms of the back office: Flask-Admin's SecureForm speaking Flask-WTF's CSRF, and the CSV upload."""

from __future__ import annotations

from flask import current_app
from flask_admin.form import SecureForm
from flask_wtf import FlaskForm
from flask_wtf.csrf import generate_csrf, validate_csrf
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import SubmitField
from wtforms.csrf.core import CSRF
from wtforms.validators import ValidationError


class FlaskWTFTokens(CSRF):
    """Tokens made and checked by Flask-WTF, so they pass the site-wide ``CSRFProtect`` too.

    Flask-Admin's own ``SecureForm`` signs tokens its own way, which ``CSRFProtect`` (it
    guards every POST of the site, the back office included) would refuse.
    """

    def generate_csrf_token(self, csrf_token_field) -> str:
        return generate_csrf()

    def validate_csrf_token(self, form, field) -> None:
        try:
            validate_csrf(field.data)
        except ValidationError as error:
            raise ValidationError(error.args[0] if error.args else "The form expired.") from None


class StaffForm(SecureForm):
    """Base form of every back-office model view: CSRF-protected like the rest of the site."""

    class Meta:
        csrf_class = FlaskWTFTokens

        @property
        def csrf(self) -> bool:
            return current_app.config.get("WTF_CSRF_ENABLED", True)


class BookImportForm(FlaskForm):
    """Upload of a CSV file of books."""

    file = FileField(
        "CSV file",
        validators=[FileRequired("Choose a CSV file."), FileAllowed(["csv"], "The file must be a .csv file.")],
    )
    submit = SubmitField("Check and import")
