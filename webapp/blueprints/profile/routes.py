"""Routes of the profile blueprint: only ever the logged-in reader's own data."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from webapp.blueprints.profile import bp
from webapp.blueprints.profile.forms import EmailForm, LovedBooksForm, PasswordForm
from webapp.errors import on_refusal
from webapp.services import accounts, activity, circulation, reader_recs
from webapp.services import catalogue as catalogue_service
from webapp.services import profile as profile_service
from webapp.services import recommendations as recs_service
from webapp.services.errors import ServiceError


def _render(tab: str = "loans", email_form=None, password_form=None, status=200):
    if tab not in profile_service.TABS:
        abort(404)
    context = {"centre": profile_service.personal_centre(current_user.id, tab)}
    if tab == "holds":
        context["queue_places"] = circulation.queue_places(context["centre"].holds)
    elif tab == "recs":
        context["recommendations"] = reader_recs.recommendations_for(current_user.id, limit=12)
    elif tab == "account":  # the only tab with these forms
        context["email_form"] = email_form or EmailForm(current_user.id, obj=current_user)
        context["password_form"] = password_form or PasswordForm()
    return render_template("profile/index.html", tab=tab, tabs=profile_service.TABS, **context), status


@bp.route("/")
@login_required
def index():
    """The personal centre, one tab at a time: loans, holds, orders, ratings, reviews, favourites, recommendations."""
    return _render(request.args.get("tab", "loans"))


WELCOME_SEARCH_RESULTS = 24


@bp.route("/welcome", methods=["GET", "POST"])
@login_required
@on_refusal(lambda: url_for("profile.welcome"))
def welcome():
    """Onboarding: pick books you loved (popular per category, or found by search); they count as 5★ ratings."""
    form = LovedBooksForm()
    if form.validate_on_submit():
        stored = activity.mark_loved(current_user.id, form.books.data or [])
        flash(
            f"Thanks: {stored} book{'s' if stored != 1 else ''} added to your ratings. Here are your recommendations.",
            "success",
        )
        return redirect(url_for("main.index", _anchor="recommended"))
    query = (request.args.get("q") or "")[: catalogue_service.MAX_QUERY_LENGTH].strip()
    found = []
    if query:
        found = catalogue_service.paginate_books(
            catalogue_service.book_query(query=query), 1, WELCOME_SEARCH_RESULTS
        ).items
    return render_template(
        "profile/welcome.html",
        loved_form=form,
        query=query,
        found=found,
        shelves=[] if query else recs_service.popular_by_category(),
    ), 400 if request.method == "POST" else 200


@bp.route("/email", methods=["POST"])
@login_required
def change_email():
    form = EmailForm(current_user.id)
    if form.validate_on_submit():
        try:
            accounts.change_email(current_user, form.email.data)
        except ServiceError as error:
            form.email.errors.append(error.message)
        else:
            flash("Your email is updated.", "success")
            return redirect(url_for("profile.index", tab="account"))
    return _render("account", email_form=form, status=400)


@bp.route("/password", methods=["POST"])
@login_required
def change_password():
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            user = current_user._get_current_object()
            accounts.change_password(user, form.current_password.data, form.new_password.data)
        except ServiceError as error:
            form.current_password.errors.append(error.message)
        else:
            flash("Your password is changed.", "success")
            return redirect(url_for("profile.index", tab="account"))
    return _render("account", password_form=form, status=400)


@bp.route("/sessions/end", methods=["POST"])
@login_required
def log_out_everywhere():
    """End every other login session of the reader (other browsers, copied cookies)."""
    accounts.log_out_everywhere(current_user._get_current_object())
    flash("You are logged out everywhere else.", "success")
    return redirect(url_for("profile.index", tab="account"))
