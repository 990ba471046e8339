"""Response time of each statistics JSON view (and the admin home) on the demo database.

Runs in-process with Flask's test client, logged in as the demo admin, on the demo
database (DATABASE_URL, by default the instance SQLite file that `make run` builds):
one warm-up call, then ``--repeat`` calls per view with the default range (the last
90 days) and with a whole year. Target: every JSON view under 200 ms.

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
    from webapp.blueprints.dashboard.routes import CHARTS
    from webapp.models.base import utcnow
    from webapp.services.seed import DEMO_ADMIN_PASSWORD, DEMO_ADMIN_USERNAME

    app = create_app({"WTF_CSRF_ENABLED": False})
    client = app.test_client()
    login = client.post("/auth/login", data={"username": DEMO_ADMIN_USERNAME, "password": DEMO_ADMIN_PASSWORD})
    if login.status_code != 302:
        raise SystemExit("Cannot log in as the demo admin: run `make run` (or flask seed-demo) first.")
    today = utcnow().date()
    year = f"?from={today - timedelta(days=364)}&to={today}"
    urls = [f"/dashboard/api/{chart}" for chart in CHARTS] + [f"/dashboard/api/{chart}{year}" for chart in CHARTS]
    urls += ["/admin/", "/dashboard"]

    print(f"database: {app.config['SQLALCHEMY_DATABASE_URI'].split('@')[-1]}   calls per view: {args.repeat}")
    print(f"{'view':<62}{'median ms':>10}{'p95 ms':>9}{'max ms':>9}  target")
    slowest = 0.0
    for url in urls:
        client.get(url)  # warm-up
        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"{url} answered {response.status_code}")
        times.sort()
        p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
        verdict = "ok" if p95 < TARGET_MS else "SLOW"
        if url.startswith("/dashboard/api/"):
            slowest = max(slowest, p95)
        else:
            verdict = "(page)"
        print(f"{url:<62}{statistics.median(times):>10.1f}{p95:>9.1f}{times[-1]:>9.1f}  {verdict}")
    verdict = "met" if slowest < TARGET_MS else "NOT met"
    print(f"slowest JSON view p95: {slowest:.1f} ms ({verdict}: < {TARGET_MS:.0f} ms)")


if __name__ == "__main__":
    main()
