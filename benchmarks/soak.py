"""Soak and fault test: mixed reader traffic on gunicorn while a worker is killed every minute.

Builds a fresh library (60 books, 40 readers) in the given database, starts gunicorn
(2 workers x 4 threads) on 127.0.0.1, and runs reader clients that browse, borrow,
return, rate, and buy through the cart (real forms, CSRF tokens and all) for the given
time. Every --kill-every seconds one gunicorn worker is killed with SIGKILL; the master
starts a new one. At the end it prints the requests by outcome and checks what the
database holds:

- copies on loan + set aside for a hold + on the shelf = copies owned, for every book;
- stock is never negative, and stock + copies sold = the stock the library started with;
- every paid order has its lines, and its total is the sum of its lines;
- no open loan without a copy (open loans of a book <= its copies).

Requests the killed worker was serving, and requests sent on a keep-alive connection it
held, end without an answer (counted as "dropped", at most one per client per kill);
every other request must get an answer below 500. Exit status 1 if any check fails.

    python benchmarks/soak.py --database sqlite --minutes 10
    python benchmarks/soak.py --database 'mysql+mysqldb://user:pw@localhost/db?charset=utf8mb4' --minutes 10
"""

from __future__ import annotations

import argparse
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from decimal import Decimal

import requests
from servers import CSRF, start_gunicorn
from sqlalchemy import func, select

from webapp import create_app
from webapp.config import Config
from webapp.extensions import db
from webapp.models import Book, Category, Hold, Loan, Order, OrderItem, User
from webapp.models.circulation import HOLD_READY
from webapp.models.shop import ORDER_CANCELLED

READER_PASSWORD = "soak-reader-password-1"
CHECKOUT_TOKEN = re.compile(r'name="token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="token"')
RETURN_URL = re.compile(r'action="(/loans/\d+/return)"')


