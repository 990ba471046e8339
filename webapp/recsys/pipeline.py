"""From events to cached recommendations: choose a model, evaluate it, explain its picks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import fields
from typing import Any

import numpy as np
import pandas as pd

from webapp.recsys.data import Interactions, binarize
from webapp.recsys.evaluation import fit_and_evaluate, sampled_negatives, split_interactions, subsample_split
from webapp.recsys.models import (
    ItemKNN,
    MatrixFactorization,
    MostPopular,
    Recommender,
    UserKNN,
    embedding_neighbours,
    item_cosine_similarity,
)
from webapp.recsys.neural import NCFRating, NeuMF
from webapp.recsys.serving import vector_to_bytes

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
    for algorithm in algorithms:
        metrics = fit_and_evaluate(make(algorithm), split, k=k, negatives=negatives)
        results[algorithm] = metrics
        if on_done is not None:
            on_done(algorithm, metrics)
    return results


KIND_PRIORITY = {"rating": 0, "loan": 1, "purchase": 2, "review": 3, "favourite": 4, "view": 5}


class ReasonWriter:
    """Explains each recommended book by the reader's own book most like it.

    Similarity between books is item-item cosine over all readers' interactions. The
    reader's book with the highest similarity to the recommendation is named with what
    the reader did with it ("Because you rated *Dune* 5★"); when none of the reader's
    books is related, the reason is the book's popularity in its category.
    """

    def __init__(self, interactions: Interactions, events: pd.DataFrame, books: pd.DataFrame) -> None:
        self.history = binarize(interactions.matrix)
        self.similarity = item_cosine_similarity(self.history)
        book_index = books.set_index("book_id")
        item_ids = interactions.item_ids
        self.titles = book_index["title"].reindex(item_ids).fillna("a book you liked").to_numpy()
        self.categories = book_index["category"].reindex(item_ids).to_numpy()
        frame = events.assign(
            user=interactions.user_codes(events["user_id"].to_numpy()),
            item=interactions.item_codes(events["item_id"].to_numpy()),
            priority=events["kind"].map(KIND_PRIORITY).fillna(9),
        )
        frame = frame[(frame["user"] >= 0) & (frame["item"] >= 0)]
        strongest = frame.sort_values(["priority", "timestamp"], ascending=[True, False]).drop_duplicates(
            ["user", "item"]
        )
        self.keys = strongest["user"].to_numpy(np.int64) * interactions.n_items + strongest["item"].to_numpy()
        order = np.argsort(self.keys)
        self.keys = self.keys[order]
        self.kinds = strongest["kind"].to_numpy()[order]
        self.stars = strongest["rating"].to_numpy()[order]
        self.n_items = interactions.n_items

    def reasons(self, user_codes: np.ndarray, items: np.ndarray) -> list[list[str]]:
        """A reason for each (user, recommended item) of an (n_users, k) block."""
        history = self.history[user_codes].toarray().astype(bool)
        out: list[list[str]] = [[] for _ in user_codes]
        for rank in range(items.shape[1]):
            related = self.similarity[items[:, rank]]  # symmetric: row r = similarity of every item to r
            related = np.where(history, related, -1.0)
            because = related.argmax(axis=1)
            strength = related[np.arange(len(user_codes)), because]
            keys = user_codes * self.n_items + because
            positions = np.clip(np.searchsorted(self.keys, keys), 0, len(self.keys) - 1)
            for row in range(len(user_codes)):
                if strength[row] <= 0:
                    category = self.categories[items[row, rank]]
                    out[row].append(
                        f"Popular in {category} this month"
                        if isinstance(category, str)
                        else "Popular with readers this month"
                    )
                    continue
                position = positions[row]
                kind = self.kinds[position] if self.keys[position] == keys[row] else "view"
                out[row].append(_reason(kind, self.titles[because[row]], int(self.stars[position])))
        return out


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
    top_k: int,
    block_size: int = 2048,
) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """Blocks of cache rows (user_id, book_id, rank, score, reason) for every reader, best first.

    Items the reader already interacted with are excluded. Yields (readers done, rows).
    """
    all_users = np.arange(interactions.n_users)
    for start in range(0, len(all_users), block_size):
        users = all_users[start : start + block_size]
        items, scores = model.recommend(users, top_k, exclude_seen=True)
        texts = reasons.reasons(users, items)
        rows = []
        for row, user in enumerate(users):
            user_id = int(interactions.user_ids[user])
            for rank in range(items.shape[1]):
                if not np.isfinite(scores[row, rank]):
                    break  # the reader has interacted with every remaining book
                rows.append(
                    {
                        "user_id": user_id,
                        "book_id": int(interactions.item_ids[items[row, rank]]),
                        "rank": rank + 1,
                        "score": float(scores[row, rank]),
                        "reason": texts[row][rank],
                    }
                )
        yield len(users), rows


MIN_RATINGS = 20


def similar_book_rows(
    embeddings: np.ndarray, interactions: Interactions, k: int = 10, min_readers: int = 5, block_size: int = 1024
) -> list[dict[str, Any]]:
    """Rows (book_id, rank, similar_book_id, score): each book's nearest books by embedding cosine.

    Only books with at least ``min_readers`` readers get neighbours or are offered as one:
    the embedding of a book hardly anyone touched is still mostly its random start.
    """
    readers = np.asarray(binarize(interactions.matrix).sum(axis=0)).ravel()
    eligible = readers >= min_readers
    codes = np.flatnonzero(eligible)
    rows: list[dict[str, Any]] = []
    for start in range(0, len(codes), block_size):
        block = codes[start : start + block_size]
        neighbours, scores = embedding_neighbours(embeddings, block, k, candidates=eligible)
        for row, item in enumerate(block):
            for rank in range(neighbours.shape[1]):
                if not np.isfinite(scores[row, rank]) or scores[row, rank] <= 0:
                    break
                rows.append(
                    {
                        "book_id": int(interactions.item_ids[item]),
                        "rank": rank + 1,
                        "similar_book_id": int(interactions.item_ids[neighbours[row, rank]]),
                        "score": float(scores[row, rank]),
                    }
                )
    return rows


def rating_triples(events: pd.DataFrame, interactions: Interactions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The explicit ratings as (user code, item code, stars), in the interactions' codes."""
    ratings = events[(events["kind"] == "rating") & (events["rating"] >= 1)]
    users = interactions.user_codes(ratings["user_id"].to_numpy())
    items = interactions.item_codes(ratings["item_id"].to_numpy())
    known = (users >= 0) & (items >= 0)
    return users[known], items[known], ratings["rating"].to_numpy(np.float32)[known]


def make_rating_model(seed: int = 42, progress: Callable[[dict], None] | None = None) -> NCFRating:
    """The rating model with its defaults (those of ``flask train-recs``)."""
    return NCFRating(seed=seed, progress=progress)


def rating_factor_rows(vectors: np.ndarray, codes: np.ndarray, ids: np.ndarray, key: str) -> Iterator[dict[str, Any]]:
    """Database rows {key: id, "vector": bytes} for the given codes."""
    for code in np.unique(codes):
        yield {key: int(ids[code]), "vector": vector_to_bytes(vectors[code])}
