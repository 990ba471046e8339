"""Baselines that only the benchmark uses: ALS from ``implicit``, a content-only nearest-neighbour model, random.

They follow :class:`webapp.recsys.models.Recommender` (fit a readers x items matrix,
score readers), so the benchmark measures them exactly as it measures the product's models.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize
from threadpoolctl import threadpool_limits

from webapp.recsys.data import binarize
from webapp.recsys.features import ItemDescription, title_words
from webapp.recsys.models import Recommender, runtime


@dataclass(eq=False)
class ImplicitALS(Recommender):
    """Weighted matrix factorisation for implicit feedback (Hu, Koren, Volinsky 2008), by the ``implicit`` package.

    Confidence 1 + ``alpha`` on every interaction; ``iterations`` alternating least-squares sweeps.
    """

    name: ClassVar[str] = "als"
    factors: int = 64
    regularization: float = 0.05
    alpha: float = 20.0
    iterations: int = 15
    seed: int = 42

    def fit(self, matrix: sp.csr_matrix) -> ImplicitALS:
        from implicit.cpu.als import AlternatingLeastSquares

        matrix = self._remember(binarize(matrix))
        with threadpool_limits(1, "blas"):  # implicit runs its own threads; BLAS threads on top slow it down
            model = AlternatingLeastSquares(
                factors=self.factors,
                regularization=self.regularization,
                alpha=self.alpha,
                iterations=self.iterations,
                random_state=self.seed,
            )
            model.fit(matrix, show_progress=False)
        self.user_factors = np.asarray(model.user_factors, dtype=np.float32)
        self.item_factors = np.asarray(model.item_factors, dtype=np.float32)
        return self

    def score(self, user_codes: np.ndarray) -> np.ndarray:
        return self.user_factors[user_codes] @ self.item_factors.T


def item_text(item: ItemDescription) -> str:
    """One document per item: its category, tags, authors, decade and title words, as tokens."""
    tokens = [f"category={item.category}"] if item.category else []
    tokens += [f"tag={tag}" for tag in item.tags]
    tokens += [f"author={author}" for author in item.authors]
    if item.year is not None and np.isfinite(item.year):
        tokens.append(f"decade={int(item.year) // 10 * 10}")
    tokens += title_words(item.title)
    return " ".join(token.replace(" ", "_") for token in tokens)


@dataclass(eq=False)
class ContentKNN(Recommender):
    """Content only: TF-IDF vectors of each item's side information; a reader scores items by cosine to their history.

    The reader's profile is the normalised sum of the TF-IDF vectors of the items they
    interacted with; no collaborative signal at all, so a book nobody touched scores like any other.
    """

    name: ClassVar[str] = "content_knn"
    items: list[ItemDescription] | None = runtime()

    def fit(self, matrix: sp.csr_matrix) -> ContentKNN:
        matrix = self._remember(binarize(matrix))
        documents = [item_text(item) for item in self.items]
        vectors = TfidfVectorizer(token_pattern=r"\S+", sublinear_tf=True).fit_transform(documents)
        self.vectors = normalize(vectors).astype(np.float32).tocsr()
        return self

    def score(self, user_codes: np.ndarray) -> np.ndarray:
        profiles = normalize(self.train_matrix[user_codes] @ self.vectors)
        return np.asarray((profiles @ self.vectors.T).toarray(), dtype=np.float32)


@dataclass(eq=False)
class RandomScores(Recommender):
    """Uniform random scores: the floor every model must clear.

    Each user's row is drawn from a generator seeded by (seed, user), so the scores do not
    depend on how users are grouped or on which thread scores them.
    """

    name: ClassVar[str] = "random"
    seed: int = 42

    def fit(self, matrix: sp.csr_matrix) -> RandomScores:
        self._remember(matrix)
        return self

    def score(self, user_codes: np.ndarray) -> np.ndarray:
        n_items = self.train_matrix.shape[1]
        rows = [np.random.default_rng((self.seed, int(user))).random(n_items, dtype=np.float32) for user in user_codes]
        return np.array(rows, dtype=np.float32).reshape(len(user_codes), n_items)
