"""Bulk import of books from a CSV file: every row is checked first, then all go in or none.

The file uses the columns of the demo's ``books.csv`` (goodbooks-10k): ``title`` and
``authors`` are required; ``isbn`` (ISBN-10) or ``isbn13``, ``original_publication_year``,
``image_url``, ``average_rating``, ``ratings_count`` and ``book_id`` (kept as the source id)
are read when present (an ``isbn13`` in scientific notation, as spreadsheets write it
and goodbooks' file has it, lost digits and is ignored). The shop and the library add ``category`` (a name; new names
become new categories), ``price``, ``copies`` and ``stock``; other columns are ignored.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from webapp.extensions import db
from webapp.models import Book, Category
from webapp.models.base import utcnow
from webapp.models.catalogue import search_key
from webapp.services import reader_recs
from webapp.services.errors import ServiceError
from webapp.services.genres import slugify
from webapp.services.isbn import is_valid_isbn13, isbn13_from_isbn10

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20000
MAX_ERRORS_SHOWN = 50
REQUIRED_COLUMNS = ("title", "authors")
MAX_COPIES = 1000
MAX_STOCK = 100000
MAX_PRICE = Decimal("999999.99")
SCIENTIFIC_NOTATION = re.compile(r"^\d(\.\d+)?[eE]\+?\d+$")


class ImportRejected(ServiceError):
    """The file cannot be imported; ``problems`` lists (line, message) for each bad row."""

    def __init__(self, message: str, problems: list[tuple[int, str]] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


@dataclass
class ImportReport:
    """What an import added."""

    books: int = 0
    new_categories: list[str] = field(default_factory=list)
    with_vectors: int = 0  # books given a content vector by the active model run


class _RowReader:
    """Turns one CSV row into book values, collecting every problem of the row."""

    def __init__(self, row: dict[str, str]) -> None:
        self.row = {key.strip().lower(): (value or "").strip() for key, value in row.items() if key}
        self.problems: list[str] = []

    def text(self, name: str, limit: int, required: bool = False) -> str | None:
        value = self.row.get(name, "")
        if not value:
            if required:
                self.problems.append(f"{name} is empty")
            return None
        if len(value) > limit:
            self.problems.append(f"{name} is longer than {limit} characters")
        return value

    def integer(self, name: str, low: int, high: int, default: int | None = None) -> int | None:
        raw = self.row.get(name, "")
        if not raw:
            return default
        try:
            number = float(raw)
        except ValueError:
            self.problems.append(f"{name} must be a whole number, got {raw[:30]!r}")
            return default
        if not number.is_integer() or not low <= number <= high:
            self.problems.append(f"{name} must be a whole number from {low} to {high}, got {raw[:30]!r}")
            return default
        return int(number)

    def price(self) -> Decimal:
        raw = self.row.get("price", "")
        if not raw:
            return Decimal("0.00")
        try:
            value = Decimal(raw)
        except InvalidOperation:
            self.problems.append(f"price must be an amount like 12.99, got {raw[:30]!r}")
            return Decimal("0.00")
        if not value.is_finite() or value < 0 or value > MAX_PRICE or value != value.quantize(Decimal("0.01")):
            self.problems.append(f"price must be from 0 to {MAX_PRICE} with at most two decimals, got {raw[:30]!r}")
            return Decimal("0.00")
        return value

    def rating(self) -> float:
        raw = self.row.get("average_rating", "")
        if not raw:
            return 0.0
        try:
            value = float(raw)
        except ValueError:
            value = -1.0
        if not 0 <= value <= 5:
            self.problems.append(f"average_rating must be from 0 to 5, got {raw[:30]!r}")
            return 0.0
        return value

    def isbn13(self) -> str | None:
        isbn13 = self.row.get("isbn13", "").replace("-", "")
        if SCIENTIFIC_NOTATION.match(isbn13):
            isbn13 = ""  # digits lost to a spreadsheet (as in goodbooks' file): the ISBN-10 decides
        if isbn13:
            if not is_valid_isbn13(isbn13):
                self.problems.append(f"isbn13 {isbn13[:20]!r} is not a valid ISBN-13")
                return None
            return isbn13
        isbn10 = self.row.get("isbn", "").replace("-", "")
        if isbn10:
            converted = isbn13_from_isbn10(isbn10)
            if converted is None:
                self.problems.append(f"isbn {isbn10[:20]!r} is not a valid ISBN-10")
            return converted
        return None


def read_book_csv(content: bytes) -> tuple[list[dict], list[tuple[int, str]]]:
    """Parse and check the file; returns the book rows and the problems found (line, message)."""
    if len(content) > MAX_FILE_BYTES:
        raise ImportRejected(f"The file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB.")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportRejected(f"The file is not UTF-8 text (byte {error.start} cannot be read).") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    headers = [name.strip().lower() for name in (reader.fieldnames or []) if name]
    missing = [name for name in REQUIRED_COLUMNS if name not in headers]
    if not headers:
        raise ImportRejected("The file is empty: it needs a header line with at least title and authors.")
    if missing:
        raise ImportRejected(f"The header lacks the column(s) {', '.join(missing)}.")

    books: list[dict] = []
    problems: list[tuple[int, str]] = []
    seen_isbns: dict[str, int] = {}
    seen_sources: dict[int, int] = {}
    try:
        for row in reader:
            line = reader.line_num
            if len(books) + len(problems) >= MAX_ROWS:
                raise ImportRejected(f"The file has more than {MAX_ROWS} rows; split it into smaller files.")
            if None in row:
                problems.append((line, "the row has more cells than the header"))
                continue
            values = _RowReader(row)
            book = {
                "title": values.text("title", 300, required=True),
                "authors": values.text("authors", 500, required=True),
                "isbn13": values.isbn13(),
                "publication_year": values.integer("original_publication_year", -3000, utcnow().year + 1),
                "cover_url": values.text("image_url", 500),
                "description": values.text("description", 20000),
                "category": values.text("category", 80),
                "average_rating": values.rating(),
                "ratings_count": values.integer("ratings_count", 0, 10**9, default=0),
                "price": values.price(),
                "copies": values.integer("copies", 0, MAX_COPIES, default=0),
                "stock": values.integer("stock", 0, MAX_STOCK, default=0),
                "source_book_id": values.integer("book_id", 1, 2**31 - 1),
            }
            isbn, source = book["isbn13"], book["source_book_id"]
            if isbn and isbn in seen_isbns:
                values.problems.append(f"ISBN {isbn} already appears on line {seen_isbns[isbn]}")
            if source and source in seen_sources:
                values.problems.append(f"book_id {source} already appears on line {seen_sources[source]}")
            if isbn:
                seen_isbns.setdefault(isbn, line)
            if source:
                seen_sources.setdefault(source, line)
            if values.problems:
                problems.append((line, "; ".join(values.problems)))
            else:
                book["line"] = line
                books.append(book)
    except csv.Error as error:
        raise ImportRejected(f"Line {reader.line_num} is not valid CSV: {error}.") from None
    if not books and not problems:
        raise ImportRejected("The file has a header but no books.")
    problems.extend(_already_in_catalogue(books))
    return books, sorted(problems)


def _already_in_catalogue(books: list[dict]) -> list[tuple[int, str]]:
    problems = []
    isbns = {book["isbn13"]: book["line"] for book in books if book["isbn13"]}
    sources = {book["source_book_id"]: book["line"] for book in books if book["source_book_id"]}
    for chunk in _chunks(list(isbns)):
        for isbn, title in db.session.execute(select(Book.isbn13, Book.title).where(Book.isbn13.in_(chunk))):
            problems.append((isbns[isbn], f"ISBN {isbn} is already in the catalogue (“{title}”)"))
    for chunk in _chunks(list(sources)):
        for source, title in db.session.execute(
            select(Book.source_book_id, Book.title).where(Book.source_book_id.in_(chunk))
        ):
            problems.append((sources[source], f"book_id {source} is already in the catalogue (“{title}”)"))
    return problems


def _chunks(values: list, size: int = 500):
    for start in range(0, len(values), size):
        yield values[start : start + size]


def import_books(content: bytes) -> ImportReport:
    """Check every row of the CSV file, then add all its books in one transaction.

    Raises ImportRejected with every bad row (line numbers as in a spreadsheet, the
    header being line 1) and adds nothing when any row is bad.
    """
    books, problems = read_book_csv(content)
    if problems:
        shown = problems[:MAX_ERRORS_SHOWN]
        more = len(problems) - len(shown)
        raise ImportRejected(
            f"Nothing was imported: {len(problems)} row(s) have problems" + (f" ({more} not listed)." if more else "."),
            shown,
        )
    report = ImportReport()
    try:
        categories = {name.lower(): id_ for name, id_ in db.session.execute(select(Category.name, Category.id))}
        slugs = set(db.session.scalars(select(Category.slug)))
        for name in sorted({book["category"] for book in books if book["category"]}):
            if name.lower() in categories:
                continue
            base = slugify(name) or "category"
            slug, suffix = base, 2
            while slug in slugs:
                slug, suffix = f"{base}-{suffix}", suffix + 1
            slugs.add(slug)
            category = Category(name=name, slug=slug)
            db.session.add(category)
            db.session.flush()
            categories[name.lower()] = category.id
            report.new_categories.append(name)
        now = utcnow()
        rows = [
            {
                "title": book["title"],
                "authors": book["authors"],
                "isbn13": book["isbn13"],
                "publication_year": book["publication_year"],
                "description": book["description"],
                "cover_url": book["cover_url"],
                "category_id": categories.get((book["category"] or "").lower()),
                "average_rating": book["average_rating"],
                "ratings_count": book["ratings_count"],
                "price": book["price"],
                "copies_total": book["copies"],
                "copies_available": book["copies"],
                "stock": book["stock"],
                "added_at": now,
                "source_book_id": book["source_book_id"],
                "search_text": search_key(book["title"], book["authors"], book["isbn13"]),
            }
            for book in books
        ]
        last_before = db.session.scalar(select(func.max(Book.id))) or 0
        for chunk in _chunks(rows, 2000):
            db.session.execute(insert(Book), chunk)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise ImportRejected(
            "Nothing was imported: the catalogue changed while the file was being imported "
            "(a book with one of these ISBNs was added). Try again."
        ) from None
    except Exception:
        db.session.rollback()
        raise
    report.books = len(rows)
    # Content vectors at once, so the new books have similar books and can be recommended.
    report.with_vectors = reader_recs.add_books(list(db.session.scalars(select(Book.id).where(Book.id > last_before))))
    return report
