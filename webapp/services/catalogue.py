"""Reading the catalogue: lists, search, categories, book pages and the hot books."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache

from flask import current_app
from sqlalchemy import Integer, Select, and_, bindparam, case, func, or_, select
from sqlalchemy.orm import selectinload

from webapp.extensions import db
from webapp.models import Book, CartItem, Category, Favourite, Hold, Loan, ModelRun, Rating, Review
from webapp.models.base import utcnow
from webapp.models.catalogue import normalize_text
from webapp.models.circulation import ACTIVE_HOLD_STATUSES
from webapp.revalidating_cache import kept
from webapp.services.errors import NotFound, ServiceError
from webapp.services.events import reader_events
from webapp.services.genres import slugify

MAX_QUERY_LENGTH = 200
SORTS = {
    "popularity": "Most popular",
    "rating": "Highest rated",
    "newest": "Newest",
    "title": "Title A-Z",
}


def categories_with_counts() -> list[tuple[Category, int]]:
    """Every category with the number of books in it, by name."""
    stmt = (
        select(Category, func.count(Book.id))
        .outerjoin(Book, Book.category_id == Category.id)
        .group_by(Category.id)
        .order_by(Category.name)
    )
    return [(category, count) for category, count in db.session.execute(stmt)]


def category_by_slug(slug: str) -> Category:
    """The category with this slug; NotFound otherwise."""
    category = db.session.scalar(select(Category).where(Category.slug == slug))
    if category is None:
        raise NotFound("There is no such category.")
    return category


def newest_books(limit: int = 6) -> list[Book]:
    """The books most recently added to the catalogue."""
    return list(db.session.scalars(select(Book).order_by(Book.added_at.desc(), Book.id.desc()).limit(limit)))


def normalize_query(query: str | None) -> str:
    """The search text as books are indexed: lower case, letters and digits, single spaces."""
    return normalize_text((query or "")[:MAX_QUERY_LENGTH])


def _escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def book_query(query: str | None = None, category_id: int | None = None, sort: str = "popularity") -> Select:
    """Books matching every word of ``query`` (title, author or ISBN), in ``category_id``, sorted.

    With a query, exact title matches come first, then titles that start with it.
    """
    stmt = select(Book)
    if category_id is not None:
        stmt = stmt.where(Book.category_id == category_id)
    normalized = normalize_query(query)
    order = []
    if normalized:
        digits = re.sub(r"\D", "", query or "")
        words = normalized.split()[:12]
        word_match = and_(*[Book.search_text.like(f"%{_escape_like(w)}%", escape="\\") for w in words])
        stmt = stmt.where(or_(word_match, Book.isbn13 == digits) if len(digits) in (10, 13) else word_match)
        title_key = func.lower(Book.title)
        raw = " ".join((query or "").lower().split())[:MAX_QUERY_LENGTH]
        order.append(
            case(
                (title_key == raw, 0),
                (Book.search_text == normalized, 0),
                (Book.search_text.like(f"{_escape_like(normalized)}%", escape="\\"), 1),
                else_=2,
            )
        )
    sort_orders = {
        "popularity": [Book.ratings_count.desc()],
        "rating": [Book.average_rating.desc(), Book.ratings_count.desc()],
        "newest": [Book.publication_year.is_(None), Book.publication_year.desc()],
        "title": [Book.title.asc()],
    }
    return stmt.order_by(*order, *sort_orders.get(sort, sort_orders["popularity"]), Book.id)


def paginate(stmt: Select, page: int, per_page: int):
    """One page of ``stmt``'s rows; the rows are counted only when the page is full (a short page tells the total)."""
    pagination = db.paginate(stmt, page=page, per_page=per_page, error_out=False, max_per_page=100, count=False)
    shown = len(pagination.items)
    if shown < pagination.per_page and (shown or pagination.page == 1):
        pagination.total = (pagination.page - 1) * pagination.per_page + shown
    else:
        pagination.total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    return pagination


def paginate_books(stmt: Select, page: int, per_page: int):
    """One page of books, with their categories loaded in the same round trip."""
    return paginate(stmt.options(selectinload(Book.category)), page, per_page)


def get_book(book_id: int) -> Book:
    """The book with this id; NotFound otherwise."""
    book = db.session.scalar(
        select(Book).where(Book.id == book_id).options(selectinload(Book.tags), selectinload(Book.category))
    )
    if book is None:
        raise NotFound("There is no such book.")
    return book


