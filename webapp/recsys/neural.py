"""Neural Collaborative Filtering in TensorFlow/Keras (He et al., WWW 2017).

TensorFlow is imported inside :func:`_tensorflow`, called only when a model is trained;
scoring a trained model uses its weights with NumPy, so caching recommendations for
thousands of readers is a few large matrix products per block, never a ``predict`` per
reader-book pair.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import scipy.sparse as sp

from webapp.recsys.data import binarize
from webapp.recsys.evaluation import evaluate_ranking, holdout_sample
from webapp.recsys.models import HyperParameters, Recommender, embedding_neighbours, runtime, sample_negatives
from webapp.recsys.serving import RatingPredictor

logger = logging.getLogger(__name__)


@contextmanager
def _stderr_silenced() -> Iterator[None]:
    """Send file descriptor 2 (C++ code writes there directly) to /dev/null inside the block."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _tensorflow(seed: int):
    """Import TensorFlow, seeded and deterministic.

    Its C++ log lines (oneDNN notices, "NodeDef mentions attribute ..." from tf.data) would
    bury the progress bars, so only fatal ones are shown unless TF_CPP_MIN_LOG_LEVEL is set.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if os.environ["TF_CPP_MIN_LOG_LEVEL"] == "3":
        # On CPUs where oneDNN is on, TensorFlow announces it while importing, through absl
        # before absl reads any log level; only the import's own lines are kept off stderr.
        with _stderr_silenced():
            import tensorflow as tf
    else:
        import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    return tf


def _embedding(layers, count: int, dim: int, name: str, initializer, regularizer):
    """An embedding table of ``count`` rows of ``dim`` values, initialised and regularised alike in every model."""
    return layers.Embedding(
        count, dim, embeddings_initializer=initializer, embeddings_regularizer=regularizer, name=name
    )


def _gmf_and_mlp_inputs(
    layers,
    embedding,
    user,
    item,
    n_users: int,
    n_items: int,
    gmf_dim: int,
    mlp_dim: int,
    history_vectors: dict | None = None,
):
    """NCF's two branch inputs: the GMF product of user and item embeddings, and their MLP concatenation.

    The layers are named ``gmf_user``/``gmf_item``/``mlp_user``/``mlp_item``, the names the
    models read their trained embeddings back by. ``history_vectors`` maps a user layer's
    name to the history tensor added to that user embedding.
    """

    def user_vector(dim: int, name: str):
        vector = embedding(n_users, dim, name)(user)
        if history_vectors:
            vector = layers.Add(name=f"{name}_with_history")([vector, history_vectors[name]])
        return vector

    gmf = layers.Multiply(name="gmf")([user_vector(gmf_dim, "gmf_user"), embedding(n_items, gmf_dim, "gmf_item")(item)])
    mlp = layers.Concatenate(name="mlp_input")(
        [user_vector(mlp_dim, "mlp_user"), embedding(n_items, mlp_dim, "mlp_item")(item)]
    )
    return gmf, mlp


def _history_embedding(tf, history: sp.csr_matrix, dim: int, name: str, initializer, regularizer):
    """A layer giving each (user, left-out item) pair the scaled sum of the user's history embeddings.

    The history is the user's row of ``history`` without the left-out item (which must be
    in it), summed and divided by the square root of its length, as in FISM and SVD++. The
    history is held as a dense users x items matrix (65 MB for the Goodreads demo data):
    one gather and one matrix product per batch, however long a user's history.
    """
    keras = tf.keras
    rows = tf.constant(history.toarray().astype(np.float32))
    lengths = tf.constant(np.diff(history.indptr).astype(np.float32))

    class HistoryEmbedding(keras.layers.Layer):
        def build(self, input_shape) -> None:
            self.table = self.add_weight(
                shape=(history.shape[1], dim), initializer=initializer, regularizer=regularizer, name="embeddings"
            )

        def call(self, inputs):
            user, left_out = inputs
            total = tf.matmul(tf.gather(rows, user), self.table) - tf.gather(self.table, left_out)
            length = tf.maximum(tf.gather(lengths, user) - 1.0, 1.0)
            return total / tf.sqrt(length)[:, None]

    return HistoryEmbedding(name=name)


def _history_left_out(rng: np.random.Generator, history: sp.csr_matrix, users, items, labels) -> np.ndarray:
    """The item left out of each example's history: a positive's own item, or a random one of the user's."""
    lengths = np.diff(history.indptr)[users]
    picks = history.indices[history.indptr[users] + (rng.random(len(users)) * lengths).astype(np.int64)]
    return np.where(labels > 0, items, picks).astype(np.int32)


