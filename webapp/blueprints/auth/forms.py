"""Forms of the auth blueprint."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Regexp, ValidationError

from webapp.services import accounts


class RegistrationForm(FlaskForm):
    username = StringField(
        "Username",
        validators=[
            DataRequired(),
            Length(min=3, max=32),
            Regexp(r"^[A-Za-z0-9_.-]+$", message="Use letters, digits, dots, dashes or underscores."),
        ],
    )
    email = EmailField("Email", validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=128)])
    password2 = PasswordField(
        "Repeat password",
        validators=[
            DataRequired(),
            EqualTo("password", message="The passwords do not match."),
        ],
    )
    submit = SubmitField("Create account")

    def validate_username(self, field) -> None:
        if accounts.username_taken(field.data.strip()):
            raise ValidationError("That username is taken.")

    def validate_email(self, field) -> None:
        if accounts.email_taken(field.data.strip()):
            raise ValidationError("An account with that email already exists.")

    def validate_password(self, field) -> None:
        problem = accounts.password_problem(field.data)
        if problem:
            raise ValidationError(problem)


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=128)])
    remember_me = BooleanField("Remember me")
    next = HiddenField()
    submit = SubmitField("Log in")


class LogoutForm(FlaskForm):
    """An empty form: the CSRF token of the log-out button."""

    submit = SubmitField("Log out")
