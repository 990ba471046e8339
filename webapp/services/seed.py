"""Load the demo library from the real goodbooks-10k files.

Real (Goodreads, goodbooks-10k): all 10,000 books of ``books.csv`` with their metadata,
the shelves of the 2,855 that have some in ``book_tags.csv`` (turned into categories and
tags by :mod:`webapp.services.genres`; the others take their authors' usual category),
every reader id, every rating and every want-to-read mark (loaded as favourites).

Simulated (seeded random generator, so every run gives the same library): prices,
copies for loan and stock for sale, account creation dates, rating and favourite dates
(the data set has no timestamps), and 90 days of circulation drawn from the real
ratings: readers borrow and buy books they rated, views follow the same ratings.
"""

from __future__ import annotations

import itertools
import os
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
from sqlalchemy import delete, func, insert, select

from webapp.extensions import db
from webapp.models import (
    Book,
    BookView,
    Category,
    Favourite,
    Loan,
    Order,
    OrderItem,
    Rating,
    Tag,
    User,
    book_tags,
)
from webapp.models.base import utcnow
from webapp.models.catalogue import search_key
from webapp.models.shop import ORDER_CANCELLED, ORDER_PAID, ORDER_SHIPPED
from webapp.models.users import ROLE_ADMIN
from webapp.services.genres import FALLBACK_CATEGORY, categories_by_authors, categorise, slugify
from webapp.services.isbn import isbn13_from_isbn10

DEMO_ADMIN_USERNAME = "admin"
DEMO_ADMIN_PASSWORD = "admin-demo-1"
DEMO_READER_USERNAME = "demo"
DEMO_READER_PASSWORD = "reader-demo-1"

REQUIRED_COLUMNS: dict[str, dict[str, str]] = {
    # file -> {column: kind}; kind "int" must parse as an integer, "text" may be empty
    "books.csv": {
        "book_id": "int",
        "goodreads_book_id": "int",
        "isbn": "text",
        "authors": "text",
        "original_publication_year": "float",
        "title": "text",
        "average_rating": "float",
        "ratings_count": "int",
        "image_url": "text",
    },
    "tags.csv": {"tag_id": "int", "tag_name": "text"},
    "book_tags.csv": {"goodreads_book_id": "int", "tag_id": "int", "count": "int"},
    "ratings.csv": {"user_id": "int", "book_id": "int", "rating": "int"},
    "to_read.csv": {"user_id": "int", "book_id": "int"},
}


_EPOCH = datetime(1970, 1, 1)


def _to_ts(moment: datetime) -> float:
    """Seconds since the epoch of a naive UTC datetime."""
    return (moment - _EPOCH).total_seconds()


def _from_ts(seconds: float) -> datetime:
    """Naive UTC datetime of seconds since the epoch."""
    return _EPOCH + timedelta(seconds=int(seconds))


# The demo's readers, like the library's (MAX_ACTIVE_LOANS), have at most this many books out at once.
MAX_DEMO_LOANS_PER_READER = 5


class SeedError(Exception):
    """The demo data is missing or malformed, or the database cannot take it."""


@dataclass
class SeedOptions:
    """Sizes of the simulated parts of the demo, and the random seed."""

    seed: int = 42
    days_of_history: int = 90
    loans: int = 6000
    overdue_loans: int = 40
    orders: int = 1500
    views: int = 20000
    loan_days: int = 30


@dataclass
class SeedReport:
    """What a seed run inserted, and how long it took."""

    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    demo_reader_ratings: int = 0


def read_demo_files(data_dir: str) -> dict[str, pd.DataFrame]:
    """Read and validate the five goodbooks files; raise SeedError naming the first problem."""
    frames: dict[str, pd.DataFrame] = {}
    for name, columns in REQUIRED_COLUMNS.items():
        path = os.path.join(data_dir, name)
        if not os.path.isfile(path):
            raise SeedError(f"Missing data file {path}.")
        frame = _read_csv(path, name, columns)
        missing = [column for column in columns if column not in frame.columns]
        if missing:
            raise SeedError(f"{name} lacks the column(s) {', '.join(missing)}.")
        for column, kind in columns.items():
            if kind == "text" or frame[column].dtype == np.int64:  # text, or integers read as such
                continue
            values = frame[column].str.strip()
            parsed = pd.to_numeric(values, errors="coerce")
            blank_allowed = kind == "float"
            bad = parsed.isna() & ~(blank_allowed & (values == ""))
            if kind == "int":  # a whole number that fits in 64 bits
                bad |= parsed.notna() & ((parsed != parsed.round()) | (parsed.abs() >= 2.0**63))
            if bad.any():
                row = int(np.flatnonzero(bad.to_numpy())[0])
                raise SeedError(
                    f"{name} line {row + 2}: column {column} should be a number, got {frame[column].iloc[row]!r}."
                )
            frame[column] = parsed.astype("float64" if kind == "float" else "int64")
        frames[name] = frame
    _check_references(frames)
    return frames


