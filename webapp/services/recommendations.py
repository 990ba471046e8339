"""Reading readers' activity for the recommender, and the cache of recommendations.

The cache swap is atomic: a run's recommendations, similar books and rating-model
vectors are written while the run is inactive (the site does not read them), then one
transaction makes it the active run. A failed or interrupted run never becomes active,
so readers keep the previous recommendations.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from itertools import groupby, islice
from operator import itemgetter

import numpy as np
import pandas as pd
from flask import current_app
from sqlalchemy import (
    CompoundSelect,
    Integer,
    Select,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    select,
    union_all,
    update,
)

from webapp.extensions import db
from webapp.models import (
    Book,
    BookFactors,
    BookVector,
    Category,
    Dismissal,
    ModelArtifact,
    ModelRun,
    Rating,
    ReaderFactors,
    Recommendation,
    SimilarBook,
    Tag,
    book_tags,
)
from webapp.models.base import utcnow
from webapp.models.recs import RUN_FAILED, RUN_RUNNING, RUN_SUCCEEDED
from webapp.recsys.serving import RatingPredictor, vector_from_bytes
from webapp.revalidating_cache import kept
from webapp.services.events import EVENT_KINDS, reader_events

EPOCH = pd.Timestamp("1970-01-01")
RATING_ARTIFACT = "rating_model"
# The most bytes of an artifact one row holds. Far under MariaDB's default max_allowed_packet
# (16 MiB), and small because reading a reader's row (SUBSTR) reads its whole part: 0.06 ms
# a row on the demo with parts of 64 KiB, 1.3-2.1 ms with parts of 4 MiB.
ARTIFACT_PART_BYTES = 2**16


# Events are streamed and typed this many rows at a time, each kind held once (a category):
# read whole, the rows as Python objects took about six times the memory of the frame.
EVENT_CHUNK_ROWS = 100_000
_KIND = pd.CategoricalDtype(EVENT_KINDS)


def load_events(until: datetime | None = None) -> pd.DataFrame:
    """Every reader-book event (before ``until``): columns user_id, item_id, kind, timestamp (s), rating (or 0)."""
    events = reader_events(until=until)
    stmt = select(events).where(events.c.user_id.is_not(None)).execution_options(yield_per=EVENT_CHUNK_ROWS)
    # Core rows (no ORM loading), handed to pandas column by column: building a frame from
    # Row objects made pandas probe every row's attributes (half of the load time).
    result = db.session.connection().execute(stmt)
    frames = [_event_frame(rows) for rows in result.partitions()]
    frame = pd.concat(frames, ignore_index=True) if frames else _event_frame([])
    return frame.astype({"kind": object})  # one string object per kind, shared by the rows


def _event_frame(rows) -> pd.DataFrame:
    names = ["user_id", "item_id", "kind", "moment", "rating"]
    columns = list(zip(*rows, strict=True)) or [()] * len(names)
    frame = pd.DataFrame(dict(zip(names, columns, strict=True)))
    if frame.empty:
        return frame.assign(timestamp=pd.Series(dtype="float64")).drop(columns="moment")
    frame["timestamp"] = (pd.to_datetime(frame["moment"]) - EPOCH).dt.total_seconds()
    return frame.drop(columns="moment").astype(
        {"user_id": "int64", "item_id": "int64", "kind": _KIND, "rating": "int64"}
    )


CATALOGUE_COLUMNS = ["book_id", "title", "category", "authors", "year", "tags"]


def catalogue(book_ids: list[int] | None = None, added_before: datetime | None = None) -> pd.DataFrame:
    """Every book (or those of ``book_ids``, or those added before a moment) with what the content model reads.

    Ordered by id.

    Columns: book_id, title, category (name), authors, year, tags (list of names).
    """
    stmt = (
        select(Book.id, Book.title, Category.name, Book.authors, Book.publication_year)
        .outerjoin(Category)
        .order_by(Book.id)
    )
    tag_stmt = select(book_tags.c.book_id, Tag.name).join(Tag, Tag.id == book_tags.c.tag_id).order_by(Tag.name)
    if book_ids is not None:
        stmt = stmt.where(Book.id.in_(book_ids))
        tag_stmt = tag_stmt.where(book_tags.c.book_id.in_(book_ids))
    if added_before is not None:
        stmt = stmt.where(Book.added_at < added_before)
    tags: dict[int, list[str]] = {}
    for book_id, name in db.session.execute(tag_stmt):
        tags.setdefault(book_id, []).append(name)
    rows = [(*row, tags.get(row[0], [])) for row in db.session.execute(stmt)]
    return pd.DataFrame(rows, columns=CATALOGUE_COLUMNS)


def load_dismissals(until: datetime | None = None) -> pd.DataFrame:
    """Every "Not interested" (said before ``until``): columns user_id, item_id."""
    stmt = select(Dismissal.user_id, Dismissal.book_id)
    if until is not None:
        stmt = stmt.where(Dismissal.created_at < until)
    rows = db.session.execute(stmt).all()
    return pd.DataFrame(rows, columns=["user_id", "item_id"], dtype="int64")


def start_run(algorithm: str, parameters: dict) -> ModelRun:
    """Record a new running model run (committed, so a crash still leaves a trace)."""
    run = ModelRun(algorithm=algorithm, parameters=parameters, status=RUN_RUNNING, is_active=False)
    db.session.add(run)
    db.session.commit()
    return run


RUN_TABLES = (Recommendation, SimilarBook, ReaderFactors, BookFactors, BookVector, ModelArtifact)


def store_run_rows(table: type, run_id: int, rows: Iterable[dict], chunk: int = 5000) -> int:
    """Insert rows of ``table`` (one of RUN_TABLES) for an inactive run, ``chunk`` per INSERT, in one
    transaction (nobody reads an inactive run's rows, and each commit waits for the disk); returns how many.

    ``rows`` is read a chunk at a time: a run's 2.4 million reader vectors at 50x the demo
    would be over 1 GB as a list of rows.
    """
    rows = iter(rows)
    stored = 0
    while batch := [{**row, "model_run_id": run_id} for row in islice(rows, chunk)]:
        db.session.execute(insert(table.__table__), batch)
        stored += len(batch)
    db.session.commit()
    return stored


def store_recommendations(run_id: int, rows: Iterable[dict]) -> int:
    """Insert a chunk of recommendations for an inactive run; returns how many."""
    return store_run_rows(Recommendation, run_id, rows)


def store_similar_books(run_id: int, rows: Iterable[dict]) -> int:
    """Insert the run's similar-book rows; returns how many."""
    return store_run_rows(SimilarBook, run_id, rows)


def store_rating_model(run_id: int, weights: bytes, reader_rows: Iterable[dict], book_rows: Iterable[dict]) -> int:
    """Insert the run's rating model: shared weights and one vector per reader and book; returns vectors stored."""
    store_artifacts(run_id, [(RATING_ARTIFACT, weights)])
    return store_run_rows(ReaderFactors, run_id, reader_rows) + store_run_rows(BookFactors, run_id, book_rows)


def store_artifacts(run_id: int, artifacts: Iterable[tuple[str, bytes | memoryview]]) -> int:
    """Insert the run's named binary artifacts (weights, vocabularies) in parts of ARTIFACT_PART_BYTES (the
    last shorter), one INSERT each, in one transaction; returns how many artifacts.

    Each artifact is dropped once inserted, before the next is taken from ``artifacts``: a
    generator that builds them on demand holds one at a time, and a view of an array that is
    kept anyway costs one part's copy.
    """
    stored = 0
    for name, data in artifacts:
        for part, start in enumerate(range(0, max(len(data), 1), ARTIFACT_PART_BYTES)):
            chunk = bytes(data[start : start + ARTIFACT_PART_BYTES])
            db.session.execute(
                insert(ModelArtifact.__table__), {"model_run_id": run_id, "name": name, "part": part, "data": chunk}
            )
        del data
        stored += 1
    db.session.commit()
    return stored


def read_artifacts(run_id: int, names: Iterable[str]) -> dict[str, bytes]:
    """The run's artifacts of ``names`` that it has, by name, each its parts joined."""
    stmt = (
        select(ModelArtifact.name, ModelArtifact.data)
        .where(ModelArtifact.model_run_id == run_id, ModelArtifact.name.in_(list(names)))
        .order_by(ModelArtifact.name, ModelArtifact.part)
    )
    rows = db.session.execute(stmt)
    return {name: b"".join(data for _name, data in parts) for name, parts in groupby(rows, key=itemgetter(0))}


def artifact_part_bytes(run_id: int) -> dict[str, int]:
    """The run's artifacts by name, each with the size of its parts (that of its first: the part size it was
    stored with, or its whole size when it is one part)."""
    stmt = select(ModelArtifact.name, func.length(ModelArtifact.data)).where(
        ModelArtifact.model_run_id == run_id, ModelArtifact.part == 0
    )
    return dict(db.session.execute(stmt).tuples().all())


def read_artifact_bytes(run_id: int, name: str, start: int, length: int, part_bytes: int) -> bytes:
    """``length`` bytes of the run's artifact ``name`` from byte ``start``, read out of the parts that hold
    them (fewer when the artifact ends first): one row of a table without reading the table.

    ``part_bytes`` is the artifact's part size (:func:`artifact_part_bytes`).
    """
    first, last = start // part_bytes, (start + length - 1) // part_bytes
    return b"".join(
        db.session.scalars(
            _artifact_bytes_query(),
            {
                "run_id": run_id,
                "name": name,
                "first": first,
                "last": last,
                "offset": start % part_bytes + 1,
                "length": length,
            },
        )
    )[:length]


@cache
def _artifact_bytes_query() -> Select:
    """Up to a bound ``length`` bytes of each part ``first`` to ``last`` of an artifact: from the bound
    ``offset`` (1-based) in the first, from the start in the others; built once."""
    offset = case((ModelArtifact.part == bindparam("first"), bindparam("offset")), else_=1)
    return (
        select(func.substr(ModelArtifact.data, offset, bindparam("length")))
        .where(
            ModelArtifact.model_run_id == bindparam("run_id"),
            ModelArtifact.name == bindparam("name"),
            ModelArtifact.part.between(bindparam("first"), bindparam("last")),
        )
        .order_by(ModelArtifact.part)
    )


def activate_run(run_id: int, **details) -> None:
    """Make ``run_id`` the active run in one transaction, then drop older runs' cached rows."""
    db.session.execute(update(ModelRun).where(ModelRun.is_active.is_(True)).values(is_active=False))
    db.session.execute(
        update(ModelRun)
        .where(ModelRun.id == run_id)
        .values(is_active=True, status=RUN_SUCCEEDED, finished_at=utcnow(), **details)
    )
    db.session.commit()
    for table in RUN_TABLES:
        db.session.execute(delete(table).where(table.model_run_id != run_id))
    db.session.commit()


def fail_run(run_id: int, reason: str) -> None:
    """Mark a run failed with ``reason`` and delete the rows it had written; the active run is untouched."""
    db.session.rollback()
    for table in RUN_TABLES:
        db.session.execute(delete(table).where(table.model_run_id == run_id))
    db.session.execute(
        update(ModelRun)
        .where(ModelRun.id == run_id)
        .values(status=RUN_FAILED, error=reason[:2000], finished_at=utcnow(), is_active=False)
    )
    db.session.commit()


def update_run(run_id: int, **details) -> None:
    """Save data sizes, timings or metrics of a run while it runs."""
    db.session.execute(update(ModelRun).where(ModelRun.id == run_id).values(**details))
    db.session.commit()


def has_successful_run() -> bool:
    """True once a training run has succeeded."""
    return db.session.scalar(select(func.count()).where(ModelRun.status == RUN_SUCCEEDED)) > 0


@dataclass
class ShownRecommendation:
    """A recommendation as the site shows it."""

    book: Book
    score: float | None
    reason: str
    model_run_id: int | None


# What makes a book popular for the fallback, and what a reader already has.
POPULAR_KINDS = ("loan", "purchase", "rating", "favourite")
# Named by its format, (computed at, arrays): a server of an earlier release may share the cache.
POPULAR_RANKING_KEY = "popular-ranking:dated-arrays"


@dataclass(frozen=True)
class PopularRanking:
    """Every book, most popular lately first: ids and category ids (-1: none) as arrays, cheap to cache."""

    book_ids: np.ndarray
    category_ids: np.ndarray


def popular_ranking() -> PopularRanking:
    """Every book with its category, most popular lately first: the same for every reader.

    "Popular lately" counts loans, purchases, ratings and favourites of the last 30 days
    (ties: Goodreads' rating count, then id). It is computed once per
    ``POPULAR_RANKING_SECONDS``, in the background once it exists, and shared through the
    cache (every worker and server with Redis), not once per reader's page.
    """
    return kept(POPULAR_RANKING_KEY, _popular_ranking, current_app.config.get("POPULAR_RANKING_SECONDS", 0))


def _popular_ranking() -> PopularRanking:
    activity = reader_events(POPULAR_KINDS, since=utcnow() - timedelta(days=30))
    recent = select(activity.c.book_id, func.count().label("hits")).group_by(activity.c.book_id).subquery()
    hits = func.coalesce(recent.c.hits, 0)
    rows = db.session.execute(
        select(Book.id, func.coalesce(Book.category_id, -1))
        .outerjoin(recent, recent.c.book_id == Book.id)
        .order_by(hits.desc(), Book.ratings_count.desc(), Book.id)
    ).all()
    columns = np.array(rows, dtype=np.int64).reshape(-1, 2)
    return PopularRanking(book_ids=columns[:, 0].copy(), category_ids=columns[:, 1].copy())


def popular_by_category(categories: int = 8, per_category: int = 6) -> list[tuple[Category, list[Book]]]:
    """The most popular books of the categories whose top books are most popular (for a newcomer to pick from)."""
    chosen: dict[int, list[int]] = {}
    ranking = popular_ranking()
    for book_id, category_id in zip(ranking.book_ids.tolist(), ranking.category_ids.tolist(), strict=True):
        if category_id < 0:
            continue
        if category_id not in chosen and len(chosen) >= categories:
            continue
        picks = chosen.setdefault(category_id, [])
        if len(picks) < per_category:
            picks.append(book_id)
        if len(chosen) >= categories and all(len(picks) >= per_category for picks in chosen.values()):
            break
    wanted = [book_id for picks in chosen.values() for book_id in picks]
    books = {book.id: book for book in db.session.scalars(select(Book).where(Book.id.in_(wanted)))}
    names = {category.id: category for category in db.session.scalars(select(Category).where(Category.id.in_(chosen)))}
    return [
        (names[category_id], [books[book_id] for book_id in picks if book_id in books])
        for category_id, picks in chosen.items()
        if category_id in names
    ]


def fallback_recommendations(user_id: int | None, limit: int = 20) -> list[ShownRecommendation]:
    """For readers the model has not seen: popular lately in their favourite categories, else overall.

    Popularity is :func:`popular_ranking`; the reader's own books (rated, borrowed, bought
    or marked, read fresh on every call) and the books they dismissed are left out, and
    the three categories most frequent among their own books come first.
    """
    own: set[int] = set()
    dismissed: set[int] = set()
    if user_id is not None:
        for book_id, is_dismissal in db.session.execute(_own_books_query(), {"user_id": user_id}):
            (dismissed if is_dismissal else own).add(book_id)
    ranking = popular_ranking()
    owned = np.isin(ranking.book_ids, np.fromiter(own, dtype=np.int64, count=len(own)))
    hidden = owned | np.isin(ranking.book_ids, np.fromiter(dismissed, dtype=np.int64, count=len(dismissed)))
    own_categories = ranking.category_ids[owned]
    favourite_categories = [category for category, _n in Counter(own_categories[own_categories >= 0]).most_common(3)]
    in_favourite_category = np.isin(ranking.category_ids, favourite_categories)
    in_favourites = ranking.book_ids[~hidden & in_favourite_category][:limit].tolist()
    # With fewer than ``limit`` in the favourite categories, every one of them is taken.
    overall = ranking.book_ids[~hidden & ~in_favourite_category][: limit - len(in_favourites)].tolist()
    found = {
        book.id: (book, category)
        for book, category in db.session.execute(_books_with_category_query(), {"book_ids": in_favourites + overall})
    }
    # A book deleted since the ranking was computed is simply not shown.
    return [
        ShownRecommendation(found[book][0], None, f"Popular in {found[book][1]} this month", None)
        for book in in_favourites
        if book in found
    ] + [
        ShownRecommendation(found[book][0], None, "Popular with readers this month", None)
        for book in overall
        if book in found
    ]


@cache
def _books_with_category_query() -> Select:
    """(book, its category's name) of each of a bound list of ``book_ids``; built once."""
    return (
        select(Book, Category.name)
        .outerjoin(Category, Category.id == Book.category_id)
        .where(Book.id.in_(bindparam("book_ids", expanding=True)))
    )


@cache
def _own_books_query() -> CompoundSelect:
    """(book id, False) for each book a bound ``user_id`` rated, borrowed, bought or marked, (book id, True) for
    each they dismissed; built once (a union of five selects)."""
    user_id = bindparam("user_id", type_=Integer)
    own = reader_events(POPULAR_KINDS, user_id=user_id)
    return union_all(
        select(own.c.book_id, literal(False).label("dismissed")),
        select(Dismissal.book_id, literal(True).label("dismissed")).where(Dismissal.user_id == user_id),
    )


def also_liked(book_id: int, limit: int = 6, min_stars: int = 4, candidates: int = 50) -> list[tuple[Book, float]]:
    """Readers who liked this book also liked: item-item cosine over 4-5★ ratings.

    sim(a, b) = |readers who liked a and b| / sqrt(|liked a| * |liked b|). The co-counts
    come from one grouped self-join in the database; the normalisation is done for the
    top candidates only.
    """
    liked = select(Rating.user_id).where(Rating.book_id == book_id, Rating.rating >= min_stars)
    co_counts = db.session.execute(
        select(Rating.book_id, func.count())
        .where(Rating.user_id.in_(liked), Rating.rating >= min_stars, Rating.book_id != book_id)
        .group_by(Rating.book_id)
        .order_by(func.count().desc(), Rating.book_id)
        .limit(candidates)
    ).all()
    if not co_counts:
        return []
    ids = [other for other, _ in co_counts]
    likes = dict(
        db.session.execute(
            select(Rating.book_id, func.count())
            .where(Rating.book_id.in_([*ids, book_id]), Rating.rating >= min_stars)
            .group_by(Rating.book_id)
        ).all()
    )
    own = likes.get(book_id, 0) or 1
    scored = sorted(
        ((other, count / ((own * likes.get(other, 1)) ** 0.5)) for other, count in co_counts),
        key=lambda pair: (-pair[1], pair[0]),
    )[:limit]
    books = {b.id: b for b in db.session.scalars(select(Book).where(Book.id.in_([o for o, _ in scored])))}
    return [(books[other], score) for other, score in scored if other in books]


def similar_books(book_id: int, limit: int = 6) -> list[tuple[Book, float]]:
    """Books whose trained embeddings are closest to this one's, from the active run."""
    stmt = (
        select(Book, SimilarBook.score)
        .join(SimilarBook, SimilarBook.similar_book_id == Book.id)
        .join(ModelRun, ModelRun.id == SimilarBook.model_run_id)
        .where(SimilarBook.book_id == book_id, ModelRun.is_active.is_(True))
        .order_by(SimilarBook.rank)
        .limit(limit)
    )
    return [(book, score) for book, score in db.session.execute(stmt)]


_predictors: dict[str, RatingPredictor] = {}


def _rating_predictor(run_id: int, run_key: str) -> RatingPredictor | None:
    """The active run's shared rating weights, read once per process and kept under the run's unique key."""
    if run_key not in _predictors:
        data = read_artifacts(run_id, [RATING_ARTIFACT]).get(RATING_ARTIFACT)
        if data is None:
            return None
        _predictors.clear()
        _predictors[run_key] = RatingPredictor.from_bytes(data)
    return _predictors[run_key]


def predicted_rating(user_id: int, book_id: int) -> float | None:
    """The stars the active run's rating model expects this reader to give this book.

    None when there is no trained rating model, the reader had no ratings when it was
    trained, or the book was added since (a book nobody had rated has a vector from its
    content).
    """
    row = db.session.execute(_factors_query(), {"user_id": user_id, "book_id": book_id}).first()
    if row is None:
        return None
    run_id, run_key, reader_vector, book_vector = row
    predictor = _rating_predictor(run_id, run_key)
    if predictor is None:
        return None
    return float(predictor.predict(vector_from_bytes(reader_vector), vector_from_bytes(book_vector))[0])


@cache
def _factors_query() -> Select:
    """The active run's vectors of a bound ``user_id`` and ``book_id`` (with the run's id and key); built once."""
    return (
        select(ModelRun.id, ModelRun.key, ReaderFactors.vector, BookFactors.vector)
        .join(ReaderFactors, ReaderFactors.model_run_id == ModelRun.id)
        .join(BookFactors, BookFactors.model_run_id == ModelRun.id)
        .where(
            ModelRun.is_active.is_(True),
            ReaderFactors.user_id == bindparam("user_id", type_=Integer),
            BookFactors.book_id == bindparam("book_id", type_=Integer),
        )
    )
