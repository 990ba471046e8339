"""Command-line commands, registered on the app by create_app()."""

from __future__ import annotations

import click
from flask import Flask, current_app
from tqdm import tqdm

from webapp.services import seed as seed_service


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
    from webapp.services.errors import ServiceError

    try:
        size = backup.backup_sqlite(path)
    except ServiceError as error:
        raise click.ClickException(error.message) from error
    click.echo(f"Backed up the database to {path} ({size / 1024 / 1024:.1f} MB).")


def register_cli(app: Flask) -> None:
    """Attach the project's commands to ``flask``."""
    from webapp.recsys.cli import train_recs_command

    app.cli.add_command(seed_demo_command)
    app.cli.add_command(backup_command)
    app.cli.add_command(train_recs_command)
