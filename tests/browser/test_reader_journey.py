"""A reader's journeys through the site in a real browser."""

import base64
import re

import pytest
from playwright.sync_api import expect

from tests.helpers import create_user, fill_login, fill_registration, make_book

pytestmark = pytest.mark.browser


def test_register_search_rate_favourite_and_see_it_in_the_personal_centre(live_server, page, app):
    make_book("Dune", "Frank Herbert")
    make_book("Emma", "Jane Austen", category="Classics")

    page.goto(f"{live_server}/auth/register")
    fill_registration(page, "paul", "paul@arrakis.example", "muad-dib-1965")
    expect(page.get_by_text("Welcome, paul!")).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    page.get_by_role("link", name="Log in").click()
    fill_login(page, "paul", "muad-dib-1965")
    expect(page.get_by_text("Welcome back, paul.")).to_be_visible()

    page.goto(f"{live_server}/books")
    page.get_by_label("Title, author or ISBN").fill("  frank HERBERT ")
    page.get_by_role("button", name="Show").click()
    page.get_by_role("link", name="Dune", exact=True).click()
    expect(page.locator("h1.book-title")).to_have_text("Dune")

    page.get_by_label("Your rating (1-5 stars)").select_option("4")
    page.get_by_role("button", name="Rate").click()
    expect(page.get_by_text("You rated this book 4★.")).to_be_visible()
    page.get_by_role("button", name="☆ Add to favourites").click()
    expect(page.get_by_text("Added to your favourites.")).to_be_visible()

    page.get_by_role("link", name="My account").click()
    page.get_by_role("link", name="Ratings", exact=True).click()
    expect(page.locator(".my-ratings")).to_contain_text("Dune · 4★")
    page.get_by_role("link", name="Favourites", exact=True).click()
    expect(page.locator(".my-favourites")).to_contain_text("Dune")
    assert page.js_errors == []


def test_anonymous_reader_is_sent_to_log_in_and_back_to_the_book(live_server, page, app):
    book = make_book("Dune", "Frank Herbert")
    create_user("alice")
    page.goto(f"{live_server}/books/{book.id}")
    page.get_by_role("link", name="Log in to rate, review, borrow or buy").click()
    expect(page).to_have_url(re.compile(r"/auth/login\?next="))
    fill_login(page, "alice", "correct-horse-1")
    expect(page).to_have_url(f"{live_server}/books/{book.id}")
    expect(page.get_by_role("button", name="Rate")).to_be_visible()


def test_covers_are_drawn_offline_and_real_ones_win_when_they_load(live_server, page, app):
    # A 2x1 PNG (wider than a book) stands in for a real jacket on a host the browser can reach.
    jacket = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAIAAAABCAIAAAB7QOjdAAAADUlEQVR4nGP4z8AARAAI/gH/xp559wAAAABJRU5ErkJggg=="
    )
    page.route("https://covers.example.org/**", lambda route: route.fulfill(body=jacket, content_type="image/png"))
    page.route("https://offline.example.org/**", lambda route: route.abort("internetdisconnected"))
    dune = make_book("Dune", "Frank Herbert", cover_url="https://offline.example.org/dune.jpg")
    emma = make_book("Emma", "Jane Austen", category="Classics", cover_url="https://covers.example.org/emma.png")
    make_book("Ubik", "Philip K. Dick", cover_url=None)
    page.goto(f"{live_server}/books")

    dune_cover = page.get_by_alt_text("Cover of Dune")
    expect(dune_cover).to_have_attribute("src", re.compile(rf"^/books/{dune.id}/cover\.svg\?v=\w+$"))
    expect(page.get_by_alt_text("Cover of Emma")).to_have_attribute("src", "https://covers.example.org/emma.png")
    expect(page.get_by_alt_text("Cover of Ubik")).to_have_attribute("src", re.compile(r"/cover\.svg\?v="))
    covers = page.locator("img.book-cover")
    page.wait_for_function("() => [...document.images].every(img => img.complete && img.naturalWidth > 0)")
    sizes = {(round(box["width"]), round(box["height"])) for box in (c.bounding_box() for c in covers.all())}
    assert len(sizes) == 1  # drawn and real covers take the same room: the grid stays even
    width, height = sizes.pop()
    assert abs(height / width - 1.5) < 0.02
    assert page.js_errors == []

    page.get_by_role("link", name="Emma").click()
    expect(page.get_by_alt_text("Cover of Emma")).to_have_attribute("src", "https://covers.example.org/emma.png")
    assert emma.id


def test_phone_width_shows_the_menu_button(live_server, browser, app):
    context = browser.new_context(viewport={"width": 375, "height": 800})
    page = context.new_page()
    page.goto(f"{live_server}/")
    expect(page.get_by_role("button", name="Toggle navigation")).to_be_visible()
    page.get_by_role("button", name="Toggle navigation").click()
    expect(page.get_by_role("link", name="Books")).to_be_visible()
    context.close()
