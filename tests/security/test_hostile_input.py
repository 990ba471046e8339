"""Every URL rule the app registers, filled with hostile values, for anonymous, reader and staff clients: no 5xx."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from webapp.extensions import db
from webapp.models import Book, Loan, Order, OrderItem, Review, User
from webapp.models.base import utcnow
from webapp.models.shop import ORDER_PAID
from webapp.services import circulation

# Raw URL text (already percent-encoded where needed) for converters and query values.
BOUNDARY_VALUES = [
    "0",
    "-1",
    "1",
    str(2**63 - 1),
    str(2**63),
    str(2**64),
    "9" * 40,
    "x" * 5000,
    "%00",
    "%0A",
    "%0D%0ASet-Cookie:%20x=1",
    "%FF%FE",
    "..%2F..%2Fetc%2Fpasswd",
    "%3Cscript%3E",
    "1e999",
    "9999-12-31",
    "0001-01-01",
]
QUERY_NAMES = ("id", "page", "page_size", "sort", "desc", "search", "q", "from", "to", "next", "flt0_0", "url")
FORM_NAMES = ("rowid", "id", "action", "quantity", "rating", "body", "token", "next", "url", "username", "password")
CONVERTER = re.compile(r"<(?:[a-z_]+(?:\([^)]*\))?:)?([a-z_]+)>")
SKIPPED_ENDPOINTS = {"static", "bootstrap.static", "admin.static"}


def _rules(app) -> list[tuple[str, str]]:
    """(rule text, method) for every rule and method the app serves."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIPPED_ENDPOINTS or rule.endpoint.endswith(".static"):
            continue
        for method in sorted((rule.methods or set()) & {"GET", "POST"}):
            found.append((rule.rule, method))
    return sorted(found)


def _fill(rule: str, value: str) -> str:
    return CONVERTER.sub(value, rule)


def _request(client, rule: str, method: str, value: str):
    url = _fill(rule, value)
    query = "&".join(f"{name}={value}" for name in QUERY_NAMES)
    if method == "GET":
        return client.get(f"{url}?{query}")
    body = "&".join(f"{name}={value}" for name in FORM_NAMES)
    return client.post(f"{url}?{query}", data=body.encode("latin-1"), content_type="application/x-www-form-urlencoded")


@pytest.fixture()
def world(app, reader, admin_user):
    """A book, a loan, an order and a review, so that id 1 and friends lead somewhere."""
    book = Book(
        title="Dune", authors="Frank Herbert", price=Decimal("9.99"), copies_total=3, copies_available=3, stock=3
    )
    db.session.add(book)
    db.session.commit()
    circulation.borrow(reader.id, book.id)
    order = Order(user_id=reader.id, status=ORDER_PAID, total=Decimal("9.99"), paid_at=utcnow())
    order.items.append(OrderItem(book_id=book.id, quantity=1, unit_price=Decimal("9.99")))
    db.session.add_all([order, Review(user_id=reader.id, book_id=book.id, body="Spice!")])
    db.session.commit()
    return {"book": book}


@pytest.fixture()
def clients(app, world):
    """An anonymous, a reader and a staff client."""

    def logged_in(username: str, password: str):
        client = app.test_client()
        response = client.post("/auth/login", data={"username": username, "password": password})
        assert response.status_code == 302
        return client

    return {
        "anonymous": app.test_client(),
        "reader": logged_in("alice", "correct-horse-1"),
        "staff": logged_in("staff", "correct-horse-1"),
    }


def _logged_in_again(app, clients, kind: str):
    """A client whose earlier hostile request logged it out (a POST to /auth/logout) logs in again."""
    if kind == "anonymous":
        return clients[kind]
    username = "alice" if kind == "reader" else "staff"
    user = db.session.scalar(db.select(User).where(User.username == username))
    user.active = True
    db.session.commit()
    client = app.test_client()
    client.post("/auth/login", data={"username": username, "password": "correct-horse-1"})
    clients[kind] = client
    return client


@pytest.mark.parametrize("kind", ["anonymous", "reader", "staff"])
def test_every_route_answers_boundary_values_without_a_server_error(app, clients, kind):
    failures = []
    for rule, method in _rules(app):
        for value in BOUNDARY_VALUES:
            response = _request(clients[kind], rule, method, value)
            if response.status_code >= 500:
                failures.append(f"{method} {_fill(rule, value)[:60]} {value[:24]} -> {response.status_code}")
            if rule.startswith("/auth/logout") or "/sessions/" in rule:
                _logged_in_again(app, clients, kind)
    assert failures == [], "\n".join(failures)


def test_the_walk_covers_every_kind_of_route(app):
    rules = {rule for rule, _method in _rules(app)}
    assert {"/books/<int:book_id>", "/orders/<int:order_id>", "/admin/book/", "/dashboard/api/<chart>"} <= rules
    assert len(rules) > 60


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.data(),
    value=st.one_of(
        st.integers(min_value=-(2**70), max_value=2**70).map(str),
        st.text(max_size=60).map(lambda text: "".join(f"%{byte:02X}" for byte in text.encode("utf-8"))),
        st.binary(max_size=20).map(lambda raw: "".join(f"%{byte:02X}" for byte in raw)),
    ),
)
def test_random_values_on_random_routes_never_get_a_server_error(app, clients, data, value):
    rule, method = data.draw(st.sampled_from(_rules(app)))
    kind = data.draw(st.sampled_from(["anonymous", "reader", "staff"]))
    response = _request(clients[kind], rule, method, value)
    assert response.status_code < 500, f"{method} {_fill(rule, value)[:80]}"
    if rule.startswith("/auth/logout") or "/sessions/" in rule:
        _logged_in_again(app, clients, kind)
    assert db.session.scalar(db.select(db.func.count()).select_from(Loan)) >= 0
