"""Shelves to categories and tags."""

import pytest

from webapp.services.genres import FALLBACK_CATEGORY, categories_by_authors, categorise, slugify
from webapp.services.isbn import isbn13_from_isbn10


def test_specific_genre_beats_broad_fiction_shelf():
    category, tags = categorise([("to-read", 9000), ("fiction", 5000), ("fantasy", 900), ("magic", 200)])
    assert category == "Fantasy"
    assert tags == ["fantasy", "magic"]


def test_non_genre_shelves_are_ignored():
    category, tags = categorise([("to-read", 100), ("owned", 50), ("favorites", 40), ("kindle", 30)])
    assert category == FALLBACK_CATEGORY
    assert tags == []


def test_only_broad_shelves_give_literary_fiction_without_tags():
    assert categorise([("fiction", 10), ("novels", 5)]) == ("Literary Fiction", [])


def test_tags_are_capped_and_ordered_by_count():
    shelves = [("mystery", 10), ("crime", 50), ("thriller", 30), ("detective", 20), ("noir", 5), ("suspense", 1)]
    assert categorise(shelves, max_tags=3)[1] == ["crime", "thriller", "detective"]


SHELVED = [
    ("J.K. Rowling, Mary GrandPré", "Fantasy"),
    ("J.K. Rowling", "Fantasy"),
    ("Robert Galbraith, J.K. Rowling", "Mystery & Crime"),  # counts for Galbraith only
    ("Agatha Christie", "Mystery & Crime"),
    ("Terry Pratchett, Neil Gaiman", "Fantasy"),
    ("Terry Pratchett", "Humor"),
]


@pytest.mark.parametrize(
    "authors, category",
    [
        ("J.K. Rowling", "Fantasy"),
        ("j.k.  rowling , Jack Thorne", "Fantasy"),  # the first name decides, without case or spacing
        ("Robert Galbraith", "Mystery & Crime"),
        ("Agatha Christie, J.K. Rowling", "Mystery & Crime"),  # a co-author does not outvote the first
        ("Terry Pratchett", "Fantasy"),  # a tie (1 Fantasy, 1 Humor) goes to the first name alphabetically
        ("Neil Gaiman", FALLBACK_CATEGORY),  # only ever second on a shelved book
        ("Unknown Author", FALLBACK_CATEGORY),
        ("", FALLBACK_CATEGORY),
    ],
)
def test_books_without_shelves_take_their_authors_majority_category(authors, category):
    assert categories_by_authors(SHELVED, [authors]) == [category]


@pytest.mark.parametrize(
    "name, slug",
    [
        ("Mystery & Crime", "mystery-crime"),
        ("Children's", "childrens"),
        ("Science Fiction", "science-fiction"),
    ],
)
def test_slugify(name, slug):
    assert slugify(name) == slug


@pytest.mark.parametrize(
    "isbn10, isbn13",
    [
        ("439023483", "9780439023481"),  # leading zero dropped in the CSV
        ("0439023483", "9780439023481"),
        ("043942089X", "9780439420891"),
        ("", None),
        ("12345", None),  # wrong check digit
        ("0439023484", None),
        ("abc", None),
    ],
)
def test_isbn13_from_isbn10(isbn10, isbn13):
    assert isbn13_from_isbn10(isbn10) == isbn13
