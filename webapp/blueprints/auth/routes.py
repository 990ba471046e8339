"""Routes of the auth blueprint."""

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from webapp.blueprints.auth import bp
from webapp.blueprints.auth.forms import LoginForm, LogoutForm, RegistrationForm
from webapp.errors import on_refusal
from webapp.redirects import safe_next
from webapp.services import accounts


@bp.route("/register", methods=["GET", "POST"])
@on_refusal(lambda: url_for("auth.register"))
def register():
    """Create a reader account and log it in."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = RegistrationForm()
    if form.validate_on_submit():
        user = accounts.register(form.username.data, form.email.data, form.password.data)
        accounts.log_in(user)
        flash(f"Welcome, {user.username}! Your account is ready. Tell us a few books you loved.", "success")
        return redirect(url_for("profile.welcome"))
    return render_template("auth/register.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Log in with username and password; back to ``next`` when it is a page of this site."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        user = accounts.authenticate(form.username.data, form.password.data, request.remote_addr or "unknown")
        if user is not None:
            accounts.log_in(user, remember=form.remember_me.data)
            flash(f"Welcome back, {user.username}.", "success")
            return redirect(safe_next(form.next.data) or url_for("main.index"))
        flash("Wrong username or password.", "danger")
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    """Log out (a POST with a CSRF token, so no other site can log a reader out)."""
    form = LogoutForm()
    if form.validate_on_submit():
        accounts.log_out()
        flash("You have logged out.", "info")
    return redirect(url_for("main.index"))
