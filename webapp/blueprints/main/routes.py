"""Routes of the main blueprint."""

from flask import current_app, render_template, send_from_directory
from flask_login import current_user
from markupsafe import Markup

from webapp.blueprints.main import bp
from webapp.fragments import page_parts, render_shared, shared, with_csrf
from webapp.page_cache import cached_for_anonymous
from webapp.services import catalogue as catalogue_service
from webapp.services import reader_recs
from webapp.services.recommendations import ShownRecommendation


@bp.route("/")
def index():
    """Home page: the categories and the books readers are into."""
    return cached_for_anonymous(_render_home)


def _render_home() -> str:
    recommended = []
    if current_user.is_authenticated:
        recommended = [_recommendation_card(item) for item in reader_recs.recommendations_for(current_user.id, limit=6)]
    parts = page_parts("home", _home_parts)
    return with_csrf(render_template("main/index.html", parts=parts, recommended=recommended))


def _recommendation_card(item: ShownRecommendation) -> Markup:
    """A recommended book's card, shared by every reader shown that book for the same reason (as old as the
    home page's other shared parts); which books a reader is shown is read on every request."""
    return Markup(
        shared(
            f"home-card:{item.book.id}:{item.reason}",
            lambda: render_shared("_book_card.html", book=item.book, reason=item.reason, next_path="/"),
        )
    )


def _home_parts(render) -> dict[str, Markup]:
    """The categories and the hot and new books: the same for everyone."""
    categories = Markup(render("main/_home_categories.html", categories=catalogue_service.categories_with_counts()))
    books = render(
        "main/_home_books.html",
        hot_books=catalogue_service.hot_books(limit=catalogue_service.HOME_HOT_BOOKS),
        new_books=catalogue_service.newest_books(limit=6),
    )
    return {"categories": categories, "books": Markup(books)}


@bp.route("/favicon.ico")
def favicon():
    """The site icon, for browsers that ask for /favicon.ico on every page (the back office too)."""
    return send_from_directory(current_app.static_folder, "img/favicon.svg", mimetype="image/svg+xml", max_age=86400)
