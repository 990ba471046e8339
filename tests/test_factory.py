"""The application factory and its configuration."""

import os
import subprocess
import sys

from webapp import create_app
from webapp.config import Config, TestConfig


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


def test_without_secret_key_each_install_gets_its_own_random_key(tmp_path, monkeypatch):
    monkeypatch.setattr(Config, "SECRET_KEY", None)
    key_file = tmp_path / "instance" / "secret_key"
    first = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY_FILE": str(key_file)})
    again = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY_FILE": str(key_file)})
    other = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY_FILE": str(tmp_path / "other")})
    assert len(first.config["SECRET_KEY"]) >= 32
    assert again.config["SECRET_KEY"] == first.config["SECRET_KEY"]
    assert other.config["SECRET_KEY"] != first.config["SECRET_KEY"]
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"


def test_the_old_development_key_exists_nowhere_outside_the_tests():
    root = os.path.dirname(os.path.dirname(__file__))
    for folder, _dirs, files in os.walk(os.path.join(root, "webapp")):
        for name in files:
            if name.endswith((".py", ".html", ".cfg")):
                with open(os.path.join(folder, name), encoding="utf-8") as source:
                    assert "dev-insecure-change-me" not in source.read(), name


def test_a_session_cookie_forged_with_the_old_development_key_is_refused(app, client, admin_user):
    from flask.sessions import SecureCookieSessionInterface

    forger = create_app({"SECRET_KEY": "dev-insecure-change-me", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    serializer = SecureCookieSessionInterface().get_signing_serializer(forger)
    for user_id in (str(admin_user.id), "1"):
        forged = serializer.dumps({"_user_id": user_id, "_fresh": True})
        client.set_cookie("session", forged)
        response = client.get("/admin/")
        assert response.status_code == 302 and "/auth/login" in response.location


def test_concurrent_first_starts_agree_on_one_key(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from webapp.security import load_or_create_secret_key

    path = str(tmp_path / "secret_key")
    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(lambda _n: load_or_create_secret_key(path), range(16)))
    assert len(keys) == 1
    assert os.listdir(tmp_path) == ["secret_key"]


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
