"""NeuMF and the rating model: planted structure, reproducibility, batched scoring."""

import numpy as np
import pytest
import scipy.sparse as sp

from tests.recsys.helpers import hit_rate, planted, small_neumf

pytest.importorskip("tensorflow")

from webapp.recsys.data import binarize  # noqa: E402
from webapp.recsys.evaluation import evaluate_ranking, holdout_sample  # noqa: E402
from webapp.recsys.neural import NCFRating, NeuMF  # noqa: E402


@pytest.mark.parametrize("user_history", [False, True])
def test_neumf_recovers_the_planted_groups(user_history):
    assert hit_rate(small_neumf(user_history=user_history), planted()) > 0.8  # chance is about 0.17


def test_neumf_trained_on_an_epoch_drawn_in_slices_recovers_the_planted_groups(monkeypatch):
    """At scale an epoch's examples are drawn and trained a slice at a time; here three slices an epoch."""
    from webapp.recsys import neural

    monkeypatch.setattr(neural, "SLICE_GROUPS", 400)  # planted(): 960 positives
    assert hit_rate(small_neumf(user_history=True), planted()) > 0.8


def test_neumf_gives_keras_whole_batches_only(monkeypatch):
    """A shorter last batch would make TensorFlow trace the training step again: each epoch is
    topped up to whole batches with groups it already has."""
    import keras

    from webapp.recsys import neural

    monkeypatch.setattr(neural, "SLICE_GROUPS", 400)
    fed: list[int] = []
    train_on_batch = keras.Model.train_on_batch

    def recording_train_on_batch(model, inputs, labels, **options):
        fed.append(len(labels))
        return train_on_batch(model, inputs, labels, **options)

    monkeypatch.setattr(keras.Model, "train_on_batch", recording_train_on_batch)
    model = small_neumf(epochs=1, batch_size=256, negatives=4).fit(planted())  # 960 positives; 51 groups of 5 a batch
    assert fed == [51 * 5] * 19  # 969 groups: 960 and 9 drawn again
    assert 0 < model.history[0]["loss"] < 1  # the epoch's mean binary cross-entropy


def test_a_batchs_negatives_come_from_its_own_pool_and_the_model_still_learns(monkeypatch):
    """Negatives drawn among a few books per batch: at most ``negative_pool`` books a batch,
    different books from batch to batch, and the planted groups are still recovered."""
    import keras

    negatives_fed: list[np.ndarray] = []
    train_on_batch = keras.Model.train_on_batch

    def recording_train_on_batch(model, inputs, labels, **options):
        grid = np.asarray(inputs["item"]).reshape(-1, 5)
        negatives_fed.append(grid[:, 1:].ravel())
        return train_on_batch(model, inputs, labels, **options)

    monkeypatch.setattr(keras.Model, "train_on_batch", recording_train_on_batch)
    model = small_neumf(negative_pool=12, user_history=True)
    assert hit_rate(model, planted()) > 0.8  # 60 books
    assert max(len(np.unique(batch)) for batch in negatives_fed) <= 12
    assert len(np.unique(np.concatenate(negatives_fed))) == 60


@pytest.mark.parametrize("user_history", [False, True])
def test_neumf_is_reproducible_with_a_seed(user_history):
    matrix = planted()
    first = small_neumf(seed=11, user_history=user_history).fit(matrix).score(np.arange(20))
    second = small_neumf(seed=11, user_history=user_history).fit(matrix).score(np.arange(20))
    np.testing.assert_array_equal(first, second)


def test_batched_scores_match_keras_predictions():
    matrix = planted(n_users=40, n_items=20, per_user=4)
    model = small_neumf(keep_network=True).fit(matrix)
    users = np.repeat(np.arange(40), 20).astype(np.int32)
    items = np.tile(np.arange(20), 40).astype(np.int32)
    keras_probabilities = model.model.predict({"user": users, "item": items}, verbose=0).reshape(40, 20)
    logits = model.score(np.arange(40))
    np.testing.assert_allclose(1 / (1 + np.exp(-logits)), keras_probabilities, rtol=1e-4, atol=1e-5)


