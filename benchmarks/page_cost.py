"""Server-side cost of each logged-in page: SQL statements and CPU milliseconds, measured in-process.

Builds the app on the demo database (DATABASE_URL, by default the instance SQLite file
`make run` builds), logs in the demo reader (a long history, in the trained model when
there is one) and registers a new reader, then requests each page ``--repeat`` times per
reader through Flask's test client after one warm-up request. Statements are counted by
a SQLAlchemy ``before_cursor_execute`` listener; CPU is the thread's CPU time for the
request (``time.thread_time``, so waiting on the database is not counted, its work in
SQLite's C code is). Python function calls per request (counted by cProfile over as many
more requests) measure the same work without the noise of a shared machine, whose
speed can drift by half between two runs. Targets (issue 16): at most 6 statements and
4 ms CPU per page.

    python benchmarks/page_cost.py [--repeat 30] [--book 1]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import secrets
import statistics
import time

from servers import CSRF
from sqlalchemy import event, select

from webapp import create_app
from webapp.extensions import db
from webapp.models import Category


def form_post(client, path: str, fields: dict) -> None:
    """Submit a form the way a browser does: with the CSRF token of the page that shows it."""
    token = CSRF.search(client.get(path).get_data(as_text=True)).group(1)
    response = client.post(path, data={"csrf_token": token, **fields})
    if response.status_code != 302:
        raise SystemExit(f"POST {path} answered {response.status_code}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--book", type=int, default=1)
    args = parser.parse_args()
    app = create_app({"SECRET_KEY": "page-cost-benchmark"})
    statements = 0

    with app.app_context():
        slug = db.session.scalar(select(Category.slug).order_by(Category.id).limit(1))

        @event.listens_for(db.engine, "before_cursor_execute")
        def count(*_args) -> None:
            nonlocal statements
            statements += 1

    demo, new = app.test_client(), app.test_client()
    form_post(demo, "/auth/login", {"username": "demo", "password": "reader-demo-1"})
    name = f"cost{secrets.token_hex(4)}"
    form_post(
        new,
        "/auth/register",
        {
            "username": name,
            "email": f"{name}@example.org",
            "password": "cost-password-1",
            "password2": "cost-password-1",
        },
    )
    pages = {
        "home": "/",
        "book page": f"/books/{args.book}",
        "/books": "/books",
        "category": f"/categories/{slug}",
        "/profile/": "/profile/",
        "/cart": "/cart",
    }
    print(f"\n{args.repeat} requests per row after one warm-up; median and worst\n")
    print("| page | reader | statements | statements max | CPU ms median | CPU ms p95 | Python calls |")
    print("|---|---|---|---|---|---|---|")
    for page, path in pages.items():
        for who, client in (("new reader", new), ("demo reader", demo)):
            client.get(path)
            counts, cpu = [], []
            for _ in range(args.repeat):
                statements = 0
                started = time.thread_time()
                response = client.get(path)
                cpu.append((time.thread_time() - started) * 1000)
                counts.append(statements)
                if response.status_code != 200:
                    raise SystemExit(f"{path} answered {response.status_code} for the {who}")
            p95 = statistics.quantiles(cpu, n=20)[-1]
            profile = cProfile.Profile()
            with profile:
                for _ in range(args.repeat):
                    client.get(path)
            calls = pstats.Stats(profile).total_calls / args.repeat
            print(
                f"| {page} | {who} | {statistics.median(counts):.0f} | {max(counts)} | "
                f"{statistics.median(cpu):.1f} | {p95:.1f} | {calls:,.0f} |"
            )


if __name__ == "__main__":
    main()
