"""One reader's recommendations, kept up to date as they act (fold-in), and new books' vectors.

``flask train-recs`` stores what live scoring needs with a NeuMF run: the item side of
the model, the readers' id embeddings, the content tower and its vocabularies. From
those, :func:`refresh_reader` recomputes a reader's list with NumPy in a few
milliseconds, from their history as it is now: after they rate, favourite, borrow, buy,
review or dismiss a book, for a reader who joined after training, and for a reader
``train-recs`` did not cache. The scores are those the trained model gives the same
history. :func:`add_book` gives a book created after training its content vector, so it
can be recommended and has similar books before the next run.
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Integer, Select, bindparam, delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from webapp.extensions import cache, db
from webapp.models import Book, BookVector, Dismissal, ModelRun, Recommendation, SimilarBook
from webapp.recsys.data import DEFAULT_WEIGHTS
from webapp.recsys.features import FeatureVocabulary
from webapp.recsys.models import top_k
from webapp.recsys.pipeline import READER_ROWS, ReaderBooks, ReasonWriter, item_descriptions, new_book_similar_rows
from webapp.recsys.serving import (
    ContentTower,
    NeuMFScorer,
    arrays_from_bytes,
    content_tower_from_bytes,
    vector_from_bytes,
    vector_to_bytes,
)
from webapp.services import catalogue, recommendations
from webapp.services.errors import NotFound
from webapp.services.events import reader_events
from webapp.services.recommendations import ShownRecommendation

TOP_K = 20
logger = logging.getLogger(__name__)
HISTORY_KINDS = tuple(kind for kind, weight in DEFAULT_WEIGHTS.items() if weight > 0)


@dataclass
class LiveModel:
    """The active NeuMF run's stored parts, read once per process (and again when books are added)."""

    run_id: int
    scorer: NeuMFScorer
    book_ids: np.ndarray  # book id of each item code
    code_of_book: dict[int, int]
    reader_ids: np.ndarray  # sorted: a reader's code is the position of their id
    reader_row_widths: dict[str, int]  # float32 values in a row of each of READER_ROWS' artifacts
    reader_part_bytes: dict[str, int]  # the part size each of them was stored with
    tower: ContentTower | None
    vocabulary: FeatureVocabulary | None
    reasons: ReasonWriter


_cache: dict[tuple[str, int], LiveModel | None] = {}


def live_model() -> LiveModel | None:
    """The active run's live model; None when there is no active run, it is not a NeuMF with history, or it
    was stored before its readers' rows were (see ``_load``)."""
    run = db.session.execute(select(ModelRun.id, ModelRun.key).where(ModelRun.is_active.is_(True))).first()
    if run is None:
        return None
    added = db.session.scalar(select(func.count()).select_from(BookVector).where(BookVector.model_run_id == run.id))
    key = (run.key, added)
    if key not in _cache:
        _cache.clear()
        _cache[key] = _load(run.id)  # None too: a run without live artifacts is not read again
    return _cache[key]


# What a worker reads of a live run when it loads it: everything but the readers' id embeddings,
# whose rows are read one reader at a time (at 50x the demo the two tables are 0.6 GB).
LOADED_ARTIFACTS = ("neumf_scorer", "neumf_codes", "content_tower", "feature_vocabulary")


def _load(run_id: int) -> LiveModel | None:
    # A run trained before the readers' rows were stored on their own (sixteenth session) is
    # not live: its cached lists and the popular fallback serve until the next train-recs.
    part_bytes = recommendations.artifact_part_bytes(run_id)
    if not {"neumf_scorer", *READER_ROWS} <= part_bytes.keys():
        return None
    artifacts = recommendations.read_artifacts(run_id, LOADED_ARTIFACTS)
    scorer = NeuMFScorer.from_bytes(artifacts["neumf_scorer"])
    codes = arrays_from_bytes(artifacts["neumf_codes"])
    book_ids = codes["item_ids"].astype(np.int64)
    added = db.session.execute(
        select(BookVector.book_id, BookVector.vector)
        .where(BookVector.model_run_id == run_id)
        .order_by(BookVector.book_id)
    ).all()
    if added:
        vectors = np.stack([vector_from_bytes(vector) for _book, vector in added])
        gmf_dim = scorer.arrays["gmf_item"].shape[1]
        scorer = scorer.with_items(vectors[:, :gmf_dim], vectors[:, gmf_dim:])
        book_ids = np.concatenate([book_ids, [book for book, _vector in added]])
    tower = content_tower_from_bytes(artifacts["content_tower"]) if "content_tower" in artifacts else None
    vocabulary = None
    if "feature_vocabulary" in artifacts:
        vocabulary = FeatureVocabulary.from_json(artifacts["feature_vocabulary"].decode())
    books = recommendations.catalogue()
    return LiveModel(
        run_id=run_id,
        scorer=scorer,
        book_ids=book_ids,
        code_of_book={int(book): code for code, book in enumerate(book_ids)},
        reader_ids=codes["user_ids"].astype(np.int64),
        reader_row_widths={name: scorer.arrays[table].shape[1] for name, table in READER_ROWS.items()},
        reader_part_bytes={name: part_bytes[name] for name in READER_ROWS},
        tower=tower,
        vocabulary=vocabulary,
        reasons=ReasonWriter.for_books(scorer.item_embeddings(), books, book_ids),
    )


