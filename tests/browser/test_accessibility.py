"""Accessibility, checked by tools in Chromium: axe-core on every kind of page, the keyboard, a phone's width.

axe-core (``tests/browser/vendor/axe-core``, from npm, no CDN) runs with its default rules:
WCAG 2.x A and AA plus its best practices. Any violation, of any impact, fails.
"""

from __future__ import annotations

import json
import os
import secrets

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.helpers import fill_login
from webapp.extensions import db
from webapp.models import Book, Order, Rating, User
from webapp.services import shop
from webapp.services.seed import (
    DEMO_ADMIN_PASSWORD,
    DEMO_ADMIN_USERNAME,
    DEMO_READER_PASSWORD,
    DEMO_READER_USERNAME,
    SeedOptions,
    seed_demo,
)

pytestmark = pytest.mark.browser

AXE = os.path.join(os.path.dirname(__file__), "vendor", "axe-core", "axe.min.js")
PHONE = {"width": 390, "height": 844}


@pytest.fixture()
def library(app, small_demo_dir) -> dict[str, str]:
    """The small demo library; the demo reader has a book in the cart and a paid order. Paths to visit."""
    seed_demo(small_demo_dir, SeedOptions(loans=400, orders=150, views=500))
    reader = db.session.scalar(select(User).where(User.username == DEMO_READER_USERNAME))
    books = db.session.scalars(select(Book).where(Book.stock > 0).order_by(Book.id).limit(2)).all()
    shop.add_to_cart(reader.id, books[0].id)
    order = shop.checkout(reader.id, secrets.token_hex(8))
    shop.add_to_cart(reader.id, books[1].id)
    category = books[0].category.slug
    assert db.session.get(Order, order.id) is not None
    return {
        "home": "/",
        "book list": "/books?q=the",
        "category": f"/categories/{category}",
        "hot books": "/hot",
        "book page": f"/books/{books[0].id}",
        "login": "/auth/login",
        "register": "/auth/register",
        "personal centre": "/profile/",
        "onboarding": "/profile/welcome",
        "cart": "/cart",
        "order": f"/orders/{order.id}",
        "statistics screen": "/dashboard",
        "back-office list": "/admin/book/",
        "back-office home": "/admin/",
    }


# Who sees which page: (who, page names).
VISITS = [
    (None, ["home", "book list", "category", "hot books", "book page", "login", "register"]),
    (DEMO_READER_USERNAME, ["home", "book page", "personal centre", "onboarding", "cart", "order"]),
    (DEMO_ADMIN_USERNAME, ["statistics screen", "back-office list", "back-office home"]),
]
PASSWORDS = {DEMO_READER_USERNAME: DEMO_READER_PASSWORD, DEMO_ADMIN_USERNAME: DEMO_ADMIN_PASSWORD}


def _open(page, live_server, path: str) -> None:
    page.goto(f"{live_server}{path}")
    if path == "/dashboard":
        expect(page.locator("body[data-loaded=true]")).to_have_count(1, timeout=15000)
    page.wait_for_load_state("networkidle")


def _log_in(page, live_server, username: str | None) -> None:
    if username:
        page.goto(f"{live_server}/auth/login")
        fill_login(page, username, PASSWORDS[username])
        expect(page.get_by_text(f"Welcome back, {username}.")).to_be_visible()


def _axe(page) -> list[dict]:
    return page.evaluate(
        "async () => (await axe.run(document, { resultTypes: ['violations'] })).violations.map(v => ({"
        "id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))"
    )


def _write_report(name: str, report: dict) -> None:
    """Keep what a run found (build/accessibility/), for the note on the issue."""
    folder = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))), "build", "accessibility")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, f"{name}.json"), "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=1)


@pytest.mark.parametrize(("who", "pages"), VISITS, ids=["anonymous", "reader", "staff"])
def test_axe_finds_no_violations(live_server, browser, library, who, pages, save_screenshot):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(path=AXE)  # injected by the browser, not by the page: the CSP stays as it is
    page = context.new_page()
    _log_in(page, live_server, who)
    found = {}
    for name in pages:
        _open(page, live_server, library[name])
        found[name] = _axe(page)
        save_screenshot(page, f"{who or 'anonymous'}-{name.replace(' ', '-')}")
    context.close()
    _write_report(f"axe-{who or 'anonymous'}", found)
    assert {name: violations for name, violations in found.items() if violations} == {}


