"""Recommendations that react at once: fold-in after an action, new readers, dismissals, new books."""

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest
from sqlalchemy import event, func, select, update

from tests.helpers import create_user
from webapp.extensions import db
from webapp.models import (
    Book,
    BookVector,
    Dismissal,
    ModelArtifact,
    ModelRun,
    Rating,
    Recommendation,
    SimilarBook,
)
from webapp.services import activity, book_import, reader_recs, recommendations

pytest.importorskip("tensorflow")


def _rows(user_id: int) -> list[tuple[int, int, float]]:
    stmt = select(Recommendation.book_id, Recommendation.rank, Recommendation.score).where(
        Recommendation.user_id == user_id
    )
    return sorted(db.session.execute(stmt).all(), key=lambda row: row[1])


def _train(runner, *options: str) -> ModelRun:
    result = runner.invoke(args=["train-recs", "--epochs", "2", "--no-rating-model", *options])
    assert result.exit_code == 0, result.output
    return db.session.scalar(select(ModelRun).where(ModelRun.is_active.is_(True)))


@contextmanager
def _statements() -> Iterator[list[tuple[str, object]]]:
    """The (SQL, parameters) of every statement sent while the block runs."""
    sent: list[tuple[str, object]] = []

    def record(_conn, _cursor, statement, parameters, _context, _executemany) -> None:
        sent.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


@pytest.fixture()
def demo(runner, small_demo_dir):
    result = runner.invoke(args=["seed-demo", "--data-dir", small_demo_dir])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("part_bytes", [None, 1000], ids=["stored whole", "rows across parts"])
def test_fold_in_gives_the_cached_list_back(runner, demo, monkeypatch, part_bytes):
    """Recomputing a cached reader from the stored vectors and their history gives the run's own list and scores
    (the network learned from histories in time order: the fold-in weighs the reader's books by their times).

    With parts of 1,000 bytes a reader's id embeddings (rows of 128 bytes) are read out of
    the parts that hold them, some split over two.
    """
    if part_bytes:
        monkeypatch.setattr(recommendations, "ARTIFACT_PART_BYTES", part_bytes)
    run = _train(runner)
    with _statements() as loading:
        assert reader_recs.live_model() is not None
    assert loading and not any("user_rows" in str(params) for _sql, params in loading)  # a row at a time, below
    assert run.metrics["neumf"]["history_recency"] == 2.0
    readers = db.session.scalars(select(Recommendation.user_id).distinct().limit(5)).all()
    for user_id in readers:
        cached = _rows(user_id)
        refreshed = reader_recs.refresh_reader(user_id)
        assert refreshed is not None and refreshed.stored == len(cached)
        again = _rows(user_id)
        assert [book for book, _rank, _score in again] == [book for book, _rank, _score in cached]
        np.testing.assert_allclose([s for *_, s in again], [s for *_, s in cached], rtol=1e-4, atol=1e-4)


def test_fold_in_weighs_recent_books_as_training_did(runner, demo, monkeypatch):
    """With an item-item part that weighs recent books more, the web's fold-in (from the events' times
    in the database) gives the run's cached lists back: it orders a reader's books as training did."""
    from webapp.recsys import neural

    monkeypatch.setattr(neural, "ITEM_ITEM_WEIGHTS", (1.0,))
    monkeypatch.setattr(neural, "ITEM_ITEM_RECENCY", (5.0,))
    run = _train(runner)
    assert run.metrics["neumf"]["item_item_recency"] == 5.0
    readers = db.session.scalars(select(Recommendation.user_id).distinct().limit(5)).all()
    for user_id in readers:
        cached = _rows(user_id)
        reader_recs.refresh_reader(user_id)
        again = _rows(user_id)
        assert [book for book, _rank, _score in again] == [book for book, _rank, _score in cached]
        np.testing.assert_allclose([s for *_, s in again], [s for *_, s in cached], rtol=1e-4, atol=1e-4)


def test_a_run_stored_before_the_readers_rows_is_not_live_and_its_cached_lists_still_show(runner, demo):
    """Code before the sixteenth session stored the readers' id embeddings as one archive per table."""
    run = _train(runner)
    for old_name, name in (("neumf_gmf_users", "neumf_gmf_user_rows"), ("neumf_mlp_users", "neumf_mlp_user_rows")):
        db.session.execute(update(ModelArtifact).where(ModelArtifact.name == name).values(name=old_name))
    db.session.commit()
    reader_id = db.session.scalar(select(Recommendation.user_id).limit(1))
    cached = _rows(reader_id)
    assert reader_recs.live_model() is None
    assert reader_recs.refresh_reader(reader_id) is None
    shown = reader_recs.recommendations_for(reader_id, limit=20)
    assert [item.book.id for item in shown] == [book for book, _rank, _score in cached]
    assert all(item.model_run_id == run.id for item in shown)


