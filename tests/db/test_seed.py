"""flask seed-demo: counts from the files, idempotence, and all-or-nothing on bad files."""

import os
import shutil
from datetime import datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import Book, BookView, Category, DailyFigures, Favourite, Loan, Order, Rating, User
from webapp.models.base import utcnow
from webapp.services import daily_figures
from webapp.services.catalogue import book_query
from webapp.services.seed import DEMO_ADMIN_USERNAME, DEMO_READER_PASSWORD, DEMO_READER_USERNAME, SeedOptions


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _snapshot() -> dict[str, int]:
    return {model.__name__: _count(model) for model in (Book, Category, User, Rating, Favourite, Loan, Order, BookView)}


def test_seed_loads_the_counts_in_the_files(runner, small_demo_dir):
    result = runner.invoke(args=["seed-demo", "--data-dir", small_demo_dir])
    assert result.exit_code == 0, result.output
    books = pd.read_csv(os.path.join(small_demo_dir, "books.csv"))
    ratings = pd.read_csv(os.path.join(small_demo_dir, "ratings.csv"))
    to_read = pd.read_csv(os.path.join(small_demo_dir, "to_read.csv"))
    readers = set(ratings["user_id"]) | set(to_read["user_id"])

    assert _count(Book) == len(books)
    assert _count(Rating) == len(ratings)
    assert _count(Favourite) == len(to_read)
    assert _count(User) == len(readers) + 1  # every reader, plus the demo administrator
    assert "Demo administrator: admin / admin-demo-1" in result.output

    demo = db.session.scalar(select(User).where(User.username == DEMO_READER_USERNAME))
    assert demo.check_password(DEMO_READER_PASSWORD)
    longest = ratings.groupby("user_id").size().max()
    assert db.session.scalar(select(func.count()).where(Rating.user_id == demo.id)) == longest
    assert db.session.scalar(select(User.role).where(User.username == DEMO_ADMIN_USERNAME)) == "admin"
    imported = db.session.scalar(select(User).where(User.source_user_id.is_not(None), User.id != demo.id).limit(1))
    assert not imported.can_log_in

    # Real ratings keep their stars; every book lands in a category.
    sample = ratings.iloc[0]
    stored = db.session.execute(
        select(Rating.rating)
        .join(Book)
        .join(User, User.id == Rating.user_id)
        .where(Book.source_book_id == int(sample["book_id"]), User.source_user_id == int(sample["user_id"]))
    ).scalar_one()
    assert stored == sample["rating"]
    assert db.session.scalar(select(func.count()).where(Book.category_id.is_(None))) == 0


def test_simulated_circulation_respects_the_rules(runner, small_demo_dir):
    runner.invoke(args=["seed-demo", "--data-dir", small_demo_dir])
    # Open loans never exceed copies; available = total - open loans.
    open_loans = dict(
        db.session.execute(
            select(Loan.book_id, func.count()).where(Loan.returned_at.is_(None)).group_by(Loan.book_id)
        ).all()
    )
    for book in db.session.scalars(select(Book)):
        assert book.copies_available == book.copies_total - open_loans.get(book.id, 0)
        assert 0 <= book.copies_available <= book.copies_total
    # Every loan and order is of a book the reader rated.
    unrated_loans = db.session.scalar(
        select(func.count())
        .select_from(Loan)
        .outerjoin(Rating, (Rating.user_id == Loan.user_id) & (Rating.book_id == Loan.book_id))
        .where(Rating.id.is_(None))
    )
    assert unrated_loans == 0


def test_second_run_changes_nothing(runner, small_demo_dir):
    runner.invoke(args=["seed-demo", "--data-dir", small_demo_dir])
    before = _snapshot()
    result = runner.invoke(args=["seed-demo", "--data-dir", small_demo_dir])
    assert result.exit_code == 0
    assert "already holds the demo" in result.output
    assert _snapshot() == before


def test_reset_rebuilds_the_same_library(runner, small_demo_dir):
    runner.invoke(args=["seed-demo", "--data-dir", small_demo_dir])
    before = _snapshot()
    result = runner.invoke(args=["seed-demo", "--data-dir", small_demo_dir, "--reset"])
    assert result.exit_code == 0, result.output
    assert _snapshot() == before


def _break(directory, name, transform):
    path = os.path.join(directory, name)
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(transform(text))


