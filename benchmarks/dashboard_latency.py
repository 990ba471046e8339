"""Response time of each statistics JSON view (and the admin home) on the demo database.

Runs in-process with Flask's test client, logged in as the demo admin, on the demo
database (DATABASE_URL, by default the instance SQLite file that `make run` builds):
one warm-up call, then ``--repeat`` calls per view with the default range (the last
90 days) and with a whole year. Each view is timed twice: computing its figures on every
call (STATISTICS_SECONDS=0: what the database's aggregates cost, the settled days' figures
read from ``daily_figures`` once the warm-up call has counted them) and as staff are served
(the figures shared for STATISTICS_SECONDS, recomputed in the background). Target: every
JSON view under 200 ms.

    python benchmarks/dashboard_latency.py [--repeat 20]
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import timedelta

TARGET_MS = 200.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()

    from webapp import create_app
    from webapp.models.base import utcnow
    from webapp.services.seed import DEMO_ADMIN_PASSWORD, DEMO_ADMIN_USERNAME
    from webapp.services.statistics import CHARTS

    apps = {
        "computed": create_app({"WTF_CSRF_ENABLED": False, "STATISTICS_SECONDS": 0}),
        "served": create_app({"WTF_CSRF_ENABLED": False}),
    }
    clients = {}
    for name, app in apps.items():
        clients[name] = app.test_client()
        login = clients[name].post(
            "/auth/login", data={"username": DEMO_ADMIN_USERNAME, "password": DEMO_ADMIN_PASSWORD}
        )
        if login.status_code != 302:
            raise SystemExit("Cannot log in as the demo admin: run `make run` (or flask seed-demo) first.")
    today = utcnow().date()
    year = f"?from={today - timedelta(days=364)}&to={today}"
    urls = [f"/dashboard/api/{chart}" for chart in CHARTS] + [f"/dashboard/api/{chart}{year}" for chart in CHARTS]
    urls += ["/admin/", "/dashboard"]

    database = apps["served"].config["SQLALCHEMY_DATABASE_URI"].split("@")[-1]
    print(f"database: {database}   calls per view: {args.repeat}")
    print(f"{'view':<62}{'computed p50 / p95 ms':>22}{'served p50 / p95 ms':>22}  target")
    slowest = {name: 0.0 for name in clients}
    for url in urls:
        cells, p95s = [], {}
        for name, client in clients.items():
            median, p95s[name] = _timed(client, url, args.repeat)
            if url.startswith("/dashboard/api/"):
                slowest[name] = max(slowest[name], p95s[name])
            cells.append(f"{median:>13.1f} / {p95s[name]:>6.1f}")
        verdict = ("ok" if p95s["served"] < TARGET_MS else "SLOW") if url.startswith("/dashboard/api/") else "(page)"
        print(f"{url:<62}{cells[0]:>22}{cells[1]:>22}  {verdict}")
    for name, p95 in slowest.items():
        verdict = "met" if p95 < TARGET_MS else "NOT met"
        print(f"slowest JSON view p95, {name}: {p95:.1f} ms ({verdict}: < {TARGET_MS:.0f} ms)")


def _timed(client, url: str, repeat: int) -> tuple[float, float]:
    """Median and p95 ms of ``repeat`` calls, after one warm-up call."""
    client.get(url)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]


if __name__ == "__main__":
    main()