@dataclass
class Refreshed:
    """What a refresh stored: how many books, and the milliseconds the scoring took in this process."""

    stored: int
    scoring_ms: float


def refresh_reader(user_id: int) -> Refreshed | None:
    """Recompute the reader's cached recommendations from their history now; None without a live model.

    Books they interacted with or dismissed are left out. The old rows are replaced in one
    transaction; a reader with no history gets no rows (the popular fallback shows).
    """
    model = live_model()
    if model is None:
        return None
    rows = db.session.execute(_history_query(), {"user_id": user_id}).all()
    dismissed = set(db.session.scalars(_dismissed_query(), {"user_id": user_id}))
    started = time.perf_counter()
    items = np.array([model.code_of_book.get(row.book_id, -1) for row in rows], dtype=np.int64)
    known = items >= 0  # books added after training without a vector are not in the model
    chosen: list[dict] = []
    if known.any():
        history = np.unique(items[known])
        known_rows = [row for row, is_known in zip(rows, known, strict=True) if is_known]
        moments = np.array([row.moment for row in known_rows], dtype="datetime64[us]").astype(np.float64)
        gmf, mlp = model.scorer.user_vectors([items[known]], *_id_vectors(model, user_id), moments=[moments])
        scores = model.scorer.score(gmf, mlp, model.scorer.history_matrix([items[known]], [moments]))
        scores[0, history] = -np.inf
        hidden = [model.code_of_book[book] for book in dismissed if book in model.code_of_book]
        scores[0, hidden] = -np.inf
        top, best = top_k(scores, TOP_K)
        shown = top[0][np.isfinite(best[0])]
        strongest = ReaderBooks.from_columns(
            np.zeros(len(known_rows), dtype=np.int64),
            items[known],
            np.array([row.kind for row in known_rows], dtype=object),
            moments,
            np.array([row.rating for row in known_rows], dtype=np.int64),
        )
        texts = model.reasons.reasons(shown, *strongest.of(0))
        chosen = [
            {
                "model_run_id": model.run_id,
                "user_id": user_id,
                "book_id": int(model.book_ids[item]),
                "rank": rank + 1,
                "score": float(best[0, rank]),
                "reason": texts[rank],
            }
            for rank, item in enumerate(shown)
        ]
    scoring_ms = (time.perf_counter() - started) * 1000
    db.session.execute(
        delete(Recommendation).where(Recommendation.user_id == user_id, Recommendation.model_run_id == model.run_id)
    )
    if chosen:
        db.session.execute(insert(Recommendation), chosen)
    db.session.commit()
    return Refreshed(len(chosen), scoring_ms)


def _id_vectors(model: LiveModel, user_id: int) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The reader's GMF and MLP id embeddings, read from the run's row tables; (None, None) for a reader the
    run did not train (one who joined since)."""
    code = int(np.searchsorted(model.reader_ids, user_id))
    if code == len(model.reader_ids) or model.reader_ids[code] != user_id:
        return None, None
    gmf, mlp = (
        np.frombuffer(
            recommendations.read_artifact_bytes(
                model.run_id, name, code * width * 4, width * 4, model.reader_part_bytes[name]
            ),
            np.float32,
        )
        for name, width in model.reader_row_widths.items()
    )
    return gmf, mlp


def after_reader_action(user_id: int) -> None:
    """Refresh the reader's list after something they did was committed.

    The list is derived data: if the refresh fails, the reader's action still stands and
    the failure is logged; the next action or training run puts the list right.
    """
    try:
        refresh_reader(user_id)
    except Exception:
        db.session.rollback()
        logger.exception("Could not refresh the recommendations of reader %s", user_id)


REFRESHED_KEY = "reader-recs-refreshed:{run}:{user}"


def warm_up() -> None:
    """Compute what pages share before a web worker takes requests (gunicorn.conf.py), unless it is cached.

    That is the popularity ranking, the hot books of the home page and /hot, and the
    active run's live model: each takes a fraction of a second to a second or two on the
    demo, which the first reader of each worker would otherwise wait for. A failure (a
    database not migrated yet) is logged, and each is computed on first use instead.
    """
    try:
        recommendations.popular_ranking()
        for limit in (catalogue.HOME_HOT_BOOKS, catalogue.HOT_PAGE_BOOKS):
            catalogue.hot_scores(limit)
        live_model()
    except Exception:
        logger.exception("Could not compute the shared rankings and the live model ahead of the first request.")
        db.session.rollback()


def recommendations_for(user_id: int, limit: int = 20) -> list[ShownRecommendation]:
    """The reader's recommendations from the active run, computed now if not cached; else the popular fallback.

    A reader the run did not cache (or who joined since) has their list computed once from
    their history and stored; one with no history is not tried again for a few minutes.
    """
    cached = _cached(user_id, limit)
    if cached:
        return cached
    run_id = db.session.scalar(_active_run_query())
    key = REFRESHED_KEY.format(run=run_id, user=user_id)
    if run_id is not None and cache.get(key) is None:
        cache.set(key, True, timeout=300)
        refreshed = refresh_reader(user_id)
        if refreshed is not None and refreshed.stored:
            return _cached(user_id, limit)
    return recommendations.fallback_recommendations(user_id, limit)


def _cached(user_id: int, limit: int) -> list[ShownRecommendation]:
    rows = db.session.execute(_cached_query(limit), {"user_id": user_id})
    return [ShownRecommendation(book, rec.score, rec.reason, rec.model_run_id) for rec, book in rows]


@functools.cache
def _history_query() -> Select:
    """A bound ``user_id``'s events that make their history, built once (every action of a reader runs it)."""
    events = reader_events(HISTORY_KINDS, user_id=bindparam("user_id", type_=Integer))
    return select(events.c.book_id, events.c.kind, events.c.moment, events.c.rating)