def test_a_reader_not_cached_by_the_run_gets_a_list_on_first_visit(runner, demo):
    run = _train(runner, "--cached-readers", "0")
    assert db.session.scalar(select(func.count()).select_from(Recommendation)) == 0
    reader_id = db.session.scalar(select(Rating.user_id).limit(1))
    shown = reader_recs.recommendations_for(reader_id, limit=5)
    assert len(shown) == 5 and all(item.model_run_id == run.id for item in shown)


def test_a_new_reader_who_rates_three_books_gets_personal_recommendations(runner, demo):
    run = _train(runner)
    newcomer = create_user("newcomer")
    assert all(item.model_run_id is None for item in reader_recs.recommendations_for(newcomer.id))  # popular
    popular = db.session.scalars(select(Rating.book_id).group_by(Rating.book_id).order_by(func.count().desc()))
    picks = popular.all()[:3]
    for book_id in picks:
        activity.rate(newcomer.id, book_id, 5)
    shown = reader_recs.recommendations_for(newcomer.id, limit=10)
    assert shown and all(item.model_run_id == run.id for item in shown)
    assert not {item.book.id for item in shown} & set(picks)
    assert any(item.reason.startswith("Because you rated") for item in shown)


def test_not_interested_hides_the_book_and_survives_retraining(runner, demo):
    _train(runner)
    reader_id = db.session.scalar(select(Recommendation.user_id).limit(1))
    first = _rows(reader_id)[0][0]
    reader_recs.dismiss(reader_id, first)
    reader_recs.dismiss(reader_id, first)  # twice: still one dismissal
    assert db.session.scalar(select(func.count()).select_from(Dismissal)) == 1
    assert first not in [book for book, *_ in _rows(reader_id)]
    _train(runner)
    assert first not in [book for book, *_ in _rows(reader_id)]


@pytest.fixture()
def import_edition():
    """Imports a new edition of the most-rated book by CSV (same authors, year and category) and returns it."""

    def import_one(source_book_id: int, suffix: str) -> tuple[Book, book_import.ImportReport]:
        twin = db.session.scalar(select(Book).order_by(Book.ratings_count.desc()))
        header = "book_id,isbn,authors,original_publication_year,title,average_rating,ratings_count,image_url,category"
        category = twin.category.name if twin.category else ""
        year = twin.publication_year or ""
        row = f'{source_book_id},,"{twin.authors}",{year},"{twin.title} ({suffix})",4,1,,{category}'
        report = book_import.import_books(f"{header}\n{row}\n".encode())
        return db.session.scalar(select(Book).where(Book.source_book_id == source_book_id)), report

    return import_one


def test_a_book_imported_after_training_has_similar_books_and_can_be_recommended(runner, demo, import_edition):
    run = _train(runner)
    new_book, report = import_edition(99001, "Anniversary Edition")
    assert report.books == 1 and report.with_vectors == 1
    assert db.session.get(BookVector, (run.id, new_book.id)) is not None
    similar = db.session.scalars(
        select(Book).join(SimilarBook, SimilarBook.similar_book_id == Book.id).where(SimilarBook.book_id == new_book.id)
    ).all()
    # From its content vector alone (that its content puts it near its kind is tested in tests/recsys/test_hybrid.py).
    assert len(similar) >= 3 and new_book not in similar
    model = reader_recs.live_model()
    assert new_book.id in model.code_of_book  # scored with every other book from now on


def test_a_reader_who_rated_a_book_imported_after_training_is_refreshed(runner, demo, import_edition):
    run = _train(runner)
    new_book, _report = import_edition(99002, "Illustrated")
    newcomer = create_user("newcomer")
    activity.rate(newcomer.id, new_book.id, 5)
    refreshed = reader_recs.refresh_reader(newcomer.id)  # the new book has no history embedding yet
    assert refreshed is not None and refreshed.stored > 0
    shown = reader_recs.recommendations_for(newcomer.id, limit=10)
    assert shown and all(item.model_run_id == run.id for item in shown)
    assert new_book.id not in {item.book.id for item in shown}
