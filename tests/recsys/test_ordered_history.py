"""NeuMF trained on histories in time order: each interaction is learned from what the reader did before it."""

import numpy as np
import pytest
import scipy.sparse as sp

from tests.recsys.helpers import sessions, small_neumf
from webapp.recsys.evaluation import evaluate_ranking, leave_one_out
from webapp.recsys.neural import NeuMF, OrderedHistory

pytest.importorskip("tensorflow")


def test_histories_are_put_in_time_order_with_their_runs_of_ties():
    # Reader 0 read books 1, 3 and 4 (books 3 and 4 at the same time, after book 1); reader 1
    # read books 0 and 2 at one time; reader 2 nothing.
    positives = sp.csr_matrix(np.array([[0, 1, 0, 1, 1], [1, 0, 1, 0, 0], [0, 0, 0, 0, 0]], dtype=np.float32))
    times = sp.csr_matrix(np.array([[0, 2.0, 0, 5.0, 5.0], [1.0, 0, 1.0, 0, 0], [0, 0, 0, 0, 0]]))
    ordered = OrderedHistory.of(positives, times, 5.0)
    history = ordered.history
    np.testing.assert_array_equal(history.indices, [1, 3, 4, 0, 2])  # ties by book
    np.testing.assert_array_equal(history.data, [2.0, 5.0, 5.0, 1.0, 1.0])
    np.testing.assert_array_equal(history.indices[ordered.position_of], positives.indices)
    np.testing.assert_array_equal(ordered.tie_end, [1, 3, 3, 5, 5])
    assert ordered.span == 50


def history_by(matrix: sp.csr_matrix, times: sp.csr_matrix, user: int, position: int):
    """The reader's items (and times) up to the time of their ``position``-th item in time order (ties by
    book), but that item."""
    span = slice(matrix.indptr[user], matrix.indptr[user + 1])
    order = np.argsort(times.data[span], kind="stable")  # a row's books are in order
    items, moments = matrix.indices[span][order], times.data[span][order]
    kept = (moments <= moments[position]) & (np.arange(len(items)) != position)
    return items[kept], moments[kept]


@pytest.mark.parametrize("tied", [False, True], ids=["distinct times", "two books at each time"])
@pytest.mark.parametrize("position", [5, 10])
def test_the_numpy_fold_in_weighs_a_history_as_the_keras_layer_learned_it(position, tied):
    """Keras scores each reader's ``position``-th item (in time order) from the items up to its time, weighted
    by recency; the web's fold-in given those items and their times gives the same scores."""
    matrix, times = sessions(n_users=40)
    if tied:
        times.data = np.ceil(times.data / 2)
    model = small_neumf(epochs=3, user_history=True, keep_network=True).fit(matrix, last_seen=times)
    assert model.trained_history_recency == model.history_recency == NeuMF.history_recency > 0
    n_users, n_items = matrix.shape
    inputs = {
        "user": np.repeat(np.arange(n_users), n_items).astype(np.int32),
        "item": np.tile(np.arange(n_items), n_users).astype(np.int32),
        "left_out": np.repeat(matrix.indptr[:-1] + position, n_items).astype(np.int32),
    }
    keras_probabilities = model.model.predict(inputs, verbose=0).reshape(n_users, n_items)
    histories, moments = zip(*(history_by(matrix, times, user, position) for user in range(n_users)), strict=True)
    gmf, mlp = model.scorer.user_vectors(list(histories), model.gmf_user_id, model.mlp_user_id, list(moments))
    np.testing.assert_allclose(1 / (1 + np.exp(-model.scorer.logits(gmf, mlp))), keras_probabilities, atol=1e-5)
    unweighted = model.scorer.user_vectors(list(histories), model.gmf_user_id, model.mlp_user_id)
    assert not np.allclose(unweighted[0], gmf, atol=1e-4)


def test_times_that_are_all_alike_say_nothing_of_order():
    """Every event at one time (as Goodreads' ratings): the network sums each whole history, as without times."""
    matrix, _times = sessions(n_users=40)
    alike = sp.csr_matrix(matrix, copy=True)
    model = small_neumf(epochs=1, user_history=True).fit(matrix, last_seen=alike)
    assert model.trained_history_recency == 0.0 and model.scorer.history_recency == 0.0


def test_learning_from_what_came_before_finds_what_a_reader_reads_now():
    """On readers who switched groups, the network alone (no item-item part) trained on histories in time order
    ranks the held-out latest book higher than the same network trained on whole histories."""
    matrix, times = sessions()
    split = leave_one_out(matrix, times, seed=1)
    train_times = sp.csr_matrix(times.multiply(split.train.astype(bool)))
    rates = {}
    for recency in (0.0, NeuMF.history_recency):
        model = small_neumf(epochs=10, user_history=True, item_item=False, history_recency=recency)
        model.fit(split.train, last_seen=train_times)
        rates[recency] = evaluate_ranking(model.score, split, k=5)["hr@5"]
    assert rates[NeuMF.history_recency] > rates[0.0] + 0.1, rates
