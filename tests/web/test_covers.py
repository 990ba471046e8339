"""Covers: the real jacket when there is one, else the one the site draws for the book."""

import re
import xml.etree.ElementTree as ElementTree

import pytest

from tests.helpers import make_book
from webapp.extensions import db
from webapp.services import covers

SVG = "{http://www.w3.org/2000/svg}"
NO_PHOTO = "https://s.gr-assets.com/assets/nophoto/book/111x148-bcc042a9c91a29c1d680899eff700a03.png"


def _svg_text(response) -> list[str]:
    root = ElementTree.fromstring(response.get_data())
    return [" ".join(part.strip() for part in text.itertext() if part.strip()) for text in root.iter(f"{SVG}text")]


def _cover_src(html: str, title: str) -> tuple[str, str]:
    tag = re.search(rf'<img[^>]*alt="Cover of {re.escape(title)}"[^>]*>', html).group(0)
    return re.search(r'src="([^"]+)"', tag).group(1), re.search(r'data-fallback="([^"]+)"', tag).group(1)


def test_the_drawn_cover_sets_title_author_and_category(client, app):
    book = make_book("The Left Hand of Darkness", "Ursula K. Le Guin, Someone Else")
    response = client.get(f"/books/{book.id}/cover.svg?v={covers.cover_version(book)}")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    texts = _svg_text(response)
    assert "The Left Hand of Darkness" in " ".join(texts)
    assert "Ursula K. Le Guin" in texts
    assert "Someone Else" not in " ".join(texts)
    assert "SCIENCE FICTION" in texts
    root = ElementTree.fromstring(response.get_data())
    assert (root.get("width"), root.get("height")) == ("200", "300")  # the 2:3 shape of a real cover
    assert response.cache_control.public and response.cache_control.max_age == 30 * 86400


def test_a_cover_url_without_its_current_version_is_kept_only_briefly(client, app):
    book = make_book()
    assert client.get(f"/books/{book.id}/cover.svg").cache_control.max_age == 60
    assert client.get(f"/books/{book.id}/cover.svg?v=stale").cache_control.max_age == 60


def test_markup_in_a_title_is_text_on_the_cover(client, app):
    book = make_book('<script>alert(1)</script> & "Friends"', "A <b>Bold</b> Author")
    response = client.get(f"/books/{book.id}/cover.svg")
    body = response.get_data(as_text=True)
    assert "<script>" not in body and "<b>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    ElementTree.fromstring(response.get_data())  # still well-formed XML


def test_a_cover_for_a_missing_book_is_not_found(client, app):
    assert client.get("/books/999/cover.svg").status_code == 404


def test_books_of_one_category_share_colours_and_other_categories_differ(app):
    dune, messiah = make_book("Dune"), make_book("Dune Messiah")
    emma = make_book("Emma", "Jane Austen", category="Classics")
    assert covers.design(dune).background == covers.design(messiah).background
    assert covers.design(dune).pattern == covers.design(messiah).pattern
    assert (covers.design(dune).background, covers.design(dune).pattern) != (
        covers.design(emma).background,
        covers.design(emma).pattern,
    )


def test_the_cover_version_follows_what_the_cover_shows(app):
    book = make_book()
    before = covers.cover_version(book)
    book.title = "Dune (Deluxe Edition)"
    db.session.commit()
    assert covers.cover_version(book) != before


@pytest.mark.parametrize(
    ("text", "width", "lines", "expected"),
    [
        ("Dune", 15, 5, ["Dune"]),
        ("The Hitchhiker's Guide to the Galaxy", 15, 5, ["The", "Hitchhiker's", "Guide to the", "Galaxy"]),
        ("one two three four five six seven", 9, 2, ["one two", "three…"]),
        ("Supercalifragilisticexpialidocious", 15, 5, ["Supercalifragi-", "listicexpialid-", "ocious"]),
        ("", 15, 5, []),
    ],
)
def test_wrap_fits_lines_and_marks_a_cut(text, width, lines, expected):
    wrapped = covers.wrap(text, width, lines)
    assert wrapped == expected
    assert all(len(line) <= width for line in wrapped)


@pytest.mark.parametrize("cover_url", [None, "", "   ", NO_PHOTO])
def test_books_without_a_real_cover_show_the_drawn_one(client, app, cover_url):
    book = make_book("Emma", "Jane Austen", category="Classics", cover_url=cover_url)
    src, fallback = _cover_src(client.get("/books").get_data(as_text=True), "Emma")
    assert src == fallback == f"/books/{book.id}/cover.svg?v={covers.cover_version(book)}"


def test_a_real_cover_is_shown_with_the_drawn_one_behind_it(client, app):
    book = make_book(cover_url="https://images.example.org/dune.jpg")
    for path in ("/books", f"/books/{book.id}", "/"):
        src, fallback = _cover_src(client.get(path).get_data(as_text=True), "Dune")
        assert src == "https://images.example.org/dune.jpg"
        assert fallback.startswith(f"/books/{book.id}/cover.svg?v=")
