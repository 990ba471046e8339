"""The catalogue: categories, tags and books with their copies and stock."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db
from webapp.models.base import utcnow

book_tags = Table(
    "book_tags",
    db.metadata,
    Column("book_id", ForeignKey("books.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Category(db.Model):
    """A genre the catalogue is browsed by."""

    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)

    books: Mapped[list[Book]] = relationship(back_populates="category")

    def __str__(self) -> str:
        return self.name


class Tag(db.Model):
    """A genre-like shelf name attached to books ("epic-fantasy", "space-opera" ...)."""

    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)

    def __str__(self) -> str:
        return self.name


class Book(db.Model):
    """A title in the catalogue, with copies to lend and stock to sell."""

    __tablename__ = "books"
    __table_args__ = (
        CheckConstraint("copies_total >= 0", name="copies_total_not_negative"),
        CheckConstraint("copies_available >= 0", name="copies_available_not_negative"),
        CheckConstraint("copies_available <= copies_total", name="available_within_total"),
        CheckConstraint("stock >= 0", name="stock_not_negative"),
        CheckConstraint("price >= 0", name="price_not_negative"),
        CheckConstraint("ratings_count >= 0", name="ratings_count_not_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(300), index=True)
    authors: Mapped[str] = mapped_column(String(500), index=True)
    isbn13: Mapped[str | None] = mapped_column(String(13), unique=True)
    publication_year: Mapped[int | None] = mapped_column(Integer, index=True)
    description: Mapped[str | None] = mapped_column(Text)
    cover_url: Mapped[str | None] = mapped_column(String(500))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id", ondelete="SET NULL"), index=True)
    average_rating: Mapped[float] = mapped_column(Float, default=0.0, index=True)
    ratings_count: Mapped[int] = mapped_column(Integer, default=0, index=True)
    price: Mapped[Decimal] = mapped_column(Numeric(8, 2), default=Decimal("0.00"))
    copies_total: Mapped[int] = mapped_column(Integer, default=0)
    copies_available: Mapped[int] = mapped_column(Integer, default=0)
    stock: Mapped[int] = mapped_column(Integer, default=0)
    added_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    # Book id in the goodbooks-10k data set, for imported books.
    source_book_id: Mapped[int | None] = mapped_column(Integer, unique=True)
    # Title, authors and ISBN lower-cased with punctuation removed, for search.
    search_text: Mapped[str] = mapped_column(String(900), default="")

    category: Mapped[Category | None] = relationship(back_populates="books")
    tags: Mapped[list[Tag]] = relationship(secondary=book_tags, order_by=Tag.name)

    def __str__(self) -> str:
        return self.title

    def refresh_search_text(self) -> None:
        """Recompute ``search_text`` from the title, authors and ISBN."""
        self.search_text = search_key(self.title, self.authors, self.isbn13)


def normalize_text(text: str) -> str:
    """Lower-case, letters and digits only (any script), single spaces: "Harry  Potter!" -> "harry potter"."""
    text = text.lower().replace("'", "").replace("’", "")
    return " ".join(re.sub(r"[^\w]+|_", " ", text).split())


def search_key(title: str | None, authors: str | None, isbn13: str | None) -> str:
    """The normalized text a book is searched by."""
    return normalize_text(" ".join(part for part in (title, authors, isbn13) if part))[:900]


@event.listens_for(Book, "before_insert")
@event.listens_for(Book, "before_update")
def _keep_search_text_current(_mapper, _connection, book: Book) -> None:
    book.refresh_search_text()
