"""Test code takes its helpers from tests/helpers.py or fixtures, never by importing a conftest."""

import pathlib

TESTS = pathlib.Path(__file__).resolve().parent


def test_no_test_module_imports_from_a_conftest():
    importers = [
        str(path.relative_to(TESTS))
        for path in TESTS.rglob("*.py")
        if path.name != "test_layout.py" and "conftest import" in path.read_text(encoding="utf-8")
    ]
    assert importers == []
