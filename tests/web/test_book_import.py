"""Bulk import of books from CSV in the back office: every row checked, then all or nothing."""

from __future__ import annotations

import html
import io
import os
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from tests.helpers import SHARED_DATA_DIR, make_book
from webapp.extensions import db
from webapp.models import Book, Category
from webapp.services import book_import

HEADER = (
    "book_id,isbn,authors,original_publication_year,title,average_rating,ratings_count,image_url,"
    "category,price,copies,stock"
)
GOOD_ROWS = [
    "9001,0141439513,Jane Austen,1813.0,Pride and Prejudice,4.25,2000,https://example.org/p.jpg,Classics,8.99,2,10",
    "9002,0451524934,George Orwell,1949,Nineteen Eighty-Four,4.17,1500,,Dystopia,9.50,1,0",
    "9003,,Anonymous,,Beowulf,3.4,10,,,,,",
]


def _csv(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def _upload(client, content: bytes, filename: str = "books.csv") -> str:
    """The page after uploading, with HTML entities turned back into text."""
    response = client.post(
        "/admin/book_import/",
        data={"file": (io.BytesIO(content), filename)},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    return html.unescape(response.get_data(as_text=True))


def _count(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_good_file_imports_every_book(staff_client):
    make_book("Dune", category="Classics")
    page = _upload(staff_client, _csv(*GOOD_ROWS))
    assert "Imported 3 books. New categories: Dystopia." in page
    assert _count(Book) == 4
    pride = db.session.scalar(select(Book).where(Book.title == "Pride and Prejudice"))
    assert pride.isbn13 == "9780141439518" and pride.publication_year == 1813
    assert (pride.price, pride.copies_total, pride.copies_available, pride.stock) == (Decimal("8.99"), 2, 2, 10)
    assert pride.category.name == "Classics" and pride.source_book_id == 9001
    beowulf = db.session.scalar(select(Book).where(Book.title == "Beowulf"))
    assert beowulf.isbn13 is None and beowulf.category is None and beowulf.price == Decimal("0.00")
    assert staff_client.get("/books?q=orwell").get_data(as_text=True).count("Nineteen Eighty-Four") >= 1


def test_the_demo_books_file_imports(staff_client):
    """The demo's own books.csv (goodbooks-10k columns) is a valid import file."""
    with open(os.path.join(SHARED_DATA_DIR, "goodbooks", "books.csv"), encoding="utf-8") as handle:
        first_lines = [next(handle) for _ in range(21)]
    page = _upload(staff_client, "".join(first_lines).encode())
    assert "Imported 20 books." in page
    hunger = db.session.scalar(select(Book).where(Book.source_book_id == 1))
    assert hunger.isbn13 == "9780439023481"  # from the ISBN-10: the file's isbn13 column lost digits


@pytest.mark.parametrize(
    ("bad_row", "message"),
    [
        ("9004,0141439513,Someone,2001,Copy of Pride,4,1,,,1,1,1", "ISBN 9780141439518 already appears on line 2"),
        ("9004,12345,Someone,2001,Bad ISBN,4,1,,,1,1,1", "isbn '12345' is not a valid ISBN-10"),
        ("9004,,Someone,2001,Negative price,4,1,,,-3,1,1", "price must be from 0 to 999999.99"),
        ("9004,,Someone,2001,Bad copies,4,1,,,1,abc,1", "copies must be a whole number, got 'abc'"),
        ("9004,,Someone,2001,Half a copy,4,1,,,1,2.5,1", "copies must be a whole number from 0 to 1000"),
        ("9004,,Someone,2001,Negative stock,4,1,,,1,1,-3", "stock must be a whole number from 0 to 100000"),
        ("9004,,Someone,2001,Rating,9,1,,,1,1,1", "average_rating must be from 0 to 5"),
        ("9004,,Someone,year,Bad year,4,1,,,1,1,1", "original_publication_year must be a whole number"),
        ("9004,,,2001,No author,4,1,,,1,1,1", "authors is empty"),
        ("9004,,Someone,2001,,4,1,,,1,1,1", "title is empty"),
        ("9001,,Someone,2001,Same id,4,1,,,1,1,1", "book_id 9001 already appears on line 2"),
        ("9004,,Someone,2001,Too,many,cells,,,,1,1,1,1", "the row has more cells than the header"),
        ("9004,,Someone,2001," + "x" * 301 + ",4,1,,,1,1,1", "title is longer than 300 characters"),
    ],
)
def test_one_bad_row_means_nothing_is_imported(staff_client, bad_row, message):
    page = _upload(staff_client, _csv(*GOOD_ROWS, bad_row))
    assert "Nothing was imported: 1 row(s) have problems." in page
    assert "<td>5</td>" in page and message in page  # line 5: the header is line 1
    assert _count(Book) == 0 and _count(Category) == 0


def test_books_already_in_the_catalogue_are_bad_rows(staff_client):
    make_book("Pride and Prejudice", authors="Jane Austen", isbn13="9780141439518")
    page = _upload(staff_client, _csv(*GOOD_ROWS))
    assert "ISBN 9780141439518 is already in the catalogue (“Pride and Prejudice”)" in page
    assert _count(Book) == 1


@pytest.mark.parametrize(
    ("content", "filename", "message"),
    [
        (b"", "books.csv", "The file is empty"),
        (b"title,authors\n", "books.csv", "The file has a header but no books."),
        (b"name,writer\nDune,Herbert\n", "books.csv", "The header lacks the column(s) title, authors."),
        (b"title,authors\n\xff\xfeDune,Herbert\n", "books.csv", "The file is not UTF-8 text"),
        (b"title,authors\nDune,Herbert\n", "books.xlsx", "The file must be a .csv file."),
        (b'title,authors\n"Dune,Herbert\n', "books.csv", "Nothing was imported"),
    ],
)
def test_malformed_files_are_refused_with_a_message(staff_client, content, filename, message):
    page = _upload(staff_client, content, filename)
    assert message in page
    assert _count(Book) == 0


def test_a_post_without_a_file_asks_for_one(staff_client):
    page = staff_client.post("/admin/book_import/", data={}, follow_redirects=True).get_data(as_text=True)
    assert "Choose a CSV file." in page


def test_the_service_lists_every_bad_row(app):
    rows = [*GOOD_ROWS, "9004,,,2001,No author,4,1,,,1,1,1", "9005,,Someone,2001,Rating,9,1,,,-1,1,1"]
    with pytest.raises(book_import.ImportRejected) as rejected:
        book_import.import_books(_csv(*rows))
    assert [line for line, _ in rejected.value.problems] == [5, 6]
    assert "average_rating" in rejected.value.problems[1][1] and "price" in rejected.value.problems[1][1]
    assert _count(Book) == 0
