"""Every metric against hand-computed examples."""

import math

import numpy as np
import pytest
import scipy.sparse as sp

from webapp.recsys.data import times_of
from webapp.recsys.evaluation import (
    evaluate_item_cold_start,
    evaluate_ranking,
    full_ranking_ranks,
    hit_rate_and_ndcg,
    hits_and_gains,
    holdout_sample,
    item_cold_start_split,
    leave_one_out,
    mae,
    paired_difference,
    rank_of_target,
    rmse,
    sampled_negatives,
    sampled_ranks,
    shortened_histories,
    user_cold_start_split,
)


def test_hit_rate_and_ndcg_by_hand():
    # ranks 0, 1, 3 and 12 (0-based); K = 4: three hits out of four.
    hr, ndcg = hit_rate_and_ndcg(np.array([0, 1, 3, 12]), k=4)
    assert hr == pytest.approx(0.75)
    assert ndcg == pytest.approx((1 / math.log2(2) + 1 / math.log2(3) + 1 / math.log2(5) + 0) / 4)


def test_hit_rate_and_ndcg_of_nobody():
    assert hit_rate_and_ndcg(np.array([], dtype=int), 10) == (0.0, 0.0)


def test_each_users_hit_and_gain_by_hand():
    hits, gains = hits_and_gains(np.array([0, 3, 12, 2.5]), k=4)
    assert hits.tolist() == [1.0, 1.0, 0.0, 1.0]
    assert gains == pytest.approx([1.0, 1 / math.log2(5), 0.0, 1 / math.log2(4.5)])


def test_paired_difference_by_hand():
    # differences 1, 0, -1, 1, 1: mean 0.4, sample standard deviation sqrt(0.8), over sqrt(5) users
    mean, error = paired_difference(np.array([1, 1, 0, 1, 1]), np.array([0, 1, 1, 0, 0]))
    assert mean == pytest.approx(0.4)
    assert error == pytest.approx(math.sqrt(0.8) / math.sqrt(5))


def test_paired_difference_cancels_what_both_models_share():
    # the same per-user spread in both models: the difference is exact, with no error at all
    shared = np.random.default_rng(0).random(500)
    mean, error = paired_difference(shared + 0.01, shared)
    assert mean == pytest.approx(0.01)
    assert error == pytest.approx(0.0, abs=1e-12)


def test_rank_counts_higher_scores_and_half_the_ties():
    scores = np.array([[0.9, 0.5, 0.5, 0.5, 0.1]])
    assert rank_of_target(scores, np.array([0.9])).tolist() == [0]
    assert rank_of_target(scores, np.array([0.1])).tolist() == [4]
    # target 0.5: one item higher, two other items tie with it -> 1 + 2 // 2
    assert rank_of_target(scores, np.array([0.5])).tolist() == [2]


def test_full_ranking_ignores_training_items():
    train = sp.csr_matrix(np.array([[1, 0, 0, 0], [0, 0, 0, 0]], dtype=np.float32))
    scores = np.array([[10.0, 1.0, 3.0, 2.0], [4.0, 3.0, 2.0, 1.0]])
    ranks = full_ranking_ranks(lambda users: scores[users], train, np.array([0, 1]), np.array([3, 2]))
    # user 0: item 0 is a training item and does not count; item 2 beats item 3 -> rank 1.
    # user 1: items 0 and 1 score higher than item 2 -> rank 2.
    assert ranks.tolist() == [1, 2]


def test_sampled_ranks_use_only_the_candidates():
    scores = np.array([[5.0, 9.0, 1.0, 2.0, 8.0]])
    ranks = sampled_ranks(lambda users: scores[users], np.array([0]), np.array([0]), np.array([[2, 3]]))
    assert ranks.tolist() == [0]  # items 1 and 4 score higher but were not sampled


def test_sampled_negatives_avoid_everything_the_user_touched():
    train = sp.csr_matrix(np.array([[1, 1, 0, 0, 0, 0, 0]], dtype=np.float32))
    negatives = sampled_negatives(train, np.array([0]), np.array([2]), n_negatives=4, seed=1)
    assert set(negatives[0].tolist()) == {3, 4, 5, 6}


def test_sampled_negatives_are_padded_in_a_tiny_catalogue():
    train = sp.csr_matrix(np.array([[1, 0, 0, 0]], dtype=np.float32))
    negatives = sampled_negatives(train, np.array([0]), np.array([1]), n_negatives=4, seed=1)
    assert sorted(negatives[0].tolist()) == [-1, -1, 2, 3]
    scores = np.array([[0.0, 0.5, 0.9, 0.1]])
    assert sampled_ranks(lambda users: scores[users], np.array([0]), np.array([1]), negatives).tolist() == [1]


def test_leave_one_out_holds_out_the_latest_interaction():
    matrix = sp.csr_matrix(np.array([[1, 1, 1], [1, 0, 0], [0, 1, 1]], dtype=np.float32))
    times = sp.csr_matrix(np.array([[5, 9, 1], [3, 0, 0], [0, 2, 7]], dtype=np.float64))
    split = leave_one_out(matrix, times)
    assert split.test_users.tolist() == [0, 2]  # user 1 has a single interaction
    assert split.test_items.tolist() == [1, 2]
    assert split.train.toarray().tolist() == [[1, 0, 1], [1, 0, 0], [0, 1, 0]]


def test_leave_one_out_without_times_is_seeded():
    matrix = sp.random(50, 30, density=0.3, format="csr", random_state=3)
    first = leave_one_out(matrix, seed=7)
    again = leave_one_out(matrix, seed=7)
    assert first.test_items.tolist() == again.test_items.tolist()
    assert first.train.nnz == matrix.nnz - len(first.test_users)


