"""Errors are answered once, by the app: JSON blueprints get JSON, pages get pages, refusals go back."""

from __future__ import annotations

import pytest

from tests.helpers import make_book
from webapp.services import circulation, reader_recs


def test_json_blueprints_answer_every_error_as_json(reader_client, monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("the cache is gone")

    monkeypatch.setattr(reader_recs, "recommendations_for", broken)
    response = reader_client.get("/api/recommendations")
    assert response.status_code == 500 and response.get_json()["error"] == "Internal Server Error"


@pytest.mark.parametrize(
    ("path", "status"), [("/dashboard/api/no-such-chart", 404), ("/dashboard/api/loans?from=yesterday", 400)]
)
def test_dashboard_json_errors(staff_client, path, status):
    response = staff_client.get(path)
    assert response.status_code == status
    assert response.get_json()["status"] == status


def test_anonymous_api_calls_get_json_401(client):
    response = client.get("/api/recommendations")
    assert response.status_code == 401 and response.get_json()["error"] == "Unauthorized"


def test_a_page_that_breaks_gets_the_sites_500_page(reader_client, monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(reader_recs, "recommendations_for", broken)
    response = reader_client.get("/profile/?tab=recs")
    assert response.status_code == 500
    assert "Nothing was changed" in response.get_data(as_text=True) and response.is_json is False


def test_a_refused_action_is_flashed_on_the_page_the_view_names(reader_client, reader):
    book = make_book(copies_total=1, copies_available=1)
    other = make_book("Emma", copies_total=1, copies_available=1)
    circulation.borrow(reader.id, book.id)
    response = reader_client.post(f"/books/{book.id}/borrow", follow_redirects=True)
    assert response.request.path == f"/books/{book.id}"
    assert "You already have this book on loan." in response.get_data(as_text=True)
    assert reader_client.post(f"/books/{other.id}/borrow").status_code == 302


def test_without_a_named_page_a_refusal_goes_back_to_the_form_on_this_site(reader_client, monkeypatch):
    from webapp.services import shop
    from webapp.services.errors import ServiceError

    def refuse(*_args):
        raise ServiceError("The shop is closed today.")

    monkeypatch.setattr(shop, "remove_item", refuse)
    response = reader_client.post("/cart/items/1/remove", headers={"Referer": "http://localhost/cart?x=1"})
    assert response.status_code == 302 and response.location == "/cart?x=1"
    response = reader_client.post("/cart/items/1/remove", headers={"Referer": "https://evil.example/"})
    assert response.location == "/"
