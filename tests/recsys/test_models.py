"""Each model recovers a planted structure; the interface honours exclude_seen."""

import numpy as np
import pytest
import scipy.sparse as sp

from tests.recsys.helpers import hit_rate, planted
from webapp.recsys.models import EASE, ItemKNN, MatrixFactorization, MostPopular, UserKNN, sample_negatives, top_k


@pytest.mark.parametrize(
    "model",
    [
        ItemKNN(neighbours=20),
        UserKNN(neighbours=20),
        MatrixFactorization(factors=8, epochs=40, learning_rate=0.05, seed=3),
        EASE(l2=10.0),
    ],
    ids=lambda m: m.name,
)
def test_models_recover_the_planted_groups(model):
    # Chance: 10 of 59 unseen books -> HR@10 about 0.17; a model that found the groups gets 10 of 7-8.
    assert hit_rate(model, planted()) > 0.9


def test_most_popular_recommends_the_most_popular_book():
    matrix = sp.csr_matrix(np.array([[1, 1, 0], [0, 1, 0], [0, 1, 1], [1, 0, 0]], dtype=np.float32))
    model = MostPopular().fit(matrix)
    items, _ = model.recommend(np.array([3]), k=1)
    assert items.tolist() == [[1]]


@pytest.mark.parametrize("model_class", [MostPopular, ItemKNN, UserKNN])
def test_recommend_excludes_seen_items_unless_told_not_to(model_class):
    matrix = planted()
    model = model_class().fit(matrix)
    users = np.arange(10)
    items, scores = model.recommend(users, k=5)
    for user, row in zip(users, items):
        assert not set(row.tolist()) & set(matrix[user].indices.tolist())
    assert items.shape == (10, 5) and np.all(np.diff(scores, axis=1) <= 0)
    everything, _ = model.recommend(users, k=60, exclude_seen=False)
    assert set(everything[0].tolist()) == set(range(60))


def test_score_shape_is_users_by_items():
    model = ItemKNN().fit(planted())
    assert model.score(np.array([0, 5, 7])).shape == (3, 60)


def test_top_k_orders_best_first():
    items, values = top_k(np.array([[0.1, 0.9, 0.5, -np.inf]]), 3)
    assert items.tolist() == [[1, 2, 0]] and values.tolist() == [[0.9, 0.5, 0.1]]


def test_fit_refuses_a_dense_array():
    with pytest.raises(TypeError):
        ItemKNN().fit(np.ones((3, 3)))


def test_the_registry_builds_every_model_with_its_own_defaults():
    from dataclasses import fields

    from webapp.recsys.neural import NCFRating, NeuMF
    from webapp.recsys.pipeline import ALGORITHMS, MODELS, make_model, make_rating_model

    for name in ALGORITHMS:
        model = make_model(name, epochs=None, factors=None)
        assert isinstance(model, MODELS[name]) and model.name == name
        defaults = {spec.name: spec.default for spec in fields(MODELS[name]) if spec.name in model.params}
        listed = {key: list(value) if isinstance(value, tuple) else value for key, value in defaults.items()}
        assert model.params == listed
    assert make_model("neumf").params == NeuMF().params
    assert make_model("item_knn", epochs=3, factors=8).params == {"neighbours": 100, "shrink": 0.0}
    assert make_model("matrix_factorization", factors=8, seed=3).params["factors"] == 8
    assert make_rating_model(seed=7).params == {**NCFRating().params, "seed": 7}


def test_params_hold_hyper_parameters_only():
    from webapp.recsys.neural import NeuMF

    model = NeuMF(progress=print, mlp_layers=[16, 8])
    assert "progress" not in model.params and "history" not in model.params
    assert model.params["mlp_layers"] == [16, 8] and model.mlp_layers == (16, 8)
    assert "block_size" not in UserKNN(block_size=10).params


def test_ease_weights_have_an_empty_diagonal_and_solve_the_ridge_problem():
    matrix = planted(n_users=30, n_items=12, groups=3, per_user=3)
    model = EASE(l2=5.0).fit(matrix)
    assert np.all(np.diag(model.weights) == 0)
    # Each column j minimises ||X_j - X B_j||² + l2 ||B_j||² with B_jj = 0: the gradient vanishes off the diagonal.
    x = matrix.toarray().astype(np.float64)
    gradient = x.T @ (x @ model.weights - x) + 5.0 * model.weights
    off_diagonal = ~np.eye(12, dtype=bool)
    np.testing.assert_allclose(gradient[off_diagonal], 0.0, atol=1e-3)


