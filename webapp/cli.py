"""Command-line commands, registered on the app by create_app()."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click
from flask import Flask, current_app
from tqdm import tqdm

from webapp.recsys.pipeline import ALGORITHMS
from webapp.services import seed as seed_service
from webapp.services import training
from webapp.services.errors import ServiceError

METRIC_COLUMNS = ("hr@10", "ndcg@10", "sampled_hr@10", "sampled_ndcg@10", "fit_seconds", "score_seconds")


@click.command("seed-demo")
@click.option("--reset", is_flag=True, help="Delete everything in the database and load the demo again.")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None, help="Folder with the goodbooks CSV files.")
@click.option("--seed", type=int, default=42, show_default=True, help="Seed of the simulated parts.")
def seed_demo_command(reset: bool, data_dir: str | None, seed: int) -> None:
    """Load the demo library (real Goodreads data plus simulated circulation)."""
    data_dir = data_dir or f"{current_app.config['DATA_DIR']}/goodbooks"
    if seed_service.database_has_demo() and not reset:
        click.echo("The database already holds the demo library; nothing changed. Use --reset to rebuild it.")
        return
    bar = tqdm(desc="Seeding", unit=" rows", leave=False)

    def progress(label: str, count: int) -> None:
        bar.update(count)
        bar.write(f"  {label}: {count:,}")

    try:
        report = seed_service.seed_demo(data_dir, seed_service.SeedOptions(seed=seed), reset=reset, progress=progress)
    except seed_service.SeedError as error:
        bar.close()
        raise click.ClickException(f"{error} The database was not changed.") from error
    bar.close()
    click.echo(
        f"Loaded the demo library in {report.seconds:.1f} s "
        f"({report.counts['loans still out']:,} loans still out, {report.counts['loans overdue']:,} overdue)."
    )
    click.echo(f"Demo administrator: {seed_service.DEMO_ADMIN_USERNAME} / {seed_service.DEMO_ADMIN_PASSWORD}")
    click.echo(
        f"Demo reader: {seed_service.DEMO_READER_USERNAME} / {seed_service.DEMO_READER_PASSWORD} "
        f"(a real Goodreads reader with {report.demo_reader_ratings} ratings)"
    )


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False))
def backup_command(path: str) -> None:
    """Copy the SQLite database to PATH, consistently, while the site keeps running."""
    from webapp.services import backup

    try:
        size = backup.backup_sqlite(path)
    except ServiceError as error:
        raise click.ClickException(error.message) from error
    click.echo(f"Backed up the database to {path} ({size / 1024 / 1024:.1f} MB).")


@click.command("recount-statistics")
def recount_statistics_command() -> None:
    """Forget the statistics screen's kept daily figures, so every past day is counted again."""
    from webapp.services import daily_figures

    forgotten = daily_figures.forget_every_day()
    click.echo(f"Forgot the figures of {forgotten:,} days; each is counted again when a chart next shows it.")


def metrics_table(results: dict[str, dict[str, float]]) -> str:
    """Evaluation results as a plain-text table, one model a row."""
    header = f"{'model':<22}" + "".join(f"{column:>16}" for column in METRIC_COLUMNS)
    lines = [header, "-" * len(header)]
    for name, metrics in results.items():
        cells = "".join(f"{metrics.get(column, float('nan')):>16.4f}" for column in METRIC_COLUMNS)
        lines.append(f"{name:<22}{cells}")
    return "\n".join(lines)


class TerminalProgress:
    """Training progress as lines and tqdm bars."""

    def message(self, text: str) -> None:
        click.echo(text)

    @contextmanager
    def bar(self, label: str, unit: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
        with tqdm(total=total, desc=label, unit=unit) as bar:
            yield bar.update


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
    "--eval-users", type=click.IntRange(min=1), default=5000, show_default=True, help="Readers sampled for --evaluate."
)
@click.option(
    "--rating-model/--no-rating-model",
    default=True,
    show_default=True,
    help="Also train the rating model behind the predicted stars on book pages.",
)
@click.option("--seed", type=int, default=42, show_default=True)
@click.option(
    "--cached-readers",
    type=click.IntRange(min=0),
    default=10_000,
    show_default=True,
    help="Readers whose lists are cached now (the most recently active); the rest are computed on their first visit.",
)
@click.option("--if-no-model", is_flag=True, help="Do nothing when a training run has already succeeded.")
@click.option(
    "--distributed",
    is_flag=True,
    help="Train NeuMF on every worker TF_CONFIG names (MultiWorkerMirroredStrategy); start this command on each "
    "with the same --as-of. The chief (or worker 0) publishes the run; the other workers write nothing.",
)
@click.option(
    "--as-of",
    type=click.DateTime(),
    help="Train on the activity before this moment (UTC); every worker of a --distributed run needs the same one.",
)
def train_recs_command(if_no_model, **settings) -> None:
    """Train the recommender and swap in fresh per-reader recommendations."""
    from webapp.recsys.neural import is_chief_worker
    from webapp.services import recommendations

    if if_no_model and recommendations.has_successful_run():
        click.echo("A trained model already exists; nothing to do (run without --if-no-model to retrain).")
        return
    try:
        options = training.TrainingOptions(**settings)  # the options are named as its fields
    except ValueError as error:
        raise click.UsageError(str(error)) from error
    if options.distributed and not is_chief_worker():
        try:
            epochs_trained = training.train_as_worker(options, TerminalProgress())
        except ServiceError as error:
            raise click.ClickException(error.message) from error
        click.echo(f"Trained {epochs_trained} epochs as a worker; the chief publishes the run.")
        return
    try:
        report = training.train_and_publish(options, TerminalProgress())
    except ServiceError as error:
        raise click.ClickException(error.message) from error
    if options.evaluate:
        click.echo(metrics_table(report.metrics))
    click.echo(
        f"Cached {report.recommendations:,} recommendations for {report.cached_readers:,} of {report.n_users:,} "
        "readers (the others' are computed on their first visit) "
        f"(model run {report.run_id}); stages: {report.timings}"
    )


def register_cli(app: Flask) -> None:
    """Attach the project's commands to ``flask``."""
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(backup_command)
    app.cli.add_command(recount_statistics_command)
    app.cli.add_command(train_recs_command)
