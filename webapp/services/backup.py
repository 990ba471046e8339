"""Consistent copies of the database while the site runs."""

from __future__ import annotations

import os
import sqlite3

from webapp.extensions import db
from webapp.services.errors import ServiceError


def backup_sqlite(target: str) -> int:
    """Copy the SQLite database to ``target`` with SQLite's online backup API; returns its size in bytes.

    The copy is one consistent snapshot even while workers write: every page is copied in
    one step, under one read transaction (in steps, the API restarts whenever a write lands
    between two of them, and a busy site could keep a large file from ever finishing). The
    target is written to a temporary file first and moved into place, so a failed backup
    never leaves a half-written file.
    """
    engine = db.engine
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        raise ServiceError(
            "Only an SQLite file database can be backed up this way; for MariaDB use "
            "mariadb-dump --single-transaction (see the README)."
        )
    if os.path.isdir(target):
        raise ServiceError(f"{target} is a folder; give the path of the backup file.")
    temporary = f"{target}.partial"
    source = sqlite3.connect(engine.url.database)
    try:
        copy = sqlite3.connect(temporary)
        try:
            source.backup(copy)  # pages=-1: everything in one step
        finally:
            copy.close()
    finally:
        source.close()
    os.replace(temporary, target)
    return os.path.getsize(target)
