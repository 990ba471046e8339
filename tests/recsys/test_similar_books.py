"""Similar books: each book's nearest by embedding cosine, among books read by enough readers."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from webapp.recsys.data import Interactions
from webapp.recsys.pipeline import similar_book_rows


def _library(readers_per_book: list[int], seed: int = 0) -> tuple[np.ndarray, Interactions]:
    """Books with the given numbers of readers (each reader's value 2.0, as weights sum) and random embeddings."""
    rng = np.random.default_rng(seed)
    n_users = max(readers_per_book)
    rows = np.concatenate([rng.choice(n_users, n, replace=False) for n in readers_per_book])
    cols = np.repeat(np.arange(len(readers_per_book)), readers_per_book)
    matrix = sp.csr_matrix((np.full(len(rows), 2.0, np.float32), (rows, cols)), shape=(n_users, len(readers_per_book)))
    interactions = Interactions(
        matrix=matrix,
        last_seen=matrix.copy(),
        user_ids=np.arange(1, n_users + 1),
        item_ids=np.arange(100, 100 + len(readers_per_book)),
    )
    return rng.standard_normal((len(readers_per_book), 8)).astype(np.float32), interactions


@pytest.mark.parametrize("block_scores", [1, 7 * 40, 2**22])
def test_blocks_of_any_size_give_the_same_rows(block_scores):
    embeddings, interactions = _library([5 + n % 7 for n in range(40)])
    whole = similar_book_rows(embeddings, interactions, k=4, block_scores=10**9)
    blocked = similar_book_rows(embeddings, interactions, k=4, block_scores=block_scores)

    def pairs(rows):
        return [(row["book_id"], row["rank"], row["similar_book_id"]) for row in rows]

    assert pairs(blocked) == pairs(whole)
    assert [row["score"] for row in blocked] == pytest.approx([row["score"] for row in whole], rel=1e-5)
    assert {row["book_id"] for row in whole} == set(range(100, 140))
    for row in whole:
        book, other = row["book_id"] - 100, row["similar_book_id"] - 100
        cosine = (
            embeddings[book] @ embeddings[other] / np.linalg.norm(embeddings[book]) / np.linalg.norm(embeddings[other])
        )
        assert row["score"] == pytest.approx(cosine, rel=1e-5)


def test_books_with_too_few_readers_get_no_neighbours_and_are_none():
    """Readers are counted once each, whatever their summed weight: 4 readers of weight 2 are still 4."""
    embeddings, interactions = _library([4, 5, 6, 5, 4, 7])
    rows = similar_book_rows(embeddings, interactions, k=5)
    books_with_rows = {row["book_id"] for row in rows}
    neighbours = {row["similar_book_id"] for row in rows}
    assert books_with_rows == neighbours == {101, 102, 103, 105}
