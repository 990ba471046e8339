"""The application factory and its configuration."""

import logging
import os
import subprocess
import sys

import pytest

from webapp import create_app
from webapp.config import DEFAULT_SECRET_KEY, Config, TestConfig


def test_factory_uses_the_given_config_class():
    app = create_app(TestConfig)
    assert app.testing
    assert app.config["SECRET_KEY"] == "test-secret-key"


def test_factory_accepts_a_mapping():
    app = create_app({"TESTING": True, "SECRET_KEY": "x" * 32, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["SECRET_KEY"] == "x" * 32


def test_default_database_is_an_sqlite_file_in_the_instance_folder(monkeypatch):
    monkeypatch.setattr(Config, "SQLALCHEMY_DATABASE_URI", None)
    app = create_app({"SECRET_KEY": "not-the-default"})
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    assert uri.startswith("sqlite:///") and uri.endswith("athenaeum.sqlite")
    assert app.instance_path in uri


def test_mysql_url_is_used_with_pre_ping():
    url = "mysql+pymysql://user:pw@localhost/athenaeum?charset=utf8mb4"
    app = create_app({"SECRET_KEY": "s" * 32, "SQLALCHEMY_DATABASE_URI": url})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == url
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] is True


def test_development_secret_key_logs_a_warning(caplog):
    with caplog.at_level(logging.WARNING):
        create_app({"SECRET_KEY": DEFAULT_SECRET_KEY, "SQLALCHEMY_DATABASE_URI": "sqlite://", "PRODUCTION": False})
    assert "SECRET_KEY is the development default" in caplog.text


def test_production_refuses_the_development_secret_key():
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app({"SECRET_KEY": DEFAULT_SECRET_KEY, "SQLALCHEMY_DATABASE_URI": "sqlite://", "PRODUCTION": True})


def test_production_starts_with_a_real_secret_key():
    app = create_app(
        {"SECRET_KEY": "a-long-random-value-0123456789", "SQLALCHEMY_DATABASE_URI": "sqlite://", "PRODUCTION": True}
    )
    assert app.config["PRODUCTION"]


def test_environment_variables_drive_the_config(tmp_path):
    script = (
        "from webapp import create_app; app = create_app(); c = app.config; "
        "print(c['SQLALCHEMY_DATABASE_URI'], c['SECRET_KEY'], c['PRODUCTION'], c['LOAN_DAYS'])"
    )
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path}/from-env.sqlite",
        "SECRET_KEY": "from-the-environment",
        "FLASK_ENV": "production",
        "LOAN_DAYS": "14",
    }
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    assert result.stdout.split() == [f"sqlite:///{tmp_path}/from-env.sqlite", "from-the-environment", "True", "14"]
