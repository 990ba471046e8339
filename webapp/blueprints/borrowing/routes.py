"""Routes of the borrowing blueprint: thin wrappers around webapp.services.circulation.

A refusal (no free copy, too many loans ...) is flashed by the app's error handler, which
sends the reader back to the page named in ``on_refusal``; CSRF is checked for every POST.
"""

from flask import flash, redirect, url_for
from flask_login import current_user, login_required

from webapp.blueprints.borrowing import bp
from webapp.errors import on_refusal
from webapp.services import circulation


def _book_page(book_id: int, **_args) -> str:
    return url_for("catalogue.book_detail", book_id=book_id)


def _loans_tab(**_args) -> str:
    return url_for("profile.index", tab="loans")


def _holds_tab(**_args) -> str:
    return url_for("profile.index", tab="holds")


@bp.route("/books/<int:book_id>/borrow", methods=["POST"])
@login_required
@on_refusal(_book_page)
def borrow(book_id: int):
    circulation.borrow(current_user.id, book_id)
    flash("Enjoy your book! It is now on loan to you.", "success")
    return redirect(_book_page(book_id))


@bp.route("/books/<int:book_id>/hold", methods=["POST"])
@login_required
@on_refusal(_book_page)
def hold(book_id: int):
    circulation.place_hold(current_user.id, book_id)
    flash("You joined the queue for this book.", "success")
    return redirect(_book_page(book_id))


@bp.route("/loans/<int:loan_id>/renew", methods=["POST"])
@login_required
@on_refusal(_loans_tab)
def renew(loan_id: int):
    circulation.renew(current_user.id, loan_id)
    flash("Your loan is renewed.", "success")
    return redirect(_loans_tab())


@bp.route("/loans/<int:loan_id>/return", methods=["POST"])
@login_required
@on_refusal(_loans_tab)
def return_loan(loan_id: int):
    circulation.return_loan(current_user.id, loan_id)
    flash("Thank you: the book is returned.", "success")
    return redirect(_loans_tab())


@bp.route("/holds/<int:hold_id>/cancel", methods=["POST"])
@login_required
@on_refusal(_holds_tab)
def cancel_hold(hold_id: int):
    circulation.cancel_hold(current_user.id, hold_id)
    flash("You left the queue.", "success")
    return redirect(_holds_tab())
