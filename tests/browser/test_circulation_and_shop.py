"""Borrowing and buying in a real browser, CSRF protection on."""

import re

import pytest
from playwright.sync_api import expect

from tests.helpers import create_user, fill_login, make_book

pytestmark = pytest.mark.browser


def _log_in(page, live_server, username="alice", password="correct-horse-1"):
    page.goto(f"{live_server}/auth/login")
    fill_login(page, username, password)
    expect(page.get_by_text(f"Welcome back, {username}.")).to_be_visible()


def test_anonymous_borrow_sends_to_login_and_back_to_the_book(live_server, page, app):
    book = make_book("Dune", "Frank Herbert")
    create_user("alice")
    page.goto(f"{live_server}/books/{book.id}")
    page.get_by_role("link", name="Borrow", exact=True).click()  # anonymous pages are cached: a link, no form
    expect(page).to_have_url(re.compile(r"/auth/login\?next="))
    fill_login(page, "alice", "correct-horse-1")
    expect(page).to_have_url(f"{live_server}/books/{book.id}")
    page.get_by_role("button", name="Borrow").click()
    expect(page.get_by_text("Enjoy your book!")).to_be_visible()


def test_borrow_then_return_from_the_personal_centre(live_server, page, app):
    book = make_book("Dune", "Frank Herbert", copies_total=2, copies_available=2)
    create_user("alice")
    _log_in(page, live_server)
    page.goto(f"{live_server}/books/{book.id}")
    page.get_by_role("button", name="Borrow").click()
    expect(page.locator(".availability")).to_contain_text("1 of 2 copies free")
    page.get_by_role("link", name="My account").click()
    loan = page.locator(".current-loan", has_text="Dune")
    expect(loan).to_contain_text("due")
    loan.get_by_role("button", name="Return").click()
    expect(page.get_by_text("Thank you: the book is returned.")).to_be_visible()
    expect(page.locator(".current-loan")).to_have_count(0)
    assert page.js_errors == []


def test_cart_quantity_checkout_and_order_in_the_personal_centre(live_server, page, app):
    dune = make_book("Dune", "Frank Herbert", stock=5)
    emma = make_book("Emma", "Jane Austen", category="Classics", stock=5)
    create_user("alice")
    _log_in(page, live_server)
    for book in (dune, emma):
        page.goto(f"{live_server}/books/{book.id}")
        page.get_by_role("button", name="Add to cart").click()
        expect(page.get_by_text("Added to your cart.")).to_be_visible()
    page.get_by_role("link", name=re.compile("^Cart")).click()
    page.get_by_label("Quantity of Dune").fill("3")
    page.locator(".cart-line", has_text="Dune").get_by_role("button", name="Update").click()
    expect(page.get_by_text("Quantity updated.")).to_be_visible()
    expect(page.locator(".cart-total")).to_have_text("$39.96")
    page.get_by_role("button", name="Check out and pay").click()
    expect(page.get_by_text(re.compile(r"Thank you! Order #\d+ is paid."))).to_be_visible()
    order_url = page.url
    page.get_by_role("link", name="My account").click()
    page.get_by_role("link", name="Orders", exact=True).click()
    link = page.get_by_role("link", name=re.compile(r"Order #\d+"))
    expect(link).to_be_visible()
    link.click()
    expect(page).to_have_url(order_url)
    expect(page.locator(".order-status")).to_have_text("paid")
    assert page.js_errors == []
