"""The committed migrations build the schema from nothing and remove it again."""

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from tests.helpers import make_config
from webapp import create_app
from webapp.extensions import db


@pytest.fixture()
def bare_app(session_app, database_url):
    """An app on the test database emptied of every table; the tables are rebuilt afterwards."""
    app = create_app(make_config(database_url))
    with app.app_context():
        db.drop_all()
        db.session.execute(db.text("DROP TABLE IF EXISTS alembic_version"))
        db.session.commit()
        yield app
        db.session.remove()
        db.drop_all()
        db.session.execute(db.text("DROP TABLE IF EXISTS alembic_version"))
        db.session.commit()
        db.create_all()
        db.engine.dispose()


def _tables() -> set[str]:
    return set(inspect(db.engine).get_table_names()) - {"alembic_version"}


def test_upgrade_builds_every_table_and_downgrade_removes_them(bare_app):
    assert _tables() == set()
    upgrade()
    assert _tables() == set(db.metadata.tables)
    inspector = inspect(db.engine)
    book_checks = {check["name"] for check in inspector.get_check_constraints("books")}
    assert "ck_books_available_within_total" in book_checks
    rating_uniques = inspector.get_unique_constraints("ratings")
    assert any(set(u["column_names"]) == {"user_id", "book_id"} for u in rating_uniques)
    downgrade(revision="base")
    assert _tables() == set()


def test_migrations_match_the_models(bare_app):
    """Autogenerate finds nothing to change after upgrade: the models and migrations agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    upgrade()
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        differences = compare_metadata(context, db.metadata)
    assert differences == []
    downgrade(revision="base")


def test_artifacts_stored_whole_before_parts_are_read_back_after(bare_app):
    """0010 splits artifacts into parts: a run stored before it keeps its artifacts as part 0."""
    from webapp.services import recommendations

    upgrade(revision="0009")
    db.session.execute(
        db.text(
            "INSERT INTO model_runs (id, `key`, algorithm, parameters, started_at, status, is_active) "
            "VALUES (1, 'k1', 'neumf', '{}', '2026-12-01 00:00:00', 'succeeded', 1)"
        )
    )
    db.session.execute(
        db.text("INSERT INTO model_artifacts (model_run_id, name, data) VALUES (1, 'rating_model', :data)"),
        {"data": b"\x00weights"},
    )
    db.session.commit()
    upgrade()
    assert recommendations.read_artifacts(1, ["rating_model"]) == {"rating_model": b"\x00weights"}
    recommendations.store_artifacts(1, [("neumf_scorer", b"x" * (recommendations.ARTIFACT_PART_BYTES + 1))])
    later_run = recommendations.start_run("neumf", {}).id
    recommendations.store_artifacts(later_run, [("rating_model", b"\x01weights")])
    downgrade(revision="0009")
    # A run with an artifact of several parts loses them all (train-recs rebuilds them), none half.
    left = db.session.execute(db.text("SELECT model_run_id, name, data FROM model_artifacts")).all()
    db.session.rollback()  # ends the read: MariaDB's DROP TABLE waits for every open one
    assert [tuple(row) for row in left] == [(later_run, "rating_model", b"\x01weights")]
    downgrade(revision="base")
