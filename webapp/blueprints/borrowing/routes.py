"""Routes of the borrowing blueprint: thin wrappers around webapp.services.circulation."""

from flask import abort, flash, redirect, url_for
from flask_login import current_user, login_required

from webapp.blueprints.borrowing import bp
from webapp.blueprints.borrowing.forms import ButtonForm
from webapp.services import circulation
from webapp.services.errors import NotFound, ServiceError


def _run(action, success: str, back: str):
    if not ButtonForm().validate_on_submit():
        abort(400, description="The form expired; reload the page and try again.")
    try:
        action()
    except NotFound as error:
        abort(404, description=error.message)
    except ServiceError as error:
        flash(error.message, "danger")
    else:
        flash(success, "success")
    return redirect(back)


@bp.route("/books/<int:book_id>/borrow", methods=["POST"])
@login_required
def borrow(book_id: int):
    return _run(
        lambda: circulation.borrow(current_user.id, book_id),
        "Enjoy your book! It is now on loan to you.",
        url_for("catalogue.book_detail", book_id=book_id),
    )


@bp.route("/books/<int:book_id>/hold", methods=["POST"])
@login_required
def hold(book_id: int):
    return _run(
        lambda: circulation.place_hold(current_user.id, book_id),
        "You joined the queue for this book.",
        url_for("catalogue.book_detail", book_id=book_id),
    )


@bp.route("/loans/<int:loan_id>/renew", methods=["POST"])
@login_required
def renew(loan_id: int):
    return _run(lambda: circulation.renew(current_user.id, loan_id), "Your loan is renewed.", url_for("profile.index"))


@bp.route("/loans/<int:loan_id>/return", methods=["POST"])
@login_required
def return_loan(loan_id: int):
    return _run(
        lambda: circulation.return_loan(current_user.id, loan_id),
        "Thank you: the book is returned.",
        url_for("profile.index"),
    )


@bp.route("/holds/<int:hold_id>/cancel", methods=["POST"])
@login_required
def cancel_hold(hold_id: int):
    return _run(
        lambda: circulation.cancel_hold(current_user.id, hold_id), "You left the queue.", url_for("profile.index")
    )