@dataclass(eq=False)
class NeuMF(Recommender):
    """NeuMF: a GMF branch and an MLP branch over user and item embeddings, fused.

    GMF: the element-wise product of ``factors``-dimensional user and item embeddings.
    MLP: user and item embeddings of size ``mlp_layers[0] // 2`` concatenated and passed
    through dense ReLU layers of sizes ``mlp_layers[1:]``. The GMF vector and the last MLP
    layer are concatenated into one sigmoid output, trained with binary cross-entropy on
    the observed interactions and ``negatives`` sampled unobserved items per positive.
    Early stopping watches NDCG@10 on one random held-out interaction of each of at most
    ``validation_users`` users; only those interactions are kept out of training.

    With ``user_history`` each user's GMF and MLP embeddings are their id's embedding plus
    the sum of embeddings of the items in their history, divided by the square root of its
    length: NCF's input layer with neighbour-based user features (He et al. section 3.1),
    as in FISM and SVD++. Readers with few interactions then borrow the strength of their
    items' embeddings, learned from every reader. In training, each example's history
    leaves out one item: a positive's own item (else the model would learn to find the
    target in the history) and a random one of the user's items for a negative, so that
    positives and negatives see histories of the same length.
    """

    name: ClassVar[str] = "neumf"
    # The defaults are what ``flask train-recs`` trains (benchmarks/recsys_benchmark.py tunes its own).
    factors: int = 32
    mlp_layers: tuple[int, ...] = (64, 32, 16)
    learning_rate: float = 0.003
    l2: float = 0.0
    epochs: int = 12
    batch_size: int = 4096
    negatives: int = 4
    patience: int = 3
    validation_users: int = 3000
    user_history: bool = False
    seed: int = 42
    progress: Callable[[dict], None] | None = runtime()
    history: list[dict[str, float]] = field(default_factory=list, init=False, repr=False)
    validation_readers: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        self.mlp_layers = tuple(self.mlp_layers)

    def validation_metrics(self) -> dict[str, float] | None:
        """The early-stopping hold-out's HR@10 and NDCG@10 at the epoch whose weights were kept.

        Each of ``readers`` readers had one random interaction kept out of training; the
        epoch was chosen on these same figures, so they lean slightly optimistic.
        """
        scored = [record for record in self.history if "val_ndcg@10" in record]
        if not scored:
            return None
        kept = max(scored, key=lambda record: record["val_ndcg@10"])  # the first best, as fit() keeps it
        return {"hr@10": kept["val_hr@10"], "ndcg@10": kept["val_ndcg@10"], "readers": self.validation_readers}

    def _build(self, tf, n_users: int, n_items: int, reader_history: sp.csr_matrix | None):
        keras = tf.keras
        layers = keras.layers
        regularizer = keras.regularizers.l2(self.l2) if self.l2 else None
        init = keras.initializers.RandomNormal(stddev=0.01, seed=self.seed)
        user = keras.Input(shape=(), dtype="int32", name="user")
        item = keras.Input(shape=(), dtype="int32", name="item")
        mlp_dim = self.mlp_layers[0] // 2

        def embedding(count: int, dim: int, name: str):
            return _embedding(layers, count, dim, name, init, regularizer)

        inputs = {"user": user, "item": item}
        history_vectors = None
        if reader_history is not None:
            inputs["left_out"] = keras.Input(shape=(), dtype="int32", name="left_out")
            history_vectors = {
                f"{branch}_user": _history_embedding(tf, reader_history, dim, f"{branch}_history", init, regularizer)(
                    [user, inputs["left_out"]]
                )
                for branch, dim in (("gmf", self.factors), ("mlp", mlp_dim))
            }
        gmf, mlp = _gmf_and_mlp_inputs(
            layers, embedding, user, item, n_users, n_items, self.factors, mlp_dim, history_vectors
        )
        for depth, units in enumerate(self.mlp_layers[1:]):
            mlp = layers.Dense(units, activation="relu", kernel_regularizer=regularizer, name=f"mlp_{depth}")(mlp)
        fused = layers.Concatenate(name="fused")([gmf, mlp])
        output = layers.Dense(1, activation="sigmoid", kernel_initializer="lecun_uniform", name="prediction")(fused)
        model = keras.Model(inputs, output)
        model.compile(optimizer=keras.optimizers.Adam(self.learning_rate), loss="binary_crossentropy")
        return model

    def fit(self, matrix: sp.csr_matrix) -> NeuMF:
        matrix = self._remember(matrix)
        tf = _tensorflow(self.seed)
        rng = np.random.default_rng(self.seed)
        n_users, n_items = matrix.shape
        all_positives = positives = binarize(matrix)
        validation = None
        if self.patience and self.epochs > 1:
            validation = holdout_sample(positives, self.validation_users, seed=self.seed, min_interactions=3)
            if len(validation.test_users):
                positives = validation.train
                self.validation_readers = len(validation.test_users)
            else:
                validation = None
        coo = positives.tocoo()
        users, items = coo.row.astype(np.int64), coo.col.astype(np.int64)
        seen_keys = np.sort((users * n_items + items).astype(np.int64))
        reader_history = positives if self.user_history else None
        self.model = self._build(tf, n_users, n_items, reader_history)
        best_ndcg, best_weights, waited = -1.0, None, 0
        self.history = []
        for epoch in range(self.epochs):
            neg_users = np.repeat(users, self.negatives)
            neg_items = sample_negatives(rng, neg_users, n_items, seen_keys)
            batch_users = np.concatenate([users, neg_users]).astype(np.int32)
            batch_items = np.concatenate([items, neg_items]).astype(np.int32)
            labels = np.concatenate([np.ones(len(users)), np.zeros(len(neg_users))]).astype(np.float32)
            order = rng.permutation(len(labels))
            inputs = {"user": batch_users[order], "item": batch_items[order]}
            if reader_history is not None:
                inputs["left_out"] = _history_left_out(
                    rng, reader_history, inputs["user"], inputs["item"], labels[order]
                )
            result = self.model.fit(
                inputs,
                labels[order],
                batch_size=self.batch_size,
                epochs=1,
                verbose=0,
                shuffle=False,
            )
            record = {"epoch": epoch + 1, "loss": float(result.history["loss"][-1])}
            if validation is not None:
                self._extract_weights(reader_history)
                metrics = evaluate_ranking(self.score, validation, k=10)
                record["val_hr@10"], record["val_ndcg@10"] = metrics["hr@10"], metrics["ndcg@10"]
            self.history.append(record)
            if self.progress is not None:
                self.progress(record)
            if validation is None:
                continue
            if record["val_ndcg@10"] > best_ndcg:
                best_ndcg, best_weights, waited = record["val_ndcg@10"], self.model.get_weights(), 0
            else:
                waited += 1
                if waited >= self.patience:
                    break
        if best_weights is not None:
            self.model.set_weights(best_weights)
        self._extract_weights(all_positives if self.user_history else None)
        return self

    def _extract_weights(self, reader_history: sp.csr_matrix | None) -> None:
        """Copy the trained weights out of Keras; with ``reader_history``, fold it into the user embeddings."""
        get = self.model.get_layer
        self.gmf_user = get("gmf_user").get_weights()[0]
        self.gmf_item = get("gmf_item").get_weights()[0]
        self.mlp_user = get("mlp_user").get_weights()[0]
        if reader_history is not None:
            scale = 1.0 / np.sqrt(np.maximum(np.diff(reader_history.indptr), 1), dtype=np.float32)[:, None]
            self.gmf_user = self.gmf_user + (reader_history @ get("gmf_history").get_weights()[0]) * scale
            self.mlp_user = self.mlp_user + (reader_history @ get("mlp_history").get_weights()[0]) * scale
        self.mlp_item = get("mlp_item").get_weights()[0]
        self.dense = [get(f"mlp_{d}").get_weights() for d in range(len(self.mlp_layers) - 1)]
        out_kernel, out_bias = get("prediction").get_weights()
        self.out_gmf = out_kernel[: self.factors, 0]
        self.out_mlp = out_kernel[self.factors :, 0]
        self.out_bias = float(out_bias[0])
        mlp_dim = self.mlp_layers[0] // 2
        if self.dense:
            first_kernel, first_bias = self.dense[0]
            # The first dense layer on concat(user, item) splits into a user part and an item part.
            self._first_user_kernel = first_kernel[:mlp_dim]
            self._item_first = self.mlp_item @ first_kernel[mlp_dim:] + first_bias
        self._gmf_item_t = np.ascontiguousarray(self.gmf_item.T)

    def score(self, user_codes: np.ndarray) -> np.ndarray:
        """Logits of every item for each user, in blocks of users (sigmoid is monotonic)."""
        user_codes = np.asarray(user_codes, dtype=np.int64)
        n_items = self.gmf_item.shape[0]
        out = np.empty((len(user_codes), n_items), dtype=np.float32)
        width = self.dense[0][0].shape[1] if self.dense else 1
        block = max(1, int(8_000_000 // max(n_items * width, 1)))
        for start in range(0, len(user_codes), block):
            users = user_codes[start : start + block]
            gmf = (self.gmf_user[users] * self.out_gmf) @ self._gmf_item_t
            if self.dense:
                user_first = self.mlp_user[users] @ self._first_user_kernel
                hidden = np.maximum(user_first[:, None, :] + self._item_first[None, :, :], 0.0)
                hidden = hidden.reshape(-1, hidden.shape[-1])
                for kernel, bias in self.dense[1:]:
                    hidden = np.maximum(hidden @ kernel + bias, 0.0)
                mlp = (hidden @ self.out_mlp).reshape(len(users), n_items)
            else:
                concat_user = self.mlp_user[users] @ self.out_mlp[: self.mlp_user.shape[1]]
                concat_item = self.mlp_item @ self.out_mlp[self.mlp_user.shape[1] :]
                mlp = concat_user[:, None] + concat_item[None, :]
            out[start : start + len(users)] = gmf + mlp + self.out_bias
        return out

    def item_embeddings(self) -> np.ndarray:
        """Each item's learned GMF and MLP embeddings side by side."""
        return np.concatenate([self.gmf_item, self.mlp_item], axis=1)

    def similar_items(self, item_codes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` items whose embeddings are closest (cosine) to each given item's."""
        return embedding_neighbours(self.item_embeddings(), item_codes, k)


@dataclass(eq=False)
class NCFRating(HyperParameters):
    """Rating prediction in the NCF style: embeddings -> GMF and MLP branches -> predicted rating.

    The prediction is the global mean, plus user and item biases, plus one dense output
    over the GMF vector (element-wise product of user and item embeddings) and the last
    layer of an MLP over the concatenated user and item embeddings. Trained with mean
    squared error and early stopping on a held-out slice of the training ratings; clipped
    to 1-5. :meth:`export` gives everything :class:`RatingPredictor` needs to predict
    with NumPy alone.
    """

    name: ClassVar[str] = "ncf_rating"
    # The defaults are what ``flask train-recs`` trains; the ML-100K benchmark sets its own.
    factors: int = 32
    hidden: tuple[int, ...] = (64, 32)
    learning_rate: float = 0.002
    l2: float = 1e-4
    dropout: float = 0.2
    epochs: int = 20
    batch_size: int = 1024
    patience: int = 2
    validation_fraction: float = 0.05
    seed: int = 42
    progress: Callable[[dict], None] | None = runtime()

    def __post_init__(self) -> None:
        self.hidden = tuple(self.hidden)

    def fit(self, users: np.ndarray, items: np.ndarray, ratings: np.ndarray, n_users: int, n_items: int) -> NCFRating:
        """Train on (user code, item code, rating) triples."""
        tf = _tensorflow(self.seed)
        keras, layers = tf.keras, tf.keras.layers
        regularizer = keras.regularizers.l2(self.l2) if self.l2 else None
        ratings = np.asarray(ratings, dtype=np.float32)
        self.mean = float(ratings.mean())
        user_in = keras.Input(shape=(), dtype="int32", name="user")
        item_in = keras.Input(shape=(), dtype="int32", name="item")
        init = keras.initializers.RandomNormal(stddev=0.05, seed=self.seed)

        def embedding(count: int, dim: int, name: str):
            return _embedding(layers, count, dim, name, init, regularizer)

        gmf, hidden = _gmf_and_mlp_inputs(
            layers, embedding, user_in, item_in, n_users, n_items, self.factors, self.factors
        )
        for depth, units in enumerate(self.hidden):
            hidden = layers.Dense(units, activation="relu", kernel_regularizer=regularizer, name=f"mlp_{depth}")(hidden)
            if self.dropout:
                hidden = layers.Dropout(self.dropout, seed=self.seed)(hidden)
        fused = layers.Concatenate(name="fused")([gmf, hidden])
        interaction = layers.Dense(1, name="prediction")(fused)
        user_bias = layers.Flatten()(embedding(n_users, 1, "user_bias")(user_in))
        item_bias = layers.Flatten()(embedding(n_items, 1, "item_bias")(item_in))
        output = layers.Reshape(())(layers.Add()([interaction, user_bias, item_bias]))
        self.model = keras.Model([user_in, item_in], output)
        self.model.compile(optimizer=keras.optimizers.Adam(self.learning_rate), loss="mse")
        rng = np.random.default_rng(self.seed)
        order = rng.permutation(len(ratings))
        n_val = int(len(order) * self.validation_fraction) if self.patience else 0
        val, train = order[:n_val], order[n_val:]
        inputs = {"user": np.asarray(users, dtype=np.int32), "item": np.asarray(items, dtype=np.int32)}
        centred = ratings - self.mean
        callbacks = []
        if self.progress is not None:
            callbacks.append(keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: self.progress(logs)))
        validation_data = None
        if n_val:
            callbacks.append(keras.callbacks.EarlyStopping(patience=self.patience, restore_best_weights=True))
            validation_data = ({k: v[val] for k, v in inputs.items()}, centred[val])
        self.model.fit(
            {k: v[train] for k, v in inputs.items()},
            centred[train],
            batch_size=self.batch_size,
            epochs=self.epochs,
            verbose=0,
            validation_data=validation_data,
            callbacks=callbacks,
            shuffle=True,
        )
        self._read_weights()
        return self

    def _read_weights(self) -> None:
        """Copy the trained weights out of Keras, in the form :class:`RatingPredictor` uses."""
        get = self.model.get_layer
        dense = [get(f"mlp_{depth}").get_weights() for depth in range(len(self.hidden))]
        out_kernel, out_bias = get("prediction").get_weights()
        self.predictor = RatingPredictor(
            mean=self.mean,
            factors=self.factors,
            kernels=[kernel for kernel, _ in dense],
            biases=[bias for _, bias in dense],
            out_kernel=out_kernel,
            out_bias=float(out_bias[0]),
        )

        def vectors(kind: str) -> np.ndarray:
            parts = [get(f"{kind}_bias").get_weights()[0], get(f"gmf_{kind}").get_weights()[0]]
            return np.concatenate([*parts, get(f"mlp_{kind}").get_weights()[0]], axis=1).astype(np.float32)

        self.user_vectors, self.item_vectors = vectors("user"), vectors("item")

    def export(self) -> tuple[RatingPredictor, np.ndarray, np.ndarray]:
        """The shared weights, and one ``[bias, gmf..., mlp...]`` vector per user and per item."""
        return self.predictor, self.user_vectors, self.item_vectors

    def item_embeddings(self) -> np.ndarray:
        """Each item's learned GMF and MLP embeddings side by side (its vector without the bias)."""
        return self.item_vectors[:, 1:]

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Predicted ratings, clipped to 1-5 (NumPy forward pass over the exported weights)."""
        users, items = np.asarray(users, dtype=np.int64), np.asarray(items, dtype=np.int64)
        return self.predictor.predict(self.user_vectors[users], self.item_vectors[items])