@pytest.mark.parametrize(
    "name, transform, message",
    [
        ("ratings.csv", lambda t: t.replace("\n", "\n1,abc,5\n", 1), "ratings.csv line 2: column book_id"),
        ("ratings.csv", lambda t: t + "1,2,9\n", "rating must be 1-5"),
        ("ratings.csv", lambda t: t + "1,2,\n", "column rating should be a number, got ''"),
        ("ratings.csv", lambda t: t + "1,2,4.5\n", "column rating should be a number, got '4.5'"),
        (
            "ratings.csv",
            lambda t: t + "99999999999999999999,2,3\n",
            "column user_id should be a number, got '99999999999999999999'",
        ),
        ("ratings.csv", lambda t: t.replace("user_id", "reader", 1), "lacks the column(s) user_id"),
        (
            "books.csv",
            lambda t: t.replace("ratings_count", "ratings", 1),
            "books.csv lacks the column(s) ratings_count",
        ),
        ("to_read.csv", lambda t: t + "5,999999\n", "is not in the catalogue"),
        ("to_read.csv", lambda t: "", "not a readable CSV file"),
    ],
)
def test_malformed_file_is_refused_and_nothing_changes(runner, small_demo_dir, tmp_path, name, transform, message):
    runner.invoke(args=["seed-demo", "--data-dir", small_demo_dir])
    before = _snapshot()
    broken = tmp_path / "broken"
    shutil.copytree(small_demo_dir, broken)
    _break(broken, name, transform)
    result = runner.invoke(args=["seed-demo", "--data-dir", str(broken), "--reset"])
    assert result.exit_code != 0
    assert message in result.output
    assert "The database was not changed." in result.output
    assert _snapshot() == before


def test_missing_file_is_refused_on_an_empty_database(runner, small_demo_dir, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(small_demo_dir, broken)
    os.remove(broken / "tags.csv")
    result = runner.invoke(args=["seed-demo", "--data-dir", str(broken)])
    assert result.exit_code != 0
    assert "Missing data file" in result.output
    assert _count(User) == 0 and _count(Book) == 0


def test_failure_while_inserting_rolls_everything_back(runner, small_demo_dir, monkeypatch):
    from webapp.services import seed

    runner.invoke(args=["seed-demo", "--data-dir", small_demo_dir])
    before = _snapshot()

    def explode(self):
        raise RuntimeError("disk full")

    monkeypatch.setattr(seed._DemoBuilder, "_orders", explode)
    result = runner.invoke(args=["seed-demo", "--data-dir", small_demo_dir, "--reset"])
    assert result.exit_code != 0
    assert _snapshot() == before


@pytest.mark.slow
def test_full_demo_library(runner, app):
    """The whole real data set: all 10,000 books, 233,383 ratings, every reader; searchable by title."""
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert _count(Book) == 10000
    # Books without Goodreads shelves still have a category: their authors' usual one, else the catch-all.
    assert db.session.scalar(select(func.count()).where(Book.category_id.is_(None))) == 0
    found = db.session.scalars(book_query("Harry Potter Chamber of Secrets")).all()
    assert any("Chamber of Secrets" in book.title for book in found)
    assert _count(Rating) == 233383
    assert _count(Favourite) == 210962
    assert _count(User) == 48131


def test_simulated_lending_is_steady_from_the_first_day_shown_to_today(runner, small_demo_dir):
    """Loans and returns run at one rate across the 90 days: no ramp from zero, no pile-up of returns at the end."""
    runner.invoke(args=["seed-demo", "--data-dir", small_demo_dir])
    now = db.session.scalar(select(func.max(Loan.borrowed_at)))
    first_day = now - timedelta(days=SeedOptions().days_of_history)
    weeks = [(first_day + timedelta(days=7 * week), first_day + timedelta(days=7 * (week + 1))) for week in range(12)]

    def per_week(column) -> list[int]:
        return [db.session.scalar(select(func.count()).where(column >= start, column < end)) for start, end in weeks]

    for counts in (per_week(Loan.borrowed_at), per_week(Loan.returned_at)):
        mean = sum(counts) / len(counts)
        assert mean >= 20, counts
        assert all(0.6 * mean <= count <= 1.4 * mean for count in counts), counts


def test_reseeding_has_the_statistics_screen_count_the_past_days_again(runner, small_demo_dir):
    today = utcnow().date()
    db.session.add(User(username="early", email="early@example.org", created_at=utcnow() - timedelta(days=30)))
    db.session.commit()
    assert daily_figures.per_day(today - timedelta(days=40), today)["loans"] == {}
    assert _count(DailyFigures) > 0  # the days since the reader joined were counted and kept

    assert runner.invoke(args=["seed-demo", "--reset", "--data-dir", small_demo_dir]).exit_code == 0
    assert _count(DailyFigures) == 0
    loans = daily_figures.per_day(today - timedelta(days=40), today)["loans"]
    since = datetime.combine(today - timedelta(days=40), datetime.min.time())
    assert sum(loans.values()) == db.session.scalar(select(func.count()).where(Loan.borrowed_at >= since)) > 0
