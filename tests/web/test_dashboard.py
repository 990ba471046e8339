"""The statistics screen's JSON views against figures the test computes itself from the events it made."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from tests.helpers import create_user, make_book
from webapp import revalidating_cache
from webapp.extensions import db
from webapp.models import Book, DailyFigures, Hold, Loan, ModelRun, Order, OrderItem, Rating, Recommendation, User
from webapp.models.base import utcnow
from webapp.models.circulation import HOLD_READY
from webapp.models.shop import ORDER_CANCELLED, ORDER_PAID, ORDER_SHIPPED
from webapp.services import activity, circulation, daily_figures, shop

FIRST, LAST = date(2026, 1, 1), date(2026, 1, 14)  # the range the tests ask for
QUERY = f"?from={FIRST}&to={LAST}"


def _at(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, datetime.min.time()) + timedelta(hours=hour)


@pytest.fixture()
def events(app):
    """Random loans, orders, ratings and readers over 2025-12-25 .. 2026-01-20 (some outside the range)."""
    rng = random.Random(7)
    books = [
        make_book("Dune", category="Science Fiction", copies_total=9, copies_available=9, stock=4),
        make_book("Hyperion", category="Science Fiction", copies_total=9, copies_available=9, stock=0),
        make_book("Emma", authors="Jane Austen", category="Classics", copies_total=9, copies_available=9, stock=2),
    ]
    loose = Book(title="Untitled", authors="Anon", price=Decimal("5.00"), copies_total=9, copies_available=9, stock=1)
    db.session.add(loose)
    db.session.commit()
    books.append(loose)
    days = [date(2025, 12, 25) + timedelta(days=n) for n in range(27)]
    readers = []
    for n in range(12):
        reader = User(username=f"r{n}", email=f"r{n}@example.org", created_at=_at(rng.choice(days), rng.randrange(24)))
        readers.append(reader)
    db.session.add_all(readers)
    db.session.commit()

    made = {"loans": [], "orders": [], "ratings": [], "readers": [(r.created_at.date()) for r in readers]}
    for _ in range(40):
        reader, book, day = rng.choice(readers), rng.choice(books), rng.choice(days)
        returned = day + timedelta(days=rng.randrange(1, 6)) if rng.random() < 0.7 else None
        borrowed_at = _at(day, rng.randrange(24))
        returned_at = _at(returned, 23) if returned else None
        db.session.add(
            Loan(
                user_id=reader.id,
                book_id=book.id,
                borrowed_at=borrowed_at,
                due_at=utcnow() + timedelta(days=30),  # not overdue: the overdue test makes its own
                returned_at=returned_at,
            )
        )
        made["loans"].append((book, day, returned))
    for _ in range(25):
        reader, day = rng.choice(readers), rng.choice(days)
        status = rng.choice([ORDER_PAID, ORDER_PAID, ORDER_SHIPPED, ORDER_CANCELLED])
        lines = [(book, rng.randrange(1, 4), Decimal(rng.choice(["4.99", "10.00", "12.50"]))) for book in books[:2]]
        total = sum(quantity * price for _, quantity, price in lines)
        order = Order(user_id=reader.id, status=status, total=total, created_at=_at(day, rng.randrange(24)))
        for book, quantity, price in lines:
            order.items.append(OrderItem(book_id=book.id, quantity=quantity, unit_price=price))
        db.session.add(order)
        made["orders"].append((day, status, total, lines))
    pairs = rng.sample([(r, b) for r in readers for b in books], 30)
    for reader, book in pairs:
        stars, day = rng.randint(1, 5), rng.choice(days)
        db.session.add(Rating(user_id=reader.id, book_id=book.id, rating=stars, created_at=_at(day)))
        made["ratings"].append((stars, day))
    db.session.commit()
    made["books"] = books
    return made


def _in_range(day: date | None) -> bool:
    return day is not None and FIRST <= day <= LAST


def _range_days() -> list[str]:
    return [(FIRST + timedelta(days=n)).isoformat() for n in range((LAST - FIRST).days + 1)]


def _get(client, chart: str, query: str = QUERY) -> dict:
    response = client.get(f"/dashboard/api/{chart}{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json["chart"] == chart
    return response.json["data"]


def test_loans_and_returns_per_day(staff_client, events):
    loans = Counter(day.isoformat() for _, day, _ in events["loans"] if _in_range(day))
    returns = Counter(back.isoformat() for _, _, back in events["loans"] if _in_range(back))
    data = _get(staff_client, "loans")
    assert data["days"] == _range_days()
    assert data["loans"] == [loans[d] for d in data["days"]]
    assert data["returns"] == [returns[d] for d in data["days"]]
    assert sum(data["loans"]) > 0 and sum(data["returns"]) > 0


def test_sales_per_day_leave_cancelled_orders_out(staff_client, events):
    orders, revenue = Counter(), defaultdict(Decimal)
    for day, status, total, _ in events["orders"]:
        if _in_range(day) and status != ORDER_CANCELLED:
            orders[day.isoformat()] += 1
            revenue[day.isoformat()] += total
    data = _get(staff_client, "sales")
    assert data["orders"] == [orders[d] for d in _range_days()]
    assert data["revenue"] == [pytest.approx(float(revenue[d])) for d in _range_days()]


def test_new_readers_per_week(staff_client, events):
    # Two days before the range starts, in the week its first day falls in.
    db.session.add(User(username="early", email="early@example.org", created_at=_at(date(2025, 12, 30))))
    db.session.commit()
    joined_days = [*events["readers"], date(2025, 12, 30)]
    weeks = Counter((joined - timedelta(days=joined.weekday())).isoformat() for joined in joined_days)
    data = _get(staff_client, "new-readers")
    assert data["weeks"] == ["2025-12-29", "2026-01-05", "2026-01-12"]  # the Mondays of the weeks in range
    # Whole weeks, Monday to Sunday, also where the range starts or ends mid-week.
    assert data["readers"] == [weeks[w] for w in data["weeks"]]
    assert data["week_in_progress"] is False
    assert _get(staff_client, "new-readers", "")["week_in_progress"] is True  # the last 90 days end today


def test_top_books_by_loans_and_by_sales(staff_client, events):
    loans = Counter(book.title for book, day, _ in events["loans"] if _in_range(day))
    copies, revenue = Counter(), defaultdict(Decimal)
    for day, status, _, lines in events["orders"]:
        if _in_range(day) and status != ORDER_CANCELLED:
            for book, quantity, price in lines:
                copies[book.title] += quantity
                revenue[book.title] += quantity * price
    by_loans = _get(staff_client, "top-loans")["books"]
    assert {row["title"]: row["loans"] for row in by_loans} == dict(loans)
    assert [row["loans"] for row in by_loans] == sorted(loans.values(), reverse=True)
    by_sales = _get(staff_client, "top-sales")["books"]
    assert {row["title"]: row["copies"] for row in by_sales} == dict(copies)
    assert {row["title"]: pytest.approx(row["revenue"]) for row in by_sales} == {
        title: float(value) for title, value in revenue.items()
    }


def test_loans_and_sales_by_category(staff_client, events):
    category = {
        "Dune": "Science Fiction",
        "Hyperion": "Science Fiction",
        "Emma": "Classics",
        "Untitled": "Uncategorised",
    }
    loans = Counter(category[book.title] for book, day, _ in events["loans"] if _in_range(day))
    sold = Counter()
    for day, status, _, lines in events["orders"]:
        if _in_range(day) and status != ORDER_CANCELLED:
            for book, quantity, _ in lines:
                sold[category[book.title]] += quantity
    data = _get(staff_client, "categories")
    assert dict(zip(data["categories"], data["loans"])) == {name: loans[name] for name in data["categories"]}
    assert dict(zip(data["categories"], data["sold"])) == {name: sold[name] for name in data["categories"]}
    assert set(data["categories"]) == set(loans) | set(sold)


def test_rating_distribution(staff_client, events):
    stars = Counter(star for star, day in events["ratings"] if _in_range(day))
    assert _get(staff_client, "ratings") == {"stars": [1, 2, 3, 4, 5], "ratings": [stars[s] for s in range(1, 6)]}


def test_inventory_now(staff_client, events):
    open_loans = sum(1 for _, _, back in events["loans"] if back is None)
    book = events["books"][0]
    db.session.execute(db.update(Book).where(Book.id == book.id).values(copies_available=7))
    db.session.add(Hold(user_id=db.session.scalar(db.select(User.id).limit(1)), book_id=book.id, status=HOLD_READY))
    db.session.commit()
    data = _get(staff_client, "inventory")
    assert data == {
        "copies": {"on_shelf": 9 * 3 + 7, "on_loan": open_loans, "held_for_pickup": 1},
        "titles_for_sale": {"in_stock": 3, "sold_out": 1},
    }


@pytest.mark.parametrize("hour", [0, 1, 12, 23])
def test_overdue_loans_by_days_overdue_as_the_fines_count_them(staff_client, app, hour):
    """The chart's buckets and the reader's fines count days overdue the same way, at any time of day."""
    from webapp.services import statistics

    now = datetime.combine(utcnow().date(), datetime.min.time()) + timedelta(hours=hour, minutes=30)
    reader, book = create_user("late"), make_book("Dune")
    for days_late in [0, 1, 3, 7, 8, 14, 15, 30, 31, 60, 61, 200]:
        due = now - timedelta(days=days_late, hours=2)
        db.session.add(Loan(user_id=reader.id, book_id=book.id, borrowed_at=due - timedelta(days=30), due_at=due))
    db.session.add(Loan(user_id=reader.id, book_id=book.id, borrowed_at=now, due_at=now + timedelta(days=5)))
    db.session.commit()
    data = statistics.overdue_by_days(now)
    assert data["buckets"] == ["1-7 days", "8-14 days", "15-30 days", "31-60 days", "over 60 days"]
    expected = dict.fromkeys(data["buckets"], 0)
    for overdue in circulation.overdue_loans(now=now):
        days = overdue.days_overdue
        label = next((name for name, first, last in statistics.OVERDUE_BUCKETS if first <= days <= last), None)
        expected[label or statistics.OVERDUE_LAST_BUCKET] += 1
    assert data["loans"] == list(expected.values())
    assert sum(data["loans"]) == 12 == statistics.headline(now)["overdue"]
    assert _get(staff_client, "overdue", "")["buckets"] == data["buckets"]


def test_recommender_quality_and_coverage(staff_client, events):
    old = ModelRun(
        algorithm="neumf",
        status="succeeded",
        started_at=_at(date(2026, 1, 2)),
        metrics={"neumf": {"hr@10": 0.31, "ndcg@10": 0.17}, "most_popular": {"hr@10": 0.2}},
    )
    new = ModelRun(
        algorithm="item_knn",
        status="succeeded",
        started_at=_at(date(2026, 1, 9)),
        is_active=True,
        metrics={"item_knn": {"hr@10": 0.4, "ndcg@10": 0.24, "readers": 3000, "protocol": "validation"}},
    )
    failed = ModelRun(algorithm="neumf", status="failed", started_at=_at(date(2026, 1, 10)))
    outside = ModelRun(
        algorithm="neumf",
        status="succeeded",
        started_at=_at(date(2026, 2, 1)),
        metrics={"neumf": {"hr@10": 0.5, "ndcg@10": 0.3}},
    )
    db.session.add_all([old, new, failed, outside])
    db.session.commit()
    books = events["books"]
    readers = db.session.scalars(db.select(User.id).limit(3)).all()
    rows = [(readers[0], books[0]), (readers[0], books[1]), (readers[1], books[0]), (readers[2], books[1])]
    for rank, (user_id, book) in enumerate(rows, start=1):
        db.session.add(
            Recommendation(model_run_id=new.id, user_id=user_id, book_id=book.id, rank=rank, score=1.0, reason="test")
        )
    db.session.add(
        Recommendation(model_run_id=old.id, user_id=readers[0], book_id=books[2].id, rank=1, score=1.0, reason="test")
    )
    db.session.commit()
    data = _get(staff_client, "recommender")
    assert [
        (run["algorithm"], run["hr@10"], run["ndcg@10"], run["protocol"], run["readers"], run["active"])
        for run in data["runs"]
    ] == [
        ("neumf", 0.31, 0.17, "leave-one-out", None, False),  # runs from before protocols were recorded
        ("item_knn", 0.4, 0.24, "validation", 3000, True),
    ]
    assert data["coverage"] == {"model_run": new.id, "books_recommended": 2, "books": 4, "share": 0.5, "readers": 3}


def test_summary_counters(staff_client, events):
    open_loans = sum(1 for _, _, back in events["loans"] if back is None)
    data = _get(staff_client, "summary")
    assert data["readers"] == 12 and data["books"] == 4
    assert data["loans_out"] == open_loans and data["overdue"] == 0
    assert data["orders_this_week"] == 0  # every order of the fixture is in January 2026
    create_user("newcomer")  # joined today, after the past days were counted and kept
    assert _get(staff_client, "summary")["readers"] == 13


def test_empty_library_gives_zeros_not_errors(staff_client):
    for chart in (
        "loans",
        "sales",
        "new-readers",
        "top-loans",
        "top-sales",
        "categories",
        "ratings",
        "inventory",
        "overdue",
        "recommender",
        "summary",
    ):
        data = _get(staff_client, chart)
        assert data is not None
    assert _get(staff_client, "recommender")["coverage"]["model_run"] is None


def _kept_days() -> list[date]:
    return list(db.session.scalars(select(DailyFigures.day).order_by(DailyFigures.day)))


def test_settled_days_are_counted_once_and_kept(staff_client, events):
    query = f"?from=2025-12-01&to={LAST}"
    before = _get(staff_client, "loans", query)
    first_event = min(
        [day for _, day, _ in events["loans"]]
        + [day for day, *_ in events["orders"]]
        + [day for _, day in events["ratings"]]
        + events["readers"]
    )
    # Every day from the library's first event on is kept; the empty days before it are not.
    assert _kept_days() == [first_event + timedelta(days=n) for n in range((LAST - first_event).days + 1)]

    day = date(2026, 1, 5)
    reader = db.session.scalars(select(User).where(User.role == "reader")).first()
    book = db.session.scalars(select(Book)).first()
    db.session.add(Loan(user_id=reader.id, book_id=book.id, borrowed_at=_at(day), due_at=_at(day, 13)))
    db.session.commit()
    assert _get(staff_client, "loans", query) == before  # written behind the services' back: the kept day is read

    daily_figures.forget(day)
    db.session.commit()
    after = _get(staff_client, "loans", query)
    on_day = after["days"].index(day.isoformat())
    assert after["loans"][on_day] == before["loans"][on_day] + 1
    assert after["loans"][:on_day] == before["loans"][:on_day]


@pytest.mark.parametrize("days_ago", [10, 0], ids=["settled day", "today"])
def test_an_order_cancelled_while_its_day_is_first_counted_is_not_lost(staff_client, monkeypatch, clock, days_ago):
    day = clock[0].date() - timedelta(days=days_ago)
    reader, book = create_user("reader"), make_book("Dune", stock=5)
    order = Order(user_id=reader.id, status=ORDER_PAID, total=Decimal("9.99"), created_at=_at(day))
    order.items.append(OrderItem(book_id=book.id, quantity=1, unit_price=Decimal("9.99")))
    db.session.add(order)
    db.session.commit()
    count = daily_figures._counted

    def counted_then_cancelled(*args, **kwargs):
        figures = count(*args, **kwargs)
        if order.status != ORDER_CANCELLED:  # another request, committed after the count read the orders
            shop.cancel_order(reader.id, order.id)
        return figures

    monkeypatch.setattr(daily_figures, "_counted", counted_then_cancelled)
    query = f"?from={day}&to={day}"
    assert _get(staff_client, "sales", query)["orders"] == [1]  # what the count saw
    monkeypatch.setattr(daily_figures, "_counted", count)
    assert _get(staff_client, "sales", query)["orders"] == [0]  # that count was not kept


def test_a_day_left_claimed_by_a_count_that_never_finished_is_counted_and_kept(staff_client):
    day = utcnow().date() - timedelta(days=10)
    reader, book = create_user("reader"), make_book("Dune", copies_total=3, copies_available=3)
    db.session.add(Loan(user_id=reader.id, book_id=book.id, borrowed_at=_at(day), due_at=_at(day, 13)))
    db.session.add(DailyFigures(day=day, claim=12345, **dict.fromkeys(daily_figures.FIGURES, 0)))
    db.session.commit()
    assert _get(staff_client, "loans", f"?from={day}&to={day}")["loans"] == [1]
    kept = db.session.get(DailyFigures, day, populate_existing=True)
    assert (kept.claim, kept.loans) == (None, 1)


def test_recount_statistics_counts_every_past_day_again(staff_client, runner, events):
    before = _get(staff_client, "loans")
    kept = len(_kept_days())
    day = date(2026, 1, 5)
    reader = db.session.scalars(select(User).where(User.role == "reader")).first()
    book = db.session.scalars(select(Book)).first()
    db.session.add(Loan(user_id=reader.id, book_id=book.id, borrowed_at=_at(day), due_at=_at(day, 13)))
    db.session.commit()  # history changed by hand

    result = runner.invoke(args=["recount-statistics"])
    assert result.exit_code == 0, result.output
    assert f"Forgot the figures of {kept:,} days" in result.output
    assert _kept_days() == []
    after = _get(staff_client, "loans")
    on_day = after["days"].index(day.isoformat())
    assert after["loans"][on_day] == before["loans"][on_day] + 1


@pytest.fixture()
def clock(monkeypatch):
    """The statistics' clock, moved on by hand: 15:00 today (UTC) to begin with."""
    now = [datetime.combine(utcnow().date(), time(15))]
    monkeypatch.setattr(daily_figures, "utcnow", lambda: now[0])
    return now