def _read_csv(path: str, name: str, columns: dict[str, str]) -> pd.DataFrame:
    """The file with its integer columns read as integers when they all parse, every other column as text.

    Read as text, the ratings of a library 50 times the demo's (22 million rows) took
    gigabytes; a file with a bad integer is read again as text, and the checks name its line.
    """
    integers = {column: "int64" for column, kind in columns.items() if kind == "int"}
    try:
        return pd.read_csv(path, dtype=defaultdict(lambda: str, integers), keep_default_na=False)
    except (ValueError, OverflowError):  # parser errors and bad numbers alike
        pass
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as error:
        raise SeedError(f"{name} is not a readable CSV file: {error}") from error


def _check_references(frames: dict[str, pd.DataFrame]) -> None:
    ratings = frames["ratings.csv"]
    bad_rating = ~ratings["rating"].between(1, 5)
    if bad_rating.any():
        row = int(np.flatnonzero(bad_rating.to_numpy())[0])
        raise SeedError(f"ratings.csv line {row + 2}: rating must be 1-5, got {ratings['rating'].iloc[row]}.")
    catalogue_ids = set(frames["books.csv"]["book_id"])
    for name in ("ratings.csv", "to_read.csv"):
        frame = frames[name]
        unknown = ~frame["book_id"].isin(catalogue_ids)
        if unknown.any():
            row = int(np.flatnonzero(unknown.to_numpy())[0])
            raise SeedError(f"{name} line {row + 2}: book_id {frame['book_id'].iloc[row]} is not in the catalogue.")
        duplicated = frame.duplicated(["user_id", "book_id"])
        if duplicated.any():
            row = int(np.flatnonzero(duplicated.to_numpy())[0])
            raise SeedError(f"{name} line {row + 2}: the same reader and book appear twice.")


def database_has_demo() -> bool:
    """True when the catalogue already holds books."""
    return bool(db.session.scalar(select(func.count(Book.id))))


def clear_database() -> None:
    """Delete every row of every table (children first), inside the current transaction."""
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(delete(table))


def seed_demo(
    data_dir: str,
    options: SeedOptions | None = None,
    reset: bool = False,
    progress: Callable[[str, int], None] | None = None,
) -> SeedReport:
    """Load the demo library into the database in one transaction.

    Raises SeedError, leaving the database as it was, when a file is missing or malformed.
    With ``reset`` the existing rows are deleted first (in the same transaction).
    """
    options = options or SeedOptions()
    started = time.perf_counter()
    report = SeedReport()
    step = progress or (lambda _label, _count: None)

    frames = read_demo_files(data_dir)
    step("read and validated the data files", sum(len(frame) for frame in frames.values()))
    try:
        if reset:
            clear_database()
        builder = _DemoBuilder(frames, options, report, step)
        builder.build()
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    report.seconds = time.perf_counter() - started
    return report


@dataclass
class _Books:
    """What later steps need of the books just created, by new book id."""

    id_by_source: dict[int, int]
    price: dict[int, Decimal]
    copies: dict[int, int]


@dataclass
class _Readers:
    """What later steps need of the readers just created: new ids, and join times (Unix seconds)."""

    id_by_source: dict[int, int]
    created: dict[int, float]


