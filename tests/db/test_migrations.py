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