def test_a_day_not_yet_settled_is_kept_in_part_and_the_events_since_are_added(staff_client, clock):
    reader, book = create_user("reader"), make_book("Dune", copies_total=9, copies_available=9)
    today = clock[0].date()
    query = f"?from={today - timedelta(days=6)}&to={today}"

    def lend(moment: datetime) -> None:  # written behind the services' back, stamped ``moment``
        db.session.add(Loan(user_id=reader.id, book_id=book.id, borrowed_at=moment, due_at=moment + timedelta(days=21)))
        db.session.commit()

    def kept(day: date) -> tuple[datetime | None, int]:
        row = db.session.get(DailyFigures, day, populate_existing=True)
        return row.counted_before, row.loans

    lend(_at(today - timedelta(days=1)))
    lend(_at(today, 10))
    assert _get(staff_client, "loans", query)["loans"][-2:] == [1, 1]
    assert kept(today - timedelta(days=1)) == (_at(today, 0), 1)  # the whole day, until it settles
    assert kept(today) == (clock[0] - daily_figures.LIVE_MARGIN, 1)

    lend(clock[0] - timedelta(minutes=1))  # a loan just made, after the kept part: counted at once
    assert _get(staff_client, "loans", query)["loans"][-2:] == [1, 2]
    lend(clock[0] - timedelta(hours=1))  # stamped before the kept part (a late commit): not yet counted
    assert _get(staff_client, "loans", query)["loans"][-2:] == [1, 2]

    clock[0] += daily_figures.LIVE_REFRESH  # the kept part is counted again
    assert _get(staff_client, "loans", query)["loans"][-2:] == [1, 3]
    assert kept(today) == (clock[0] - daily_figures.LIVE_MARGIN, 3)

    clock[0] += timedelta(days=2)  # today has settled: counted whole
    assert _get(staff_client, "loans", f"?from={today}&to={today}")["loans"] == [3]
    assert kept(today) == (None, 3)


