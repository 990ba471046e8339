"""NeuMF's item-item part: sparse EASE^R weights, the blend chosen on the hold-out, and fold-in with it."""

import numpy as np
import pytest
import scipy.sparse as sp

from tests.recsys.helpers import planted, sessions, small_neumf
from webapp.recsys.models import EASE, sparse_ease_weights
from webapp.recsys.serving import NeuMFScorer, recency_weighted, standardised

pytest.importorskip("tensorflow")


def test_sparse_weights_equal_ease_where_kept():
    matrix = planted()
    dense = EASE(l2=10.0).fit(matrix).weights
    np.testing.assert_allclose(
        sparse_ease_weights(matrix, 10.0, max_items=60, nonzeros=60 * 59).toarray(), dense, atol=1e-6
    )
    kept = sparse_ease_weights(matrix, 10.0, max_items=60, nonzeros=60 * 5)
    assert np.all(np.diff(kept.indptr) <= 5)
    for item in (0, 17, 42):  # each row keeps its five largest weights in magnitude
        row = kept[item]
        strongest = np.sort(np.abs(dense[item]))[-5:]
        np.testing.assert_allclose(np.sort(np.abs(row.data)), strongest, atol=1e-6)


def test_sparse_weights_cover_only_the_most_read_items():
    matrix = planted().tolil()
    matrix[:40, 3] = 1  # book 3 is read by 40 more readers, book 59 by nobody
    matrix[:, 59] = 0
    matrix = sp.csr_matrix(matrix)
    matrix.eliminate_zeros()
    readers = np.asarray((matrix > 0).sum(axis=0)).ravel()
    weights = sparse_ease_weights(matrix, 10.0, max_items=10, nonzeros=500)
    covered = np.union1d(weights.tocoo().row, weights.tocoo().col)
    assert 3 in covered and 59 not in covered
    assert len(covered) <= 10
    assert readers[covered].min() >= np.sort(readers)[-10]


def test_the_choice_standardises_its_readers_a_block_at_a_time_as_all_at_once():
    from webapp.recsys.neural import _standardised_rows

    scores = np.random.default_rng(3).normal(size=(10, 7)).astype(np.float32)
    scores[4] = 2.5  # a constant row becomes zeros
    blocked = _standardised_rows(lambda part: scores[part], rows=10, columns=7, block=3)  # 3 + 3 + 3 + 1 rows
    np.testing.assert_allclose(blocked, standardised(scores), rtol=1e-6)
    assert blocked.dtype == np.float32 and not blocked[4].any()


@pytest.fixture(scope="module")
def blended():
    """A NeuMF with history trained with a hold-out, so that it chose its item-item part there."""
    matrix = planted()
    model = small_neumf(epochs=6, patience=3, validation_users=60, user_history=True).fit(matrix)
    return model, matrix


def test_the_hold_out_chooses_the_item_item_part(blended):
    model, _matrix = blended
    choice = model.item_item_choice
    assert choice["l2"] in (100.0, 500.0, 2000.0) and choice["weight"] in (0.0, 0.25, 0.5, 1.0, 2.0)
    assert choice["recency"] == 0.0  # no event times: every history item weighs alike
    assert choice["short_weight"] in (0.0, 0.25, 0.5, 1.0, 2.0)
    assert 0.0 <= choice["ndcg@10"] <= 1.0 and 0.0 <= choice["short_ndcg@10"] <= 1.0
    # The network alone reached its best epoch's NDCG@10 there; the blend chosen is at least as good.
    network = max(record["val_ndcg@10"] for record in model.history)
    assert choice["ndcg@10"] >= network - 1e-9
    assert (model.scorer.item_item is not None) == (choice["weight"] > 0 or choice["short_weight"] > 0)
    measured = model.validation_metrics()
    assert measured["ndcg@10"] == pytest.approx(choice["ndcg@10"] if model.scorer.item_item is not None else network)


def test_fold_in_with_the_item_item_part_gives_the_model_scores(blended):
    """Read back as the web process does, a reader's history scores as score() does, blend included."""
    model, matrix = blended
    weights = sparse_ease_weights(matrix, 100.0, max_items=60, nonzeros=60 * 20)
    model.scorer = NeuMFScorer({**model.scorer.arrays, **NeuMFScorer.item_item_arrays(weights, 1.0)})
    scorer = NeuMFScorer.from_bytes(model.scorer.to_bytes())
    for user in (0, 7, 33):
        history = [matrix.indices[matrix.indptr[user] : matrix.indptr[user + 1]]]
        gmf, mlp = scorer.user_vectors(history, model.gmf_user_id[user], model.mlp_user_id[user])
        scores = scorer.score(gmf, mlp, scorer.history_matrix(history))
        np.testing.assert_allclose(scores[0], model.score(np.array([user]))[0], rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="history"):
        scorer.score(gmf, mlp)


