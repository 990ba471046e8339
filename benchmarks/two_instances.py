"""Two web servers, one database, one Redis: what must hold across machines holds.

Builds a small library (the soak's: 60 books, 40 readers) in the given database, leaves
one book with its last 3 copies, and starts two gunicorn instances on two ports with the
same DATABASE_URL, REDIS_URL and SECRET_KEY, as two web hosts behind a load balancer
would run. Then, printing a table:

1. 20 readers, 10 logged in on each instance, borrow that book at the same moment:
   exactly 3 loans are made and the other 17 are refused (the conditional UPDATE of the
   copies, in the one database).
2. Five wrong passwords for one account, alternating between the instances, then the
   right one on either: 429 (the failure counts live in Redis).
3. Anonymous traffic spread over both (round robin, several threads): answers and
   req/s per instance; a page one instance rendered is served by the other from the
   shared cache (a title changed in the database after the first render is not seen).

    python benchmarks/two_instances.py --database 'mysql+mysqldb://user:pw@localhost/db?charset=utf8mb4' \\
        --redis redis://127.0.0.1:6379/0

Exit status 1 if any check fails.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import redis
import requests
from servers import CSRF, start_gunicorn
from soak import READER_PASSWORD, _app, build_library
from sqlalchemy import func, select, update

from webapp.extensions import db
from webapp.models import Book, Loan

BORROWERS = 20
LAST_COPIES = 3


def logged_in(base: str, username: str, password: str = READER_PASSWORD) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base}/auth/login", timeout=30)
    token = CSRF.search(page.text).group(1)
    answer = session.post(
        f"{base}/auth/login",
        data={"csrf_token": token, "username": username, "password": password},
        allow_redirects=False,
        timeout=30,
    )
    if answer.status_code != 302:
        raise SystemExit(f"{username} could not log in on {base}: {answer.status_code}")
    return session


def concurrent_borrows(bases: list[str], book_id: int) -> Counter[str]:
    """Every borrower posts the borrow form at once (a barrier), half on each server; outcomes by kind."""
    sessions = [(logged_in(bases[n % 2], f"soak{n}"), bases[n % 2]) for n in range(BORROWERS)]
    forms = []
    for session, base in sessions:
        page = session.get(f"{base}/books/{book_id}", timeout=30)
        forms.append(CSRF.search(page.text).group(1))
    barrier = threading.Barrier(BORROWERS)
    outcomes: Counter[str] = Counter()

    def borrow(index: int) -> None:
        session, base = sessions[index]
        barrier.wait()
        answer = session.post(
            f"{base}/books/{book_id}/borrow", data={"csrf_token": forms[index]}, allow_redirects=True, timeout=60
        )
        if answer.status_code >= 500:
            outcomes["5xx"] += 1
        elif "It is now on loan to you" in answer.text:
            outcomes["borrowed"] += 1
        else:
            outcomes["refused"] += 1

    with ThreadPoolExecutor(BORROWERS) as pool:
        list(pool.map(borrow, range(BORROWERS)))
    return outcomes


def shared_login_limit(bases: list[str]) -> int:
    """The status of the right password after five wrong ones spread over both servers."""
    for attempt in range(5):
        session = requests.Session()
        base = bases[attempt % 2]
        token = CSRF.search(session.get(f"{base}/auth/login", timeout=30).text).group(1)
        session.post(f"{base}/auth/login", data={"csrf_token": token, "username": "soak39", "password": "wrong"})
    session = requests.Session()
    token = CSRF.search(session.get(f"{bases[1]}/auth/login", timeout=30).text).group(1)
    answer = session.post(
        f"{bases[1]}/auth/login",
        data={"csrf_token": token, "username": "soak39", "password": READER_PASSWORD},
        allow_redirects=False,
    )
    return answer.status_code


def spread_load(bases: list[str], requests_per_server: int, threads: int) -> dict[str, tuple[Counter[str], float]]:
    """Anonymous GETs of the book list, round robin over the servers; outcomes and req/s per server."""
    paths = [f"/books?page={page}" for page in (1, 2, 3)]
    jobs = [(bases[n % 2], paths[n % len(paths)]) for n in range(2 * requests_per_server)]
    results: dict[str, Counter[str]] = {base: Counter() for base in bases}
    local = threading.local()

    def fetch(job: tuple[str, str]) -> None:
        base, path = job
        local.session = getattr(local, "session", None) or requests.Session()
        status = local.session.get(base + path, timeout=30).status_code
        results[base]["5xx" if status >= 500 else str(status)] += 1

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(fetch, jobs))
    elapsed = time.perf_counter() - started
    return {base: (results[base], requests_per_server / elapsed) for base in bases}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", required=True, help="the one database both servers use (MariaDB URL)")
    parser.add_argument("--redis", required=True, help="the one Redis both servers use")
    parser.add_argument("--requests", type=int, default=600, help="anonymous requests per server")
    parser.add_argument("--threads", type=int, default=8, help="client threads for the anonymous traffic")
    args = parser.parse_args()

    redis.Redis.from_url(args.redis).flushdb()
    build_library(args.database, books=60, readers=40, seed=3)
    app = _app(args.database)
    with app.app_context():
        book_id = db.session.scalar(select(func.min(Book.id)))
        db.session.execute(
            update(Book).where(Book.id == book_id).values(copies_total=LAST_COPIES, copies_available=LAST_COPIES)
        )
        db.session.commit()

    settings = {"DATABASE_URL": args.database, "REDIS_URL": args.redis, "ANONYMOUS_PAGE_SECONDS": "30"}
    servers = [start_gunicorn(settings, workers=2, threads=4) for _ in range(2)]
    bases = [server.base for server in servers]
    load_before = os.getloadavg()[0]
    checks: list[tuple[str, bool, str]] = []
    try:
        outcomes = concurrent_borrows(bases, book_id)
        with app.app_context():
            loans = db.session.scalar(select(func.count()).select_from(Loan).where(Loan.book_id == book_id))
            left = db.session.scalar(select(Book.copies_available).where(Book.id == book_id))
        checks.append(
            (
                f"{BORROWERS} simultaneous borrows of the last {LAST_COPIES} copies, split over both servers",
                loans == LAST_COPIES == outcomes["borrowed"] and left == 0 and outcomes["5xx"] == 0,
                f"{loans} loans in the database, {outcomes['borrowed']} told it is on loan to them, "
                f"{outcomes['refused']} refused, {outcomes['5xx']} 5xx, {left} copies left",
            )
        )
        status = shared_login_limit(bases)
        checks.append(
            ("5 wrong passwords alternating servers, then the right one", status == 429, f"answered {status}")
        )

        first, second = bases
        requests.get(f"{first}/books", timeout=30)  # rendered and cached by the first server
        with app.app_context():
            original = db.session.scalar(select(Book.title).where(Book.id == book_id))
            db.session.execute(update(Book).where(Book.id == book_id).values(title="Renamed after the render"))
            db.session.commit()
        served = requests.get(f"{second}/books", timeout=30).text
        checks.append(
            (
                "a page the first server cached, asked of the second",
                original in served and "Renamed after the render" not in served,
                "the second served the first's copy" if original in served else "the second rendered its own",
            )
        )
        traffic = spread_load(bases, args.requests, args.threads)
    finally:
        for server in servers:
            server.stop()

    print(
        f"\nTwo gunicorn instances (2 workers x 4 threads each) on {args.database.split(':', 1)[0]} and Redis; "
        f"{os.cpu_count()} cores, load average {load_before:.2f} before the run (clients on the same machine)\n"
    )
    print("| check | result | detail |\n|---|---|---|")
    for name, passed, detail in checks:
        print(f"| {name} | {'pass' if passed else 'FAIL'} | {detail} |")
    print(f"\n| server | anonymous GET /books answers | req/s ({args.threads} client threads, both at once) |")
    print("|---|---|---|")
    for base, (answers, rate) in traffic.items():
        print(f"| {base} | {dict(answers)} | {rate:.0f} |")
    served_fine = all(set(answers) == {"200"} for answers, _rate in traffic.values())
    return 0 if served_fine and all(passed for _name, passed, _detail in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
