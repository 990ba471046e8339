"""The training service on its own, without the CLI: what it reports and what it refuses."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import ModelRun, Recommendation
from webapp.services import training


class RecordingProgress:
    def __init__(self) -> None:
        self.messages: list[str] = []
        self.bars: dict[str, int] = {}

    def message(self, text: str) -> None:
        self.messages.append(text)

    @contextmanager
    def bar(self, label: str, unit: str, total: int | None = None):
        self.bars[label] = 0

        def advance(n: int = 1) -> None:
            self.bars[label] += n

        yield advance


@pytest.fixture()
def demo(runner, small_demo_dir):
    assert runner.invoke(args=["seed-demo", "--data-dir", small_demo_dir]).exit_code == 0


def test_train_and_publish_reports_what_it_stored(demo):
    progress = RecordingProgress()
    report = training.train_and_publish(
        training.TrainingOptions(algorithm="item_knn", top_k=4, rating_model=False), progress
    )
    active = db.session.scalar(select(ModelRun).where(ModelRun.is_active.is_(True)))
    assert active.id == report.run_id and active.timings == report.timings
    assert active.metrics is None and report.metrics is None  # ItemKNN keeps no hold-out to measure itself on
    stored = db.session.scalar(select(func.count()).select_from(Recommendation))
    assert report.recommendations == stored > 0
    assert progress.bars["Caching"] == report.n_users
    assert "No rating model this time (--no-rating-model)." in progress.messages


def test_too_little_activity_is_refused_and_records_no_run(app):
    with pytest.raises(training.TrainingRefused, match="Nothing was changed"):
        training.train_and_publish(training.TrainingOptions(algorithm="most_popular"))
    assert db.session.scalar(select(func.count()).select_from(ModelRun)) == 0


def test_an_unknown_algorithm_is_refused_before_anything_runs():
    with pytest.raises(ValueError, match="Unknown algorithm"):
        training.TrainingOptions(algorithm="magic")