def test_holdout_sample_keeps_everyone_elses_interactions():
    matrix = sp.random(50, 30, density=0.3, format="csr", random_state=4)
    matrix.data[:] = 1.0
    split = holdout_sample(matrix, max_users=10, seed=2)
    assert len(split.test_users) == 10
    assert split.train.nnz == matrix.nnz - 10
    held = matrix - split.train
    assert sorted(zip(*held.nonzero())) == sorted(zip(split.test_users.tolist(), split.test_items.tolist()))


def test_holdout_sample_with_times_holds_out_each_readers_latest_interaction():
    matrix = sp.random(40, 30, density=0.3, format="csr", random_state=6)
    matrix.data[:] = 1.0
    last_seen = matrix.copy()
    last_seen.data = np.random.default_rng(1).permutation(matrix.nnz).astype(np.float64) + 1.0
    split = holdout_sample(matrix, max_users=15, seed=2, last_seen=last_seen)
    assert len(split.test_users) == 15
    for user, item in zip(split.test_users, split.test_items, strict=True):
        row = last_seen[user]
        assert row[0, item] == row.data.max()
    assert split.train.nnz == matrix.nnz - 15


def test_times_of_a_training_part_keep_its_interactions_times():
    matrix = sp.csr_matrix(np.array([[1, 0, 1], [0, 1, 1]], dtype=np.float32))
    last_seen = sp.csr_matrix(np.array([[5.0, 0, 7.0], [0, 3.0, 9.0]]))
    train = sp.csr_matrix(np.array([[1, 0, 0], [0, 1, 1]], dtype=np.float32))
    np.testing.assert_array_equal(times_of(last_seen, train).toarray(), [[5.0, 0, 0], [0, 3.0, 9.0]])
    with pytest.raises(ValueError, match="time"):
        times_of(sp.csr_matrix(np.array([[5.0, 0, 7.0], [0, 0, 9.0]])), matrix)


def test_shortened_histories_cut_only_the_evaluated_readers_to_one_to_three_of_their_items():
    matrix = sp.random(60, 40, density=0.3, format="csr", random_state=5)
    matrix.data[:] = 1.0
    split = holdout_sample(matrix, max_users=20, seed=3)
    short = shortened_histories(split, longest=3, seed=4)
    counts = np.diff(short.train.indptr)
    assert counts[split.test_users].min() >= 1 and counts[split.test_users].max() <= 3
    assert len(set(counts[split.test_users].tolist())) > 1  # 1, 2 or 3 drawn per reader
    assert (short.train - split.train.multiply(short.train)).nnz == 0  # only items they had
    others = np.setdiff1d(np.arange(60), split.test_users)
    assert (short.train[others] != split.train[others]).nnz == 0
    np.testing.assert_array_equal(short.test_items, split.test_items)


def test_evaluate_ranking_of_a_perfect_scorer():
    matrix = sp.csr_matrix(np.eye(4, dtype=np.float32) + np.roll(np.eye(4, dtype=np.float32), 1, axis=1))
    split = leave_one_out(matrix, seed=0)
    perfect = np.full((4, 4), -1.0)
    perfect[split.test_users, split.test_items] = 1.0
    metrics = evaluate_ranking(lambda users: perfect[users], split, k=1)
    assert metrics["hr@1"] == 1.0 and metrics["ndcg@1"] == 1.0


def test_evaluate_ranking_keeps_each_users_rank_when_asked():
    matrix = sp.csr_matrix(np.eye(4, dtype=np.float32) + np.roll(np.eye(4, dtype=np.float32), 1, axis=1))
    split = leave_one_out(matrix, seed=0)
    worst = np.ones((4, 4))
    worst[split.test_users, split.test_items] = 0.0  # below the two other unseen items
    metrics = evaluate_ranking(lambda users: worst[users], split, k=1, keep_ranks=True)
    assert metrics["ranks"].tolist() == [2, 2, 2, 2]
    assert "ranks" not in evaluate_ranking(lambda users: worst[users], split, k=1)


def test_rmse_and_mae_by_hand():
    predicted, actual = np.array([3.0, 4.0, 5.0]), np.array([2.0, 4.0, 2.0])
    assert rmse(predicted, actual) == pytest.approx(math.sqrt((1 + 0 + 9) / 3))
    assert mae(predicted, actual) == pytest.approx((1 + 0 + 3) / 3)


def test_item_cold_start_withholds_every_interaction_with_the_cold_items():
    rng = np.random.default_rng(0)
    matrix = sp.csr_matrix((rng.random((200, 40)) < 0.2).astype(np.float32))
    split = item_cold_start_split(matrix, fraction=0.1, min_readers=5, seed=3)
    assert len(split.cold_items) == 4
    assert split.train[:, split.cold_items].nnz == 0
    assert split.train.nnz + len(split.users) <= matrix.nnz
    assert np.all(np.asarray(matrix[split.users, split.items]).ravel() == 1)
    perfect = evaluate_item_cold_start(lambda users: matrix[users].toarray(), split)  # knows the answers
    assert perfect["hr@10"] == 1.0


def test_user_cold_start_keeps_one_to_three_items_of_each_test_reader():
    rng = np.random.default_rng(1)
    matrix = sp.csr_matrix((rng.random((100, 30)) < 0.3).astype(np.float32))
    split = user_cold_start_split(matrix, fraction=0.2, seed=2)
    kept = np.diff(split.train.indptr)[split.test_users]
    assert kept.min() >= 1 and kept.max() <= 3
    assert np.all(np.asarray(split.train[split.test_users, split.test_items]).ravel() == 0)
    assert np.all(np.asarray(matrix[split.test_users, split.test_items]).ravel() == 1)
