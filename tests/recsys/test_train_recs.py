"""flask train-recs on a real (small) database: caching, atomic swap, failures, fallback."""

import subprocess
import sys

import pytest
from sqlalchemy import func, select

from tests.helpers import create_user, log_in
from webapp.extensions import db
from webapp.models import (
    Book,
    BookFactors,
    Category,
    Loan,
    ModelArtifact,
    ModelRun,
    Rating,
    ReaderFactors,
    Recommendation,
    SimilarBook,
)
from webapp.services import reader_recs
from webapp.services import recommendations as service


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture()
def demo(runner, small_demo_dir):
    result = runner.invoke(args=["seed-demo", "--data-dir", small_demo_dir])
    assert result.exit_code == 0, result.output


def test_empty_database_fails_cleanly(runner, app):
    result = runner.invoke(args=["train-recs", "--algorithm", "item_knn", "--no-rating-model"])
    assert result.exit_code != 0
    assert "Not enough reader activity" in result.output
    assert "Nothing was changed" in result.output
    assert _count(ModelRun) == 0


def test_train_recs_caches_top_k_for_every_reader(runner, demo):
    result = runner.invoke(args=["train-recs", "--algorithm", "item_knn", "--top-k", "5", "--no-rating-model"])
    assert result.exit_code == 0, result.output
    run = db.session.scalar(select(ModelRun))
    assert run.status == "succeeded" and run.is_active
    assert run.n_users > 0
    stages = ("load_seconds", "train_seconds", "cache_seconds", "rating_and_similar_seconds")
    assert sum(run.timings[stage] for stage in stages) <= run.timings["total_seconds"] + 0.05
    assert db.session.scalar(select(func.max(Recommendation.rank))) == 5
    # Nothing the reader rated or borrowed is recommended back to them.
    rated_back = _count(
        Recommendation.__table__.join(
            Rating, (Rating.user_id == Recommendation.user_id) & (Rating.book_id == Recommendation.book_id)
        )
    )
    borrowed_back = _count(
        Recommendation.__table__.join(
            Loan, (Loan.user_id == Recommendation.user_id) & (Loan.book_id == Recommendation.book_id)
        )
    )
    assert rated_back == 0 and borrowed_back == 0
    reasons = db.session.scalars(select(Recommendation.reason).limit(200)).all()
    assert any(reason.startswith("Because you rated") for reason in reasons)


def test_evaluate_prints_every_baseline(runner, demo):
    result = runner.invoke(
        args=[
            "train-recs",
            "--algorithm",
            "most_popular",
            "--evaluate",
            "--eval-users",
            "200",
            "--epochs",
            "1",
            "--no-rating-model",
        ]
    )
    assert result.exit_code == 0, result.output
    for name in ("most_popular", "item_knn", "user_knn", "matrix_factorization", "neumf"):
        assert name in result.output
    metrics = db.session.scalar(select(ModelRun.metrics))
    assert 0.0 <= metrics["item_knn"]["hr@10"] <= 1.0
    assert {result["protocol"] for result in metrics.values()} == {"leave-one-out"}


def test_failed_run_keeps_the_previous_recommendations(runner, demo, monkeypatch):
    assert runner.invoke(args=["train-recs", "--algorithm", "most_popular", "--no-rating-model"]).exit_code == 0
    first = db.session.scalar(select(ModelRun.id).where(ModelRun.is_active.is_(True)))
    cached = _count(Recommendation)
    original = service.store_recommendations

    def write_then_fail(run_id, rows):
        original(run_id, rows)  # half of the new cache is in the database ...
        raise ConnectionError("the database went away")  # ... when the connection drops

    monkeypatch.setattr(service, "store_recommendations", write_then_fail)
    result = runner.invoke(args=["train-recs", "--algorithm", "item_knn", "--no-rating-model"])
    assert result.exit_code != 0
    assert "previous recommendations are still in place" in result.output
    db.session.expire_all()
    assert db.session.scalar(select(ModelRun.id).where(ModelRun.is_active.is_(True))) == first
    assert _count(Recommendation) == cached
    assert _count(Recommendation, Recommendation.model_run_id != first) == 0
    failed = db.session.scalar(select(ModelRun).where(ModelRun.id != first))
    assert failed.status == "failed" and "database went away" in failed.error


