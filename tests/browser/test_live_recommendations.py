"""A newcomer's first minutes in a real browser: onboarding picks, recommendations at once, "Not interested"."""

import pytest
from playwright.sync_api import expect

from tests.helpers import fill_registration

pytestmark = pytest.mark.browser

pytest.importorskip("tensorflow")


@pytest.fixture()
def trained_library(runner, small_demo_dir):
    for args in (["seed-demo", "--data-dir", small_demo_dir], ["train-recs", "--epochs", "2", "--no-rating-model"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 0, result.output


def test_a_newcomer_picks_books_sees_recommendations_and_dismisses_one(live_server, page, trained_library):
    page.goto(f"{live_server}/auth/register")
    fill_registration(page, "newcomer", "newcomer@example.org", "first-visit-2026")

    expect(page.get_by_role("heading", name="Which books did you love?")).to_be_visible()
    picks = page.locator(".loved-pick input[type=checkbox]")
    assert picks.count() >= 3
    for index in range(3):
        picks.nth(index).check()
    page.get_by_role("button", name="Show my recommendations").click()

    expect(page.get_by_text("Thanks: 3 books added to your ratings.")).to_be_visible()
    recommended = page.locator("#recommended")
    expect(recommended.get_by_role("heading", name="Recommended for you")).to_be_visible()
    reasons = recommended.locator(".rec-reason")
    assert reasons.count() >= 3
    assert any(text.startswith("Because you rated") for text in reasons.all_inner_texts())

    first_title = recommended.locator(".card-title").first.inner_text()
    recommended.get_by_role("button", name="Not interested").first.click()
    expect(page.get_by_text("Got it: we will not recommend that book to you again.")).to_be_visible()
    expect(page.locator("#recommended .card-title").first).not_to_have_text(first_title)
    assert first_title not in page.locator("#recommended").inner_text()
    assert page.js_errors == []
