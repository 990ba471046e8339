"""Training as a service: read what readers did, train a recommender, publish its picks.

``train_and_publish`` runs every stage (load, optional offline evaluation, training,
caching each reader's top books with reasons, the rating model and similar books) and
makes the new run active in one transaction at the end. It reports its progress to a
:class:`Progress` (the CLI draws bars; tests and other callers may pass nothing) and
returns a :class:`RunReport`. The recommender library (:mod:`webapp.recsys`) gets plain
arrays and frames from here and knows nothing of the database.
"""

from __future__ import annotations

import gc
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import numpy as np
import pandas as pd
import scipy.sparse as sp

from webapp.models.recs import METRICS_LEAVE_ONE_OUT, METRICS_VALIDATION
from webapp.recsys.data import Interactions, build_interactions
from webapp.recsys.features import FeatureVocabulary, ItemFeatures
from webapp.recsys.neural import NCFRating, multi_worker_strategy
from webapp.recsys.pipeline import (
    ALGORITHMS,
    MIN_RATINGS,
    NotEnoughData,
    ReaderBooks,
    ReasonWriter,
    check_enough_data,
    dismissal_matrix,
    encode_catalogue,
    evaluate_algorithms,
    fit_model,
    live_artifacts,
    make_model,
    make_rating_model,
    most_recent_readers,
    rating_factor_rows,
    rating_triples,
    recommendation_rows,
    similar_book_rows,
)
from webapp.services import recommendations
from webapp.services.errors import ServiceError


class TrainingRefused(ServiceError):
    """Training did not start (too little activity): nothing was changed."""


class TrainingFailed(ServiceError):
    """Training broke off: the run is marked failed and readers keep the previous recommendations."""


@dataclass(frozen=True)
class TrainingOptions:
    """What ``flask train-recs`` asks for; None keeps the model's own default."""

    algorithm: str = "neumf"
    epochs: int | None = None
    factors: int | None = None
    top_k: int = 20
    evaluate: bool = False
    eval_users: int = 5000
    rating_model: bool = True
    seed: int = 42
    # Readers whose lists are cached by the run (the most recently active); the others' lists are
    # computed from the stored vectors on their first visit (reader_recs), with the same scores.
    cached_readers: int = 10_000
    # Train NeuMF on every worker TF_CONFIG names (MultiWorkerMirroredStrategy); each reads the
    # activity before ``as_of``, so that all of them train on the same data.
    distributed: bool = False
    as_of: datetime | None = None

    def __post_init__(self) -> None:
        if self.algorithm not in ALGORITHMS:
            raise ValueError(f"Unknown algorithm {self.algorithm!r}; choose one of {', '.join(ALGORITHMS)}.")
        if self.distributed and (self.algorithm != "neumf" or self.evaluate or self.as_of is None):
            raise ValueError("Distributed training trains NeuMF without --evaluate, and needs --as-of.")


@dataclass
class RunReport:
    """What a training run did: sizes, metrics, rows written and seconds per stage."""

    run_id: int
    n_users: int
    n_items: int
    n_interactions: int
    n_events: int
    recommendations: int = 0
    cached_readers: int = 0
    metrics: dict[str, dict[str, float]] | None = None
    timings: dict[str, float] = field(default_factory=dict)


class Progress(Protocol):
    """Where a run reports what it is doing."""

    def message(self, text: str) -> None: ...

    def bar(self, label: str, unit: str, total: int | None = None):
        """A context manager giving a function that advances the bar by n."""
        ...


