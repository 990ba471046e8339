"""Forms of the profile blueprint."""

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectMultipleField, SubmitField
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from webapp.services import accounts


class LovedBooksForm(FlaskForm):
    """Onboarding: the books a new reader loved, ticked among those shown (checked by the service)."""

    books = SelectMultipleField(
        "Books you loved",
        coerce=int,
        validate_choice=False,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    submit = SubmitField("Show my recommendations")


class EmailForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)])
    submit = SubmitField("Save email")

    def __init__(self, user_id: int, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user_id = user_id

    def validate_email(self, field) -> None:
        if accounts.email_taken(field.data.strip(), except_user_id=self.user_id):
            raise ValidationError("An account with that email already exists.")


class PasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired()])
    new_password = PasswordField("New password", validators=[DataRequired(), Length(max=128)])
    new_password2 = PasswordField(
        "Repeat the new password",
        validators=[
            DataRequired(),
            EqualTo("new_password", message="The passwords do not match."),
        ],
    )
    submit = SubmitField("Change password")

    def validate_new_password(self, field) -> None:
        problem = accounts.password_problem(field.data)
        if problem:
            raise ValidationError(problem)
