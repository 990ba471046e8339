"""Throughput and p90 of the main pages for anonymous, new and long-standing readers, measured with wrk.

Starts gunicorn (2 workers x 4 threads, as `make run`) on the demo database
(DATABASE_URL, by default the instance SQLite file `make run` builds), registers a new
reader through the form (not in the trained model), logs in the demo reader (in it),
and runs Debian's `wrk` (a load generator in C that spares the server's CPU) against
each page with each reader's session cookie: 1 and 20 connections, --seconds each,
beside /healthz in the same run. Prints one table.

    python benchmarks/wrk_pages.py [--seconds 6] [--book 1] [--workers 2 --threads 4] [--pages home /profile/]
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import secrets
import shutil
import subprocess
import urllib.parse

from servers import CSRF, start_gunicorn
from web_latency import log_in


def register(port: int, username: str, password: str) -> str:
    """Register through the form (which logs the reader in); returns the Cookie header of the session."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", "/auth/register")
    response = connection.getresponse()
    token = CSRF.search(response.read().decode()).group(1)
    cookie = response.getheader("Set-Cookie", "").split(";")[0]
    fields = {
        "csrf_token": token,
        "username": username,
        "email": f"{username}@example.org",
        "password": password,
        "password2": password,
    }
    connection.request(
        "POST",
        "/auth/register",
        body=urllib.parse.urlencode(fields),
        headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
    )
    response = connection.getresponse()
    response.read()
    if response.status != 302:
        raise SystemExit(f"could not register {username}: HTTP {response.status}")
    return response.getheader("Set-Cookie").split(";")[0]


def wrk(url: str, connections: int, seconds: int, cookie: str | None) -> tuple[float, str, int]:
    """(requests/s, p90 as wrk prints it, non-2xx/3xx answers) of one wrk run."""
    command = ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if cookie:
        command[1:1] = ["-H", f"Cookie: {cookie}"]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p90 = re.search(r"^\s+90%\s+(\S+)", output, re.M).group(1)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    return rate, p90, int(bad.group(1)) if bad else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=6)
    parser.add_argument("--book", type=int, default=1, help="the book page to load")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--pages", nargs="*", help="only these rows' pages (default: every one)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install wrk")

    server = start_gunicorn(workers=args.workers, threads=args.threads)
    port = server.port
    try:
        readers = {
            "anonymous": None,
            "new reader": register(port, f"bench{secrets.token_hex(4)}", "bench-password-1"),
            "demo reader": log_in(port, "demo", "reader-demo-1"),
        }
        pages = {
            "/healthz": "/healthz",
            "home": "/",
            "book page": f"/books/{args.book}",
            "/books": "/books",
            "category": "/categories/fantasy",
            "/profile/": "/profile/",
            "/cart": "/cart",
        }
        pages = {name: path for name, path in pages.items() if not args.pages or name in args.pages}
        base = server.base
        print(
            f"\n{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} before the run; "
            f"gunicorn {args.workers} workers x {args.threads} threads; wrk {args.seconds} s per row\n"
        )
        print("| page | reader | connections | req/s | p90 | errors |")
        print("|---|---|---|---|---|---|")
        for name, path in pages.items():
            for who, cookie in readers.items():
                if path in ("/profile/", "/cart") and cookie is None or path == "/healthz" and who != "anonymous":
                    continue
                wrk(base + path, 4, 2, cookie)  # warm every worker up
                for connections in (1, 20):
                    rate, p90, bad = wrk(base + path, connections, args.seconds, cookie)
                    print(f"| {name} | {who} | {connections} | {rate:,.0f} | {p90} | {bad} |")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