class SilentProgress:
    """Reports nothing."""

    def message(self, text: str) -> None:
        pass

    @contextmanager
    def bar(self, label: str, unit: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
        yield lambda _n=1: None


def train_and_publish(options: TrainingOptions, progress: Progress | None = None) -> RunReport:
    """Train ``options.algorithm`` on every reader's activity and make its recommendations the active ones.

    Raises TrainingRefused when there is too little activity (no run is recorded) and
    TrainingFailed when a stage breaks (the run is marked failed with the reason, its rows
    are deleted, and the previous run stays active).
    """
    progress = progress or SilentProgress()
    started = time.perf_counter()
    strategy = multi_worker_strategy(options.seed) if options.distributed else None
    data = _load(options, progress)
    books, interactions, dismissed = data.books, data.interactions, data.dismissed
    vocabulary, item_features = data.vocabulary, data.item_features
    n_events = len(data.events)
    # What the reasons and the rating model need from the events, taken now: the events
    # frame (about 1 GB at 50x the demo) is freed before training.
    reader_books = ReaderBooks.from_events(data.events, interactions)
    ratings = rating_triples(data.events, interactions) if options.rating_model else None
    del data
    timings = {"load_seconds": round(time.perf_counter() - started, 2)}
    progress.message(
        f"  {interactions.n_users:,} readers x {interactions.n_items:,} books, "
        f"{interactions.n_interactions:,} interactions from {n_events:,} events ({timings['load_seconds']} s)"
    )

    def model_for(name: str, on_epoch: Callable[[dict], None] | None = None):
        return _model(options, name, item_features, strategy, on_epoch)

    parameters = {**model_for(options.algorithm).params, "top_k": options.top_k}
    if options.rating_model:
        parameters["rating_model"] = make_rating_model(seed=options.seed).params
    run_id = recommendations.start_run(options.algorithm, parameters).id
    report = RunReport(
        run_id, interactions.n_users, interactions.n_items, interactions.n_interactions, n_events, timings=timings
    )
    try:
        recommendations.update_run(
            run_id,
            n_users=interactions.n_users,
            n_items=interactions.n_items,
            n_interactions=interactions.n_interactions,
        )
        if options.evaluate:
            _evaluate(options, interactions, model_for, progress, report)

        stage = time.perf_counter()
        with progress.bar("Training", "epoch") as advance:
            model = fit_model(
                model_for(options.algorithm, on_epoch=lambda _record: advance(1)),
                interactions.matrix,
                dismissed,
                interactions.last_seen,
            )
        timings["train_seconds"] = round(time.perf_counter() - stage, 2)
        progress.message(f"Trained {options.algorithm} in {timings['train_seconds']} s.")
        if not options.evaluate:
            _store_validation_metrics(options.algorithm, model, report, progress)

        stage = time.perf_counter()
        scores_live = recommendations.store_artifacts(run_id, live_artifacts(model, vocabulary, interactions)) > 0
        reasons = ReasonWriter.for_model(model, books, interactions.item_ids)
        # Without live artifacts (a model other than NeuMF) every reader's list is cached now.
        cached = most_recent_readers(interactions, options.cached_readers if scores_live else interactions.n_users)
        with progress.bar("Caching", "reader", total=len(cached)) as advance:
            for done_users, rows in recommendation_rows(
                model, interactions, reasons, reader_books, options.top_k, dismissed, user_codes=cached
            ):
                report.recommendations += recommendations.store_recommendations(run_id, rows)
                report.cached_readers += done_users
                advance(done_users)
        timings["cache_seconds"] = round(time.perf_counter() - stage, 2)

        stage = time.perf_counter()
        embeddings = model.item_embeddings() if hasattr(model, "item_embeddings") else None
        # The model, its per-reader vectors and the reasons are not needed past this point:
        # freed before the rating model trains.
        del model, reasons, reader_books
        gc.collect()
        rating_model = _train_rating_model(ratings, options, interactions, item_features, run_id, progress)
        if embeddings is None and rating_model is not None:
            embeddings = rating_model.item_embeddings()
        if embeddings is not None:
            similar = recommendations.store_similar_books(run_id, similar_book_rows(embeddings, interactions))
            progress.message(f"Stored {similar:,} similar-book pairs.")
        timings["rating_and_similar_seconds"] = round(time.perf_counter() - stage, 2)
        timings["total_seconds"] = round(time.perf_counter() - started, 2)
        recommendations.activate_run(run_id, timings=timings)
    except (Exception, KeyboardInterrupt) as error:
        reason = f"{type(error).__name__}: {error}".strip()
        try:
            recommendations.fail_run(run_id, reason + "\n" + traceback.format_exc(limit=5))
        except Exception as cleanup_error:  # the database itself may be gone
            progress.message(f"Could not record the failure in the database: {cleanup_error}")
        raise TrainingFailed(f"Training failed ({reason}). The previous recommendations are still in place.") from error
    return report


@dataclass
class TrainingData:
    """What a run trains on, read from the database."""

    events: pd.DataFrame
    books: pd.DataFrame
    interactions: Interactions
    dismissed: sp.csr_matrix
    vocabulary: FeatureVocabulary
    item_features: ItemFeatures


def _load(options: TrainingOptions, progress: Progress) -> TrainingData:
    """Every reader's activity and the catalogue (before ``options.as_of`` when it is set); refused when too little."""
    progress.message("Loading reader activity ...")
    events = recommendations.load_events(until=options.as_of)
    books = recommendations.catalogue(added_before=options.as_of)
    interactions = build_interactions(events, item_ids=books["book_id"].to_numpy())
    dismissed = dismissal_matrix(recommendations.load_dismissals(until=options.as_of), interactions)
    vocabulary, item_features = encode_catalogue(books, interactions.item_ids)
    try:
        check_enough_data(interactions)
    except NotEnoughData as error:
        raise TrainingRefused(f"{error} Nothing was changed.") from error
    return TrainingData(events, books, interactions, dismissed, vocabulary, item_features)


def _model(options: TrainingOptions, name: str, item_features, strategy, on_epoch: Callable[[dict], None] | None):
    return make_model(
        name,
        epochs=options.epochs,
        factors=options.factors,
        seed=options.seed,
        item_features=item_features,
        strategy=strategy,
        progress=on_epoch,
    )


def train_as_worker(options: TrainingOptions, progress: Progress | None = None) -> int:
    """Be one of the workers of a distributed run that is not its chief: train, write nothing.

    Every worker reads the same activity (before ``options.as_of``) and takes its share of
    each step; TensorFlow keeps the copies of the model in step. The chief
    (:func:`train_and_publish` with ``distributed``) stores and publishes the run.
    Returns the epochs trained.
    """
    progress = progress or SilentProgress()
    strategy = multi_worker_strategy(options.seed)
    data = _load(options, progress)
    with progress.bar("Training (worker)", "epoch") as advance:
        model = _model(options, options.algorithm, data.item_features, strategy, lambda _record: advance(1))
        fit_model(model, data.interactions.matrix, data.dismissed, data.interactions.last_seen)
    return len(model.history)


def _evaluate(options: TrainingOptions, interactions, model_for, progress: Progress, report: RunReport) -> None:
    """Compare the chosen model with every other one on a leave-one-out split; store the metrics with the run."""
    progress.message("Evaluating on a leave-one-out split (latest interaction of each reader held out) ...")
    stage = time.perf_counter()
    order = [options.algorithm] + [name for name in ALGORITHMS if name != options.algorithm]
    with progress.bar("Evaluating", "model", total=len(order)) as advance:
        report.metrics = evaluate_algorithms(
            interactions,
            order,
            model_for,
            seed=options.seed,
            max_users=options.eval_users,
            on_done=lambda _name, _metrics: advance(1),
        )
    for metrics in report.metrics.values():
        metrics["protocol"] = METRICS_LEAVE_ONE_OUT
    report.timings["evaluate_seconds"] = round(time.perf_counter() - stage, 2)
    recommendations.update_run(report.run_id, metrics=report.metrics)


def _store_validation_metrics(algorithm: str, model, report: RunReport, progress: Progress) -> None:
    """Without --evaluate, keep what the model measured on its own early-stopping hold-out, marked as such."""
    measured = model.validation_metrics()
    if measured is None:
        return
    report.metrics = {algorithm: {**measured, "protocol": METRICS_VALIDATION}}
    recommendations.update_run(report.run_id, metrics=report.metrics)
    blend = ""
    if "item_item_weight" in measured:
        blend = (
            f", blended with its item-item part at weight {measured['item_item_weight']:g} "
            f"({measured['item_item_short_weight']:g} for histories of at most "
            f"{measured['item_item_short_history']} books; L2 {measured['item_item_l2']:g}; "
            f"recency {measured['item_item_recency']:g}; "
            f"the network alone: NDCG@10 {measured['network_ndcg@10']:.4f})"
        )
    if measured.get("history_recency"):
        blend += (
            "; the network learned each book from what the reader had done by then "
            f"(recency {measured['history_recency']:g})"
        )
    progress.message(
        f"On its validation hold-out ({measured['readers']:,} readers): HR@10 {measured['hr@10']:.4f}, "
        f"NDCG@10 {measured['ndcg@10']:.4f}{blend} (stored with the run; --evaluate compares every model)."
    )


def _train_rating_model(
    ratings: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
    options: TrainingOptions,
    interactions: Interactions,
    item_features: ItemFeatures,
    run_id: int,
    progress: Progress,
) -> NCFRating | None:
    """Train and store the rating model behind the predicted stars on ``ratings`` (reader codes, book codes,
    stars); None when skipped or too few ratings.

    Every book gets a vector (one nobody rated: from its content alone), so every book a
    rating reader opens can show a predicted rating.
    """
    if not options.rating_model:
        progress.message("No rating model this time (--no-rating-model).")
        return None
    users, items, stars = ratings
    if len(stars) < MIN_RATINGS:
        progress.message(f"Only {len(stars)} ratings: no rating model this time (need {MIN_RATINGS}).")
        return None
    with progress.bar("Rating model", "epoch") as advance:
        model = make_rating_model(seed=options.seed, item_features=item_features, progress=lambda _logs: advance(1))
        model.fit(users, items, stars, interactions.n_users, interactions.n_items)
    predictor, user_vectors, item_vectors = model.export()
    stored = recommendations.store_rating_model(
        run_id,
        predictor.to_bytes(),
        rating_factor_rows(user_vectors, users, interactions.user_ids, "user_id"),
        rating_factor_rows(item_vectors, np.arange(interactions.n_items), interactions.item_ids, "book_id"),
    )
    progress.message(f"Rating model trained on {len(stars):,} ratings; {stored:,} reader and book vectors stored.")
    return model
