"""Routes of the catalogue blueprint."""

from flask import abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from markupsafe import Markup

from webapp.blueprints.catalogue import bp
from webapp.blueprints.catalogue.forms import RatingForm, ReviewForm
from webapp.errors import on_refusal
from webapp.fragments import page_parts, with_csrf
from webapp.page_cache import cached_for_anonymous
from webapp.redirects import safe_next
from webapp.services import activity, book_views, covers, reader_recs
from webapp.services import catalogue as catalogue_service
from webapp.services import recommendations as recs_service

# How long browsers keep a drawn cover whose URL names its current version.
COVER_MAX_AGE = 30 * 86400


def _page() -> int:
    page = request.args.get("page", 1, type=int)
    return page if page and 0 < page < 100_000 else 1


def _sort() -> str:
    sort = request.args.get("sort", "popularity")
    return sort if sort in catalogue_service.SORTS else "popularity"


@bp.route("/books")
def book_list():
    """All books, or the ones matching ``q``; sorted and paginated."""
    return cached_for_anonymous(_render_book_list)


def _render_book_list() -> str:
    query = (request.args.get("q") or "")[: catalogue_service.MAX_QUERY_LENGTH]
    sort, page = _sort(), _page()

    def parts(render) -> dict[str, str]:
        stmt = catalogue_service.book_query(query=query, sort=sort)
        pagination = catalogue_service.paginate_books(stmt, page, current_app.config["BOOKS_PER_PAGE"])
        heading = "Search results" if query.strip() else "All books"
        content = render(
            "catalogue/_list_content.html",
            pagination=pagination,
            query=query,
            sort=sort,
            sorts=catalogue_service.SORTS,
            heading=heading,
        )
        return {"heading": heading, "content": Markup(content)}

    return _list_page(f"books:{sort}:{page}:{query}", parts)


@bp.route("/categories/<slug>")
def category(slug: str):
    """The books of one category."""
    return cached_for_anonymous(lambda: _render_category(slug))


def _render_category(slug: str) -> str:
    sort, page = _sort(), _page()

    def parts(render) -> dict[str, str]:
        found = catalogue_service.category_by_slug(slug)
        stmt = catalogue_service.book_query(category_id=found.id, sort=sort)
        pagination = catalogue_service.paginate_books(stmt, page, current_app.config["BOOKS_PER_PAGE"])
        content = render(
            "catalogue/_list_content.html",
            pagination=pagination,
            query="",
            sort=sort,
            sorts=catalogue_service.SORTS,
            heading=found.name,
            category=found,
        )
        return {"heading": found.name, "content": Markup(content)}

    return _list_page(f"category:{slug}:{sort}:{page}", parts)


def _list_page(key: str, parts) -> str:
    """A book list: anonymous visitors' copy is cached whole (page_cache), readers share its content."""
    return with_csrf(render_template("catalogue/list.html", **page_parts(key, parts)))


@bp.route("/hot")
def hot():
    """What readers are into now."""
    return cached_for_anonymous(
        lambda: render_template(
            "catalogue/hot.html",
            books=catalogue_service.hot_books(limit=catalogue_service.HOT_PAGE_BOOKS),
            weights=catalogue_service.HOT_WEIGHTS,
            half_life=catalogue_service.HOT_HALF_LIFE_DAYS,
            window=catalogue_service.HOT_WINDOW_DAYS,
        )
    )


@bp.route("/books/<int:book_id>")
def book_detail(book_id: int):
    """A book: metadata, ratings, reviews, availability and the reader's actions."""
    if not current_user.is_authenticated:
        book_views.record_view(book_id, None)
        return cached_for_anonymous(lambda: _render_book_page(book_id, None))
    state = catalogue_service.reader_book_state(book_id, current_user.id)
    book_views.record_view(book_id, current_user.id, known_to_exist=True)
    return with_csrf(_render_book_page(book_id, state))


@bp.route("/books/<int:book_id>/cover.svg")
def cover(book_id: int):
    """The cover drawn for a book (an SVG); browsers keep it as long as its version ``v`` is current."""
    book = catalogue_service.get_book(book_id)
    response = make_response(render_template("catalogue/cover.svg", book=book, design=covers.design(book)))
    response.mimetype = "image/svg+xml"
    response.cache_control.public = True
    current = request.args.get("v") == covers.cover_version(book)
    response.cache_control.max_age = COVER_MAX_AGE if current else 60
    return response


