"""Athenaeum: a library and bookshop that learns what its readers like."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from webapp.config import Config
from webapp.security import DatabaseIdConverter, init_security, load_or_create_secret_key


def create_app(config: type[Config] | Mapping[str, Any] | None = None) -> Flask:
    """Build the application: configuration, extensions, blueprints, error pages and CLI."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_object(Config)
    if isinstance(config, Mapping):
        app.config.update(config)
    elif config is not None:
        app.config.from_object(config)

    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        os.makedirs(app.instance_path, exist_ok=True)
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.path.join(app.instance_path, "athenaeum.sqlite")
    if not app.config.get("SECRET_KEY"):
        key_file = app.config.get("SECRET_KEY_FILE") or os.path.join(app.instance_path, "secret_key")
        app.config["SECRET_KEY"] = load_or_create_secret_key(key_file)
    app.url_map.converters["int"] = DatabaseIdConverter
    if app.config.get("TRUSTED_PROXY_COUNT"):
        count = app.config["TRUSTED_PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)

    from webapp.extensions import bootstrap, cache, csrf, db, login_manager, migrate

    init_security(app)  # first: its checks run before CSRF's
    db.init_app(app)
    migrate.init_app(app, db, render_as_batch=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    bootstrap.init_app(app)
    _choose_cache(app)
    cache.init_app(app)
    _configure_login(app)
    with app.app_context():
        _configure_sqlite(db.engine)

    from webapp import models  # noqa: F401  (registers every table with the metadata)
    from webapp.blueprints.admin import init_admin
    from webapp.blueprints.api import bp as api_bp
    from webapp.blueprints.auth import bp as auth_bp
    from webapp.blueprints.borrowing import bp as borrowing_bp
    from webapp.blueprints.cart import bp as cart_bp
    from webapp.blueprints.catalogue import bp as catalogue_bp
    from webapp.blueprints.dashboard import api_bp as dashboard_api_bp
    from webapp.blueprints.dashboard import bp as dashboard_bp
    from webapp.blueprints.main import bp as main_bp
    from webapp.blueprints.profile import bp as profile_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(auth_bp, url_prefix="/auth")
    app.register_blueprint(catalogue_bp)
    app.register_blueprint(profile_bp, url_prefix="/profile")
    app.register_blueprint(borrowing_bp)
    app.register_blueprint(cart_bp)
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(dashboard_api_bp)
    init_admin(app)

    from webapp.errors import register_error_handlers

    register_error_handlers(app)

    from webapp.context import register_template_globals

    register_template_globals(app)

    from webapp.cli import register_cli
    from webapp.services import book_views

    register_cli(app)
    book_views.init_app(app)
    return app


def _configure_sqlite(engine: Engine) -> None:
    """SQLite enforces foreign keys only when asked, on every new connection; WAL lets readers and a writer overlap."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def set_sqlite_pragmas(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            # WAL's recommended durability: a commit survives a crash of the app; only a
            # power cut can lose the last commits, never corrupt the file.
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def _choose_cache(app: Flask) -> None:
    """The page cache's backend: Redis when REDIS_URL is set (shared by every worker and server), else per worker."""
    if app.config.get("CACHE_TYPE"):
        return
    if app.config.get("REDIS_URL"):
        app.config["CACHE_TYPE"] = "RedisCache"
        app.config.setdefault("CACHE_REDIS_URL", app.config["REDIS_URL"])
    else:
        app.config["CACHE_TYPE"] = "SimpleCache"


def _configure_login(app: Flask) -> None:
    from webapp.extensions import login_manager
    from webapp.models import User
    from webapp.services import accounts

    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to do that."
    login_manager.login_message_category = "info"

    @login_manager.unauthorized_handler
    def send_to_login():
        """Anonymous readers go to log in, then come back to the page they were on.

        A POST button (borrow, rate ...) cannot be replayed by a redirect, so the reader
        comes back to the book the button was on.
        """
        from flask import flash, redirect, request, url_for

        from webapp.errors import json_error, wants_json

        if wants_json():
            return json_error(401, "Unauthorized", "Log in first.")
        target = request.full_path.rstrip("?") if request.method == "GET" else None
        if target is None and request.view_args and "book_id" in request.view_args:
            target = url_for("catalogue.book_detail", book_id=request.view_args["book_id"])
        flash(login_manager.login_message, "info")
        return redirect(url_for("auth.login", next=target or "/"))

    @login_manager.user_loader
    def load_user(session_token: str) -> User | None:
        """The user of a live login session (see accounts.log_in); ended sessions find nobody."""
        return accounts.user_for_session(session_token)
