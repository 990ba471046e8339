"""ReaderBooks: the one event per reader and book that a recommendation's reason names."""

from __future__ import annotations

import numpy as np
import pandas as pd

from webapp.recsys.pipeline import ReaderBooks


def test_the_strongest_kind_and_the_latest_of_that_kind_are_kept_per_reader_and_book():
    events = pd.DataFrame(
        [
            (1, 7, "view", 50.0, 0),
            (1, 7, "rating", 10.0, 2),
            (1, 7, "rating", 30.0, 5),  # the reader changed their mind: the latest stars count
            (1, 7, "loan", 40.0, 0),
            (0, 7, "favourite", 5.0, 0),
            (0, 3, "view", 1.0, 0),
            (1, 2, "purchase", 20.0, 0),
            (1, 2, "loan", 10.0, 0),
        ],
        columns=["user", "item", "kind", "timestamp", "rating"],
    )
    books = ReaderBooks.from_frame(events)
    assert books.users.tolist() == [0, 0, 1, 1]
    assert dict(zip(*books.of(0)[:2], strict=True)) == {3: "view", 7: "favourite"}
    items, kinds, stars = books.of(1)
    assert {int(item): (kind, int(star)) for item, kind, star in zip(items, kinds, stars, strict=True)} == {
        2: ("loan", 0),
        7: ("rating", 5),
    }


def test_a_reader_with_no_events_has_no_books():
    books = ReaderBooks.from_columns(
        np.array([0]), np.array([4]), np.array(["view"], dtype=object), np.array([1.0]), np.array([0])
    )
    items, kinds, stars = books.of(5)
    assert len(items) == len(kinds) == len(stars) == 0