def _book_parts(book_id: int, render) -> dict[str, str]:
    """The parts of a book page that are the same for everyone (logged-in readers share one copy)."""
    book = catalogue_service.get_book(book_id)
    context = {
        "book": book,
        "summary": catalogue_service.rating_summary(book.id),
        "availability": catalogue_service.availability(book),
        "also_liked": recs_service.also_liked(book.id, limit=6),
        "similar_books": recs_service.similar_books(book.id, limit=6),
        "next_path": request.path,
    }
    parts = {
        "title": book.title,
        "cover": Markup(render("catalogue/_book_cover.html", **context)),
        "about": Markup(render("catalogue/_book_about.html", **context)),
        "neighbours": Markup(render("catalogue/_book_neighbours.html", **context)),
    }
    if current_user.is_authenticated:  # anonymous visitors cannot review (and their page holds no CSRF token)
        parts["review_form"] = Markup(render("catalogue/_book_review_form.html", book=book, review_form=ReviewForm()))
    return parts


def _render_book_page(book_id: int, state: catalogue_service.ReaderBookState | None) -> str:
    key = f"book:{book_id}:{state.shared_version if state else 0}"  # a new rating or loan makes a new key
    parts = page_parts(key, lambda render: _book_parts(book_id, render))
    context = {
        "book_id": book_id,
        "parts": parts,
        "reviews": catalogue_service.reviews_page(book_id, _page()),
        "my_rating": state.my_rating if state else None,
        "is_favourite": state.is_favourite if state else False,
        "in_cart": state.cart_count if state else 0,
    }
    if state and not state.my_rating:
        context["predicted_rating"] = recs_service.predicted_rating(current_user.id, book_id)
    return render_template("catalogue/book.html", **context)


def _back_to_book(book_id: int):
    return redirect(url_for("catalogue.book_detail", book_id=book_id))


def _first_error(form) -> str:
    for errors in form.errors.values():
        if errors:
            return errors[0]
    return "The form was not valid."


@bp.route("/books/<int:book_id>/rate", methods=["POST"])
@login_required
def rate(book_id: int):
    form = RatingForm()
    if not form.validate_on_submit():
        flash(_first_error(form), "danger")
        return _back_to_book(book_id) if catalogue_service.book_exists(book_id) else abort(404)
    activity.rate(current_user.id, book_id, form.stars.data)
    flash(f"You rated this book {form.stars.data}★.", "success")
    return _back_to_book(book_id)


@bp.route("/books/<int:book_id>/favourite", methods=["POST"])
@login_required
def favourite(book_id: int):
    now_favourite = activity.toggle_favourite(current_user.id, book_id)
    flash("Added to your favourites." if now_favourite else "Removed from your favourites.", "success")
    return _back_to_book(book_id)


@bp.route("/books/<int:book_id>/not-interested", methods=["POST"])
@login_required
def not_interested(book_id: int):
    """Hide a recommended book from this reader for good; their list is recomputed without it."""
    reader_recs.dismiss(current_user.id, book_id)
    flash("Got it: we will not recommend that book to you again.", "success")
    return redirect(safe_next(request.form.get("next")) or url_for("main.index", _anchor="recommended"))


@bp.route("/books/<int:book_id>/reviews", methods=["POST"])
@login_required
@on_refusal(lambda book_id: url_for("catalogue.book_detail", book_id=book_id))
def add_review(book_id: int):
    form = ReviewForm()
    if not form.validate_on_submit():
        flash(_first_error(form), "danger")
        return _back_to_book(book_id) if catalogue_service.book_exists(book_id) else abort(404)
    activity.add_review(current_user.id, book_id, form.body.data)
    flash("Your review is published.", "success")
    return _back_to_book(book_id)


@bp.route("/reviews/<int:review_id>/edit", methods=["GET", "POST"])
@login_required
def edit_review(review_id: int):
    review = activity.own_review(current_user.id, review_id)
    form = ReviewForm(obj=review)
    if form.validate_on_submit():
        activity.edit_review(current_user.id, review_id, form.body.data)
        flash("Your review is updated.", "success")
        return _back_to_book(review.book_id)
    return render_template(
        "catalogue/edit_review.html", form=form, review=review
    ), 200 if request.method == "GET" else 400


@bp.route("/reviews/<int:review_id>/delete", methods=["POST"])
@login_required
def delete_review(review_id: int):
    book_id = activity.delete_review(current_user.id, review_id)
    flash("Your review is deleted.", "success")
    return _back_to_book(book_id)
