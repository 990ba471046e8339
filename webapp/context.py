"""Template globals: the navigation, built from the blueprints that are registered."""

from __future__ import annotations

from flask import Flask, current_app
from flask_login import current_user

from webapp.services import covers

# (endpoint, label); links whose blueprint is not registered yet are left out.
MAIN_LINKS = [
    ("main.index", "Home"),
    ("catalogue.book_list", "Books"),
    ("catalogue.hot", "Hot"),
    ("cart.view_cart", "Cart"),
]


def _available(links: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(endpoint, label) for endpoint, label in links if endpoint in current_app.view_functions]


def nav_links() -> list[tuple[str, str]]:
    """Links of the main navigation."""
    return _available(MAIN_LINKS)


def account_links() -> list[tuple[str, str]]:
    """Links on the right of the navigation, depending on who is logged in."""
    if current_user.is_authenticated:
        # The personal centre's link carries the reader's name: base.html draws it.
        links = [("admin.index", "Back office"), ("dashboard.index", "Statistics")] if current_user.is_admin else []
    else:
        links = [("auth.login", "Log in"), ("auth.register", "Register")]
    return _available(links)


def cart_count() -> int:
    """Copies in the logged-in reader's cart, for the navigation badge (a view that read it passes ``in_cart``)."""
    if not current_user.is_authenticated:
        return 0
    from webapp.services.shop import cart_count as count

    return count(current_user.id)


def register_template_globals(app: Flask) -> None:
    """Make the navigation helpers available in every template."""
    app.jinja_env.globals.update(
        nav_links=nav_links,
        account_links=account_links,
        cart_count=cart_count,
        real_cover_url=covers.real_cover_url,
        cover_version=covers.cover_version,
    )