def _cancel_the_order(_staff_client, made) -> None:
    shop.cancel_order(made["reader"].id, made["order"].id)


def _rate_it_again(_staff_client, made) -> None:
    activity.rate(made["reader"].id, made["book"].id, 5)


def _make_the_reader_staff(staff_client, made) -> None:
    reader_id = made["reader"].id
    staff_client.post(f"/admin/reader/edit/?id={reader_id}", data={"role": "admin", "active": "y"})
    assert db.session.get(User, reader_id, populate_existing=True).role == "admin"


@pytest.mark.parametrize(
    ("action", "chart", "figure", "before", "after"),
    [
        (_cancel_the_order, "sales", "orders", 1, 0),
        (_rate_it_again, "ratings", "ratings", [0, 0, 1, 0, 0], [0, 0, 0, 0, 1]),
        (_make_the_reader_staff, "new-readers", "readers", 1, 0),
    ],
    ids=["order cancelled", "rating changed", "reader made staff"],
)
@pytest.mark.parametrize("days_ago", [10, 0], ids=["settled day", "today"])
def test_an_action_that_changes_a_kept_day_is_counted(
    staff_client, clock, days_ago, action, chart, figure, before, after
):
    day = clock[0].date() - timedelta(days=days_ago)
    reader = User(username="reader", email="reader@example.org", created_at=_at(day))
    book = make_book("Dune", stock=5)
    db.session.add(reader)
    db.session.commit()
    order = Order(user_id=reader.id, status=ORDER_PAID, total=Decimal("9.99"), created_at=_at(day))
    order.items.append(OrderItem(book_id=book.id, quantity=1, unit_price=Decimal("9.99")))
    db.session.add_all([order, Rating(user_id=reader.id, book_id=book.id, rating=3, created_at=_at(day))])
    db.session.commit()
    query = f"?from={day}&to={day}"

    def shown():
        figures = _get(staff_client, chart, query)[figure]
        return figures if chart == "ratings" else sum(figures)

    assert shown() == before
    assert day in _kept_days()
    action(staff_client, {"reader": reader, "book": book, "order": order})
    assert shown() == after


