"""``flask train-recs``: train a recommender on what readers did and cache its picks.

The only module of the recommender that knows about Flask: it reads the database through
:mod:`webapp.services.recommendations` and hands plain arrays to the recsys code.
"""

from __future__ import annotations

import time
import traceback

import click
from tqdm import tqdm

from webapp.recsys.data import build_interactions
from webapp.recsys.pipeline import (
    ALGORITHMS,
    MIN_RATINGS,
    NotEnoughData,
    ReasonWriter,
    check_enough_data,
    evaluate_algorithms,
    make_model,
    make_rating_model,
    rating_factor_rows,
    rating_triples,
    recommendation_rows,
    similar_book_rows,
)
from webapp.services import recommendations as service

METRIC_COLUMNS = ("hr@10", "ndcg@10", "sampled_hr@10", "sampled_ndcg@10", "fit_seconds", "score_seconds")


def metrics_table(results: dict[str, dict[str, float]]) -> str:
    """The evaluation results as a plain-text table, one model a row."""
    header = f"{'model':<22}" + "".join(f"{column:>16}" for column in METRIC_COLUMNS)
    lines = [header, "-" * len(header)]
    for name, metrics in results.items():
        cells = "".join(f"{metrics.get(column, float('nan')):>16.4f}" for column in METRIC_COLUMNS)
        lines.append(f"{name:<22}{cells}")
    return "\n".join(lines)


@click.command("train-recs")
@click.option("--algorithm", type=click.Choice(ALGORITHMS), default="neumf", show_default=True)
@click.option("--epochs", type=click.IntRange(min=1), default=None, help="Training epochs (neural models, MF).")
@click.option("--factors", type=click.IntRange(min=1), default=None, help="Embedding size / latent factors.")
@click.option("--top-k", type=click.IntRange(min=1, max=200), default=20, show_default=True)
@click.option(
    "--evaluate/--no-evaluate",
    default=False,
    show_default=True,
    help="Compare the model with every baseline on a leave-one-out split first.",
)
@click.option(
    "--eval-users",
    type=click.IntRange(min=1),
    default=5000,
    show_default=True,
    help="Readers sampled for the offline evaluation.",
)
@click.option(
    "--rating-model/--no-rating-model",
    default=True,
    show_default=True,
    help="Also train the rating model behind the predicted stars on book pages.",
)
@click.option("--seed", type=int, default=42, show_default=True)
@click.option("--if-no-model", is_flag=True, help="Do nothing when a training run has already succeeded.")
def train_recs_command(
    algorithm, epochs, factors, top_k, evaluate, eval_users, rating_model, seed, if_no_model
) -> None:
    """Train the recommender and swap in fresh per-reader recommendations."""
    if if_no_model and service.has_successful_run():
        click.echo("A trained model already exists; nothing to do (run without --if-no-model to retrain).")
        return
    timings: dict[str, float] = {}
    started = time.perf_counter()
    click.echo("Loading reader activity ...")
    events = service.load_events()
    books = service.catalogue()
    interactions = build_interactions(events, item_ids=books["book_id"].to_numpy())
    try:
        check_enough_data(interactions)
    except NotEnoughData as error:
        raise click.ClickException(f"{error} Nothing was changed.") from error
    timings["load_seconds"] = round(time.perf_counter() - started, 2)
    click.echo(
        f"  {interactions.n_users:,} readers x {interactions.n_items:,} books, "
        f"{interactions.n_interactions:,} interactions from {len(events):,} events ({timings['load_seconds']} s)"
    )

    def model_for(name: str, progress=None):
        return make_model(name, epochs=epochs, factors=factors, seed=seed, progress=progress)

    parameters = {**model_for(algorithm).params, "top_k": top_k}
    if rating_model:
        parameters["rating_model"] = make_rating_model(seed=seed).params
    run = service.start_run(algorithm, parameters)
    run_id = run.id
    try:
        service.update_run(
            run_id,
            n_users=interactions.n_users,
            n_items=interactions.n_items,
            n_interactions=interactions.n_interactions,
        )
        metrics = None
        if evaluate:
            click.echo("Evaluating on a leave-one-out split (latest interaction of each reader held out) ...")
            stage = time.perf_counter()
            order = [algorithm] + [name for name in ALGORITHMS if name != algorithm]
            with tqdm(total=len(order), desc="Evaluating", unit="model") as bar:

                def done(name, _metrics):
                    bar.update(1)

                metrics = evaluate_algorithms(
                    interactions, order, model_for, seed=seed, max_users=eval_users, on_done=done
                )
            timings["evaluate_seconds"] = round(time.perf_counter() - stage, 2)
            click.echo(metrics_table(metrics))
            service.update_run(run_id, metrics=metrics)

        stage = time.perf_counter()
        with tqdm(desc="Training", unit="epoch") as bar:
            model = model_for(algorithm, progress=lambda record: bar.update(1)).fit(interactions.matrix)
        timings["train_seconds"] = round(time.perf_counter() - stage, 2)
        click.echo(f"Trained {algorithm} in {timings['train_seconds']} s.")

        stage = time.perf_counter()
        reasons = ReasonWriter(interactions, events, books)
        written = 0
        with tqdm(total=interactions.n_users, desc="Caching", unit="reader") as bar:
            for done_users, rows in recommendation_rows(model, interactions, reasons, top_k):
                written += service.store_recommendations(run_id, rows)
                bar.update(done_users)
        timings["cache_seconds"] = round(time.perf_counter() - stage, 2)

        stage = time.perf_counter()
        trained_rating_model = None
        users, items, stars = rating_triples(events, interactions)
        if not rating_model:
            click.echo("No rating model this time (--no-rating-model).")
        elif len(stars) >= MIN_RATINGS:
            with tqdm(desc="Rating model", unit="epoch") as bar:
                trained_rating_model = make_rating_model(seed=seed, progress=lambda logs: bar.update(1))
                trained_rating_model.fit(users, items, stars, interactions.n_users, interactions.n_items)
            predictor, user_vectors, item_vectors = trained_rating_model.export()
            stored = service.store_rating_model(
                run_id,
                predictor.to_bytes(),
                rating_factor_rows(user_vectors, users, interactions.user_ids, "user_id"),
                rating_factor_rows(item_vectors, items, interactions.item_ids, "book_id"),
            )
            click.echo(f"Rating model trained on {len(stars):,} ratings; {stored:,} reader and book vectors stored.")
        else:
            click.echo(f"Only {len(stars)} ratings: no rating model this time (need {MIN_RATINGS}).")
        embedded = model if hasattr(model, "item_embeddings") else trained_rating_model
        if embedded is not None:
            similar = service.store_similar_books(run_id, similar_book_rows(embedded.item_embeddings(), interactions))
            click.echo(f"Stored {similar:,} similar-book pairs.")
        timings["rating_and_similar_seconds"] = round(time.perf_counter() - stage, 2)
        timings["total_seconds"] = round(time.perf_counter() - started, 2)
        service.activate_run(run_id, timings=timings)
    except (Exception, KeyboardInterrupt) as error:
        reason = f"{type(error).__name__}: {error}".strip()
        try:
            service.fail_run(run_id, reason + "\n" + traceback.format_exc(limit=5))
        except Exception as cleanup_error:  # the database itself may be gone
            click.echo(f"Could not record the failure in the database: {cleanup_error}", err=True)
        raise click.ClickException(
            f"Training failed ({reason}). The previous recommendations are still in place."
        ) from error
    click.echo(
        f"Cached {written:,} recommendations for {interactions.n_users:,} readers "
        f"(model run {run_id}); stages: {timings}"
    )
