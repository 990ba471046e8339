"""Routes of the cart blueprint: thin wrappers around webapp.services.shop."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from webapp.blueprints.cart import bp
from webapp.blueprints.cart.forms import ButtonForm, CheckoutForm, QuantityForm
from webapp.redirects import safe_next
from webapp.services import shop
from webapp.services.errors import NotFound, ServiceError


def _back(default: str) -> str:
    return safe_next(request.form.get("next")) or default


@bp.route("/cart")
@login_required
def view_cart():
    """The cart with line totals, quantities and the checkout form."""
    return render_template(
        "cart/cart.html",
        cart=shop.cart(current_user.id),
        quantity_form=QuantityForm(),
        checkout_form=CheckoutForm(),
        button_form=ButtonForm(),
    )


@bp.route("/cart/add/<int:book_id>", methods=["POST"])
@login_required
def add(book_id: int):
    form = QuantityForm()
    if not form.validate_on_submit():
        abort(400, description="The form expired; reload the page and try again.")
    try:
        shop.add_to_cart(current_user.id, book_id, shop.parse_quantity(form.quantity.data))
    except NotFound as error:
        abort(404, description=error.message)
    except ServiceError as error:
        flash(error.message, "danger")
    else:
        flash("Added to your cart.", "success")
    return redirect(_back(url_for("catalogue.book_detail", book_id=book_id)))


@bp.route("/cart/items/<int:item_id>", methods=["POST"])
@login_required
def update_item(item_id: int):
    form = QuantityForm()
    if not form.validate_on_submit():
        flash("Enter a quantity.", "danger")
        return redirect(url_for("cart.view_cart"))
    try:
        shop.set_quantity(current_user.id, item_id, shop.parse_quantity(form.quantity.data))
    except NotFound as error:
        abort(404, description=error.message)
    except ServiceError as error:
        flash(error.message, "danger")
    else:
        flash("Quantity updated.", "success")
    return redirect(url_for("cart.view_cart"))


@bp.route("/cart/items/<int:item_id>/remove", methods=["POST"])
@login_required
def remove_item(item_id: int):
    if not ButtonForm().validate_on_submit():
        abort(400)
    try:
        shop.remove_item(current_user.id, item_id)
    except NotFound as error:
        abort(404, description=error.message)
    flash("Removed from your cart.", "success")
    return redirect(url_for("cart.view_cart"))


@bp.route("/cart/checkout", methods=["POST"])
@login_required
def checkout():
    form = CheckoutForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        order = shop.checkout(current_user.id, request.form.get("token", ""))
    except ServiceError as error:
        flash(error.message, "danger")
        return redirect(url_for("cart.view_cart"))
    flash(f"Thank you! Order #{order.id} is paid.", "success")
    return redirect(url_for("cart.order", order_id=order.id))


@bp.route("/orders/<int:order_id>")
@login_required
def order(order_id: int):
    try:
        found = shop.own_order(current_user.id, order_id)
    except NotFound as error:
        abort(404, description=error.message)
    return render_template("cart/order.html", order=found, button_form=ButtonForm())


@bp.route("/orders/<int:order_id>/cancel", methods=["POST"])
@login_required
def cancel(order_id: int):
    if not ButtonForm().validate_on_submit():
        abort(400)
    try:
        shop.cancel_order(current_user.id, order_id)
    except NotFound as error:
        abort(404, description=error.message)
    except ServiceError as error:
        flash(error.message, "danger")
    else:
        flash("Your order is cancelled and refunded.", "success")
    return redirect(url_for("cart.order", order_id=order_id))
