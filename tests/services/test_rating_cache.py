"""The web process caches a run's rating weights; a later run with the same id never gets the old ones."""

from __future__ import annotations

import numpy as np
from sqlalchemy import delete

from tests.helpers import create_user, make_book
from webapp.extensions import db
from webapp.models import BookFactors, ModelArtifact, ModelRun, ReaderFactors
from webapp.recsys.serving import RatingPredictor, vector_to_bytes
from webapp.services import recommendations


def _store_run(run_id: int, mean: float, reader_id: int, book_id: int) -> None:
    """An active run ``run_id`` whose rating model predicts ``mean`` for everyone (all weights zero)."""
    factors = 2
    predictor = RatingPredictor(mean, factors, [np.zeros((factors * 2, 2))], [np.zeros(2)], np.zeros(factors + 2), 0.0)
    zero = vector_to_bytes(np.zeros(1 + 2 * factors, dtype=np.float32))
    db.session.add(ModelRun(id=run_id, algorithm="neumf", status="succeeded", is_active=True))
    db.session.flush()
    db.session.add_all(
        [
            ModelArtifact(model_run_id=run_id, name=recommendations.RATING_ARTIFACT, data=predictor.to_bytes()),
            ReaderFactors(model_run_id=run_id, user_id=reader_id, vector=zero),
            BookFactors(model_run_id=run_id, book_id=book_id, vector=zero),
        ]
    )
    db.session.commit()


def test_a_new_run_that_reuses_an_id_is_not_paired_with_the_old_weights(app):
    reader, book = create_user(), make_book()
    _store_run(1, 2.0, reader.id, book.id)
    assert recommendations.predicted_rating(reader.id, book.id) == 2.0  # now cached in this process
    for table in (ReaderFactors, BookFactors, ModelArtifact, ModelRun):  # seed-demo --reset, as SQLite sees it
        db.session.execute(delete(table))
    db.session.commit()
    _store_run(1, 4.5, reader.id, book.id)
    assert recommendations.predicted_rating(reader.id, book.id) == 4.5
