"""The site under gunicorn on a free local port, as the benchmarks start it (and `make run` serves it)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The CSRF token of a form the site rendered (WTForms' hidden field or a plain hidden input, in either attribute order).
CSRF = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Gunicorn:
    """A running gunicorn master and the port it serves on."""

    process: subprocess.Popen
    port: int

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(30)


def start_gunicorn(settings: dict[str, str] | None = None, workers: int = 2, threads: int = 4) -> Gunicorn:
    """gunicorn serving wsgi:app with ``settings`` added to this environment; returns once /healthz answers."""
    port = free_port()
    env = {
        **os.environ,
        "SECRET_KEY": "benchmark-secret-key-" + "x" * 32,  # several servers must accept each other's sessions
        "SECRET_KEY_FILE": "",
        "VIEW_FLUSH_SECONDS": "1",
        **(settings or {}),
    }
    process = subprocess.Popen(
        [
            os.path.join(os.path.dirname(sys.executable), "gunicorn"),
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--bind",
            f"127.0.0.1:{port}",
            "--graceful-timeout",
            "5",
            "--log-level",
            "warning",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
    )
    server = Gunicorn(process, port)
    for _ in range(120):
        try:
            if requests.get(server.base + "/healthz", timeout=2).status_code == 200:
                return server
        except requests.RequestException:
            time.sleep(0.5)
    process.kill()
    raise SystemExit("gunicorn did not come up")
