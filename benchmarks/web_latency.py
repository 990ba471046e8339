"""Requests per second and p50/p95/p99 latency of the main pages under gunicorn.

Starts the site under gunicorn on the demo database (DATABASE_URL, by default the
instance SQLite file that `make run` builds), warms it up, then for each page fires
requests from 1 and from 20 concurrent clients on loopback, next to the trivial
/healthz route measured in the same run. Anonymous visitors get pages cached for 30 s
(webapp/page_cache.py); the "logged in" rows are the demo reader's own pages, rendered
for every request. Targets (2-core machine, SQLite): p95 under
100 ms for every page at 20 clients, and each page at least a third of /healthz's
throughput.

    python benchmarks/web_latency.py [--requests 400] [--workers 2] [--threads 4]
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

from servers import CSRF, start_gunicorn


def log_in(port: int, username: str, password: str) -> str:
    """Log in through the real form (CSRF token and all); returns the Cookie header of the session."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", "/auth/login")
    response = connection.getresponse()
    page = response.read().decode()
    cookie = response.getheader("Set-Cookie", "").split(";")[0]
    token = CSRF.search(page).group(1)
    body = urllib.parse.urlencode({"csrf_token": token, "username": username, "password": password})
    headers = {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}
    connection.request("POST", "/auth/login", body=body, headers=headers)
    response = connection.getresponse()
    response.read()
    if response.status != 302:
        raise SystemExit(f"could not log in as {username}: HTTP {response.status}")
    return response.getheader("Set-Cookie").split(";")[0]


def fire(
    port: int, path: str, requests: int, clients: int, cookie: str | None = None
) -> tuple[float, list[float], int]:
    """Send ``requests`` GETs from ``clients`` threads; returns (seconds, latencies, errors)."""
    per_client = max(1, requests // clients)

    def client(_):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        latencies, errors = [], 0
        for _ in range(per_client):
            started = time.perf_counter()
            connection.request("GET", path, headers={"Cookie": cookie} if cookie else {})
            response = connection.getresponse()
            response.read()
            latencies.append(time.perf_counter() - started)
            errors += response.status != 200
        connection.close()
        return latencies, errors

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(client, range(clients)))
    elapsed = time.perf_counter() - started
    return elapsed, [lat for lats, _ in results for lat in lats], sum(errors for _, errors in results)


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--username", default="demo", help="a reader of the demo database (logged-in rows)")
    parser.add_argument("--password", default="reader-demo-1")
    args = parser.parse_args()

    server = start_gunicorn(workers=args.workers, threads=args.threads)
    port = server.port
    try:
        cookie = log_in(port, args.username, args.password)
        pages = {
            "trivial /healthz": ("/healthz", None),
            "home": ("/", None),
            "category": ("/categories/fantasy", None),
            "search": ("/books?q=jane+austen", None),
            "book page": ("/books/1", None),
            "home, logged in": ("/", cookie),
            "book page, logged in": ("/books/1", cookie),
        }
        for path, session_cookie in pages.values():
            fire(port, path, 40, 4, session_cookie)  # warm up every worker
        rows = []
        for clients in (1, 20):
            for name, (path, session_cookie) in pages.items():
                seconds, latencies, errors = fire(port, path, args.requests, clients, session_cookie)
                rows.append(
                    (
                        name,
                        clients,
                        len(latencies) / seconds,
                        percentile(latencies, 50) * 1000,
                        percentile(latencies, 95) * 1000,
                        percentile(latencies, 99) * 1000,
                        errors,
                    )
                )
        print("\n| page | clients | req/s | p50 ms | p95 ms | p99 ms | errors | vs /healthz |")
        print("|---|---|---|---|---|---|---|---|")
        for name, clients, rps, p50, p95, p99, errors in rows:
            trivial = next(r[2] for r in rows if r[0] == "trivial /healthz" and r[1] == clients)
            print(
                f"| {name} | {clients} | {rps:.0f} | {p50:.1f} | {p95:.1f} | {p99:.1f} | {errors} | "
                f"{rps / trivial:.2f} |"
            )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