def _app(database_url: str):
    """The app on the soak's database, for building it and checking it afterwards."""
    return create_app(type("SoakConfig", (Config,), {"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "s" * 40}))


def build_library(database_url: str, books: int, readers: int, seed: int) -> dict[int, int]:
    """A fresh schema with ``books`` books and ``readers`` readers; returns each book's starting stock."""
    app = _app(database_url)
    rng = random.Random(seed)
    with app.app_context():
        db.drop_all()
        db.session.execute(db.text("DROP TABLE IF EXISTS alembic_version"))
        db.session.commit()
        db.create_all()
        category = Category(name="Soak", slug="soak")
        db.session.add(category)
        for number in range(books):
            copies, stock = rng.randint(1, 3), rng.randint(2, 15)
            db.session.add(
                Book(
                    title=f"Soak book {number}",
                    authors="Test Author",
                    category=category,
                    price=Decimal("7.50"),
                    copies_total=copies,
                    copies_available=copies,
                    stock=stock,
                )
            )
        template = User(username="template", email="t@example.org")
        template.set_password(READER_PASSWORD)
        for number in range(readers):
            db.session.add(
                User(username=f"soak{number}", email=f"soak{number}@example.org", password_hash=template.password_hash)
            )
        db.session.commit()
        starting_stock = dict(db.session.execute(select(Book.id, Book.stock)).all())
        db.engine.dispose()
    return starting_stock


class Reader(threading.Thread):
    """One logged-in reader doing a random mix of things until the deadline."""

    def __init__(self, base: str, username: str, book_ids: list[int], deadline: float, seed: int) -> None:
        super().__init__(daemon=True)
        self.base, self.username, self.book_ids, self.deadline = base, username, book_ids, deadline
        self.rng = random.Random(seed)
        self.session = requests.Session()
        self.outcomes: Counter[str] = Counter()
        self.failures: list[str] = []

    def call(self, method: str, path: str, **kwargs) -> requests.Response | None:
        try:
            response = self.session.request(method, self.base + path, timeout=30, allow_redirects=False, **kwargs)
        except requests.RequestException as error:
            self.outcomes["dropped"] += 1
            self.failures.append(f"{method} {path}: {type(error).__name__}")
            return None
        status = response.status_code
        bucket = "5xx" if status >= 500 else "4xx" if status >= 400 else "2xx/3xx"
        self.outcomes[bucket] += 1
        if status >= 500:
            self.failures.append(f"{method} {path}: {status}")
        return response

    def token(self, path: str) -> tuple[str | None, str]:
        response = self.call("GET", path)
        if response is None or response.status_code != 200:
            return None, ""
        found = CSRF.search(response.text)
        return (found.group(1) if found else None), response.text

    def log_in(self) -> bool:
        csrf, _page = self.token("/auth/login")
        if csrf is None:
            return False
        response = self.call(
            "POST", "/auth/login", data={"csrf_token": csrf, "username": self.username, "password": READER_PASSWORD}
        )
        return response is not None and response.status_code == 302

    def browse(self) -> None:
        self.call("GET", f"/books?page={self.rng.randint(1, 3)}")
        self.call("GET", f"/books/{self.rng.choice(self.book_ids)}")

    def borrow(self) -> None:
        book_id = self.rng.choice(self.book_ids)
        csrf, _page = self.token(f"/books/{book_id}")
        if csrf:
            self.call("POST", f"/books/{book_id}/borrow", data={"csrf_token": csrf})

    def return_one(self) -> None:
        csrf, page = self.token("/profile/")
        loans = RETURN_URL.findall(page)
        if csrf and loans:
            self.call("POST", self.rng.choice(loans), data={"csrf_token": csrf})

    def rate(self) -> None:
        book_id = self.rng.choice(self.book_ids)
        csrf, _page = self.token(f"/books/{book_id}")
        if csrf:
            self.call("POST", f"/books/{book_id}/rate", data={"csrf_token": csrf, "rating": self.rng.randint(1, 5)})

    def buy(self) -> None:
        book_id = self.rng.choice(self.book_ids)
        csrf, _page = self.token(f"/books/{book_id}")
        if not csrf:
            return
        self.call("POST", f"/cart/add/{book_id}", data={"csrf_token": csrf, "quantity": self.rng.randint(1, 2)})
        csrf, page = self.token("/cart")
        found = CHECKOUT_TOKEN.search(page)
        if csrf and found:
            self.call("POST", "/cart/checkout", data={"csrf_token": csrf, "token": found.group(1) or found.group(2)})

    def run(self) -> None:
        actions = [self.browse] * 4 + [self.borrow] * 2 + [self.return_one] * 2 + [self.rate] + [self.buy]
        logged_in = False
        while time.monotonic() < self.deadline:
            if not logged_in:
                logged_in = self.log_in()
                continue
            self.rng.choice(actions)()


def worker_pids(master: int) -> list[int]:
    found = subprocess.run(["ps", "-o", "pid=", "--ppid", str(master)], capture_output=True, text=True).stdout
    return [int(pid) for pid in found.split()]


def integrity(database_url: str, starting_stock: dict[int, int]) -> list[tuple[str, bool, str]]:
    """The checks of the module docstring: (check, passed, detail)."""
    app = _app(database_url)
    with app.app_context():
        open_loans = dict(
            db.session.execute(
                select(Loan.book_id, func.count()).where(Loan.returned_at.is_(None)).group_by(Loan.book_id)
            ).all()
        )
        ready_holds = dict(
            db.session.execute(
                select(Hold.book_id, func.count()).where(Hold.status == HOLD_READY).group_by(Hold.book_id)
            ).all()
        )
        sold = dict(
            db.session.execute(
                select(OrderItem.book_id, func.sum(OrderItem.quantity))
                .join(Order)
                .where(Order.status != ORDER_CANCELLED)
                .group_by(OrderItem.book_id)
            ).all()
        )
        books = db.session.execute(select(Book.id, Book.copies_total, Book.copies_available, Book.stock)).all()
        copies_wrong = [
            book_id
            for book_id, total, available, _stock in books
            if open_loans.get(book_id, 0) + ready_holds.get(book_id, 0) + available != total
        ]
        negative = [book_id for book_id, _total, _available, stock in books if stock < 0]
        stock_wrong = [
            book_id for book_id, _t, _a, stock in books if stock + int(sold.get(book_id, 0)) != starting_stock[book_id]
        ]
        orders = db.session.scalars(select(Order).where(Order.status != ORDER_CANCELLED)).all()
        without_lines = [order.id for order in orders if not order.items]
        wrong_totals = [
            order.id for order in orders if sum(i.unit_price * i.quantity for i in order.items) != order.total
        ]
        too_many_loans = [book_id for book_id, total, _a, _s in books if open_loans.get(book_id, 0) > total]
        loans = db.session.scalar(select(func.count()).select_from(Loan))
        db.engine.dispose()
    return [
        ("on loan + set aside + on shelf = owned", not copies_wrong, f"{len(books)} books, wrong: {copies_wrong[:5]}"),
        ("stock never negative", not negative, f"negative: {negative[:5]}"),
        ("stock + sold = starting stock", not stock_wrong, f"wrong: {stock_wrong[:5]}"),
        ("every order has its lines", not without_lines, f"{len(orders)} orders, without lines: {without_lines[:5]}"),
        ("order total = sum of its lines", not wrong_totals, f"wrong: {wrong_totals[:5]}"),
        ("no open loan without a copy", not too_many_loans, f"{loans} loans, over: {too_many_loans[:5]}"),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default="sqlite", help="'sqlite' (a fresh temporary file) or a database URL")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--kill-every", type=float, default=60.0, help="seconds between SIGKILLs of a worker")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    folder = tempfile.mkdtemp(prefix="athenaeum-soak-")
    database_url = f"sqlite:///{folder}/soak.sqlite" if args.database == "sqlite" else args.database
    starting_stock = build_library(database_url, books=60, readers=max(args.clients, 40), seed=args.seed)
    server = start_gunicorn({"DATABASE_URL": database_url}, args.workers, args.threads)
    base = server.base

    load_before = os.getloadavg()[0]
    started = time.monotonic()
    deadline = started + args.minutes * 60
    book_ids = sorted(starting_stock)
    readers = [Reader(base, f"soak{n}", book_ids, deadline, args.seed + n) for n in range(args.clients)]
    for reader in readers:
        reader.start()
    kills = 0
    next_kill = started + args.kill_every
    while time.monotonic() < deadline:
        time.sleep(0.5)
        if time.monotonic() >= next_kill:
            pids = worker_pids(server.process.pid)
            if pids:
                os.kill(random.Random(kills).choice(pids), signal.SIGKILL)
                kills += 1
            next_kill += args.kill_every
    for reader in readers:
        reader.join(60)
    elapsed = time.monotonic() - started
    server.stop()

    outcomes: Counter[str] = Counter()
    failures: list[str] = []
    for reader in readers:
        outcomes.update(reader.outcomes)
        failures.extend(reader.failures)
    requests_made = sum(outcomes.values())
    backend = database_url.split(":", 1)[0]
    print(
        f"\nSoak on {backend}: {args.minutes:g} min, {args.clients} clients, gunicorn {args.workers} workers x "
        f"{args.threads} threads, one worker SIGKILLed every {args.kill_every:g} s; {os.cpu_count()} cores, load "
        f"average {load_before:.2f} before the run (the soak's own clients run on the same machine)\n"
    )
    print("| requests | req/s | 2xx/3xx | 4xx | 5xx | dropped by a killed worker | workers killed |")
    print("|---|---|---|---|---|---|---|")
    print(
        f"| {requests_made:,} | {requests_made / elapsed:.1f} | {outcomes['2xx/3xx']:,} | {outcomes['4xx']:,} | "
        f"{outcomes['5xx']} | {outcomes['dropped']} | {kills} |"
    )
    checks = integrity(database_url, starting_stock)
    print("\n| integrity check | result | detail |\n|---|---|---|")
    for name, passed, detail in checks:
        print(f"| {name} | {'pass' if passed else 'FAIL'} | {detail} |")
    for failure in failures[:20]:
        print("  ", failure)
    # Only a kill drops requests: the killed worker's requests in flight, and the keep-alive connection
    # each client may hold to it (at most one per client per kill). More means something else broke.
    ok = outcomes["5xx"] == 0 and outcomes["dropped"] <= kills * args.clients and all(p for _n, p, _d in checks)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
