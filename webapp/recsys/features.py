"""What the catalogue knows about each item, encoded as integer codes for the content tower.

Every item gets a category, up to ``MAX_TAGS`` tags (shelves), up to ``MAX_AUTHORS``
authors, a publication decade and up to ``MAX_TITLE_WORDS`` title words. Each kind has
its own vocabulary, learned from the training catalogue; code 0 is "none / unknown", so
a book added later is encoded with the same vocabularies (its unseen words map to 0)
and still gets a content vector. On MovieLens the same slots hold genres, the title and
the release decade.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

MAX_TAGS = 5
MAX_AUTHORS = 3
MAX_TITLE_WORDS = 12
MIN_WORD_COUNT = 2  # title words seen fewer times are unknown (0): too rare to learn from
_WORD = re.compile(r"[a-z0-9]+")


def title_words(title: str) -> list[str]:
    """Lower-case words of a title, series brackets included ("(Harry Potter, #1)" -> harry, potter, 1)."""
    return _WORD.findall(title.lower())


def _decade(year: float | int | None) -> str:
    if year is None or not np.isfinite(year):
        return ""
    return f"{int(year) // 10 * 10}s"


@dataclass(frozen=True)
class ItemDescription:
    """One item as the catalogue describes it."""

    category: str = ""
    tags: Sequence[str] = ()
    authors: Sequence[str] = ()
    year: float | int | None = None
    title: str = ""


@dataclass
class ItemFeatures:
    """Integer codes of every item's side information (0 = none), rows in item-code order."""

    category: np.ndarray  # (n_items,)
    tags: np.ndarray  # (n_items, MAX_TAGS)
    authors: np.ndarray  # (n_items, MAX_AUTHORS)
    decade: np.ndarray  # (n_items,)
    title: np.ndarray  # (n_items, MAX_TITLE_WORDS)

    def __len__(self) -> int:
        return len(self.category)

    def rows(self, codes: np.ndarray) -> ItemFeatures:
        """The features of the given items only."""
        return ItemFeatures(*(getattr(self, name)[codes] for name in FEATURE_FIELDS))


FEATURE_FIELDS = ("category", "tags", "authors", "decade", "title")


@dataclass
class FeatureVocabulary:
    """The value -> code maps of each feature kind (codes from 1; 0 is none or unknown)."""

    category: dict[str, int]
    tags: dict[str, int]
    authors: dict[str, int]
    decade: dict[str, int]
    title: dict[str, int]

    @classmethod
    def learn(cls, items: Iterable[ItemDescription]) -> FeatureVocabulary:
        """Vocabularies of every value the items use (title words: those used at least MIN_WORD_COUNT times)."""
        counts = {name: Counter() for name in FEATURE_FIELDS}
        for item in items:
            counts["category"][item.category] += 1
            counts["tags"].update(item.tags[:MAX_TAGS])
            counts["authors"].update(item.authors[:MAX_AUTHORS])
            counts["decade"][_decade(item.year)] += 1
            counts["title"].update(title_words(item.title)[:MAX_TITLE_WORDS])
        minimum = {"title": MIN_WORD_COUNT}

        def vocabulary(name: str) -> dict[str, int]:
            kept = sorted(value for value, n in counts[name].items() if value and n >= minimum.get(name, 1))
            return {value: code for code, value in enumerate(kept, start=1)}

        return cls(*(vocabulary(name) for name in FEATURE_FIELDS))

    def sizes(self) -> dict[str, int]:
        """Rows each embedding table needs (codes plus the 0 row)."""
        return {name: len(getattr(self, name)) + 1 for name in FEATURE_FIELDS}

    def encode(self, items: Sequence[ItemDescription]) -> ItemFeatures:
        """Codes of the items' side information; values outside the vocabularies become 0."""

        def padded(lists: list[list[str]], vocabulary: dict[str, int], width: int) -> np.ndarray:
            out = np.zeros((len(lists), width), dtype=np.int32)
            for row, values in enumerate(lists):
                codes = [vocabulary.get(value, 0) for value in values[:width]]
                out[row, : len(codes)] = codes
            return out

        return ItemFeatures(
            category=np.array([self.category.get(item.category, 0) for item in items], dtype=np.int32),
            tags=padded([list(item.tags) for item in items], self.tags, MAX_TAGS),
            authors=padded([list(item.authors) for item in items], self.authors, MAX_AUTHORS),
            decade=np.array([self.decade.get(_decade(item.year), 0) for item in items], dtype=np.int32),
            title=padded([title_words(item.title) for item in items], self.title, MAX_TITLE_WORDS),
        )

    def to_json(self) -> str:
        return json.dumps({name: getattr(self, name) for name in FEATURE_FIELDS}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> FeatureVocabulary:
        data = json.loads(text)
        return cls(*(data[name] for name in FEATURE_FIELDS))


@dataclass
class UserFeatures:
    """Integer codes of what is known about each user, one column per field (0 = unknown), rows in user-code order.

    On MovieLens: age bucket, gender and occupation from ``u.user``. The demo's readers
    give none of these, so the app's models go without.
    """

    fields: tuple[str, ...]
    codes: np.ndarray  # (n_users, len(fields))

    @classmethod
    def encode(cls, fields: Sequence[str], rows: Sequence[Sequence[str]]) -> UserFeatures:
        """Codes of each user's values, one vocabulary per field (empty values are unknown: 0)."""
        codes = np.zeros((len(rows), len(fields)), dtype=np.int32)
        for column in range(len(fields)):
            values = sorted({row[column] for row in rows if row[column]})
            vocabulary = {value: code for code, value in enumerate(values, start=1)}
            codes[:, column] = [vocabulary.get(row[column], 0) for row in rows]
        return cls(tuple(fields), codes)

    def __len__(self) -> int:
        return len(self.codes)

    def sizes(self) -> list[int]:
        """Rows each field's embedding table needs (codes plus the 0 row)."""
        return [int(column.max(initial=0)) + 1 for column in self.codes.T]