class _DemoBuilder:
    """Turns the data frames into rows; one method per table group."""

    def __init__(self, frames, options: SeedOptions, report: SeedReport, step) -> None:
        self.frames = frames
        self.options = options
        self.report = report
        self.step = step
        self.rng = np.random.default_rng(options.seed)
        self.now = utcnow().replace(microsecond=0)

    def _insert(self, table, rows: Iterable[dict], label: str) -> None:
        """Insert ``rows`` 20,000 at a time; a generator's rows are built as they are inserted."""
        rows, count = iter(rows), 0
        while chunk := list(itertools.islice(rows, 20000)):
            db.session.execute(insert(table), chunk)
            count += len(chunk)
        self.report.counts[label] = self.report.counts.get(label, 0) + count
        self.step(label, count)

    def _times_between(self, starts: np.ndarray, end: datetime) -> list[datetime]:
        """One random moment per start, between that start and ``end``."""
        end_ts = _to_ts(end)
        seconds = starts + self.rng.random(len(starts)) * np.maximum(end_ts - starts, 0)
        return [_from_ts(int(s)) for s in seconds]

    def build(self) -> None:
        books = self._catalogue()
        readers = self._readers()
        rated = self._ratings_and_favourites(books, readers)
        books_of_reader = rated.groupby("user_id")["book_id"].apply(list)
        self._circulation(rated, books_of_reader, books.copies)
        self._orders(books_of_reader, books.price)
        self._views(rated)

    def _catalogue(self) -> _Books:
        """Categories, books and their shelves; returns the new books' ids, prices and copies."""
        books = self.frames["books.csv"]
        shelves = self.frames["book_tags.csv"].merge(self.frames["tags.csv"], on="tag_id", how="left")
        shelves["tag_name"] = shelves["tag_name"].fillna("").str.strip().str.lower()
        shelves_by_book = {
            gid: list(zip(group["tag_name"], group["count"]))
            for gid, group in shelves.groupby("goodreads_book_id", sort=False)
        }
        books = books.sort_values("book_id").reset_index(drop=True)
        has_shelves = books["goodreads_book_id"].isin(shelves_by_book).to_numpy()
        assigned: list[tuple[str, list[str]]] = [
            categorise(shelves_by_book[gid]) if shelved else (FALLBACK_CATEGORY, [])
            for gid, shelved in zip(books["goodreads_book_id"], has_shelves)
        ]
        # Books without shelves take the category their authors' shelved books mostly have.
        by_authors = iter(
            categories_by_authors(
                [(authors, assigned[i][0]) for i, authors in enumerate(books["authors"]) if has_shelves[i]],
                list(books.loc[~has_shelves, "authors"]),
            )
        )
        assigned = [pair if shelved else (next(by_authors), []) for pair, shelved in zip(assigned, has_shelves)]
        used = sorted({category for category, _ in assigned})
        category_ids = {name: index for index, name in enumerate(used, start=1)}
        self._insert(
            Category.__table__,
            [{"id": cid, "name": name, "slug": slugify(name)} for name, cid in category_ids.items()],
            "categories",
        )

        n_books = len(books)
        rng = self.rng
        popularity = books["ratings_count"].rank(pct=True).to_numpy()
        prices = np.round(rng.uniform(5.0, 28.0, n_books)) + 0.99
        copies = 1 + rng.binomial(3, popularity)  # popular titles get more copies
        stock = np.where(rng.random(n_books) < 0.08, 0, rng.integers(1, 25, n_books))
        added_days = rng.integers(0, 720, n_books)

        tag_ids: dict[str, int] = {}
        book_rows, tag_links = [], []
        created = _Books(id_by_source={}, price={}, copies={})
        seen_isbns: set[str] = set()
        for index, book in enumerate(books.itertuples(index=False)):
            book_id = index + 1
            category, tags = assigned[index]
            isbn13 = isbn13_from_isbn10(book.isbn) if book.isbn else None
            if isbn13 in seen_isbns:
                isbn13 = None
            if isbn13:
                seen_isbns.add(isbn13)
            year = book.original_publication_year
            price = Decimal(f"{prices[index]:.2f}")
            created.id_by_source[book.book_id] = book_id
            created.price[book_id] = price
            created.copies[book_id] = int(copies[index])
            book_rows.append(
                {
                    "id": book_id,
                    "title": book.title.strip()[:300],
                    "authors": book.authors.strip()[:500],
                    "isbn13": isbn13,
                    "publication_year": None if np.isnan(year) else int(year),
                    "description": None,
                    "cover_url": book.image_url.strip() or None,
                    "category_id": category_ids[category],
                    "average_rating": float(book.average_rating),
                    "ratings_count": int(book.ratings_count),
                    "price": price,
                    "copies_total": int(copies[index]),
                    "copies_available": int(copies[index]),
                    "stock": int(stock[index]),
                    "added_at": self.now - timedelta(days=int(added_days[index])),
                    "source_book_id": int(book.book_id),
                    "search_text": search_key(book.title.strip(), book.authors.strip(), isbn13),
                }
            )
            for tag in tags:
                tag_links.append({"book_id": book_id, "tag_id": tag_ids.setdefault(tag, len(tag_ids) + 1)})
        self._insert(Book.__table__, book_rows, "books")
        self._insert(Tag.__table__, [{"id": i, "name": n} for n, i in tag_ids.items()], "tags")
        self._insert(book_tags, tag_links, "book tags")
        return created

    def _readers(self) -> _Readers:
        """The staff and demo accounts and every reader of the data set; returns their ids and join times."""
        ratings, to_read = self.frames["ratings.csv"], self.frames["to_read.csv"]
        source_ids = np.union1d(ratings["user_id"].unique(), to_read["user_id"].unique())
        per_reader = ratings.groupby("user_id").size()
        # The real reader with the longest rating history becomes the demo reader.
        demo_source_id = int(per_reader.sort_values(kind="stable").index[-1])
        self.report.demo_reader_ratings = int(per_reader.max())

        admin = User(username=DEMO_ADMIN_USERNAME, email="admin@athenaeum.example", role=ROLE_ADMIN)
        admin.set_password(DEMO_ADMIN_PASSWORD)
        demo = User(username=DEMO_READER_USERNAME, email="demo@athenaeum.example")
        demo.set_password(DEMO_READER_PASSWORD)

        joined = self.now - timedelta(days=1)
        created_days = self.rng.integers(1, 730, len(source_ids))
        readers = _Readers(id_by_source={}, created={})
        rows = [
            {
                "id": 1,
                "username": admin.username,
                "email": admin.email,
                "password_hash": admin.password_hash,
                "role": ROLE_ADMIN,
                "active": True,
                "created_at": joined - timedelta(days=800),
                "source_user_id": None,
            }
        ]
        for index, source_id in enumerate(source_ids.tolist()):
            user_id = index + 2
            created = self.now - timedelta(days=int(created_days[index]))
            is_demo = source_id == demo_source_id
            rows.append(
                {
                    "id": user_id,
                    "username": demo.username if is_demo else f"reader{source_id}",
                    "email": demo.email if is_demo else f"reader{source_id}@goodreads.invalid",
                    "password_hash": demo.password_hash if is_demo else None,
                    "role": "reader",
                    "active": True,
                    "created_at": created,
                    "source_user_id": source_id,
                }
            )
            readers.id_by_source[source_id] = user_id
            readers.created[user_id] = _to_ts(created)
        self._insert(User.__table__, rows, "readers")
        return readers

    def _ratings_and_favourites(self, books: _Books, readers: _Readers) -> pd.DataFrame:
        """Every rating and want-to-read mark; returns the (user_id, book_id) pairs rated."""
        rated = pd.DataFrame({"user_id": [], "book_id": []})
        for name, model, label in (("ratings.csv", Rating, "ratings"), ("to_read.csv", Favourite, "favourites")):
            frame = self.frames[name]
            users = frame["user_id"].map(readers.id_by_source).to_numpy()
            books_of = frame["book_id"].map(books.id_by_source).to_numpy()
            starts = np.array([readers.created[u] for u in users])
            moments = self._times_between(starts, self.now)
            if model is Rating:
                values = frame["rating"].to_numpy()
                # Built as they are inserted: every rating of a large library as dicts took gigabytes.
                rows = (
                    {"user_id": int(u), "book_id": int(b), "rating": int(r), "created_at": t, "updated_at": t}
                    for u, b, r, t in zip(users, books_of, values, moments)
                )
                rated = pd.DataFrame({"user_id": users, "book_id": books_of})
            else:
                rows = (
                    {"user_id": int(u), "book_id": int(b), "created_at": t} for u, b, t in zip(users, books_of, moments)
                )
            self._insert(model.__table__, rows, label)
        return rated

    def _circulation(self, rated: pd.DataFrame, books_of_reader: pd.Series, copies: dict[int, int]) -> None:
        """Loans drawn from the real ratings, lent day by day as a library would; a few left overdue.

        The lending starts ``warm-up`` days before the history shown (a loan period plus the
        latest return), so the first days shown already have returns of earlier loans, and
        ``options.loans`` fall within the days shown. A loan is lent only when a copy of its
        book is on the shelf at that moment and the reader has fewer than five books out;
        otherwise the reader takes another book they rated that is on the shelf, or none.
        So loans and returns run at a steady rate up to today, with no pile-up at either end.
        """
        opts, rng = self.options, self.rng
        now = _to_ts(self.now)
        longest_keep = opts.loan_days + 6
        warm_up_days = longest_keep
        wanted = round(opts.loans * (opts.days_of_history + warm_up_days) / opts.days_of_history)
        sample = rated.sample(n=min(wanted, len(rated)), random_state=opts.seed).reset_index(drop=True)
        borrowed = np.sort(now - rng.random(len(sample)) * (opts.days_of_history + warm_up_days) * 86400)
        kept = rng.uniform(2, longest_keep, len(sample)) * 86400
        # A loan still out long after its due date is rarer the longer ago it was due.
        overdue_chance = opts.overdue_loans / max(len(sample) / (opts.days_of_history + warm_up_days) * 20, 1)
        out_until: dict[int, list[float]] = {}  # book -> when each copy out comes back (inf: not yet)
        reader_out: dict[int, list[tuple[float, int]]] = {}  # reader -> (when it comes back, book) of loans out
        rows, overdue = [], 0

        for i in range(len(sample)):
            moment, user_id = float(borrowed[i]), int(sample.at[i, "user_id"])
            reader_out[user_id] = [(back, book) for back, book in reader_out.get(user_id, []) if back > moment]
            if len(reader_out[user_id]) >= MAX_DEMO_LOANS_PER_READER:
                continue
            holding = {book for _back, book in reader_out[user_id]}
            book_id = None
            for candidate in [int(sample.at[i, "book_id"]), *books_of_reader[user_id]]:
                out_until[candidate] = [back for back in out_until.get(candidate, []) if back > moment]
                if len(out_until[candidate]) < copies[candidate] and candidate not in holding:
                    book_id = candidate
                    break
            if book_id is None:
                continue
            due = moment + opts.loan_days * 86400
            back = moment + float(kept[i])
            days_overdue = (now - due) / 86400
            if (
                back < now
                and days_overdue > 1
                and overdue < opts.overdue_loans
                and rng.random() < overdue_chance * np.exp(-days_overdue / 20)
            ):
                back, overdue = np.inf, overdue + 1
            out_until[book_id].append(back)
            reader_out[user_id].append((back, book_id))
            rows.append(
                {
                    "user_id": user_id,
                    "book_id": book_id,
                    "borrowed_at": _from_ts(int(moment)),
                    "due_at": _from_ts(int(due)),
                    "returned_at": None if back > now else _from_ts(int(back)),
                    "renewals": 0,
                }
            )
        self._insert(Loan.__table__, rows, "loans")
        open_per_book = Counter(row["book_id"] for row in rows if row["returned_at"] is None)
        self.report.counts["loans still out"] = sum(open_per_book.values())
        self.report.counts["loans overdue"] = sum(
            1 for row in rows if row["returned_at"] is None and row["due_at"] < self.now
        )
        for book_id, out in open_per_book.items():
            db.session.execute(
                Book.__table__.update()
                .where(Book.__table__.c.id == book_id)
                .values(copies_available=Book.__table__.c.copies_total - out)
            )

    def _orders(self, by_user: pd.Series, prices: dict[int, Decimal]) -> None:
        """Orders of one to three books each reader rated, spread over the last days."""
        opts, rng = self.options, self.rng
        buyers = rng.choice(by_user.index.to_numpy(), size=min(opts.orders, len(by_user)), replace=False)
        order_rows, item_rows = [], []
        window = opts.days_of_history * 86400
        for order_id, user_id in enumerate(buyers.tolist(), start=1):
            books = by_user[user_id]
            count = min(len(books), int(rng.integers(1, 4)))
            chosen = rng.choice(books, size=count, replace=False)
            created = _from_ts(int(_to_ts(self.now) - rng.random() * window))
            status = rng.choice([ORDER_PAID, ORDER_SHIPPED, ORDER_CANCELLED], p=[0.35, 0.6, 0.05])
            total = Decimal("0.00")
            for book_id in chosen.tolist():
                quantity = 1 if rng.random() < 0.85 else 2
                price = prices[book_id]
                total += price * quantity
                item_rows.append({"order_id": order_id, "book_id": book_id, "quantity": quantity, "unit_price": price})
            order_rows.append(
                {
                    "id": order_id,
                    "user_id": int(user_id),
                    "status": str(status),
                    "total": total,
                    "created_at": created,
                    "paid_at": created,
                    "cancelled_at": created + timedelta(hours=2) if status == ORDER_CANCELLED else None,
                    "checkout_token": None,
                }
            )
        self._insert(Order.__table__, order_rows, "orders")
        self._insert(OrderItem.__table__, item_rows, "order items")

    def _views(self, rated: pd.DataFrame) -> None:
        """Book page views over the last 30 days, by readers who rated the book."""
        sample = rated.sample(n=min(self.options.views, len(rated)), random_state=self.options.seed + 1)
        seconds = _to_ts(self.now) - self.rng.random(len(sample)) * 30 * 86400
        rows = [
            {"user_id": int(u), "book_id": int(b), "viewed_at": _from_ts(int(s))}
            for u, b, s in zip(sample["user_id"], sample["book_id"], seconds)
        ]
        self._insert(BookView.__table__, rows, "book views")