def test_history_scores_match_keras_predictions():
    """The NumPy scorer folds a reader's history into their embeddings as the Keras layer sums it."""
    matrix = planted(n_users=40, n_items=20, per_user=4)
    model = small_neumf(user_history=True, keep_network=True).fit(matrix)
    left_out = matrix.indptr[:-1]  # each reader's first item (its position in the history), left out of it
    users = np.repeat(np.arange(40), 20).astype(np.int32)
    items = np.tile(np.arange(20), 40).astype(np.int32)
    inputs = {"user": users, "item": items, "left_out": np.repeat(left_out, 20).astype(np.int32)}
    keras_probabilities = model.model.predict(inputs, verbose=0).reshape(40, 20)
    histories = [matrix.indices[matrix.indptr[user] + 1 : matrix.indptr[user + 1]] for user in range(40)]
    logits = model.scorer.logits(*model.scorer.user_vectors(histories, model.gmf_user_id, model.mlp_user_id))
    np.testing.assert_allclose(1 / (1 + np.exp(-logits)), keras_probabilities, rtol=1e-4, atol=1e-5)


def test_neumf_early_stopping_keeps_the_history():
    model = NeuMF(factors=8, mlp_layers=(16, 8), epochs=4, batch_size=256, patience=2, item_item=False, seed=1)
    model.fit(planted())
    assert 1 <= len(model.history) <= 4
    assert "val_hr@10" in model.history[0]
    best = max(model.history, key=lambda record: record["val_ndcg@10"])
    assert model.validation_metrics() == {
        "hr@10": best["val_hr@10"],
        "ndcg@10": best["val_ndcg@10"],
        "readers": model.validation_readers,
        "history_recency": 0.0,  # no event times: whole histories
    }
    assert 0 < model.validation_readers <= model.validation_users


def test_neumf_early_stopping_scores_with_the_best_epochs_weights():
    """The weights kept are the best epoch's (they wait in a file while later epochs train), not the last's."""
    matrix = planted()
    model = small_neumf(epochs=6, patience=6, learning_rate=0.05, validation_users=60, item_item=False).fit(matrix)
    ndcg = [record["val_ndcg@10"] for record in model.history]
    assert len(ndcg) == 6 and np.argmax(ndcg) < 5  # a later epoch was worse: the test can tell them apart
    validation = holdout_sample(binarize(matrix), model.validation_users, model.seed, 3)
    assert evaluate_ranking(model.score, validation, k=10)["ndcg@10"] == pytest.approx(max(ndcg))
    assert model.model is None  # the Keras model and its optimizer's moments are not kept


def test_weights_written_and_read_back_a_block_of_rows_at_a_time_come_back_whole(monkeypatch, tmp_path):
    """Blocks that do not divide a table, a vector and a scalar: every value comes back in its place."""
    from webapp.recsys import neural

    keras = neural._tensorflow(1).keras
    monkeypatch.setattr(neural, "WEIGHT_BLOCK_VALUES", 12)  # 3 rows of the table a block, the last one short
    rng = np.random.default_rng(0)
    saved = [rng.standard_normal((10, 4)).astype(np.float32), rng.standard_normal(7).astype(np.float32), np.int64(5)]
    variables = [keras.Variable(value) for value in saved]
    neural._write_weights(variables, str(tmp_path))
    for variable in variables:
        variable.assign(np.zeros(variable.shape, dtype=variable.dtype))
    neural._read_weights(variables, str(tmp_path))
    for value, variable in zip(saved, variables, strict=True):
        np.testing.assert_array_equal(np.asarray(variable.value), value)


def test_neumf_writes_and_reads_back_an_epochs_weights_only_when_a_later_one_may_be_worse(monkeypatch):
    """Each improving epoch but the last is saved; the best is read back only when the last epoch was not it."""
    from webapp.recsys import neural

    save, load, calls = neural._write_weights, neural._read_weights, []
    monkeypatch.setattr(neural, "_write_weights", lambda *args: (calls.append("save"), save(*args)))
    monkeypatch.setattr(neural, "_read_weights", lambda *args: (calls.append("load"), load(*args)))
    model = small_neumf(epochs=4, patience=4, validation_users=60, item_item=False).fit(planted())
    ndcg = [record["val_ndcg@10"] for record in model.history]
    improved = [epoch for epoch, value in enumerate(ndcg) if value > max(ndcg[:epoch], default=-1.0)]
    assert calls.count("save") == len([epoch for epoch in improved if epoch < len(ndcg) - 1])
    assert calls.count("load") == (improved[-1] != len(ndcg) - 1)