def test_figures_are_shared_for_their_period_then_recomputed(staff_client, app, monkeypatch):
    monkeypatch.setitem(app.config, "STATISTICS_SECONDS", 60)
    clock = [revalidating_cache.time.time()]  # the real time, moved on by hand (login sessions read it too)
    monkeypatch.setattr(revalidating_cache.time, "time", lambda: clock[0])
    first = staff_client.get("/dashboard/api/summary").json
    db.session.add(User(username="newcomer", email="newcomer@example.org"))
    db.session.commit()
    again = staff_client.get("/dashboard/api/summary").json
    assert again == first  # within the period: the same figures, with the moment they were computed
    other_range = staff_client.get("/dashboard/api/new-readers?from=2026-01-01&to=2026-01-31").json
    assert other_range["range"] == {"from": "2026-01-01", "to": "2026-01-31"}  # each chart and range its own
    clock[0] += 61
    staff_client.get("/dashboard/api/summary")  # stale: served once more, and recomputed (inline in the tests)
    assert staff_client.get("/dashboard/api/summary").json["data"]["readers"] == first["data"]["readers"] + 1


def test_the_default_range_is_the_last_90_days(staff_client):
    response = staff_client.get("/dashboard/api/loans").json
    today = utcnow().date()
    assert response["range"] == {"from": (today - timedelta(days=89)).isoformat(), "to": today.isoformat()}
    assert len(response["data"]["days"]) == 90


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?from=2026-13-01", "'from' must be a date written YYYY-MM-DD"),
        ("?to=yesterday", "'to' must be a date written YYYY-MM-DD"),
        ("?from=2026-02-01&to=2026-01-01", "The range is reversed"),
        ("?from=1900-01-01&to=2026-01-01", "The range is too long"),
        ("?from=%27%3B%20DROP%20TABLE%20loans", "'from' must be a date"),
    ],
)
def test_bad_ranges_get_a_400_with_a_json_error(staff_client, query, message):
    response = staff_client.get(f"/dashboard/api/loans{query}")
    assert response.status_code == 400
    assert response.json["error"] == "Bad Request" and message in response.json["message"]


def test_an_unknown_chart_is_a_json_404(staff_client):
    response = staff_client.get("/dashboard/api/nope")
    assert response.status_code == 404 and response.json["status"] == 404


def test_the_page_has_a_container_for_every_chart(staff_client):
    page = staff_client.get("/dashboard").get_data(as_text=True)
    assert page.count('data-chart="') == 11
    assert "/static/vendor/echarts/echarts.min.js" in page and "cdn" not in page.lower()
