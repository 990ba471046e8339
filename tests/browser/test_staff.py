"""The staff side in a real browser: the statistics screen and an edit in the back office."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.helpers import fill_login
from webapp.extensions import db
from webapp.models import Book
from webapp.services.seed import DEMO_ADMIN_PASSWORD, DEMO_ADMIN_USERNAME, SeedOptions, seed_demo

pytestmark = pytest.mark.browser


@pytest.fixture()
def demo(app, small_demo_dir):
    """A small demo library (real goodbooks data, 90 days of simulated circulation) with its admin."""
    seed_demo(small_demo_dir, SeedOptions(loans=400, orders=150, views=500))


def _log_in_as_demo_admin(page, live_server) -> None:
    page.goto(f"{live_server}/auth/login")
    fill_login(page, DEMO_ADMIN_USERNAME, DEMO_ADMIN_PASSWORD)
    expect(page.get_by_text(f"Welcome back, {DEMO_ADMIN_USERNAME}.")).to_be_visible()


def test_the_statistics_screen_draws_every_chart(live_server, page, demo):
    console_errors: list[str] = []

    def record(message) -> None:
        # Errors from the site itself. The home page shown after logging in links real
        # Goodreads covers, which cannot load offline and may fail while the screen opens.
        where = message.location.get("url", "")
        if message.type == "error" and where.startswith(live_server):
            console_errors.append(f"{where}: {message.text}")

    page.on("console", record)
    _log_in_as_demo_admin(page, live_server)
    page.get_by_role("link", name="Statistics").click()
    expect(page).to_have_url(f"{live_server}/dashboard")
    expect(page.locator("body[data-loaded=true]")).to_have_count(1, timeout=15000)
    charts = page.locator("[data-chart]")
    assert charts.count() == 11
    for index in range(charts.count()):
        expect(charts.nth(index).locator("canvas")).to_have_count(1)
    expect(page.locator('[data-counter="books"]')).to_have_text(re.compile(r"^[1-9][\d,]*$"))
    expect(page.locator('[data-counter="loans_out"]')).to_have_text(re.compile(r"^[1-9][\d,]*$"))
    assert page.js_errors == [] and console_errors == [], console_errors

    page.fill("#range-from", "2026-02-01")
    page.fill("#range-to", "2026-01-01")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#range-error")).to_contain_text("The range is reversed")
    assert page.js_errors == []


def test_staff_edit_a_price_in_the_back_office(live_server, page, demo):
    book = db.session.scalar(select(Book).order_by(Book.id).limit(1))
    _log_in_as_demo_admin(page, live_server)
    page.get_by_role("link", name="Back office").click()
    page.get_by_role("link", name="Catalogue").click()
    page.get_by_role("link", name="Books", exact=True).click()
    page.locator("input[name=search]").fill(book.title.split(" (")[0])
    page.keyboard.press("Enter")
    page.locator(f'a[href*="/admin/book/edit/?id={book.id}&"]').first.click()
    page.get_by_label("Price").fill("13.37")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("Record was successfully saved.")).to_be_visible()
    db.session.rollback()
    assert db.session.get(Book, book.id).price == Decimal("13.37")
    assert page.js_errors == []
