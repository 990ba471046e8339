"""flask train-recs on a real (small) database: caching, atomic swap, failures, fallback."""

import subprocess
import sys

import pytest
from sqlalchemy import func, select

from tests.conftest import create_user
from webapp.extensions import db
from webapp.models import Loan, ModelRun, Rating, Recommendation
from webapp.services import recommendations as service


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture()
def demo(runner, small_demo_dir):
    result = runner.invoke(args=["seed-demo", "--data-dir", small_demo_dir])
    assert result.exit_code == 0, result.output


def test_empty_database_fails_cleanly(runner, app):
    result = runner.invoke(args=["train-recs", "--algorithm", "item_knn"])
    assert result.exit_code != 0
    assert "Not enough reader activity" in result.output
    assert "Nothing was changed" in result.output
    assert _count(ModelRun) == 0


def test_train_recs_caches_top_k_for_every_reader(runner, demo):
    result = runner.invoke(args=["train-recs", "--algorithm", "item_knn", "--top-k", "5"])
    assert result.exit_code == 0, result.output
    run = db.session.scalar(select(ModelRun))
    assert run.status == "succeeded" and run.is_active
    assert run.n_users > 0 and run.timings["cache_seconds"] >= 0
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
        args=["train-recs", "--algorithm", "most_popular", "--evaluate", "--eval-users", "200", "--epochs", "1"]
    )
    assert result.exit_code == 0, result.output
    for name in ("most_popular", "item_knn", "user_knn", "matrix_factorization", "neumf"):
        assert name in result.output
    metrics = db.session.scalar(select(ModelRun.metrics))
    assert 0.0 <= metrics["item_knn"]["hr@10"] <= 1.0


def test_failed_run_keeps_the_previous_recommendations(runner, demo, monkeypatch):
    assert runner.invoke(args=["train-recs", "--algorithm", "most_popular"]).exit_code == 0
    first = db.session.scalar(select(ModelRun.id).where(ModelRun.is_active.is_(True)))
    cached = _count(Recommendation)
    original = service.store_recommendations

    def write_then_fail(run_id, rows):
        original(run_id, rows)  # half of the new cache is in the database ...
        raise ConnectionError("the database went away")  # ... when the connection drops

    monkeypatch.setattr(service, "store_recommendations", write_then_fail)
    result = runner.invoke(args=["train-recs", "--algorithm", "item_knn"])
    assert result.exit_code != 0
    assert "previous recommendations are still in place" in result.output
    db.session.expire_all()
    assert db.session.scalar(select(ModelRun.id).where(ModelRun.is_active.is_(True))) == first
    assert _count(Recommendation) == cached
    assert _count(Recommendation, Recommendation.model_run_id != first) == 0
    failed = db.session.scalar(select(ModelRun).where(ModelRun.id != first))
    assert failed.status == "failed" and "database went away" in failed.error


def test_if_no_model_trains_only_once(runner, demo):
    assert runner.invoke(args=["train-recs", "--algorithm", "most_popular", "--if-no-model"]).exit_code == 0
    result = runner.invoke(args=["train-recs", "--algorithm", "most_popular", "--if-no-model"])
    assert "already exists" in result.output
    assert _count(ModelRun) == 1


def test_new_reader_gets_the_fallback(runner, demo):
    runner.invoke(args=["train-recs", "--algorithm", "item_knn"])
    newcomer = create_user("newcomer")
    shown = service.recommendations_for(newcomer.id, limit=5)
    assert len(shown) == 5
    assert all(item.model_run_id is None for item in shown)
    assert all(item.reason.startswith("Popular") for item in shown)


def test_known_reader_gets_cached_recommendations(runner, demo):
    runner.invoke(args=["train-recs", "--algorithm", "item_knn"])
    user_id = db.session.scalar(select(Recommendation.user_id).limit(1))
    shown = service.recommendations_for(user_id, limit=3)
    assert [item.model_run_id is not None for item in shown] == [True, True, True]


@pytest.mark.slow
def test_neumf_end_to_end(runner, demo):
    result = runner.invoke(args=["train-recs", "--epochs", "2", "--top-k", "3"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(ModelRun.algorithm)) == "neumf"
    assert _count(Recommendation) > 0


def test_web_app_never_loads_tensorflow():
    script = (
        "import sys; from webapp import create_app; from webapp.config import TestConfig; "
        "app = create_app(TestConfig); app.test_client().get('/healthz'); "
        "import webapp.recsys.cli, webapp.recsys.pipeline, webapp.recsys.neural; "
        "print('tensorflow' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