def test_short_histories_are_blended_with_their_own_weight(blended):
    """A reader with at most three books is scored at the short-history weight, a longer one at the other."""
    model, matrix = blended
    weights = sparse_ease_weights(matrix, 100.0, max_items=60, nonzeros=60 * 20)
    scorer = NeuMFScorer({**model.scorer.arrays, **NeuMFScorer.item_item_arrays(weights, 2.0, 0.0, short_history=3)})
    histories = [np.array([4, 9]), np.arange(10, 20)]
    gmf, mlp = scorer.user_vectors(histories)
    history = scorer.history_matrix(histories)
    scores = scorer.score(gmf, mlp, history)
    network = standardised(scorer.logits(gmf, mlp))
    item_item = standardised(np.asarray((history @ weights).todense()))
    np.testing.assert_allclose(scores[0], network[0], rtol=1e-5, atol=1e-5)  # weight 0: the network alone
    np.testing.assert_allclose(scores[1], network[1] + 2.0 * item_item[1], rtol=1e-4, atol=1e-4)


def test_books_added_after_training_have_no_item_item_weights(blended):
    model, matrix = blended
    weights = sparse_ease_weights(matrix, 100.0, max_items=60, nonzeros=60 * 20)
    scorer = NeuMFScorer({**model.scorer.arrays, **NeuMFScorer.item_item_arrays(weights, 1.0)})
    grown = scorer.with_items(np.zeros((2, 8), np.float32), np.zeros((2, 8), np.float32))
    assert grown.item_item.shape == (62, 62)
    assert grown.item_item[:60, :60].nnz == weights.nnz and grown.item_item[60:].nnz == 0
    history = [np.array([0, 1, 2, 60])]
    gmf, mlp = grown.user_vectors(history)
    assert grown.score(gmf, mlp, grown.history_matrix(history)).shape == (1, 62)


def test_recency_weighs_a_readers_latest_items_most():
    times = sp.csr_matrix(np.array([[50.0, 0, 30, 50, 10], [0, 0, 0, 0, 0], [7, 7, 0, 7, 0]]))
    weighted = recency_weighted(times, 2.0).toarray()
    # Reader 0: two books tied latest (1), then one with two later (e^-1), then one with three later.
    np.testing.assert_allclose(weighted[0], [1.0, 0.0, np.exp(-1.0), 1.0, np.exp(-1.5)], rtol=1e-6)
    np.testing.assert_array_equal(weighted[1], 0.0)
    np.testing.assert_array_equal(weighted[2], [1.0, 1.0, 0.0, 1.0, 0.0])  # all at one time: alike
    np.testing.assert_array_equal(recency_weighted(times, 0.0).toarray(), (times.toarray() > 0).astype(np.float32))
    assert recency_weighted(sp.csr_matrix((2, 5)), 2.0).nnz == 0  # no history at all


def test_a_history_with_times_counts_a_book_read_twice_at_its_latest_time(blended):
    model, matrix = blended
    weights = sparse_ease_weights(matrix, 100.0, max_items=60, nonzeros=60 * 20)
    scorer = NeuMFScorer({**model.scorer.arrays, **NeuMFScorer.item_item_arrays(weights, 1.0, recency=2.0)})
    history = scorer.history_matrix([np.array([4, 9, 4, 12])], [np.array([1.0, 2.0, 3.0, 3.0])])
    assert history.nnz == 3
    np.testing.assert_allclose(history[0, [4, 9, 12]].toarray()[0], [1.0, np.exp(-1.0), 1.0], rtol=1e-6)
    without_times = scorer.history_matrix([np.array([4, 9, 4, 12])])
    np.testing.assert_array_equal(without_times[0, [4, 9, 12]].toarray()[0], [1.0, 1.0, 1.0])


def test_with_event_times_the_hold_out_weighs_recent_books_more_and_fold_in_agrees():
    """The hold-out (each reader's latest book) is read in the group of their recent books: the item-item
    part chosen there weighs recent books more, and the web's fold-in from the events' times scores alike."""
    matrix, times = sessions()
    model = small_neumf(epochs=4, patience=3, validation_users=120, user_history=True).fit(matrix, last_seen=times)
    choice = model.item_item_choice
    assert choice["recency"] > 0 and choice["weight"] > 0
    scorer = NeuMFScorer.from_bytes(model.scorer.to_bytes())
    assert scorer.recency == choice["recency"]
    assert scorer.history_recency == model.history_recency > 0  # the network learned from histories in time order
    for user in (0, 7, 33):
        span = slice(matrix.indptr[user], matrix.indptr[user + 1])
        history, moments = [matrix.indices[span]], [times.data[span]]
        gmf, mlp = scorer.user_vectors(history, model.gmf_user_id[user], model.mlp_user_id[user], moments)
        scores = scorer.score(gmf, mlp, scorer.history_matrix(history, moments))
        np.testing.assert_allclose(scores[0], model.score(np.array([user]))[0], rtol=1e-4, atol=1e-4)
        alike = scorer.score(gmf, mlp, scorer.history_matrix(history))
        assert not np.allclose(alike, scores, atol=1e-3)
