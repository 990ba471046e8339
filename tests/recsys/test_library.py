"""webapp.recsys is a library: no Flask, and nothing from the rest of webapp (it could be lifted out as is)."""

from __future__ import annotations

import ast
import pathlib

import pytest

RECSYS = pathlib.Path(__file__).resolve().parents[2] / "webapp" / "recsys"


def _imports(path: pathlib.Path) -> list[str]:
    """Every module a file imports, at the top or inside functions."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append(node.module)
    return found


@pytest.mark.parametrize("path", sorted(RECSYS.glob("*.py")), ids=lambda path: path.name)
def test_recsys_modules_import_no_flask_and_nothing_else_from_webapp(path):
    foreign = [
        name
        for name in _imports(path)
        if name.split(".")[0] in {"flask", "flask_sqlalchemy", "sqlalchemy", "werkzeug"}
        or (name.startswith("webapp") and not name.startswith("webapp.recsys"))
    ]
    assert foreign == []


def test_the_check_sees_every_module():
    names = {path.name for path in RECSYS.glob("*.py")}
    assert {"data.py", "models.py", "neural.py", "pipeline.py", "evaluation.py", "serving.py"} <= names
    assert "cli.py" not in names
