"""From events to cached recommendations: choose a model, evaluate it, explain its picks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from webapp.recsys.data import Interactions, times_of
from webapp.recsys.evaluation import (
    fit_and_evaluate,
    sampled_negatives,
    split_interactions,
    subsample_split,
)
from webapp.recsys.features import FeatureVocabulary, ItemDescription, ItemFeatures
from webapp.recsys.models import (
    EASE,
    ItemKNN,
    MatrixFactorization,
    MostPopular,
    Recommender,
    UserKNN,
    embedding_neighbours,
    in_slices,
    mask_seen,
    row_normalize,
    top_k,
)
from webapp.recsys.neural import NCFRating, NeuMF
from webapp.recsys.serving import arrays_to_bytes, content_tower_to_bytes, vector_to_bytes

# Every model by name, with its defaults in its own class (one place).
MODELS: dict[str, type[Recommender]] = {
    "neumf": NeuMF,
    "matrix_factorization": MatrixFactorization,
    "item_knn": ItemKNN,
    "user_knn": UserKNN,
    "most_popular": MostPopular,
}
ALGORITHMS = tuple(MODELS)
MIN_USERS, MIN_ITEMS, MIN_INTERACTIONS = 2, 2, 10


class NotEnoughData(ValueError):
    """Too little activity to train a recommender."""


def check_enough_data(interactions: Interactions) -> None:
    """Raise NotEnoughData unless there are a few readers, books and interactions."""
    if (
        interactions.n_users < MIN_USERS
        or interactions.n_items < MIN_ITEMS
        or interactions.n_interactions < MIN_INTERACTIONS
    ):
        raise NotEnoughData(
            f"Not enough reader activity to train a recommender: {interactions.n_users} readers, "
            f"{interactions.n_items} books, {interactions.n_interactions} interactions "
            f"(need at least {MIN_USERS}, {MIN_ITEMS} and {MIN_INTERACTIONS})."
        )


def make_model(algorithm: str, progress: Callable[[dict], None] | None = None, **overrides: Any) -> Recommender:
    """A fresh model of ``algorithm`` with its defaults, changed by the ``overrides`` that are not None.

    Overrides a model does not have (``epochs`` for ItemKNN, say) are ignored, so one set
    of command-line options serves every algorithm.
    """
    if algorithm not in MODELS:
        raise ValueError(f"Unknown algorithm {algorithm!r}; choose one of {', '.join(ALGORITHMS)}.")
    model_class = MODELS[algorithm]
    accepted = {spec.name for spec in fields(model_class) if spec.init}
    if progress is not None:
        overrides["progress"] = progress
    return model_class(**{name: value for name, value in overrides.items() if value is not None and name in accepted})


def evaluate_algorithms(
    interactions: Interactions,
    algorithms: list[str],
    make: Callable[[str], Recommender],
    seed: int = 42,
    max_users: int | None = 5000,
    k: int = 10,
    on_done: Callable[[str, dict[str, float]], None] | None = None,
) -> dict[str, dict[str, float]]:
    """Fit each algorithm on the same leave-one-out split and measure HR@K/NDCG@K, full and sampled."""
    split = subsample_split(split_interactions(interactions, seed=seed), max_users, seed=seed)
    negatives = sampled_negatives(split.train, split.test_users, split.test_items, seed=seed)
    results: dict[str, dict[str, float]] = {}
    times = times_of(interactions.last_seen, split.train)
    for algorithm in algorithms:
        model = make(algorithm)
        fit = partial(fit_model, model, last_seen=times)
        metrics = fit_and_evaluate(model, split, k=k, negatives=negatives, fit=fit)
        results[algorithm] = metrics
        if on_done is not None:
            on_done(algorithm, metrics)
    return results


def fit_model(
    model: Recommender,
    matrix: sp.csr_matrix,
    dismissed: sp.csr_matrix | None = None,
    last_seen: sp.csr_matrix | None = None,
) -> Recommender:
    """Fit ``model``; NeuMF also learns from the pairs readers dismissed, and holds out each reader's latest
    interaction (``last_seen``: event times) for early stopping and weighs recent ones more; EASE^R with a
    recency uses the times too; the other models use neither."""
    if isinstance(model, NeuMF):
        return model.fit(matrix, dismissed=dismissed, last_seen=last_seen)
    if isinstance(model, EASE):
        return model.fit(matrix, last_seen=last_seen)
    return model.fit(matrix)


def dismissal_matrix(dismissals: pd.DataFrame, interactions: Interactions) -> sp.csr_matrix:
    """The (user_id, item_id) pairs readers dismissed, as a matrix in the interactions' codes."""
    users = interactions.user_codes(dismissals["user_id"].to_numpy())
    items = interactions.item_codes(dismissals["item_id"].to_numpy())
    known = (users >= 0) & (items >= 0)
    return sp.csr_matrix(
        (np.ones(int(known.sum()), dtype=np.float32), (users[known], items[known])),
        shape=(interactions.n_users, interactions.n_items),
    )


