"""A run's artifacts are stored in parts and read back whole, whatever their size and the database."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import ModelArtifact
from webapp.services import recommendations


def _parts(run_id: int, name: str) -> list[int]:
    stmt = select(ModelArtifact.part).where(ModelArtifact.model_run_id == run_id, ModelArtifact.name == name)
    return list(db.session.scalars(stmt.order_by(ModelArtifact.part)))


@pytest.mark.parametrize(
    ("size", "parts"), [(0, [0]), (1, [0]), (1000, [0]), (1001, [0, 1]), (2500, [0, 1, 2]), (3000, [0, 1, 2])]
)
def test_an_artifact_is_stored_in_parts_and_read_back_whole(app, monkeypatch, size, parts):
    monkeypatch.setattr(recommendations, "ARTIFACT_PART_BYTES", 1000)
    run_id = recommendations.start_run("neumf", {}).id
    blob = os.urandom(size)
    assert recommendations.store_artifacts(run_id, [("weights", blob), ("small", b"{}")]) == 2
    assert _parts(run_id, "weights") == parts
    assert recommendations.read_artifacts(run_id, ["weights", "small", "absent"]) == {"weights": blob, "small": b"{}"}
    assert recommendations.read_artifacts(run_id, ["small"]) == {"small": b"{}"}


def test_an_artifact_over_mariadbs_default_packet_size_is_stored(app):
    """20 MiB: in one row, MariaDB's default max_allowed_packet (16 MiB) dropped the connection."""
    run_id = recommendations.start_run("neumf", {}).id
    blob = os.urandom(20 * 2**20)
    recommendations.store_artifacts(run_id, [("neumf_gmf_user_rows", blob)])
    assert len(_parts(run_id, "neumf_gmf_user_rows")) == len(blob) // recommendations.ARTIFACT_PART_BYTES
    assert recommendations.read_artifacts(run_id, ["neumf_gmf_user_rows"])["neumf_gmf_user_rows"] == blob
    part_bytes = recommendations.artifact_part_bytes(run_id)["neumf_gmf_user_rows"]
    assert part_bytes == recommendations.ARTIFACT_PART_BYTES
    row = recommendations.read_artifact_bytes(run_id, "neumf_gmf_user_rows", 2**24 - 64, 128, part_bytes)
    assert row == blob[2**24 - 64 : 2**24 + 64]


@pytest.mark.parametrize(
    ("start", "length"),
    [(0, 1), (0, 128), (128, 128), (999, 1), (896, 128), (960, 128), (1000, 1000), (1950, 128), (0, 2500), (2400, 200)],
)
def test_a_range_of_an_artifact_is_read_from_the_parts_that_hold_it(app, monkeypatch, start, length):
    """Ranges within a part, across one or two part boundaries, and past the end (cut where the artifact ends)."""
    monkeypatch.setattr(recommendations, "ARTIFACT_PART_BYTES", 1000)
    run_id = recommendations.start_run("neumf", {}).id
    blob = os.urandom(2500)
    recommendations.store_artifacts(run_id, [("rows", memoryview(blob)), ("other", os.urandom(3000))])
    part_bytes = recommendations.artifact_part_bytes(run_id)
    assert part_bytes == {"rows": 1000, "other": 1000}
    assert recommendations.read_artifact_bytes(run_id, "rows", start, length, 1000) == blob[start : start + length]


def test_a_row_is_read_with_the_part_size_its_artifact_was_stored_with(app, monkeypatch):
    """A run stored with larger parts (4 MiB, as the sixteenth session first did) is read by its own."""
    monkeypatch.setattr(recommendations, "ARTIFACT_PART_BYTES", 4 * 2**20)
    run_id = recommendations.start_run("neumf", {}).id
    blob = os.urandom(5 * 2**20)
    recommendations.store_artifacts(run_id, [("rows", blob)])
    monkeypatch.undo()
    part_bytes = recommendations.artifact_part_bytes(run_id)["rows"]
    assert part_bytes == 4 * 2**20
    row = recommendations.read_artifact_bytes(run_id, "rows", 4 * 2**20 - 100, 128, part_bytes)
    assert row == blob[4 * 2**20 - 100 : 4 * 2**20 + 28]


def test_each_artifact_is_taken_only_once_the_one_before_is_stored(app):
    run_id = recommendations.start_run("neumf", {}).id

    def built_on_demand():
        for name in ("first", "second", "third"):
            stored = db.session.scalar(select(func.count()).where(ModelArtifact.model_run_id == run_id))
            yield name, stored.to_bytes(1, "big")

    recommendations.store_artifacts(run_id, built_on_demand())
    stored = recommendations.read_artifacts(run_id, ["first", "second", "third"])
    assert stored == {"first": b"\x00", "second": b"\x01", "third": b"\x02"}


def test_a_failed_run_leaves_none_of_its_parts(app):
    run_id = recommendations.start_run("neumf", {}).id

    def breaks_midway():
        yield "first", os.urandom(5 * 2**20)
        raise RuntimeError("out of memory")

    with pytest.raises(RuntimeError):
        recommendations.store_artifacts(run_id, breaks_midway())
    recommendations.fail_run(run_id, "out of memory")
    assert recommendations.read_artifacts(run_id, ["first"]) == {}
