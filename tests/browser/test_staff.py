"""The staff side in a real browser: the statistics screen and an edit in the back office."""

import os
import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.helpers import fill_login
from webapp.extensions import db
from webapp.models import Book, ModelRun
from webapp.models.recs import METRICS_VALIDATION, RUN_SUCCEEDED
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
        expect(charts.nth(index).locator("svg")).to_have_count(1)
    expect(page.locator('[data-counter="books"]')).to_have_text(re.compile(r"^[1-9][\d,]*$"))
    expect(page.locator('[data-counter="loans_out"]')).to_have_text(re.compile(r"^[1-9][\d,]*$"))
    expect(page.locator("#updated")).to_have_text(re.compile(r"^Figures as of \d"))
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
    expect(page).to_have_url(f"{live_server}/admin/")
    page.wait_for_load_state("load")  # the menu opens by Bootstrap's script: a click before it runs does nothing
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


@pytest.mark.parametrize("viewport", [(1366, 768), (1920, 1080)], ids=["1366x768", "1920x1080"])
def test_no_label_of_the_statistics_screen_overlaps_another(live_server, browser, demo, viewport, save_screenshot):
    """Every text ECharts draws (axis labels, legends, captions, values) is measured in the page."""
    measured = {"hr@10": 0.21, "ndcg@10": 0.12, "readers": 3000, "protocol": METRICS_VALIDATION}
    db.session.add(ModelRun(algorithm="neumf", parameters={}, status=RUN_SUCCEEDED, metrics={"neumf": measured}))
    db.session.commit()
    width, height = viewport
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    _log_in_as_demo_admin(page, live_server)
    page.goto(f"{live_server}/dashboard")
    expect(page.locator("body[data-loaded=true]")).to_have_count(1, timeout=15000)
    page.wait_for_timeout(1500)  # ECharts animates its first draw
    expect(page.locator("#chart-recommender-quality")).to_contain_text("validation, 3,000 readers")
    save_screenshot(page, f"statistics-{width}x{height}")
    with open(os.path.join(os.path.dirname(__file__), "overlaps.js"), encoding="utf-8") as script:
        assert page.evaluate(script.read()) == []
    context.close()