@functools.cache
def _dismissed_query() -> Select:
    """The books a bound ``user_id`` dismissed."""
    return select(Dismissal.book_id).where(Dismissal.user_id == bindparam("user_id", type_=Integer))


@functools.cache
def _active_run_query() -> Select:
    """The active run's id; built once (a new reader's every page with recommendations asks)."""
    return select(ModelRun.id).where(ModelRun.is_active.is_(True))


@functools.cache
def _cached_query(limit: int) -> Select:
    """The active run's cached recommendations of a bound ``user_id``, best first; built once per ``limit``."""
    return (
        select(Recommendation, Book)
        .join(ModelRun, ModelRun.id == Recommendation.model_run_id)
        .join(Book, Book.id == Recommendation.book_id)
        .where(Recommendation.user_id == bindparam("user_id", type_=Integer), ModelRun.is_active.is_(True))
        .order_by(Recommendation.rank)
        .limit(limit)
    )


def add_books(book_ids: list[int]) -> int:
    """Give books created after the active run their content vectors and similar books; returns how many.

    Nothing happens without a live model with a content tower; books the run already knows
    are skipped. A failure is logged and leaves the books as they are (they get vectors at
    the next training run).
    """
    try:
        return _add_books(book_ids)
    except Exception:
        db.session.rollback()
        logger.exception("Could not compute content vectors for books %s", book_ids[:20])
        return 0


def _add_books(book_ids: list[int]) -> int:
    model = live_model()
    if model is None or model.tower is None or model.vocabulary is None:
        return 0
    books = recommendations.catalogue([book for book in book_ids if book not in model.code_of_book])
    if books.empty:
        return 0
    gmf, mlp = model.tower.vectors(model.vocabulary.encode(item_descriptions(books)))
    vectors = np.concatenate([gmf, mlp], axis=1).astype(np.float32)
    embeddings = model.scorer.item_embeddings()
    vector_rows, similar_rows = [], []
    for book_id, vector in zip(books["book_id"].tolist(), vectors, strict=True):
        vector_rows.append({"model_run_id": model.run_id, "book_id": book_id, "vector": vector_to_bytes(vector)})
        for row in new_book_similar_rows(book_id, vector, embeddings, model.book_ids):
            similar_rows.append({**row, "model_run_id": model.run_id})
    db.session.execute(insert(BookVector), vector_rows)
    if similar_rows:
        db.session.execute(insert(SimilarBook), similar_rows)
    db.session.commit()
    return len(vector_rows)


def dismiss(user_id: int, book_id: int) -> None:
    """ "Not interested": the book is never recommended to the reader again, and their list is recomputed."""
    if db.session.get(Book, book_id) is None:
        raise NotFound("No such book.")
    exists = db.session.scalar(select(Dismissal.id).where(Dismissal.user_id == user_id, Dismissal.book_id == book_id))
    if exists is None:
        db.session.add(Dismissal(user_id=user_id, book_id=book_id))
    db.session.execute(
        delete(Recommendation).where(Recommendation.user_id == user_id, Recommendation.book_id == book_id)
    )
    try:
        db.session.commit()
    except IntegrityError:  # the same dismissal sent twice at once: the other request stored it
        db.session.rollback()
    refresh_reader(user_id)