def test_neumf_chooses_its_item_item_part_after_the_keras_model_is_freed(monkeypatch):
    """At 50x the demo the choice held flask train-recs's peak memory: by then the users' tables are gone."""
    import gc
    import weakref

    build, choose = NeuMF._build, NeuMF._choose_item_item
    user_tables, alive_at_the_choice = [], []

    def recording_build(self, *args, **kwargs):
        network = build(self, *args, **kwargs)
        user_tables.append(weakref.ref(network.get_layer("mlp_user")))
        return network

    def recording_choice(self, *args, **kwargs):
        gc.collect()
        alive_at_the_choice.append(user_tables[0]() is not None)
        return choose(self, *args, **kwargs)

    monkeypatch.setattr(NeuMF, "_build", recording_build)
    monkeypatch.setattr(NeuMF, "_choose_item_item", recording_choice)
    matrix = planted()
    times = matrix.copy()
    times.data = np.random.default_rng(0).integers(1, 10**6, matrix.nnz).astype(np.float64)
    model = small_neumf(epochs=2, patience=2, user_history=True).fit(matrix, last_seen=times)
    assert alive_at_the_choice == [False]
    assert model.item_item_choice["ndcg@10"] > 0  # the choice scored the hold-out from the extracted vectors


def test_the_hold_outs_scores_read_back_only_its_readers_and_match_the_full_read_back():
    """After each epoch the hold-out scores a few readers from the live model, as score() would."""
    from webapp.recsys.features import UserFeatures
    from webapp.recsys.neural import _tensorflow

    matrix = planted(n_users=40, n_items=20, per_user=4)
    demographics = UserFeatures.encode(("occupation",), [(f"job {user % 3}",) for user in range(40)])
    model = small_neumf(user_history=True, user_features=demographics, epochs=2, keep_network=True).fit(matrix)
    readers = np.array([3, 17, 29])
    live = model._live_scores(_tensorflow(model.seed), matrix)(readers)
    np.testing.assert_allclose(live, model.score(readers), rtol=1e-5, atol=1e-6)


def test_neumf_without_a_hold_out_measures_nothing():
    model = NeuMF(factors=4, mlp_layers=(8, 4), epochs=1, batch_size=256, patience=0, seed=1).fit(planted())
    assert model.validation_metrics() is None


def test_similar_items_by_embeddings_stay_in_the_group():
    model = small_neumf().fit(planted())
    items, _ = model.similar_items(np.array([0]), k=5)
    assert np.mean(items[0] < 15) >= 0.8  # group 0 holds items 0-14


def _user_rows(model, names) -> dict[str, np.ndarray]:
    return {name: model.model.get_layer(name).get_weights()[0] for name in names}


@pytest.mark.parametrize("model_name", ["neumf", "ncf_rating"])
def test_training_moves_only_the_rows_of_readers_it_saw(model_name):
    """A step updates and regularises the rows it looked up: an idle reader's vectors stay as initialised.

    (A table-wide L2 term or Keras's Adam would move every row at every step, so that a
    step cost as much as the readers' table.)
    """
    rng = np.random.default_rng(4)
    users, items = rng.integers(0, 29, 1500), rng.integers(0, 20, 1500)  # reader 29 does nothing
    names = ["gmf_user", "mlp_user"] + (["user_bias"] if model_name == "ncf_rating" else [])

    def fitted(epochs: int):
        if model_name == "neumf":
            matrix = sp.vstack([planted(n_users=29, n_items=20, per_user=4), sp.csr_matrix((1, 20))]).tocsr()
            return NeuMF(
                factors=4, mlp_layers=(8, 4), epochs=epochs, batch_size=64, patience=0, l2=1e-3, keep_network=True
            ).fit(matrix)
        stars = rng.integers(1, 6, 1500).astype(np.float32)
        return NCFRating(factors=4, hidden=(8,), epochs=epochs, batch_size=64, l2=1e-3, seed=3, keep_network=True).fit(
            users, items, stars, 30, 20
        )

    initial, trained = _user_rows(fitted(0), names), _user_rows(fitted(3), names)
    for name in names:
        np.testing.assert_array_equal(trained[name][29], initial[name][29])
        assert not np.allclose(trained[name][0], initial[name][0])


