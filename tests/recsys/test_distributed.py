"""Training beyond one machine: NeuMF under TensorFlow's MultiWorkerMirroredStrategy, two workers on 127.0.0.1."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from webapp.recsys.neural import is_chief_worker

ROOT = Path(__file__).resolve().parents[2]


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


@pytest.mark.parametrize(
    ("tf_config", "chief"),
    [
        (None, True),
        ({"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 0}}, True),
        ({"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 1}}, False),
        ({"cluster": {"chief": ["c:0"], "worker": ["a:1"]}, "task": {"type": "chief", "index": 0}}, True),
        ({"cluster": {"chief": ["c:0"], "worker": ["a:1"]}, "task": {"type": "worker", "index": 0}}, False),
    ],
)
def test_the_chief_is_the_one_that_publishes(monkeypatch, tf_config, chief):
    if tf_config is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", json.dumps(tf_config))
    assert is_chief_worker() is chief


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--distributed"], "needs --as-of"),
        (["--distributed", "--as-of", "2026-01-01", "--algorithm", "item_knn"], "trains NeuMF"),
        (["--distributed", "--as-of", "2026-01-01", "--evaluate"], "without --evaluate"),
    ],
)
def test_a_distributed_run_is_refused_before_it_starts_without_what_it_needs(runner, arguments, message):
    result = runner.invoke(args=["train-recs", *arguments])
    assert result.exit_code == 2 and message in result.output


def test_two_workers_train_neumf_as_well_as_one_process():
    pytest.importorskip("tensorflow")
    from tests.recsys.distributed_worker import distributed_neumf
    from tests.recsys.helpers import hit_rate, planted

    ports = ",".join(str(port) for port in _free_ports(2))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("TF_CONFIG", None)
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.recsys.distributed_worker", str(index), ports],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for index in range(2)
    ]
    results = []
    for worker in workers:
        out, err = worker.communicate(timeout=240)
        assert worker.returncode == 0, err[-2000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert results[0] == results[1]  # one model, kept in step on both workers
    single = hit_rate(distributed_neumf(), planted())
    assert results[0]["hr"] >= min(single, 0.9) - 0.05, (results, single)


def test_train_recs_on_two_workers_publishes_one_run_from_the_chief(runner, small_demo_dir, database_url):
    pytest.importorskip("tensorflow")
    from datetime import timedelta

    from sqlalchemy import select

    from webapp.extensions import db
    from webapp.models import ModelRun
    from webapp.models.base import utcnow

    assert runner.invoke(args=["seed-demo", "--data-dir", small_demo_dir]).exit_code == 0
    db.session.remove()
    ports = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    as_of = (utcnow() + timedelta(minutes=1)).isoformat(timespec="seconds")
    workers = []
    for index in range(2):
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "DATABASE_URL": database_url,
            "TF_CONFIG": json.dumps({"cluster": {"worker": ports}, "task": {"type": "worker", "index": index}}),
        }
        command = ["train-recs", "--distributed", "--as-of", as_of, "--epochs", "2", "--no-rating-model"]
        workers.append(
            subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "wsgi", *command, "--cached-readers", "100"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    outputs = [worker.communicate(timeout=300)[0] for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], outputs
    assert "Cached" in outputs[0] and "as a worker" in outputs[1]
    runs = db.session.scalars(select(ModelRun)).all()
    assert len(runs) == 1 and runs[0].is_active and runs[0].algorithm == "neumf"