@dataclass
class RatingSummary:
    """Readers' ratings of a book in this library."""

    average: float
    count: int
    distribution: dict[int, int] = field(default_factory=dict)

    def percent(self, stars: int) -> int:
        return round(100 * self.distribution.get(stars, 0) / self.count) if self.count else 0


def rating_summary(book_id: int) -> RatingSummary:
    """Average, count and 1-5 distribution of the book's ratings, in one query."""
    rows = db.session.execute(
        select(Rating.rating, func.count()).where(Rating.book_id == book_id).group_by(Rating.rating)
    ).all()
    distribution = {stars: 0 for stars in range(1, 6)}
    distribution.update({int(stars): count for stars, count in rows})
    count = sum(distribution.values())
    average = sum(stars * n for stars, n in distribution.items()) / count if count else 0.0
    return RatingSummary(average=average, count=count, distribution=distribution)


def reviews_page(book_id: int, page: int, per_page: int = 10):
    """The book's reviews, newest first, with their authors."""
    stmt = (
        select(Review)
        .where(Review.book_id == book_id)
        .options(selectinload(Review.user))
        .order_by(Review.created_at.desc(), Review.id.desc())
    )
    return paginate(stmt, page, per_page)


@dataclass
class Availability:
    """Copies to borrow and the queue for them."""

    copies_available: int
    copies_total: int
    queue_length: int
    next_due: object | None


def availability(book: Book) -> Availability:
    """How many copies are free, how many readers wait, and when the next copy is due back."""
    queue = db.session.scalar(
        select(func.count()).where(Hold.book_id == book.id, Hold.status.in_(ACTIVE_HOLD_STATUSES))
    )
    next_due = db.session.scalar(
        select(func.min(Loan.due_at)).where(Loan.book_id == book.id, Loan.returned_at.is_(None))
    )
    return Availability(book.copies_available, book.copies_total, queue or 0, next_due)


@dataclass(frozen=True)
class ReaderBookState:
    """One reader's side of a book page, and the figures its shared part is drawn from.

    ``shared_version`` changes whenever the part of the page that is the same for every
    reader would: a rating given or changed (count and sum of the stars), a copy lent or
    returned, stock sold, a hold placed or ended, a new training run.
    """

    my_rating: int | None
    is_favourite: bool
    cart_count: int
    shared_version: str


def reader_book_state(book_id: int, user_id: int) -> ReaderBookState:
    """The reader's rating and favourite mark of the book, their cart's size and the page's version, in one query.

    NotFound when there is no such book.
    """
    row = db.session.execute(_reader_book_state_query(), {"book_id": book_id, "user_id": user_id}).first()
    if row is None:
        raise NotFound("There is no such book.")
    available, stock, n_ratings, stars, queue, run_id, my_rating, favourite, in_cart = row
    return ReaderBookState(
        my_rating=my_rating,
        is_favourite=bool(favourite),
        cart_count=int(in_cart),
        shared_version=f"{available}.{stock}.{n_ratings}.{stars}.{queue}.{run_id}",
    )


@cache
def _reader_book_state_query() -> Select:
    """reader_book_state's query for a bound ``book_id`` and ``user_id``, built once per process.

    Building the statement (nine columns, seven subqueries) anew took about 1.5 ms of CPU per book page.
    """
    book_id, user_id = bindparam("book_id", type_=Integer), bindparam("user_id", type_=Integer)
    of_book = Rating.book_id == book_id
    return select(
        Book.copies_available,
        Book.stock,
        select(func.count()).where(of_book).scalar_subquery(),
        select(func.coalesce(func.sum(Rating.rating), 0)).where(of_book).scalar_subquery(),
        select(func.count()).where(Hold.book_id == book_id, Hold.status.in_(ACTIVE_HOLD_STATUSES)).scalar_subquery(),
        select(ModelRun.id).where(ModelRun.is_active.is_(True)).limit(1).scalar_subquery(),
        select(Rating.rating).where(of_book, Rating.user_id == user_id).scalar_subquery(),
        select(func.count()).where(Favourite.book_id == book_id, Favourite.user_id == user_id).scalar_subquery(),
        CartItem.copies_in_cart(user_id).scalar_subquery(),
    ).where(Book.id == book_id)


def book_exists(book_id: int) -> bool:
    """True when the catalogue has this book (one primary-key lookup)."""
    return db.session.scalar(select(Book.id).where(Book.id == book_id)) is not None


# --- Hot books -------------------------------------------------------------

HOT_WEIGHTS = {"loan": 3.0, "purchase": 3.0, "rating": 2.0, "favourite": 1.0, "view": 0.5}
HOT_HALF_LIFE_DAYS = 7.0
HOT_WINDOW_DAYS = 30
HOME_HOT_BOOKS = 12  # the home page's shelf of hot books
HOT_PAGE_BOOKS = 30  # /hot