def test_if_no_model_trains_only_once(runner, demo):
    assert (
        runner.invoke(
            args=["train-recs", "--algorithm", "most_popular", "--if-no-model", "--no-rating-model"]
        ).exit_code
        == 0
    )
    result = runner.invoke(args=["train-recs", "--algorithm", "most_popular", "--if-no-model", "--no-rating-model"])
    assert "already exists" in result.output
    assert _count(ModelRun) == 1


def test_new_reader_gets_the_fallback(runner, demo):
    runner.invoke(args=["train-recs", "--algorithm", "item_knn", "--no-rating-model"])
    newcomer = create_user("newcomer")
    shown = reader_recs.recommendations_for(newcomer.id, limit=5)
    assert len(shown) == 5
    assert all(item.model_run_id is None for item in shown)
    assert all(item.reason.startswith("Popular") for item in shown)


def test_known_reader_gets_cached_recommendations(runner, demo):
    runner.invoke(args=["train-recs", "--algorithm", "item_knn", "--no-rating-model"])
    user_id = db.session.scalar(select(Recommendation.user_id).limit(1))
    shown = reader_recs.recommendations_for(user_id, limit=3)
    assert [item.model_run_id is not None for item in shown] == [True, True, True]


def test_rating_model_and_similar_books_are_stored_with_the_run(runner, demo):
    category_id = db.session.scalar(select(Category.id))
    unrated = Book(title="A Book Nobody Rated", authors="Ann Onymous", category_id=category_id)
    db.session.add(unrated)
    db.session.commit()
    result = runner.invoke(args=["train-recs", "--algorithm", "matrix_factorization", "--epochs", "3"])
    assert result.exit_code == 0, result.output
    run_id = db.session.scalar(select(ModelRun.id).where(ModelRun.is_active.is_(True)))
    raters = db.session.scalar(select(func.count(func.distinct(Rating.user_id))))
    books = db.session.scalar(select(func.count(Book.id)))
    assert _count(ReaderFactors, ReaderFactors.model_run_id == run_id) == raters
    assert _count(BookFactors, BookFactors.model_run_id == run_id) == books  # unrated ones from their content
    assert _count(ModelArtifact, ModelArtifact.model_run_id == run_id) == 1
    assert _count(SimilarBook, SimilarBook.book_id == SimilarBook.similar_book_id) == 0
    book_id = db.session.scalar(select(SimilarBook.book_id).limit(1))
    similar = service.similar_books(book_id, limit=5)
    assert 1 <= len(similar) <= 5 and book_id not in [book.id for book, _ in similar]
    assert [score for _, score in similar] == sorted((score for _, score in similar), reverse=True)
    user_id, rated_book = db.session.execute(select(Rating.user_id, Rating.book_id).limit(1)).one()
    assert 1.0 <= service.predicted_rating(user_id, rated_book) <= 5.0
    assert service.predicted_rating(create_user("newcomer").id, rated_book) is None
    assert 1.0 <= service.predicted_rating(user_id, unrated.id) <= 5.0  # from its content alone


def test_similar_books_come_from_the_rating_model_when_the_recommender_has_no_vectors(runner, demo):
    result = runner.invoke(args=["train-recs", "--algorithm", "item_knn", "--top-k", "5"])
    assert result.exit_code == 0, result.output
    run_id = db.session.scalar(select(ModelRun.id).where(ModelRun.is_active.is_(True)))
    assert _count(BookFactors, BookFactors.model_run_id == run_id) > 0
    assert _count(SimilarBook, SimilarBook.model_run_id == run_id) > 0


