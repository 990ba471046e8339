"""Forms of the borrowing blueprint: POST-only buttons."""

from flask_wtf import FlaskForm
from wtforms import SubmitField


class ButtonForm(FlaskForm):
    """An empty form: the CSRF token of a borrow, hold, renew, return or cancel button."""

    submit = SubmitField("Go")