def hot_scores(limit: int = 50, category_id: int | None = None) -> list[tuple[int, float]]:
    """(book id, heat) of the hottest books, hottest first.

    heat(book) = sum over the events of the last 30 days of  w(kind) * 0.5 ** (age_days / 7)

    with w = 3 for a loan or a purchased copy, 2 for a rating, 1 for a favourite and 0.5
    for a page view, and age_days the whole days since the event: an event loses half
    its weight every week. Counts are aggregated per book, kind and day in the database;
    the ranking is shared and recomputed in the background every ``HOT_RANKING_SECONDS``
    (:mod:`webapp.revalidating_cache`).
    """
    return kept(
        f"hot-ranking:{limit}:{category_id}",
        lambda: _hot_scores(limit, category_id),
        current_app.config.get("HOT_RANKING_SECONDS", 0),
    )


def _hot_scores(limit: int, category_id: int | None) -> list[tuple[int, float]]:
    since = utcnow() - timedelta(days=HOT_WINDOW_DAYS)
    events = reader_events(HOT_WEIGHTS, since=since)
    day = func.date(events.c.moment)
    stmt = select(events.c.book_id, events.c.kind, day, func.count()).group_by(events.c.book_id, events.c.kind, day)
    if category_id is not None:
        stmt = stmt.join(Book, Book.id == events.c.book_id).where(Book.category_id == category_id)
    today = utcnow().date()
    heat: dict[int, float] = {}
    for book_id, kind, day, count in db.session.execute(stmt):
        day = day if isinstance(day, date) else date.fromisoformat(str(day))
        age = max((today - day).days, 0)
        heat[book_id] = heat.get(book_id, 0.0) + HOT_WEIGHTS[kind] * count * math.pow(0.5, age / HOT_HALF_LIFE_DAYS)
    return sorted(heat.items(), key=lambda pair: (-pair[1], pair[0]))[:limit]


def hot_books(limit: int = 12, category_id: int | None = None) -> list[tuple[Book, float]]:
    """The hottest books with their heat; books by ratings count when nothing happened lately."""
    ranking = hot_scores(limit, category_id)
    books = (
        {
            b.id: b
            for b in db.session.scalars(
                select(Book)
                .where(Book.id.in_([book_id for book_id, _ in ranking]))
                .options(selectinload(Book.category))
            )
        }
        if ranking
        else {}
    )
    result = [(books[book_id], score) for book_id, score in ranking if book_id in books]
    if len(result) < limit:
        taken = [book.id for book, _ in result]
        stmt = select(Book).order_by(Book.ratings_count.desc(), Book.id).limit(limit - len(result))
        if taken:
            stmt = stmt.where(Book.id.not_in(taken))
        if category_id is not None:
            stmt = stmt.where(Book.category_id == category_id)
        result += [(book, 0.0) for book in db.session.scalars(stmt.options(selectinload(Book.category)))]
    return result


# --- Back-office rules for books and categories ----------------------------------


def clean_isbn(isbn: str | None, book_id: int | None) -> str | None:
    """The ISBN-13 as stored (no dashes or spaces; None when empty); ServiceError when another book has it."""
    isbn = (isbn or "").replace("-", "").strip() or None
    if isbn is not None:
        with db.session.no_autoflush:
            clash = db.session.scalar(select(Book.title).where(Book.isbn13 == isbn, Book.id != book_id))
        if clash is not None:
            raise ServiceError(f"ISBN {isbn} already belongs to “{clash}”.")
    return isbn


def clean_category(name: str | None, slug: str | None, category_id: int | None) -> tuple[str, str]:
    """A category's (name, slug): the slug made from the name when empty, both unique ignoring case."""
    name = (name or "").strip()
    if not name:
        raise ServiceError("A category needs a name.")
    slug = slugify(slug or name)
    if not slug:
        raise ServiceError("The slug needs at least one letter or digit (a-z, 0-9).")
    for column, label, value in ((Category.name, "name", name), (Category.slug, "slug", slug)):
        same = select(Category.id).where(func.lower(column) == value.lower(), Category.id != category_id)
        with db.session.no_autoflush:
            if db.session.scalar(same) is not None:
                raise ServiceError(f"Another category already has the {label} “{value}”.")
    return name, slug


def check_category_can_go(category: Category) -> None:
    """ServiceError while books still belong to the category."""
    if category.books:
        raise ServiceError(f"“{category.name}” still has {len(category.books)} books: move them first.")
