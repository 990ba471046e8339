"""Reading the catalogue: categories and book lists."""

from __future__ import annotations

from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import Book, Category


def categories_with_counts() -> list[tuple[Category, int]]:
    """Every category with the number of books in it, by name."""
    stmt = (
        select(Category, func.count(Book.id))
        .outerjoin(Book, Book.category_id == Category.id)
        .group_by(Category.id)
        .order_by(Category.name)
    )
    return [(category, count) for category, count in db.session.execute(stmt)]


def popular_books(limit: int = 12) -> list[Book]:
    """The books with the most ratings in the source data."""
    stmt = select(Book).order_by(Book.ratings_count.desc(), Book.id).limit(limit)
    return list(db.session.scalars(stmt))


def newest_books(limit: int = 6) -> list[Book]:
    """The most recently published books."""
    stmt = (
        select(Book)
        .where(Book.publication_year.is_not(None))
        .order_by(Book.publication_year.desc(), Book.ratings_count.desc())
        .limit(limit)
    )
    return list(db.session.scalars(stmt))
