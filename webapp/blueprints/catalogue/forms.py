"""Forms of the catalogue blueprint."""

from flask_wtf import FlaskForm
from wtforms import IntegerField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from webapp.models.activity import REVIEW_MAX_LENGTH


class RatingForm(FlaskForm):
    stars = IntegerField(
        "Your rating (1-5 stars)",
        validators=[
            InputRequired(message="Choose 1 to 5 stars."),
            NumberRange(min=1, max=5, message="A rating is 1 to 5 stars."),
        ],
    )
    submit = SubmitField("Rate")


class ReviewForm(FlaskForm):
    body = TextAreaField(
        "Your review",
        validators=[
            DataRequired(message="A review needs some text."),
            Length(max=REVIEW_MAX_LENGTH, message=f"A review can be at most {REVIEW_MAX_LENGTH} characters."),
        ],
    )
    submit = SubmitField("Publish review")