def test_the_optimizer_updates_dense_weights_as_keras_adam_does():
    """Dense gradients (layers, the history sums' tables) take one fused Adam kernel: the same steps as Keras's."""
    import keras
    import tensorflow as tf

    from webapp.recsys.neural import _lazy_adam

    rng = np.random.default_rng(5)
    inputs, targets = rng.normal(size=(64, 5)).astype(np.float32), rng.normal(size=(64, 1)).astype(np.float32)

    def trained(optimizer) -> list[np.ndarray]:
        keras.utils.set_random_seed(1)
        model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
        model.compile(optimizer=optimizer, loss="mse")
        initial = [weights.copy() for weights in model.get_weights()]
        for _ in range(20):
            model.train_on_batch(inputs, targets)
        assert not np.allclose(model.get_weights()[0], initial[0])
        return model.get_weights()

    for ours, keras_adam in zip(trained(_lazy_adam(tf, 0.01)), trained(keras.optimizers.Adam(0.01)), strict=True):
        np.testing.assert_allclose(ours, keras_adam, atol=1e-5)


def test_rating_model_learns_user_and_item_effects():
    rng = np.random.default_rng(0)
    users = rng.integers(0, 50, 4000)
    items = rng.integers(0, 40, 4000)
    truth = np.clip(3 + (users % 2) - (items % 3 == 0), 1, 5).astype(np.float32)
    model = NCFRating(factors=8, hidden=(16,), epochs=30, patience=1, batch_size=128, learning_rate=0.01, seed=2)
    model.fit(users, items, truth, n_users=50, n_items=40)
    predicted = model.predict(users[:500], items[:500])
    assert np.sqrt(np.mean((predicted - truth[:500]) ** 2)) < 0.35  # the global mean alone: about 0.8
    assert predicted.min() >= 1 and predicted.max() <= 5


def test_rating_predictions_in_numpy_match_keras_and_survive_the_database_format():
    from webapp.recsys.serving import RatingPredictor, vector_from_bytes, vector_to_bytes

    rng = np.random.default_rng(1)
    users, items = rng.integers(0, 30, 2000), rng.integers(0, 20, 2000)
    ratings = rng.integers(1, 6, 2000).astype(np.float32)
    model = NCFRating(factors=4, hidden=(8, 4), epochs=3, batch_size=128, seed=3, keep_network=True)
    model.fit(users, items, ratings, 30, 20)
    keras_ratings = np.clip(
        model.model.predict({"user": users[:300], "item": items[:300]}, verbose=0).ravel() + model.mean, 1, 5
    )
    np.testing.assert_allclose(model.predict(users[:300], items[:300]), keras_ratings, rtol=1e-5, atol=1e-5)
    predictor, user_vectors, item_vectors = model.export()
    assert user_vectors.shape == (30, predictor.vector_size) and item_vectors.shape == (20, predictor.vector_size)
    np.testing.assert_array_equal(model.item_embeddings(), item_vectors[:, 1:])  # GMF and MLP parts, no bias
    restored = RatingPredictor.from_bytes(predictor.to_bytes())
    user = vector_from_bytes(vector_to_bytes(user_vectors[7]))
    item = vector_from_bytes(vector_to_bytes(item_vectors[3]))
    assert restored.predict(user, item)[0] == pytest.approx(model.predict([7], [3])[0], abs=1e-6)


def _categories(names: list[str]):
    from webapp.recsys.features import FeatureVocabulary, ItemDescription

    items = [ItemDescription(category=name, title=f"{name} story {n}") for n, name in enumerate(names)]
    return FeatureVocabulary.learn(items).encode(items)


def _small_rating_model(**side) -> NCFRating:
    return NCFRating(factors=8, hidden=(16,), epochs=30, patience=1, batch_size=128, learning_rate=0.01, seed=2, **side)