def test_ease_weights_over_some_items_summed_a_block_of_readers_at_a_time_solve_the_closed_form(monkeypatch):
    """Blocks that do not divide the readers, stored values other than 1, a subset of the items."""
    from webapp.recsys import models

    monkeypatch.setattr(models, "GRAM_BLOCK_READERS", 7)
    matrix = planted(n_users=30, n_items=12, groups=3, per_user=3)
    matrix.data[:] = 3.0  # every stored value counts as 1
    items = np.array([0, 2, 3, 5, 7, 8, 11])
    x = (matrix.toarray()[:, items] > 0).astype(np.float64)
    inverse = np.linalg.inv(x.T @ x + 5.0 * np.eye(len(items)))
    expected = -inverse / np.diag(inverse)[None, :]
    np.fill_diagonal(expected, 0.0)
    np.testing.assert_allclose(models.ease_weights(matrix, 5.0, items), expected, atol=1e-6)


def test_ease_with_a_recency_scores_a_readers_history_weighted_by_its_times():
    matrix = planted(n_users=30, n_items=12, groups=3, per_user=4)
    times = matrix.copy()
    times.data = np.tile(np.arange(1.0, 5.0), 30)  # each reader's books in code order, the last the latest
    plain = EASE(l2=5.0).fit(matrix, last_seen=times)
    recent = EASE(l2=5.0, recency=2.0).fit(matrix, last_seen=times)
    np.testing.assert_array_equal(recent.weights, plain.weights)
    users = np.array([0, 4, 29])
    weighted = matrix[users].toarray() * 0.0
    for row, user in enumerate(users):
        books = matrix.indices[matrix.indptr[user] : matrix.indptr[user + 1]]
        weighted[row, books] = np.exp(-np.arange(len(books) - 1, -1, -1) / 2.0)
    np.testing.assert_allclose(recent.score(users), weighted @ recent.weights, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(plain.score(users), matrix[users].toarray() @ plain.weights, rtol=1e-5, atol=1e-6)
    assert EASE(l2=5.0, recency=2.0).fit(matrix).train_times is None  # no times: every book alike


def test_negatives_are_drawn_uniformly_among_the_items_a_user_has_not_seen():
    """Users who have seen most of the catalogue (many draws hit and are drawn again) and users who saw none."""
    n_users, n_items = 4, 10
    seen = {0: range(7), 1: range(1, 10, 2), 2: (), 3: range(5)}
    seen_keys = np.sort([user * n_items + item for user, items in seen.items() for item in items]).astype(np.int64)
    users = np.repeat(np.arange(n_users, dtype=np.int64), 5000)
    items = sample_negatives(np.random.default_rng(0), users, n_items, seen_keys)
    for user, items_seen in seen.items():
        drawn = np.bincount(items[users == user], minlength=n_items)
        assert not drawn[list(items_seen)].any()
        unseen = np.setdiff1d(np.arange(n_items), list(items_seen))
        expected = 5000 / len(unseen)
        assert np.all(np.abs(drawn[unseen] - expected) < 5 * np.sqrt(expected))


def test_negatives_drawn_from_pools_stay_in_each_users_pool_and_skip_what_they_have_seen():
    n_items = 10
    seen_keys = np.array([0 * n_items + 1, 1 * n_items + 7], dtype=np.int64)  # user 0 saw 1, user 1 saw 7
    pools = np.array([[1, 2, 3], [7, 8, 9]])
    users = np.repeat(np.array([0, 1], dtype=np.int64), 3000)
    pool_of = np.repeat(np.array([0, 1]), 3000)
    items = sample_negatives(np.random.default_rng(0), users, n_items, seen_keys, pools, pool_of)
    assert set(items[:3000]) == {2, 3}
    assert set(items[3000:]) == {8, 9}
    assert abs(np.mean(items[:3000] == 2) - 0.5) < 0.05
