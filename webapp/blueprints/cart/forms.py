"""Forms of the cart blueprint."""

import secrets

from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, SubmitField
from wtforms.validators import DataRequired


class QuantityForm(FlaskForm):
    """Quantity as text: the service gives the message for 0, -3, 10^9 or "abc"."""

    quantity = StringField("Quantity", default="1", validators=[DataRequired(message="Enter a quantity.")])
    submit = SubmitField("Update")


class CheckoutForm(FlaskForm):
    """Checkout carries a one-time token, so a replayed form makes no second order."""

    token = HiddenField()
    submit = SubmitField("Check out and pay")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not self.token.data:
            self.token.data = secrets.token_hex(16)


class ButtonForm(FlaskForm):
    submit = SubmitField("Go")