def test_rating_model_predicts_an_item_nobody_rated_from_its_content():
    rng = np.random.default_rng(0)
    features = _categories(["loved"] * 20 + ["disliked"] * 20)
    users = rng.integers(0, 60, 3000)
    items = rng.choice(np.r_[0:18, 20:38], 3000)  # items 18, 19 (loved kind) and 38, 39 (disliked) never rated
    ratings = np.where(items < 20, 5.0, 1.5).astype(np.float32) - rng.random(3000).astype(np.float32) * 0.5
    model = _small_rating_model(item_features=features).fit(users, items, ratings, 60, 40)
    loved = model.predict([3, 3], [18, 19])
    disliked = model.predict([3, 3], [38, 39])
    assert loved.min() > disliked.max() + 1.5


def test_rating_model_predicts_a_reader_without_ratings_from_their_demographics():
    from webapp.recsys.features import UserFeatures

    rng = np.random.default_rng(1)
    groups = ["generous" if user % 2 else "strict" for user in range(70)]
    demographics = UserFeatures.encode(("group",), [(group,) for group in groups])
    users = rng.integers(0, 60, 3000)  # readers 60-69 never rate
    items = rng.integers(0, 30, 3000)
    ratings = np.where(users % 2, 4.8, 1.6).astype(np.float32)
    model = _small_rating_model(user_features=demographics, user_history=False).fit(users, items, ratings, 70, 30)
    generous = model.predict([61, 63, 65], [0, 1, 2])
    strict = model.predict([60, 62, 64], [0, 1, 2])
    assert generous.min() > strict.max() + 1.5


def test_rating_model_with_every_side_feature_exports_what_keras_predicts():
    from webapp.recsys.features import UserFeatures

    rng = np.random.default_rng(2)
    users, items = rng.integers(0, 30, 2000), rng.integers(0, 20, 2000)
    ratings = rng.integers(1, 6, 2000).astype(np.float32)
    demographics = UserFeatures.encode(("gender", "age"), [("f" if u % 2 else "m", str(u % 3)) for u in range(30)])
    model = NCFRating(
        factors=4,
        hidden=(8,),
        epochs=3,
        batch_size=128,
        seed=3,
        user_history=True,
        item_features=_categories(["a", "b"] * 10),
        user_features=demographics,
        keep_network=True,
    ).fit(users, items, ratings, 30, 20)
    keras_ratings = np.clip(
        model.model.predict({"user": users[:300], "item": items[:300]}, verbose=0).ravel() + model.mean, 1, 5
    )
    np.testing.assert_allclose(model.predict(users[:300], items[:300]), keras_ratings, rtol=1e-4, atol=1e-4)


def test_training_prints_no_tensorflow_log_lines():
    import os
    import subprocess
    import sys

    script = (
        "import scipy.sparse as sp; from webapp.recsys.neural import NeuMF; "
        "NeuMF(factors=4, mlp_layers=(8, 4), epochs=1, batch_size=64).fit("
        "sp.random(50, 30, density=0.2, format='csr', random_state=1)); print('trained')"
    )
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "trained"
    for noise in ("NodeDef mentions", "oneDNN", "absl::InitializeLog"):
        assert noise not in result.stderr


def test_neumf_holds_out_each_readers_latest_interaction_given_times(monkeypatch):
    """train-recs passes the events' times: early stopping measures what readers did next."""
    from webapp.recsys import neural
    from webapp.recsys.pipeline import fit_model

    held = []

    def spy(*args, **kwargs):
        split = holdout_sample(*args, **kwargs)
        held.append(split)
        return split

    monkeypatch.setattr(neural, "holdout_sample", spy)
    matrix = planted()
    last_seen = matrix.copy().astype(np.float64)
    last_seen.data = np.random.default_rng(3).permutation(matrix.nnz) + 1.0
    model = small_neumf(epochs=2, patience=1, validation_users=50, item_item=False)
    fit_model(model, matrix, last_seen=last_seen)
    (split,) = held
    assert len(split.test_users) == 50
    for user, item in zip(split.test_users, split.test_items, strict=True):
        assert last_seen[user, item] == last_seen[user].data.max()