KIND_PRIORITY = {"rating": 0, "loan": 1, "purchase": 2, "review": 3, "favourite": 4, "view": 5}
RELATED_AT_LEAST = 0.2  # cosine below which none of the reader's books explains a recommendation


@dataclass
class ReaderBooks:
    """What each reader did with each of their books, the strongest kind per pair, sorted by reader code.

    Held in small types (int32 codes; a kind's name by an int8 code; int8 stars): one
    row per reader and book is 22 million rows at 50x the demo, kept through training.
    """

    users: np.ndarray
    items: np.ndarray
    kind_codes: np.ndarray
    kind_names: np.ndarray
    stars: np.ndarray

    @classmethod
    def from_events(cls, events: pd.DataFrame, interactions: Interactions) -> ReaderBooks:
        """From events with reader and book ids (columns user_id, item_id, kind, timestamp, rating)."""
        frame = events.assign(
            user=interactions.user_codes(events["user_id"].to_numpy()),
            item=interactions.item_codes(events["item_id"].to_numpy()),
        )
        return cls.from_frame(frame[(frame["user"] >= 0) & (frame["item"] >= 0)])

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> ReaderBooks:
        """From a frame with columns user and item (codes), kind, timestamp (numbers) and rating."""
        return cls.from_columns(
            frame["user"].to_numpy(np.int64),
            frame["item"].to_numpy(np.int64),
            frame["kind"].to_numpy(),
            frame["timestamp"].to_numpy(np.float64),
            frame["rating"].to_numpy(np.int64),
        )

    @classmethod
    def from_columns(
        cls, users: np.ndarray, items: np.ndarray, kinds: np.ndarray, times: np.ndarray, stars: np.ndarray
    ) -> ReaderBooks:
        """The strongest event (rating before loan before ... view; the latest of a kind) per reader and book.

        One event per position of the arrays; ``times`` are numbers that order the events.
        NumPy only: it runs for every event at training and for one reader's after each action.
        """
        kind_codes, kind_names = pd.factorize(kinds)
        priority = np.array([KIND_PRIORITY.get(kind, 9) for kind in kind_names], dtype=np.int64)[kind_codes]
        order = np.lexsort((-np.asarray(times, dtype=np.float64), priority, items, users))
        sorted_users, sorted_items = users[order], items[order]
        first = np.ones(len(order), dtype=bool)  # the first, strongest, event of each (reader, book)
        first[1:] = (sorted_users[1:] != sorted_users[:-1]) | (sorted_items[1:] != sorted_items[:-1])
        keep = order[first]
        return cls(
            users[keep].astype(np.int32),
            items[keep].astype(np.int32),
            kind_codes[keep].astype(np.int8),
            np.asarray(kind_names, dtype=object),
            np.asarray(stars)[keep].astype(np.int8),
        )

    def of(self, user: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(items, kinds, stars) of one reader code."""
        # Bounds of the reader's own type: other values would have searchsorted cast (copy) every code first.
        start, stop = np.searchsorted(self.users, np.array([user, user + 1], dtype=self.users.dtype))
        return self.items[start:stop], self.kind_names[self.kind_codes[start:stop]], self.stars[start:stop]


class ReasonWriter:
    """Explains each recommended book by the reader's own book most like it.

    Likeness is the cosine of the model's item vectors (id embedding plus content). The
    reader's book closest to the recommendation is named with what the reader did with
    it ("Because you rated *Dune* 5★"); when none is at least ``RELATED_AT_LEAST`` alike,
    the reason is the book's category. The same writer explains the cached lists of
    ``train-recs`` and a reader's list recomputed after they act.
    """

    def __init__(self, item_vectors: np.ndarray | sp.csr_matrix, titles: np.ndarray, categories: np.ndarray) -> None:
        if sp.issparse(item_vectors):  # a model without embeddings: each item's column of interactions
            self.normalized = row_normalize(sp.csr_matrix(item_vectors, dtype=np.float32))
        else:
            norms = np.linalg.norm(item_vectors, axis=1, keepdims=True)
            self.normalized = (item_vectors / np.where(norms == 0, 1.0, norms)).astype(np.float32)
        self.titles = titles
        self.categories = categories

    @classmethod
    def for_model(cls, model: Recommender, books: pd.DataFrame, item_ids: np.ndarray) -> ReasonWriter:
        """A writer over the model's item embeddings (or its training columns), titles and categories by code."""
        vectors = model.item_embeddings() if hasattr(model, "item_embeddings") else model.train_matrix.T.tocsr()
        return cls.for_books(vectors, books, item_ids)

    @classmethod
    def for_books(cls, vectors, books: pd.DataFrame, item_ids: np.ndarray) -> ReasonWriter:
        """A writer over item ``vectors`` (row i: book ``item_ids[i]``), with titles and categories from ``books``."""
        book_index = books.set_index("book_id")
        return cls(
            vectors,
            book_index["title"].reindex(item_ids).fillna("a book you liked").to_numpy(),
            book_index["category"].reindex(item_ids).to_numpy(),
        )

    def reasons(self, recommended: np.ndarray, items: np.ndarray, kinds: np.ndarray, stars: np.ndarray) -> list[str]:
        """A reason for each recommended item code, from the reader's (items, kinds, stars)."""
        if len(items) == 0:
            return [self._by_category(item) for item in recommended]
        likeness = self.normalized[recommended] @ self.normalized[items].T
        likeness = likeness.toarray() if sp.issparse(likeness) else likeness
        closest = likeness.argmax(axis=1)
        return [
            _reason(kinds[best], self.titles[items[best]], int(stars[best]))
            if likeness[row, best] >= RELATED_AT_LEAST
            else self._by_category(recommended[row])
            for row, best in enumerate(closest)
        ]

    def _by_category(self, item: int) -> str:
        category = self.categories[item]
        return f"Picked for you from {category}" if isinstance(category, str) else "Picked for you"


def _reason(kind: str, title: str, stars: int) -> str:
    title = title if len(title) <= 150 else title[:147] + "..."
    if kind == "rating":
        return f"Because you rated “{title}” {stars}★"
    if kind == "loan":
        return f"Readers who borrowed “{title}” also borrowed this"
    if kind == "purchase":
        return f"Because you bought “{title}”"
    if kind == "review":
        return f"Because you reviewed “{title}”"
    if kind == "favourite":
        return f"Because you want to read “{title}”"
    return f"Because you looked at “{title}”"


def recommendation_rows(
    model: Recommender,
    interactions: Interactions,
    reasons: ReasonWriter,
    reader_books: ReaderBooks,
    count: int,
    dismissed: sp.csr_matrix | None = None,
    user_codes: np.ndarray | None = None,
    block_pairs: int = 2**24,
) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """Blocks of cache rows (user_id, book_id, rank, score, reason) for the readers (default: all), best first.

    Items the reader already interacted with, or dismissed, are excluded. Yields (readers done, rows).
    A block holds about ``block_pairs`` reader-book scores, so its memory does not grow with the
    catalogue (it holds several score matrices; 2,048 readers x 50,000 books is 0.4 GB each); each
    block is scored in slices side by side (:func:`in_slices`).
    """
    all_users = np.arange(interactions.n_users) if user_codes is None else np.sort(user_codes)
    block_size = max(64, block_pairs // max(interactions.n_items, 1))  # readers per block

    def best(users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        scores = np.asarray(model.score(users), dtype=np.float32)
        mask_seen(scores, model.train_matrix, users)
        if dismissed is not None:
            mask_seen(scores, dismissed, users)
        return top_k(scores, count)

    for start in range(0, len(all_users), block_size):
        users = all_users[start : start + block_size]
        slices = in_slices(best, users)
        items, scores = np.vstack([part for part, _ in slices]), np.vstack([part for _, part in slices])
        rows = []
        for row, user in enumerate(users):
            user_id = int(interactions.user_ids[user])
            shown = items[row][np.isfinite(scores[row])]  # fewer when the reader has seen nearly every book
            texts = reasons.reasons(shown, *reader_books.of(int(user)))
            for rank, item in enumerate(shown):
                rows.append(
                    {
                        "user_id": user_id,
                        "book_id": int(interactions.item_ids[item]),
                        "rank": rank + 1,
                        "score": float(scores[row, rank]),
                        "reason": texts[rank],
                    }
                )
        yield len(users), rows


MIN_RATINGS = 20


def most_recent_readers(interactions: Interactions, count: int) -> np.ndarray:
    """Codes of the ``count`` readers whose latest interaction is the most recent."""
    latest = np.asarray(interactions.last_seen.max(axis=1).todense()).ravel()
    if count >= len(latest):
        return np.arange(len(latest))
    return np.sort(np.argsort(-latest, kind="stable")[:count])


# Similar books are scored about this many at a time (books x catalogue): 83 books a block at
# 50,000 books, whose scores, their negation and argpartition's indices come to about 64 MiB
# (blocks of 1,024 books added 0.66 GB at 50x the demo).
SIMILAR_BLOCK_SCORES = 2**22


def similar_book_rows(
    embeddings: np.ndarray,
    interactions: Interactions,
    k: int = 10,
    min_readers: int = 5,
    block_scores: int = SIMILAR_BLOCK_SCORES,
) -> list[dict[str, Any]]:
    """Rows (book_id, rank, similar_book_id, score): each book's nearest books by embedding cosine.

    Books with 1 to ``min_readers - 1`` readers get no neighbours and are not offered as
    one: their id embedding learned from too few readers to mean much. Books nobody
    touched take part when they have a vector (the content model's): it is their content.
    """
    readers = np.bincount(interactions.matrix.indices, minlength=interactions.n_items)  # each stored value once
    has_vector = np.linalg.norm(embeddings, axis=1) > 0
    eligible = (readers >= min_readers) | ((readers == 0) & has_vector)
    codes = np.flatnonzero(eligible)
    block_size = max(1, block_scores // max(len(embeddings), 1))
    rows: list[dict[str, Any]] = []
    for start in range(0, len(codes), block_size):
        block = codes[start : start + block_size]
        neighbours, scores = embedding_neighbours(embeddings, block, k, candidates=eligible)
        for row, item in enumerate(block):
            rows.extend(
                _similar_rows(int(interactions.item_ids[item]), interactions.item_ids, neighbours[row], scores[row])
            )
    return rows


def _similar_rows(book_id: int, item_ids: np.ndarray, neighbours: np.ndarray, scores: np.ndarray) -> list[dict]:
    rows = []
    for rank in range(len(neighbours)):
        if not np.isfinite(scores[rank]) or scores[rank] <= 0:
            break
        rows.append(
            {
                "book_id": book_id,
                "rank": rank + 1,
                "similar_book_id": int(item_ids[neighbours[rank]]),
                "score": float(scores[rank]),
            }
        )
    return rows


def new_book_similar_rows(
    book_id: int, vector: np.ndarray, embeddings: np.ndarray, item_ids: np.ndarray, k: int = 10
) -> list[dict[str, Any]]:
    """Similar-book rows for a book added after training, from its content vector and every trained item's."""
    stacked = np.vstack([embeddings, vector[None, :]])
    neighbours, scores = embedding_neighbours(stacked, np.array([len(embeddings)]), k)
    return _similar_rows(book_id, np.append(item_ids, book_id), neighbours[0], scores[0])


def item_descriptions(books: pd.DataFrame) -> list[ItemDescription]:
    """The catalogue's side information per book (columns category, tags, authors, year, title), in row order."""
    return [
        ItemDescription(
            category=category if isinstance(category, str) else "",
            tags=tuple(tags) if isinstance(tags, list | tuple) else (),
            authors=tuple(name.strip() for name in authors.split(",") if name.strip())
            if isinstance(authors, str)
            else (),
            year=None if year is None or pd.isna(year) else float(year),
            title=title if isinstance(title, str) else "",
        )
        for category, tags, authors, year, title in zip(
            books["category"], books["tags"], books["authors"], books["year"], books["title"], strict=True
        )
    ]


def encode_catalogue(books: pd.DataFrame, item_ids: np.ndarray) -> tuple[FeatureVocabulary, ItemFeatures]:
    """Vocabularies learned from the whole catalogue, and the features of ``item_ids`` in code order."""
    descriptions = item_descriptions(books.set_index("book_id").reindex(item_ids).reset_index())
    vocabulary = FeatureVocabulary.learn(descriptions)
    return vocabulary, vocabulary.encode(descriptions)


# The live artifacts holding the readers' id embeddings as raw float32 rows (one reader's row is
# read at its offset, never the whole table), and the scorer's arrays whose widths they have.
READER_ROWS = {"neumf_gmf_user_rows": "gmf_history", "neumf_mlp_user_rows": "mlp_history"}


def live_artifacts(
    model: Recommender, vocabulary: FeatureVocabulary, interactions: Interactions
) -> Iterator[tuple[str, bytes | memoryview]]:
    """What scoring a reader live needs of a trained NeuMF, as (name, blob) pairs; nothing for other models.

    neumf_scorer: the item side and output layers (:class:`NeuMFScorer`); neumf_codes: the
    book and reader ids behind the codes (the readers' sorted: a reader's code is its
    position); neumf_gmf_user_rows / neumf_mlp_user_rows: the readers' id embeddings, one
    float32 row per code (widths those of the scorer's history tables, see READER_ROWS),
    handed over as views of the model's own tables; content_tower and feature_vocabulary:
    what encodes a new book. Each blob is built when it is asked for, so one that is stored
    and dropped before the next is asked for is never held beside it.
    """
    if not isinstance(model, NeuMF) or "gmf_history" not in model.scorer.arrays:
        return
    yield "neumf_scorer", model.scorer.to_bytes()
    yield "neumf_codes", arrays_to_bytes({"item_ids": interactions.item_ids, "user_ids": interactions.user_ids})
    for name, table in zip(READER_ROWS, (model.gmf_user_id, model.mlp_user_id), strict=True):
        yield name, memoryview(np.ascontiguousarray(table, dtype=np.float32)).cast("B")
    if model.content_tower is not None:
        yield "content_tower", content_tower_to_bytes(model.content_tower)
        yield "feature_vocabulary", vocabulary.to_json().encode()


def rating_triples(events: pd.DataFrame, interactions: Interactions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The explicit ratings as (user code, item code, stars), in the interactions' codes."""
    ratings = events[(events["kind"] == "rating") & (events["rating"] >= 1)]
    users = interactions.user_codes(ratings["user_id"].to_numpy())
    items = interactions.item_codes(ratings["item_id"].to_numpy())
    known = (users >= 0) & (items >= 0)
    return users[known], items[known], ratings["rating"].to_numpy(np.float32)[known]


def make_rating_model(
    seed: int = 42, item_features: ItemFeatures | None = None, progress: Callable[[dict], None] | None = None
) -> NCFRating:
    """The rating model with its defaults (those of ``flask train-recs``), given the books' features."""
    return NCFRating(seed=seed, item_features=item_features, progress=progress)


def rating_factor_rows(vectors: np.ndarray, codes: np.ndarray, ids: np.ndarray, key: str) -> Iterator[dict[str, Any]]:
    """Database rows {key: id, "vector": bytes} for the given codes."""
    for code in np.unique(codes):
        yield {key: int(ids[code]), "vector": vector_to_bytes(vectors[code])}
