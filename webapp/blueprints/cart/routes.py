"""Routes of the cart blueprint: thin wrappers around webapp.services.shop."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from webapp.blueprints.cart import bp
from webapp.blueprints.cart.forms import ButtonForm, CheckoutForm, QuantityForm
from webapp.errors import on_refusal
from webapp.redirects import safe_next
from webapp.services import shop


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


def _cart_page(**_args) -> str:
    return url_for("cart.view_cart")


@bp.route("/cart/add/<int:book_id>", methods=["POST"])
@login_required
@on_refusal(lambda book_id: url_for("catalogue.book_detail", book_id=book_id))
def add(book_id: int):
    form = QuantityForm()
    if not form.validate_on_submit():
        abort(400, description="Enter a quantity.")
    shop.add_to_cart(current_user.id, book_id, shop.parse_quantity(form.quantity.data))
    flash("Added to your cart.", "success")
    return redirect(_back(url_for("catalogue.book_detail", book_id=book_id)))


@bp.route("/cart/items/<int:item_id>", methods=["POST"])
@login_required
@on_refusal(_cart_page)
def update_item(item_id: int):
    form = QuantityForm()
    if not form.validate_on_submit():
        flash("Enter a quantity.", "danger")
        return redirect(_cart_page())
    shop.set_quantity(current_user.id, item_id, shop.parse_quantity(form.quantity.data))
    flash("Quantity updated.", "success")
    return redirect(_cart_page())


@bp.route("/cart/items/<int:item_id>/remove", methods=["POST"])
@login_required
def remove_item(item_id: int):
    shop.remove_item(current_user.id, item_id)
    flash("Removed from your cart.", "success")
    return redirect(_cart_page())


@bp.route("/cart/checkout", methods=["POST"])
@login_required
@on_refusal(_cart_page)
def checkout():
    order = shop.checkout(current_user.id, request.form.get("token", ""))
    flash(f"Thank you! Order #{order.id} is paid.", "success")
    return redirect(url_for("cart.order", order_id=order.id))


@bp.route("/orders/<int:order_id>")
@login_required
def order(order_id: int):
    found = shop.own_order(current_user.id, order_id)
    return render_template("cart/order.html", order=found, button_form=ButtonForm())


@bp.route("/orders/<int:order_id>/cancel", methods=["POST"])
@login_required
@on_refusal(lambda order_id: url_for("cart.order", order_id=order_id))
def cancel(order_id: int):
    shop.cancel_order(current_user.id, order_id)
    flash("Your order is cancelled and refunded.", "success")
    return redirect(url_for("cart.order", order_id=order_id))