@pytest.mark.parametrize(("who", "pages"), VISITS, ids=["anonymous", "reader", "staff"])
def test_no_page_scrolls_sideways_at_phone_width(live_server, browser, library, who, pages, save_screenshot):
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    _log_in(page, live_server, who)
    too_wide = {}
    for name in pages:
        _open(page, live_server, library[name])
        width = page.evaluate("() => document.documentElement.scrollWidth")
        save_screenshot(page, f"phone-{who or 'anonymous'}-{name.replace(' ', '-')}")
        if width > PHONE["width"]:
            too_wide[name] = width
    context.close()
    assert too_wide == {}


FOCUSABLE = (
    "a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), select:not([disabled]), "
    "textarea:not([disabled]), [tabindex]"
)
# Walks the page with Tab: which visible controls got focus, and which showed no focus ring when they had it.
TAB_WALK = """(focusable) => {
  const visible = (el) => { const box = el.getBoundingClientRect(); const style = getComputedStyle(el);
    return box.width > 0 && box.height > 0 && style.visibility !== 'hidden'; };
  const label = (el) => (el.getAttribute('aria-label') || el.textContent || el.name || el.id || el.tagName).trim()
    .replace(/\\s+/g, ' ').slice(0, 60);
  // tabindex=-1: a tab of a tab list other than the selected one, reached with the arrow keys (the ARIA pattern).
  return { all: [...document.querySelectorAll(focusable)].filter((el) => visible(el) && el.tabIndex >= 0).map(label) };
}"""
FOCUS_STATE = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) { return null; }
  const style = getComputedStyle(el);
  const ring = (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0) || style.boxShadow !== 'none';
  const label = (el.getAttribute('aria-label') || el.textContent || el.name || el.id || el.tagName).trim()
    .replace(/\\s+/g, ' ').slice(0, 60);
  return { label, ring, key: el.outerHTML.slice(0, 200) };
}"""


@pytest.mark.parametrize(
    ("who", "name"),
    [
        (None, "home"),
        (None, "book page"),
        (DEMO_READER_USERNAME, "book page"),
        (DEMO_READER_USERNAME, "cart"),
        (DEMO_READER_USERNAME, "personal centre"),
        (DEMO_ADMIN_USERNAME, "statistics screen"),
        (DEMO_ADMIN_USERNAME, "back-office list"),
    ],
)
def test_tab_reaches_every_control_and_shows_where_focus_is(live_server, browser, library, who, name):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    _log_in(page, live_server, who)
    _open(page, live_server, library[name])
    controls = page.evaluate(TAB_WALK, FOCUSABLE)["all"]
    reached, without_ring = set(), set()
    for _ in range(2 * len(controls) + 20):  # date fields take a Tab per part: go round more than once
        page.keyboard.press("Tab")
        state = page.evaluate(FOCUS_STATE)
        if state is not None:
            reached.add(state["label"])
            if not state["ring"]:
                without_ring.add(state["label"])
    context.close()
    assert sorted(set(controls) - set(reached)) == []
    assert sorted(without_ring) == []


def test_a_reader_rates_and_buys_a_book_with_the_keyboard_alone(live_server, browser, library):
    reader = db.session.scalar(select(User).where(User.username == DEMO_READER_USERNAME))
    unrated = db.session.scalar(
        select(Book.id)
        .where(Book.stock > 0, Book.id.not_in(select(Rating.book_id).where(Rating.user_id == reader.id)))
        .order_by(Book.id)
        .limit(1)
    )
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    _log_in(page, live_server, DEMO_READER_USERNAME)
    _open(page, live_server, f"/books/{unrated}")

    def tab_to(locator) -> None:
        for _ in range(200):
            page.keyboard.press("Tab")
            if locator.evaluate("el => el === document.activeElement"):
                return
        raise AssertionError(f"Tab never reached {locator}")

    tab_to(page.get_by_label("Your rating (1-5 stars)"))
    page.keyboard.press("ArrowDown")  # 5★ -> 4★
    tab_to(page.get_by_role("button", name="Rate", exact=True))
    page.keyboard.press("Enter")
    expect(page.get_by_text("You rated this book 4★.")).to_be_visible()

    tab_to(page.get_by_role("button", name="Add to cart").first)
    page.keyboard.press("Enter")
    expect(page.locator(".alert-success")).to_be_visible()
    tab_to(page.get_by_role("link", name="Cart"))
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server}/cart")
    context.close()