def test_book_page_shows_predicted_stars_and_similar_books(runner, demo, client):
    alice = create_user("alice")
    popular = db.session.scalars(
        select(Rating.book_id).group_by(Rating.book_id).order_by(func.count().desc(), Rating.book_id).limit(4)
    ).all()
    db.session.add_all(Rating(user_id=alice.id, book_id=book_id, rating=5) for book_id in popular[:3])
    db.session.commit()
    assert runner.invoke(args=["train-recs", "--algorithm", "matrix_factorization", "--epochs", "3"]).exit_code == 0
    unrated = popular[3]
    expected = service.predicted_rating(alice.id, unrated)
    similar = service.similar_books(unrated, limit=6)
    assert expected is not None and similar

    anonymous = client.get(f"/books/{unrated}").get_data(as_text=True)
    assert "We think you&#39;d rate this" not in anonymous and "We think you'd rate this" not in anonymous
    log_in(client, "alice")
    page = client.get(f"/books/{unrated}").get_data(as_text=True)
    assert "rate this" in page and f"{expected:.1f}★" in page
    section = page[page.index('id="similar-books"') : page.index('id="reviews"')]
    for book, _score in similar:
        assert f"/books/{book.id}" in section
    rated_page = client.get(f"/books/{popular[0]}").get_data(as_text=True)
    assert 'id="predicted-rating"' not in rated_page  # she rated it herself: her own stars are shown


def test_a_failure_while_storing_similar_books_leaves_no_trace_of_the_run(runner, demo, monkeypatch):
    assert runner.invoke(args=["train-recs", "--algorithm", "most_popular", "--no-rating-model"]).exit_code == 0
    first = db.session.scalar(select(ModelRun.id).where(ModelRun.is_active.is_(True)))
    original = service.store_similar_books

    def store_then_fail(run_id, rows):
        original(run_id, rows)
        raise KeyboardInterrupt

    monkeypatch.setattr(service, "store_similar_books", store_then_fail)
    result = runner.invoke(args=["train-recs", "--algorithm", "matrix_factorization", "--epochs", "2"])
    assert result.exit_code != 0
    db.session.expire_all()
    assert db.session.scalar(select(ModelRun.id).where(ModelRun.is_active.is_(True))) == first
    for table in (Recommendation, SimilarBook, ReaderFactors, BookFactors, ModelArtifact):
        assert _count(table, table.model_run_id != first) == 0, table.__name__


@pytest.mark.slow
def test_neumf_end_to_end(runner, demo):
    result = runner.invoke(args=["train-recs", "--epochs", "2", "--top-k", "3"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(ModelRun.algorithm)) == "neumf"
    assert _count(Recommendation) > 0
    # Without --evaluate the run keeps what NeuMF measured on its early-stopping hold-out, and says so.
    measured = db.session.scalar(select(ModelRun.metrics))["neumf"]
    assert measured["protocol"] == "validation" and measured["readers"] > 0
    assert 0.0 <= measured["ndcg@10"] <= measured["hr@10"] <= 1.0
    assert f"On its validation hold-out ({measured['readers']:,} readers)" in result.output
    if "item_item_weight" in measured:  # the blend the run scores with, beside the network alone
        assert measured["ndcg@10"] >= measured["network_ndcg@10"]
        assert f"blended with its item-item part at weight {measured['item_item_weight']:g}" in result.output
        short = measured["item_item_short_weight"]
        assert f"({short:g} for histories of at most {measured['item_item_short_history']} books" in result.output


def test_web_app_never_loads_tensorflow():
    script = (
        "import sys; from webapp import create_app; from webapp.config import TestConfig; "
        "app = create_app(TestConfig); app.test_client().get('/healthz'); "
        "import webapp.cli, webapp.services.training, webapp.recsys.pipeline, webapp.recsys.neural; "
        "print('tensorflow' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
