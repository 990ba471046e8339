"""Neural Collaborative Filtering in TensorFlow/Keras (He et al., WWW 2017).

TensorFlow is imported inside :func:`_tensorflow`, called only when a model is trained;
scoring a trained model uses its weights with NumPy, so caching recommendations for
thousands of readers is a few large matrix products per block, never a ``predict`` per
reader-book pair.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from functools import partial
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from webapp.recsys.data import binarize, times_of
from webapp.recsys.evaluation import (
    evaluate_ranking,
    full_ranking_ranks,
    hit_rate_and_ndcg,
    holdout_sample,
    shortened_histories,
)
from webapp.recsys.features import FEATURE_FIELDS, ItemFeatures, UserFeatures
from webapp.recsys.models import (
    HyperParameters,
    Recommender,
    embedding_neighbours,
    recent_rows,
    runtime,
    sample_negatives,
    sparse_ease_weights,
)
from webapp.recsys.serving import (
    ContentTower,
    NeuMFScorer,
    RatingPredictor,
    blended,
    history_sums,
    recency_weighted,
    standardised,
)

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


def multi_worker_strategy(seed: int = 42):
    """TensorFlow's MultiWorkerMirroredStrategy for the cluster described by TF_CONFIG.

    Call it before any other TensorFlow work of the process (TensorFlow requires it).
    """
    return _tensorflow(seed).distribute.MultiWorkerMirroredStrategy()


def is_chief_worker() -> bool:
    """True for the process that publishes a distributed run: TF_CONFIG's chief, else worker 0 (or no TF_CONFIG)."""
    config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    task = config.get("task") or {}
    if not task:
        return True
    if "chief" in (config.get("cluster") or {}):
        return task.get("type") == "chief"
    return task.get("type") == "worker" and int(task.get("index", 0)) == 0


def _lazy_adam(tf, learning_rate: float):
    """Adam that moves only the rows of a table a batch looked up (TF Addons' LazyAdam, for Keras 3).

    Keras's Adam decays both moments of every row of an embedding table at every step,
    so a step costs as much as the whole table: with the readers' table that made an
    epoch's cost grow with readers x interactions. Here a sparse gradient (a lookup's
    ``tf.IndexedSlices``) updates the moments and values of the rows it names, summed per
    row; rows no batch touched keep their moments, as in TF Addons' LazyAdam (archived,
    and never ported to Keras 3). Dense gradients take Keras's own update, in one fused
    kernel (TensorFlow's ``ResourceApplyAdam``, the same formula) instead of Keras's ten
    element-wise passes: the history sums' gradients are dense books x factors tables.
    """
    keras = tf.keras

    class LazyAdam(keras.optimizers.Adam):
        def update_step(self, gradient, variable, learning_rate):
            step = tf.cast(self.iterations + 1, variable.dtype)
            beta_1, beta_2 = tf.cast(self.beta_1, variable.dtype), tf.cast(self.beta_2, variable.dtype)
            index = self._get_variable_index(variable)
            m, v = self._momentums[index], self._velocities[index]
            if not isinstance(gradient, tf.IndexedSlices):
                tf.raw_ops.ResourceApplyAdam(
                    var=variable.handle,
                    m=m.handle,
                    v=v.handle,
                    beta1_power=beta_1**step,
                    beta2_power=beta_2**step,
                    lr=tf.cast(learning_rate, variable.dtype),
                    beta1=beta_1,
                    beta2=beta_2,
                    epsilon=tf.cast(self.epsilon, variable.dtype),
                    grad=tf.cast(gradient, variable.dtype),
                )
                return
            rows, position = tf.unique(gradient.indices)
            values = tf.math.unsorted_segment_sum(tf.cast(gradient.values, variable.dtype), position, tf.shape(rows)[0])
            alpha = tf.cast(learning_rate, variable.dtype) * tf.sqrt(1 - beta_2**step) / (1 - beta_1**step)
            m_rows = beta_1 * tf.gather(m.value, rows) + (1 - beta_1) * values
            v_rows = beta_2 * tf.gather(v.value, rows) + (1 - beta_2) * tf.square(values)
            self.assign(m, tf.IndexedSlices(m_rows, rows))
            self.assign(v, tf.IndexedSlices(v_rows, rows))
            self.assign_sub(variable, tf.IndexedSlices(alpha * m_rows / (tf.sqrt(v_rows) + self.epsilon), rows))

    return LazyAdam(learning_rate)


def _embedding(tf, count: int, dim: int, name: str, initializer, regularizer):
    """An embedding table of ``count`` rows of ``dim`` values, initialised and regularised alike in every model.

    A step costs what the rows it looks up cost, not what the table costs (the readers'
    table grows with the library):
    - the rows are gathered from the variable itself: Keras's Embedding reads the whole
      table, and TensorFlow copies it again when the optimizer writes rows while that
      read is alive;
    - ``regularizer`` applies to the rows looked up, once per example, like the L2 term
      of SGD matrix factorisation: on the whole table its gradient is table-sized every step.
    """

    class RowLookup(tf.keras.layers.Embedding):
        def call(self, inputs):
            rows = tf.gather(self.embeddings.value, inputs)
            if regularizer is not None:
                self.add_loss(regularizer(rows))
            return rows

    return RowLookup(count, dim, embeddings_initializer=initializer, name=name)


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
    content_vectors: dict | None = None,
):
    """NCF's two branch inputs: the GMF product of user and item embeddings, and their MLP concatenation.

    The layers are named ``gmf_user``/``gmf_item``/``mlp_user``/``mlp_item``, the names the
    models read their trained embeddings back by. ``history_vectors`` maps a user layer's
    name to the history tensor added to that user embedding; ``content_vectors`` maps an
    item layer's name to the content tensor added to that item embedding.
    """

    def vector(count: int, dim: int, name: str, ids, extra: dict | None):
        vector = embedding(count, dim, name)(ids)
        if extra:
            vector = layers.Add(name=f"{name}_with_extra")([vector, extra[name]])
        return vector

    gmf = layers.Multiply(name="gmf")(
        [
            vector(n_users, gmf_dim, "gmf_user", user, history_vectors),
            vector(n_items, gmf_dim, "gmf_item", item, content_vectors),
        ]
    )
    mlp = layers.Concatenate(name="mlp_input")(
        [
            vector(n_users, mlp_dim, "mlp_user", user, history_vectors),
            vector(n_items, mlp_dim, "mlp_item", item, content_vectors),
        ]
    )
    return gmf, mlp


def _history_embedding(
    tf,
    history: sp.csr_matrix,
    dim: int,
    name: str,
    initializer,
    regularizer,
    leave_out: bool = True,
    ordered: OrderedHistory | None = None,
):
    """A layer giving each (user, left-out position) pair the scaled sum of the user's history embeddings.

    The left-out input is a position in ``history``'s item codes (``indices``): the user's
    row without that item, summed and divided by the square root of its length, as in FISM
    and SVD++. It is held as the CSR matrix's item codes and row offsets, so memory grows
    with the interactions, not with readers x books. Without ``leave_out`` the layer takes
    the users alone and sums their whole history (SVD++'s implicit feedback beside explicit
    ratings). With ``ordered`` (``history``'s rows in time order) the history is what the
    user had done by then: the items no later than the left-out one but itself, each
    weighted by recency as :func:`~webapp.recsys.serving.recency_weighted` weighs a whole
    history (``r`` counts the items after it and no later than the left-out one; items at
    the same time weigh 1), over the square root of the weights' sum; items more than
    ``ordered.span`` positions back weigh under e^-10 and are left out.
    """
    keras = tf.keras
    items = tf.constant(history.indices.astype(np.int32))
    offsets = tf.constant(history.indptr.astype(np.int64))
    lengths = tf.constant(np.diff(history.indptr).astype(np.float32))
    if ordered is not None:
        tie_end = tf.constant(ordered.tie_end)

    class HistoryEmbedding(keras.layers.Layer):
        # Training feeds groups of ``group`` consecutive examples of one user with one left-out
        # item (a positive and its sampled negatives): the history is summed once per group.
        group = 1

        def build(self, input_shape) -> None:
            self.table = self.add_weight(
                shape=(history.shape[1], dim), initializer=initializer, regularizer=regularizer, name="embeddings"
            )

        def _weighted_sum(self, n_rows, rows, positions, weights):
            # A (users x items) weight matrix times the table: its gradient is a dense table-sized
            # matrix, where gathering every history item's row would give one row per item read.
            picked = tf.gather(items, positions)
            indices = tf.stack([rows, tf.cast(picked, tf.int64)], axis=1)
            shape = tf.stack([n_rows, tf.constant(history.shape[1], tf.int64)])
            return tf.sparse.sparse_dense_matmul(tf.SparseTensor(indices, weights, shape), self.table)

        def _summed(self, user):
            # The batch's users' positions in ``items``: not a gather from a RaggedTensor, which
            # checks every user's offsets each step (3 ms a step at 2.4 million readers).
            positions = tf.ragged.range(tf.gather(offsets, user), tf.gather(offsets, user + 1))
            ones = tf.ones_like(positions.flat_values, dtype=self.table.dtype)
            n_rows = tf.shape(user, out_type=tf.int64)[0]
            return self._weighted_sum(n_rows, positions.value_rowids(), positions.flat_values, ones)

        def _earlier(self, user, left_out):
            left_out = tf.cast(left_out, tf.int64)
            end = tf.cast(tf.gather(tie_end, left_out), tf.int64)  # past the items no later than the left-out one
            positions = tf.ragged.range(tf.maximum(tf.gather(offsets, user), end - 1 - ordered.span), end)
            rows, earlier = positions.value_rowids(), positions.flat_values
            later = tf.gather(end, rows) - 1 - tf.cast(tf.gather(tie_end, earlier), tf.int64)  # the left-out one not
            weights = tf.exp(-tf.cast(tf.maximum(later, 0), self.table.dtype) / ordered.recency)
            weights = tf.where(earlier == tf.gather(left_out, rows), tf.zeros_like(weights), weights)
            n_rows = tf.shape(user, out_type=tf.int64)[0]
            total = self._weighted_sum(n_rows, rows, earlier, weights)
            weight = tf.math.unsorted_segment_sum(weights, rows, tf.cast(n_rows, tf.int32))
            return total / tf.sqrt(tf.maximum(weight, 1.0))[:, None]

        def call(self, inputs):
            if not leave_out:
                total = self._summed(inputs)
                return total / tf.sqrt(tf.maximum(tf.gather(lengths, inputs), 1.0))[:, None]
            user, left_out = inputs[0][:: self.group], inputs[1][:: self.group]
            if ordered is not None:
                vectors = self._earlier(user, left_out)
            else:
                total = self._summed(user) - tf.gather(self.table, tf.gather(items, left_out))
                length = tf.maximum(tf.gather(lengths, user) - 1.0, 1.0)
                vectors = total / tf.sqrt(length)[:, None]
            return tf.repeat(vectors, self.group, axis=0) if self.group > 1 else vectors

    return HistoryEmbedding(name=name)


def _user_fields_layer(tf, features: UserFeatures, widths: tuple[int, ...], initializer, regularizer):
    """A layer giving each user the sum of their fields' embeddings (one table per field), split into ``widths``.

    :meth:`numpy_vectors` gives every user's (or the given users') summed vector, in the same order of parts.
    """
    keras = tf.keras
    codes = tf.constant(features.codes)
    ends = np.cumsum(widths)

    class UserFieldVectors(keras.layers.Layer):
        def build(self, input_shape) -> None:
            self.tables = [
                self.add_weight(shape=(size, int(ends[-1])), initializer=initializer, regularizer=regularizer, name=f)
                for f, size in zip(features.fields, features.sizes(), strict=True)
            ]

        def call(self, user):
            row = tf.gather(codes, user)
            total = tf.add_n([tf.gather(table, row[:, column]) for column, table in enumerate(self.tables)])
            return tuple(total[:, end - width : end] for width, end in zip(widths, ends, strict=True))

        def numpy_vectors(self, users: np.ndarray | None = None) -> np.ndarray:
            codes = features.codes if users is None else features.codes[users]
            return sum(table.numpy()[codes[:, column]] for column, table in enumerate(self.tables))

    return UserFieldVectors(name="user_fields")


# An epoch's examples are drawn about this many groups (a positive and its negatives) at a time:
# at 50x the demo a whole epoch's examples and their temporaries took several GB.
SLICE_GROUPS = 2**18

# NeuMF's item-item part (sparse EASE^R): its L2 penalties, blend weights and the recency its
# history rows are weighted by (serving.recency_weighted; 0: every item alike, and the only
# candidate without event times), all chosen on the early-stopping hold-out (a weight of 0 leaves
# the part out); the items it covers and the weights kept in all (see models.sparse_ease_weights).
ITEM_ITEM_L2 = (100.0, 500.0, 2000.0)
ITEM_ITEM_WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0)
ITEM_ITEM_RECENCY = (0.0, 5.0, 10.0, 25.0)
ITEM_ITEM_MAX_ITEMS = 5000
ITEM_ITEM_NONZEROS = 1_000_000
# Histories of at most this many items get a blend weight of their own, chosen on the hold-out's
# readers cut to 1 to this many items (see evaluation.shortened_histories).
ITEM_ITEM_SHORT_HISTORY = 3
# The hold-out's readers are scored, standardised and ranked (after each epoch, and in the
# item-item choice) a block of about this many scores at a time (83 readers at 50,000 books):
# at 50x the demo the choice's 1,500 readers at once (readers x books, several copies) added
# 1.3 GB at its peak.
CHOICE_BLOCK_SCORES = 2**22

# Sizes of the content tower's parts (see serving.ContentTower).
CONTENT_DIMS = {"category": 16, "tags": 16, "authors": 16, "decade": 8, "title": 16}
TITLE_WINDOWS = (2, 3)
TITLE_FILTERS = 16


def _content_tower(tf, features: ItemFeatures, gmf_dim: int, mlp_dim: int, seed: int, regularizer):
    """A layer mapping item codes to their (GMF, MLP) content vectors; the same computation as ContentTower.

    The items' feature codes are constants of the layer; its weights carry the names
    :class:`webapp.recsys.serving.ContentTower` reads.
    """
    keras = tf.keras
    tables = {name: tf.constant(getattr(features, name)) for name in FEATURE_FIELDS}
    sizes = {name: int(getattr(features, name).max(initial=0)) + 1 for name in FEATURE_FIELDS}
    width = sum(CONTENT_DIMS[name] for name in FEATURE_FIELDS if name != "title") + TITLE_FILTERS * len(TITLE_WINDOWS)

    class ContentVectors(keras.layers.Layer):
        def build(self, input_shape) -> None:
            init = keras.initializers.RandomNormal(stddev=0.05, seed=seed)
            self.parts = {}
            for name in FEATURE_FIELDS:
                self.parts[name] = self.add_weight(
                    shape=(sizes[name], CONTENT_DIMS[name]), initializer=init, regularizer=regularizer, name=name
                )
            for size in TITLE_WINDOWS:
                self.parts[f"conv_{size}_kernel"] = self.add_weight(
                    shape=(size * CONTENT_DIMS["title"], TITLE_FILTERS),
                    initializer="glorot_uniform",
                    name=f"conv_{size}_kernel",
                )
                self.parts[f"conv_{size}_bias"] = self.add_weight(
                    shape=(TITLE_FILTERS,), initializer="zeros", name=f"conv_{size}_bias"
                )
            for branch, dim in (("gmf", gmf_dim), ("mlp", mlp_dim)):
                self.parts[f"to_{branch}_kernel"] = self.add_weight(
                    shape=(width, dim), initializer=init, regularizer=regularizer, name=f"to_{branch}_kernel"
                )
                self.parts[f"to_{branch}_bias"] = self.add_weight(
                    shape=(dim,), initializer="zeros", name=f"to_{branch}_bias"
                )

        def _mean(self, name: str, codes):
            present = tf.cast(codes > 0, tf.float32)
            total = tf.reduce_sum(tf.gather(self.parts[name], codes) * present[..., None], axis=1)
            return total / tf.maximum(tf.reduce_sum(present, axis=1), 1.0)[:, None]

        def _title_cnn(self, title):
            # The Conv1D over the title's word embeddings, max-pooled: a window's value is the sum,
            # over its offsets, of each word's embedding times that offset's slice of the kernel.
            # Those products are taken once per vocabulary word (a words x filters table per
            # offset), so each item gathers and adds rows, with no matrix product per window:
            # the same sums, and a training step a third cheaper on scale.py's libraries.
            dim, n_words = CONTENT_DIMS["title"], features.title.shape[1]
            known = tf.cast(tf.range(sizes["title"]) > 0, tf.float32)[:, None]  # code 0: no word, zeros
            words = self.parts["title"] * known
            pooled = []
            for size in TITLE_WINDOWS:
                kernel = self.parts[f"conv_{size}_kernel"]
                convolved = self.parts[f"conv_{size}_bias"]
                for offset in range(size):
                    projected = tf.matmul(words, kernel[offset * dim : (offset + 1) * dim])
                    convolved = convolved + tf.gather(projected, title[:, offset : n_words - size + 1 + offset])
                pooled.append(tf.reduce_max(tf.nn.relu(convolved), axis=1))
            return pooled

        def call(self, item):
            # Each distinct item of the batch once (a batch repeats popular items many times).
            item, position = tf.unique(item)
            code = {name: tf.gather(tables[name], item) for name in FEATURE_FIELDS}
            x = tf.concat(
                [
                    tf.gather(self.parts["category"], code["category"]),
                    self._mean("tags", code["tags"]),
                    self._mean("authors", code["authors"]),
                    tf.gather(self.parts["decade"], code["decade"]),
                    *self._title_cnn(code["title"]),
                ],
                axis=1,
            )
            return (
                tf.gather(tf.matmul(x, self.parts["to_gmf_kernel"]) + self.parts["to_gmf_bias"], position),
                tf.gather(tf.matmul(x, self.parts["to_mlp_kernel"]) + self.parts["to_mlp_bias"], position),
            )

        def numpy_weights(self) -> dict[str, np.ndarray]:
            return {name: np.asarray(weight.numpy()) for name, weight in self.parts.items()}

    return ContentVectors(name="content")


def _history_left_out(rng: np.random.Generator, history: sp.csr_matrix, users, positions, labels) -> np.ndarray:
    """The position in ``history`` left out of each example's history: a positive's own (``positions``),
    or a random one of the user's."""
    lengths = np.diff(history.indptr)[users]
    picks = history.indptr[users] + (rng.random(len(users)) * lengths).astype(np.int64)
    return np.where(labels > 0, positions, picks).astype(np.int32)


@dataclass
class OrderedHistory:
    """Training histories in time order, for a network that learns from what came before each interaction.

    ``history`` has the rows of the training matrix with each row's items from the earliest
    (ties by item code) and their times as data; ``position_of`` maps each interaction
    of the training matrix (its CSR order) to its position in ``history``; ``tie_end`` gives
    each position the end (exclusive) of its run of the user's items with the same time.
    """

    history: sp.csr_matrix
    position_of: np.ndarray
    tie_end: np.ndarray
    recency: float

    @property
    def span(self) -> int:
        """How far back a training history reaches: farther, an item weighs under e^-10."""
        return int(np.ceil(10 * self.recency))

    @classmethod
    def of(cls, positives: sp.csr_matrix, last_seen: sp.csr_matrix, recency: float) -> OrderedHistory:
        """The binary training matrix ``positives`` in time order by the event times ``last_seen``."""
        times = times_of(last_seen, positives)
        rows = np.repeat(np.arange(positives.shape[0], dtype=np.int32), np.diff(positives.indptr))
        order = np.lexsort((positives.indices, times.data, rows))
        del rows
        position_of = np.empty(len(order), dtype=np.int32)
        position_of[order] = np.arange(len(order), dtype=np.int32)
        ordered_times = times.data[order]
        history = sp.csr_matrix((ordered_times, positives.indices[order], positives.indptr), shape=positives.shape)
        del order
        # A run of ties starts at a row's start or where the time changes (rows are in time order).
        starts = np.r_[True, ordered_times[1:] != ordered_times[:-1]][: len(ordered_times)]
        starts[positives.indptr[:-1][np.diff(positives.indptr) > 0]] = True
        ends = np.r_[starts[1:], True][: len(starts)]  # the last of a run
        position = np.arange(len(starts), dtype=np.int32)
        tie_end = (np.minimum.accumulate(np.where(ends, position, len(starts))[::-1])[::-1] + 1).astype(np.int32)
        return cls(history, position_of, tie_end, float(recency))


# The best epoch's weights are written out and read back this many values at a time: Keras's
# save_weights and load_weights each held whole copies of every table (0.6 GB at 50x the demo,
# on top of training's memory: a 0.9 GB rise after the epochs, and 50x's peak).
WEIGHT_BLOCK_VALUES = 2**22


def _row_blocks(shape: tuple[int, ...]) -> Iterator[Any]:
    """Slices of a variable's first axis of about ``WEIGHT_BLOCK_VALUES`` values each (all of a scalar)."""
    if not shape:
        yield ...
        return
    rows = max(1, WEIGHT_BLOCK_VALUES // max(1, int(np.prod(shape[1:]))))
    for start in range(0, shape[0], rows):
        yield slice(start, min(start + rows, shape[0]))


def _write_weights(variables: list, directory: str) -> None:
    """Each Keras variable's value into a raw file of its own in ``directory``, a block of rows at a time."""
    for number, variable in enumerate(variables):
        with open(os.path.join(directory, f"{number}.raw"), "wb") as out:
            for rows in _row_blocks(tuple(variable.shape)):
                np.asarray(variable.value[rows]).tofile(out)


def _read_weights(variables: list, directory: str) -> None:
    """Assign what :func:`_write_weights` wrote back to the same variables, a block of rows at a time."""
    for number, variable in enumerate(variables):
        shape, dtype = tuple(variable.shape), np.dtype(variable.dtype)
        with open(os.path.join(directory, f"{number}.raw"), "rb") as source:
            for rows in _row_blocks(shape):
                block_shape = shape if rows is ... else (rows.stop - rows.start, *shape[1:])
                block = np.fromfile(source, dtype=dtype, count=int(np.prod(block_shape))).reshape(block_shape)
                variable.value[rows].assign(block)


def _readers_per_block(n_items: int) -> int:
    """How many of the hold-out's readers are scored at once (see CHOICE_BLOCK_SCORES)."""
    return max(1, CHOICE_BLOCK_SCORES // max(n_items, 1))


def _standardised_rows(
    score: Callable[[slice], np.ndarray], rows: int, columns: int, block: int | None = None
) -> np.ndarray:
    """The float32 (rows, columns) matrix of ``standardised(score(rows_slice))``, filled ``block`` rows at a
    time (default: about CHOICE_BLOCK_SCORES scores): the temporaries are a block's, not the whole matrix's."""
    block = block or _readers_per_block(columns)
    out = np.empty((rows, columns), dtype=np.float32)
    for start in range(0, rows, block):
        part = slice(start, min(start + block, rows))
        out[part] = standardised(score(part))
    return out


def _best_blend(
    network: np.ndarray, item_item_rows: sp.csr_matrix, item_item_weights: sp.csr_matrix, split, candidates
) -> tuple[float, dict[str, float]]:
    """The blend weight among ``candidates`` with the best NDCG@10 on ``split``, and what it reached there.

    ``network`` holds the standardised network scores of ``split.test_users``, row for row; their
    item-item scores are their ``item_item_rows`` times ``item_item_weights``, standardised here a
    block of readers at a time and ranked under every candidate weight, never held for all at once.
    """
    users, items = np.asarray(split.test_users), np.asarray(split.test_items)
    ranks = {weight: np.empty(len(users), dtype=np.int64) for weight in candidates}
    block = _readers_per_block(network.shape[1])
    for start in range(0, len(users), block):
        part = slice(start, start + block)
        row_of = {int(user): row for row, user in enumerate(users[part])}
        network_block = network[part]
        item_item_block = standardised((item_item_rows[part] @ item_item_weights).toarray())
        for weight in candidates:

            def scores(
                codes: np.ndarray, weight=weight, row_of=row_of, network=network_block, item_item=item_item_block
            ) -> np.ndarray:
                rows = [row_of[int(code)] for code in codes]
                return blended(network[rows], item_item[rows], weight)

            ranks[weight][part] = full_ranking_ranks(scores, split.train, users[part], items[part])
    best: tuple[float, dict[str, float]] | None = None
    for weight in candidates:
        hr, ndcg = hit_rate_and_ndcg(ranks[weight], 10)
        if best is None or ndcg > best[1]["ndcg@10"]:
            best = (weight, {"hr@10": hr, "ndcg@10": ndcg})
    assert best is not None, "no candidate weights"
    return best


@dataclass(eq=False)
class NeuMF(Recommender):
    """NeuMF: a GMF branch and an MLP branch over user and item embeddings, fused.

    GMF: the element-wise product of ``factors``-dimensional user and item embeddings.
    MLP: user and item embeddings of size ``mlp_layers[0] // 2`` concatenated and passed
    through dense ReLU layers of sizes ``mlp_layers[1:]``. The GMF vector and the last MLP
    layer are concatenated into one sigmoid output, trained with binary cross-entropy on
    the observed interactions and ``negatives`` sampled unobserved items per positive
    (drawn among the items someone interacted with; pairs given to ``fit`` as
    ``dismissed`` are added as negatives every epoch). Early stopping watches NDCG@10 on
    one held-out interaction (the latest, given the events' times; else a random one) of
    each of at most ``validation_users`` users; only those interactions are kept out of
    training.

    With ``user_history`` each user's GMF and MLP embeddings are their id's embedding plus
    the sum of embeddings of the items in their history, divided by the square root of its
    length: NCF's input layer with neighbour-based user features (He et al. section 3.1),
    as in FISM and SVD++. Readers with few interactions then borrow the strength of their
    items' embeddings, learned from every reader, and a new reader's vector is their
    history's alone (fold-in, :class:`NeuMFScorer`). In training, each example's history
    leaves out one item: a positive's own item (else the model would learn to find the
    target in the history) and a random one of the user's items for a negative, so that
    positives and negatives see histories of the same length. Given event times that
    differ (fit's ``last_seen``) and a ``history_recency``, the history is instead what the
    user had done by then: each example's item is learned from the user's items up to its
    time, the latest weighing most (``exp(-r / history_recency)``, ``r`` the items after),
    as a sequential recommender learns the next item from the ones before it; scoring weighs a
    whole history the same way from its end (:func:`recency_weighted`), so what a reader did
    last counts most. On MovieLens, whose test holds out each reader's latest rating, it
    did better on the validation split than whole histories (the README has the figures).

    With ``item_features`` (an :class:`ItemFeatures` row per item) each item's embeddings
    are its id's embedding plus a content vector from its side information (category,
    tags, authors, decade, a text-CNN over the title; :class:`ContentTower`), as in the
    MovieLens deep recommender that fuses genre and title features with the id. An item
    nobody interacted with keeps only its content vector, so it can be recommended.

    With ``user_features`` (MovieLens: age bucket, gender, occupation) each user's
    embeddings also add the sum of their fields' embeddings, as that model's user tower does.

    With ``item_item``, the network's scores are blended with a sparse EASE^R item-item
    model's (Steck, WWW 2019; :func:`sparse_ease_weights`), each standardised per user
    (:class:`NeuMFScorer`): the closed-form model is the strongest warm baseline on both
    benchmark data sets, and the two make different mistakes. Its L2 penalty and its weight
    in the blend are chosen after training on the early-stopping hold-out (weight 0 when the
    blend does not help there; no part without a hold-out).
    """

    name: ClassVar[str] = "neumf"
    # The defaults are what ``flask train-recs`` trains (benchmarks/recsys_benchmark.py tunes its own).
    factors: int = 32
    mlp_layers: tuple[int, ...] = (64, 32, 16)
    learning_rate: float = 0.01
    l2: float = 0.0
    epochs: int = 3
    # Large batches: a step's fixed cost dominated at 4096 (43 s an epoch on the demo, 18-24 s at
    # 16384 with the learning rate raised to match; the same validation NDCG@10 after 3 epochs).
    batch_size: int = 16384
    negatives: int = 3
    # A batch's negatives are drawn among this many books, themselves drawn uniformly for it (each
    # negative is still a uniform draw over the catalogue): the content tower and the item tables
    # work once per distinct book of a batch, 13,200 of them at 50,000 books with negatives drawn
    # over the whole catalogue, 6,600 with the pool (negative sharing: Chen et al., KDD 2017).
    # 0: no pool. A catalogue of at most this many books is drawn over whole.
    negative_pool: int = 4096
    patience: int = 3
    validation_users: int = 1500
    user_history: bool = True
    # With event times, each training example's history is the user's items up to its time, the
    # latest weighing most (see OrderedHistory), and scoring weighs a history by this recency likewise;
    # chosen on the benchmark's validation split (0: every item alike, the history around it).
    history_recency: float = 2.0
    content: bool = True
    item_item: bool = True
    seed: int = 42
    item_features: ItemFeatures | None = runtime()
    user_features: UserFeatures | None = runtime()
    progress: Callable[[dict], None] | None = runtime()
    # A tf.distribute strategy to train under (flask train-recs --distributed: MultiWorkerMirroredStrategy).
    strategy: Any = runtime()
    # Keep the Keras model (``model``) after fit; by default it is dropped once its weights are read
    # out (its readers' tables and the optimizer's two moments are about 1.8 GB at 50x the demo).
    keep_network: bool = runtime(False)
    history: list[dict[str, float]] = field(default_factory=list, init=False, repr=False)
    validation_readers: int = field(default=0, init=False, repr=False)
    # What the hold-out chose for the item-item part: {"l2", "weight", "recency", "hr@10", "ndcg@10", ...}
    # (empty: none tried).
    item_item_choice: dict[str, float] = field(default_factory=dict, init=False, repr=False)
    # The training events' times (fit's ``last_seen``), for the recency in score().
    train_times: sp.csr_matrix | None = field(default=None, init=False, repr=False)
    # The history recency the network was trained with: ``history_recency``, or 0 without times.
    trained_history_recency: float = field(default=0.0, init=False, repr=False)

    def __post_init__(self) -> None:
        self.mlp_layers = tuple(self.mlp_layers)
        if len(self.mlp_layers) < 2:
            raise ValueError("mlp_layers needs the input size and at least one hidden layer")

    @property
    def uses_content(self) -> bool:
        return self.content and self.item_features is not None

    @property
    def batch_groups(self) -> int:
        """Whole groups (a positive or a dismissal and its ``negatives``) in a training batch."""
        return max(self.batch_size // (1 + self.negatives), 1)

    def validation_metrics(self) -> dict[str, float] | None:
        """The early-stopping hold-out's HR@10 and NDCG@10 at the epoch whose weights were kept.

        Each of ``readers`` readers had one interaction kept out of training (their latest
        when the events have times, else a random one); the epoch was chosen on these same
        figures, so they lean slightly optimistic. With an item-item part they are the
        blend's (chosen there too), the network's beside them.
        """
        scored = [record for record in self.history if "val_ndcg@10" in record]
        if not scored:
            return None
        kept = max(scored, key=lambda record: record["val_ndcg@10"])  # the first best, as fit() keeps it
        measured = {
            "hr@10": kept["val_hr@10"],
            "ndcg@10": kept["val_ndcg@10"],
            "readers": self.validation_readers,
            "history_recency": self.trained_history_recency,
        }
        choice = self.item_item_choice
        if self.scorer.item_item is not None:  # what the blend the model scores with reached
            measured = {
                **measured,
                "network_hr@10": measured["hr@10"],
                "network_ndcg@10": measured["ndcg@10"],
                "hr@10": choice["hr@10"],
                "ndcg@10": choice["ndcg@10"],
                "item_item_l2": choice["l2"],
                "item_item_weight": choice["weight"],
                "item_item_short_weight": choice["short_weight"],
                "item_item_short_history": ITEM_ITEM_SHORT_HISTORY,
                "item_item_recency": choice["recency"],
            }
        return measured

    def _build(
        self,
        tf,
        n_users: int,
        n_items: int,
        reader_history: sp.csr_matrix | None,
        ordered: OrderedHistory | None = None,
    ):
        keras = tf.keras
        layers = keras.layers
        regularizer = keras.regularizers.l2(self.l2) if self.l2 else None
        init = keras.initializers.RandomNormal(stddev=0.01, seed=self.seed)
        user = keras.Input(shape=(), dtype="int32", name="user")
        item = keras.Input(shape=(), dtype="int32", name="item")
        mlp_dim = self.mlp_layers[0] // 2

        def embedding(count: int, dim: int, name: str):
            return _embedding(tf, count, dim, name, init, regularizer)

        inputs = {"user": user, "item": item}
        user_parts: dict[str, list] = {"gmf_user": [], "mlp_user": []}
        content_vectors = None
        if reader_history is not None:
            inputs["left_out"] = keras.Input(shape=(), dtype="int32", name="left_out")
            for branch, dim in (("gmf", self.factors), ("mlp", mlp_dim)):
                layer = _history_embedding(
                    tf, reader_history, dim, f"{branch}_history", init, regularizer, ordered=ordered
                )
                user_parts[f"{branch}_user"].append(layer([user, inputs["left_out"]]))
        if self.user_features is not None:
            gmf_fields, mlp_fields = _user_fields_layer(
                tf, self.user_features, (self.factors, mlp_dim), init, regularizer
            )(user)
            user_parts["gmf_user"].append(gmf_fields)
            user_parts["mlp_user"].append(mlp_fields)
        history_vectors = {
            name: parts[0] if len(parts) == 1 else layers.Add(name=f"{name}_extra")(parts)
            for name, parts in user_parts.items()
            if parts
        }
        if self.uses_content:
            self._content_layer = _content_tower(tf, self.item_features, self.factors, mlp_dim, self.seed, regularizer)
            gmf_content, mlp_content = self._content_layer(item)
            content_vectors = {"gmf_item": gmf_content, "mlp_item": mlp_content}
        gmf, mlp = _gmf_and_mlp_inputs(
            layers, embedding, user, item, n_users, n_items, self.factors, mlp_dim, history_vectors, content_vectors
        )
        for depth, units in enumerate(self.mlp_layers[1:]):
            mlp = layers.Dense(units, activation="relu", kernel_regularizer=regularizer, name=f"mlp_{depth}")(mlp)
        fused = layers.Concatenate(name="fused")([gmf, mlp])
        output = layers.Dense(1, activation="sigmoid", kernel_initializer="lecun_uniform", name="prediction")(fused)
        model = keras.Model(inputs, output)
        model.compile(optimizer=_lazy_adam(tf, self.learning_rate), loss="binary_crossentropy")
        return model

    def fit(
        self, matrix: sp.csr_matrix, dismissed: sp.csr_matrix | None = None, last_seen: sp.csr_matrix | None = None
    ) -> NeuMF:
        """Train on ``matrix``; ``dismissed`` (same shape) marks pairs a user said no to, used as negatives.

        With ``last_seen`` (event times, the sparsity of ``matrix``), the early-stopping hold-out
        is each of its readers' latest interaction, not a random one: what they did next.
        """
        matrix = self._remember(matrix)
        if self.item_features is not None and len(self.item_features) != matrix.shape[1]:
            raise ValueError(f"item_features has {len(self.item_features)} rows for {matrix.shape[1]} items")
        if self.user_features is not None and len(self.user_features) != matrix.shape[0]:
            raise ValueError(f"user_features has {len(self.user_features)} rows for {matrix.shape[0]} users")
        tf = _tensorflow(self.seed)
        rng = np.random.default_rng(self.seed)
        n_users, n_items = matrix.shape
        all_positives = positives = binarize(matrix)
        validation = None
        if self.patience and self.epochs > 1:
            validation = holdout_sample(positives, self.validation_users, self.seed, 3, last_seen)
            if len(validation.test_users):
                positives = validation.train
                self.validation_readers = len(validation.test_users)
            else:
                validation = None
        # Each training interaction's user and item, as int32 (22 million of each at 50x the demo);
        # the slices an epoch draws are cast to int64 where codes are multiplied.
        users = np.repeat(np.arange(n_users, dtype=np.int32), np.diff(positives.indptr))
        items = positives.indices.astype(np.int32, copy=False)
        # Negatives are drawn among the items someone interacted with: an untouched item is not
        # evidence of dislike, and it must look like a new book (content vector only) when scored.
        self.active_items = np.flatnonzero(np.diff(all_positives.tocsc().indptr) > 0)
        active_position = np.full(n_items, -1, dtype=np.int64)
        active_position[self.active_items] = np.arange(len(self.active_items))
        seen_keys = np.sort(users.astype(np.int64) * len(self.active_items) + active_position[items])
        extra_users = extra_items = np.empty(0, dtype=np.int32)
        if dismissed is not None and dismissed.nnz:
            kept = dismissed.tocoo()
            keep = np.asarray(all_positives[kept.row, kept.col]).ravel() == 0  # a later "yes" wins
            extra_users, extra_items = kept.row[keep].astype(np.int32), kept.col[keep].astype(np.int32)
        reader_history = positives if self.user_history else None
        ordered = None  # the histories in time order: only where the times say which came first
        timed = last_seen is not None and last_seen.nnz > 0 and last_seen.data.min() < last_seen.data.max()
        self.trained_history_recency = self.history_recency if self.user_history and timed else 0.0
        if self.trained_history_recency:
            ordered = OrderedHistory.of(positives, last_seen, self.trained_history_recency)
            reader_history = ordered.history
        with self.strategy.scope() if self.strategy is not None else nullcontext():
            self.model = self._build(tf, n_users, n_items, reader_history, ordered)
        group = 1 + self.negatives
        self._set_history_group(group)
        if len(extra_users) and reader_history is not None:  # a dismissal needs a history to sit beside
            has_history = np.diff(reader_history.indptr)[extra_users] > 0
            extra_users, extra_items = extra_users[has_history], extra_items[has_history]

        # An epoch's slices for a number of batch groups a slice (None: the whole epoch in one).
        epoch_slices = partial(
            self._epoch_groups, rng, users, items, extra_users, extra_items, seen_keys, reader_history, ordered
        )

        self._train_epochs(tf, epoch_slices, validation, reader_history)
        # What only the epochs needed (the examples' codes, the seen pairs, the time order) is freed,
        # and the Keras model once its weights are read out, before the item-item part is chosen:
        # at 50x the demo that choice holds the run's peak memory.
        del epoch_slices, users, items, seen_keys, extra_users, extra_items, ordered
        self._set_history_group(1)  # predict() takes any pairs
        self._extract_weights()
        if not self.keep_network:
            self.model = self._content_layer = None
            gc.collect()  # a Keras model is a web of reference cycles: its tables are freed now, not later
        self.item_item_choice = {}
        self.train_times = last_seen
        if self.item_item and validation is not None:

            def own_vectors(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
                return self.gmf_user_id[codes], self.mlp_user_id[codes]

            network = self._hold_out_scores(own_vectors, reader_history)
            self.item_item_choice = self._choose_item_item(network, validation, last_seen)
        choice = self.item_item_choice
        if choice.get("weight") or choice.get("short_weight"):
            weights = sparse_ease_weights(all_positives, choice["l2"], ITEM_ITEM_MAX_ITEMS, ITEM_ITEM_NONZEROS)
            part = NeuMFScorer.item_item_arrays(
                weights, choice["weight"], choice["short_weight"], ITEM_ITEM_SHORT_HISTORY, choice["recency"]
            )
            self.scorer = NeuMFScorer({**self.scorer.arrays, **part})
        return self

    def _set_history_group(self, group: int) -> None:
        """Have the history layers sum one history per ``group`` consecutive examples (one user's group).

        No layer is held in a variable: one layer reaches every other through the model's
        graph, and would keep the users' tables alive after the model is dropped.
        """
        if self.user_history:
            for branch in ("gmf", "mlp"):
                self.model.get_layer(f"{branch}_history").group = group

    def _train_epochs(
        self,
        tf,
        epoch_slices: Callable[[int | None], Iterator[tuple[dict[str, np.ndarray], np.ndarray]]],
        validation,
        reader_history: sp.csr_matrix | None,
    ) -> None:
        """Up to ``epochs`` epochs, stopped early on ``validation``'s NDCG@10; the best epoch's weights are kept.

        Those weights wait in scratch files, not in memory: they are a whole copy of the
        model (its readers' tables alone are 0.6 GB at 50x the demo), written and read back a
        block at a time (:func:`_write_weights`). When the last epoch trained is the best,
        the model holds them already: nothing is written or read back.
        """
        group = 1 + self.negatives
        distributed_step = self._distributed_step(tf) if self.strategy is not None else None
        best_ndcg, waited, restore = -1.0, 0, False
        self.history = []
        with tempfile.TemporaryDirectory(prefix="neumf-") as best_weights:
            for epoch in range(self.epochs):
                if distributed_step is not None:  # every worker cuts the same whole epoch
                    loss = self._distributed_epoch(tf, distributed_step, *next(epoch_slices(None)), group)
                else:
                    loss = self._keras_epoch(epoch_slices(self.batch_groups), self.batch_groups * group)
                record = {"epoch": epoch + 1, "loss": float(loss)}
                if validation is not None:
                    metrics = evaluate_ranking(  # a block of readers at a time, as the item-item choice
                        self._live_scores(tf, reader_history),
                        validation,
                        k=10,
                        block_size=_readers_per_block(validation.train.shape[1]),
                    )
                    record["val_hr@10"], record["val_ndcg@10"] = metrics["hr@10"], metrics["ndcg@10"]
                self.history.append(record)
                if self.progress is not None:
                    self.progress(record)
                if validation is None:
                    continue
                if record["val_ndcg@10"] > best_ndcg:
                    best_ndcg, waited, restore = record["val_ndcg@10"], 0, False
                    if epoch + 1 < self.epochs:  # a later epoch may do worse
                        _write_weights(self.model.weights, best_weights)
                else:
                    waited, restore = waited + 1, best_ndcg > -1.0  # an earlier epoch was saved
                    if waited >= self.patience:
                        break
            if restore:
                _read_weights(self.model.weights, best_weights)

    def _keras_epoch(self, slices: Iterator[tuple[dict[str, np.ndarray], np.ndarray]], batch: int) -> float:
        """Train on every batch of ``slices`` (whole batches, in order); the epoch's mean loss.

        One ``train_on_batch`` a batch: a ``fit`` call a slice spent over a second setting
        itself up beside its steps (17 calls a 10x epoch, 85 at 50x).
        """
        losses = [
            self.model.train_on_batch({name: column[rows] for name, column in inputs.items()}, labels[rows])
            for inputs, labels in slices
            for rows in (slice(start, start + batch) for start in range(0, len(labels), batch))
        ]
        return float(np.mean(losses)) if losses else float("nan")

    def _choose_item_item(
        self, network: Callable[[np.ndarray], np.ndarray], validation, times: sp.csr_matrix | None
    ) -> dict[str, Any]:
        """The item-item L2 penalty, recency and blend weight with the best NDCG@10 on the hold-out (weight 0
        included), and the weight for short histories, chosen on the same readers cut to a few items each.

        ``times`` are the events' times (fit's ``last_seen``); without them every history item
        weighs alike. The hold-out's readers mostly have long histories; a new reader has a few
        items, and with the network's vectors for them alone (no id embedding: fold-in) ranks by
        other weights.
        """
        # Each penalty's sparse weights (about 12 MB each) before the readers' scores: the closed
        # form's temporaries (0.6 GB at 50x the demo) are then not held beside the score matrices.
        weights_of = {
            l2: sparse_ease_weights(validation.train, l2, ITEM_ITEM_MAX_ITEMS, ITEM_ITEM_NONZEROS)
            for l2 in ITEM_ITEM_L2
        }
        users = np.asarray(validation.test_users, dtype=np.int64)
        n_items = validation.train.shape[1]
        network_scores = _standardised_rows(lambda part: network(users[part]), len(users), n_items)
        history = binarize(validation.train[users])
        recencies = ITEM_ITEM_RECENCY if times is not None else ITEM_ITEM_RECENCY[:1]
        rows_of = {recency: recent_rows(history, times, users, recency) for recency in recencies}
        best: dict[str, Any] = {"ndcg@10": -1.0}
        network_measured = False  # the network alone (weight 0) is measured once
        for l2, weights in weights_of.items():
            for recency, rows in rows_of.items():
                candidates = [w for w in ITEM_ITEM_WEIGHTS if w or not network_measured]
                network_measured = True
                blend, metrics = _best_blend(network_scores, rows, weights, validation, candidates)
                if metrics["ndcg@10"] > best["ndcg@10"]:
                    best = {
                        "l2": l2,
                        "weight": blend,
                        "recency": recency,
                        "hr@10": metrics["hr@10"],
                        "ndcg@10": metrics["ndcg@10"],
                    }
                    chosen_weights = weights
        del network_scores
        best["short_weight"] = best["weight"]
        if "gmf_history" in self.scorer.arrays:  # a new reader's vectors come from their history alone
            short = shortened_histories(validation, ITEM_ITEM_SHORT_HISTORY, seed=self.seed)
            short_history = binarize(short.train[users])
            by_user = short_history if times is None else times_of(times[users], short_history)  # their times
            spans = list(zip(by_user.indptr[:-1], by_user.indptr[1:], strict=True))
            items_of = [by_user.indices[start:stop] for start, stop in spans]
            moments = [by_user.data[start:stop] for start, stop in spans] if times is not None else None

            def short_network_scores(part: slice) -> np.ndarray:
                vectors = self.scorer.user_vectors(items_of[part], moments=None if moments is None else moments[part])
                return self.scorer.logits(*vectors)

            short_network = _standardised_rows(short_network_scores, len(users), n_items)
            short_rows = recent_rows(short_history, times, users, best["recency"])
            best["short_weight"], short_metrics = _best_blend(
                short_network, short_rows, chosen_weights, short, ITEM_ITEM_WEIGHTS
            )
            best["short_ndcg@10"] = short_metrics["ndcg@10"]
        logger.info("item-item part chosen on the hold-out: %s", best)
        return best

    def _distributed_step(self, tf):
        """One synchronous training step on every worker (TensorFlow's custom-loop recipe for multi-worker
        training: Keras 3's ``fit`` cannot run under MultiWorkerMirroredStrategy, keras-team/keras#20585)."""
        model, strategy = self.model, self.strategy
        loss_of = tf.keras.losses.BinaryCrossentropy(reduction="none")

        def step(inputs, labels):
            with tf.GradientTape() as tape:
                predicted = model(inputs, training=True)
                per_example = loss_of(labels[:, None], predicted)
                loss = tf.reduce_sum(per_example) / tf.cast(tf.size(labels) * strategy.num_replicas_in_sync, tf.float32)
                if model.losses:
                    loss += tf.add_n(model.losses) / strategy.num_replicas_in_sync
            gradients = tape.gradient(loss, model.trainable_variables)
            model.optimizer.apply_gradients(zip(gradients, model.trainable_variables))
            return loss

        @tf.function
        def run(iterator):
            inputs, labels = next(iterator)
            return strategy.reduce("SUM", strategy.run(step, args=(inputs, labels)), axis=None)

        return run

    def _distributed_epoch(self, tf, step, inputs: dict, labels: np.ndarray, group: int) -> float:
        """One epoch under the strategy; each worker takes every n-th group and every replica whole groups."""
        replicas = self.strategy.num_replicas_in_sync
        groups_per_replica = max(self.batch_size // (group * replicas), 1)
        steps = len(labels) // group // (groups_per_replica * replicas)  # the same on every worker
        kept = steps * groups_per_replica * replicas * group

        def per_worker(context):
            columns = {name: column[:kept].reshape(-1, group) for name, column in inputs.items()}
            data = tf.data.Dataset.from_tensor_slices((columns, labels[:kept].reshape(-1, group)))
            data = data.shard(context.num_input_pipelines, context.input_pipeline_id)
            return data.batch(groups_per_replica, drop_remainder=True).map(
                lambda x, y: ({name: tf.reshape(column, [-1]) for name, column in x.items()}, tf.reshape(y, [-1]))
            )

        iterator = iter(self.strategy.distribute_datasets_from_function(per_worker))
        losses = [float(step(iterator)) for _ in range(steps)]
        return float(np.mean(losses)) if losses else float("nan")

    def _epoch_groups(
        self,
        rng,
        users,
        items,
        extra_users,
        extra_items,
        seen_keys,
        reader_history,
        ordered: OrderedHistory | None = None,
        batch_groups: int | None = None,
    ) -> Iterator[tuple[dict[str, np.ndarray], np.ndarray]]:
        """One epoch of training examples, in shuffled groups of 1 + ``negatives`` rows of one user.

        A group is a positive and ``negatives`` sampled items, or a dismissed item and as many
        sampled items (all labelled 0). Every row of a group shares the user's left-out item
        (its position in ``reader_history``, in time order with ``ordered``): the positive's
        own item, or for a dismissal a random one of the user's items.

        With ``batch_groups``, the groups are drawn and given in slices of whole batches of that
        many groups, so an epoch's examples are never all held at once, and the epoch is topped
        up to whole batches with groups from its start: a batch of another shape would make
        TensorFlow trace the training step again (seconds). Without, all at once. Each run of
        a batch's worth of groups draws its negatives among one pool of ``negative_pool`` items
        (the batches of single-process training; a distributed step mixes several pools).
        """
        group = 1 + self.negatives
        pool_groups = self.batch_groups  # a batch's groups share a pool (also when drawn all at once)
        pooled = 0 < self.negative_pool < len(self.active_items)
        group_users = np.concatenate([users, extra_users]) if len(extra_users) else users
        first_items = np.concatenate([items, extra_items]) if len(extra_items) else items
        order = np.arange(len(group_users), dtype=np.int32)  # rng.permutation's order, in half the memory
        rng.shuffle(order)
        step = max(len(order), 1)
        if batch_groups is not None:
            if len(order) > batch_groups:
                order = np.concatenate([order, order[: -len(order) % batch_groups]])
            step = max(SLICE_GROUPS // batch_groups, 1) * batch_groups
        for start in range(0, len(order), step):
            picked = order[start : start + step]
            slice_users, slice_items = group_users[picked].astype(np.int64), first_items[picked]
            slice_labels = (picked < len(users)).astype(np.float32)  # positives first, then dismissals
            pools = pool_of = None
            if pooled:
                pools = rng.integers(0, len(self.active_items), (-(-len(picked) // pool_groups), self.negative_pool))
                pool_of = np.arange(len(picked) * self.negatives) // (pool_groups * self.negatives)
            sampled = sample_negatives(
                rng, np.repeat(slice_users, self.negatives), len(self.active_items), seen_keys, pools, pool_of
            )
            grid_items = np.column_stack([slice_items, self.active_items[sampled].reshape(-1, self.negatives)])
            grid_labels = np.zeros((len(picked), group), dtype=np.float32)
            grid_labels[:, 0] = slice_labels
            inputs = {
                "user": np.repeat(slice_users, group).astype(np.int32),
                "item": grid_items.ravel().astype(np.int32),
            }
            if reader_history is not None:
                # A positive's own position (a dismissal's, past the positives, is replaced by a random one).
                own = picked if ordered is None else ordered.position_of[np.minimum(picked, len(users) - 1)]
                left_out = _history_left_out(rng, reader_history, slice_users, own, slice_labels)
                inputs["left_out"] = np.repeat(left_out, group).astype(np.int32)
            yield inputs, grid_labels.ravel()

    def _live_scores(self, tf, reader_history: sp.csr_matrix | None) -> Callable[[np.ndarray], np.ndarray]:
        """Scores from the model being trained, reading back only the vectors of the users scored.

        The early-stopping hold-out scores a few thousand users after every epoch; reading
        every user's vectors back would cost as much as the users' tables (millions of rows
        at scale), in time and memory.
        """
        self._extract_item_weights(reader_history is not None)
        return self._hold_out_scores(
            lambda codes: self._own_vectors(lambda table: tf.gather(table, codes).numpy(), codes), reader_history
        )

    def _hold_out_scores(
        self, own_vectors: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]], reader_history: sp.csr_matrix | None
    ) -> Callable[[np.ndarray], np.ndarray]:
        """Logits of every item for users, from their own vectors (``own_vectors(user_codes)``) and their rows of
        the history trained on, ``reader_history`` (event times in time order where the network learned by them)."""

        def scores(user_codes: np.ndarray) -> np.ndarray:
            user_codes = np.asarray(user_codes, dtype=np.int64)
            history = reader_history[user_codes] if reader_history is not None else None
            if history is not None and self.trained_history_recency:  # rows of event times, in time order
                history = recency_weighted(history, self.trained_history_recency)
            return self.scorer.logits(*self._with_history(*own_vectors(user_codes), history))

        return scores

    def _extract_weights(self) -> None:
        """Copy the trained weights out of Keras into a :class:`NeuMFScorer` and each user's own vectors.

        A user's own vectors (``gmf_user_id``, ``mlp_user_id``: id embedding plus demographics)
        leave out their history, which :meth:`score` adds for the users it scores (fold-in
        adds it for new histories).
        """
        self._extract_item_weights(self.user_history)
        self.gmf_user_id, self.mlp_user_id = self._own_vectors(lambda table: table.numpy())

    def _own_vectors(
        self, rows_of: Callable[[Any], np.ndarray], user_codes: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Users' own GMF and MLP vectors from Keras: id embedding plus demographics, without their history.

        ``rows_of`` reads the users' rows out of an id-embedding table (every user when
        ``user_codes`` is None).
        """
        get = self.model.get_layer
        gmf, mlp = (rows_of(get(f"{branch}_user").embeddings.value) for branch in ("gmf", "mlp"))
        if self.user_features is not None:  # a reader's demographics belong with their id
            fields = get("user_fields").numpy_vectors(user_codes)
            gmf, mlp = gmf + fields[:, : self.factors], mlp + fields[:, self.factors :]
        return gmf, mlp

    def _with_history(
        self, gmf: np.ndarray, mlp: np.ndarray, history: sp.csr_matrix | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Users' own vectors plus their history's scaled sums (a binary or recency-weighted ``history`` row per
        user; none: as given)."""
        if history is None:
            return gmf, mlp
        tables = self.scorer.arrays
        return gmf + history_sums(history, tables["gmf_history"]), mlp + history_sums(history, tables["mlp_history"])

    def _extract_item_weights(self, with_history: bool) -> None:
        """The item side of the trained network (and the history tables) into a :class:`NeuMFScorer`.

        An item nobody interacted with keeps only its content vector (zero without content):
        its id embedding never learned anything.
        """
        get = self.model.get_layer
        mlp_dim = self.mlp_layers[0] // 2
        n_items = self.train_matrix.shape[1]
        untouched = np.ones(n_items, dtype=bool)
        untouched[self.active_items] = False
        gmf_item = get("gmf_item").get_weights()[0]
        mlp_item = get("mlp_item").get_weights()[0]
        gmf_item[untouched] = 0.0
        mlp_item[untouched] = 0.0
        self.content_tower = None
        if self.uses_content:
            self.content_tower = ContentTower(self._content_layer.numpy_weights())
            gmf_content, mlp_content = self.content_tower.vectors(self.item_features)
            gmf_item, mlp_item = gmf_item + gmf_content, mlp_item + mlp_content
        dense = [get(f"mlp_{d}").get_weights() for d in range(len(self.mlp_layers) - 1)]
        first_kernel, first_bias = dense[0]
        out_kernel, out_bias = get("prediction").get_weights()
        arrays = {
            "gmf_item": gmf_item.astype(np.float32),
            "mlp_item": mlp_item.astype(np.float32),
            # The first dense layer on concat(user, item) splits into a user part and an item part.
            "first_user_kernel": first_kernel[:mlp_dim],
            "first_item_kernel": first_kernel[mlp_dim:],
            "first_bias": first_bias,
            "out_gmf": out_kernel[: self.factors, 0],
            "out_mlp": out_kernel[self.factors :, 0],
            "out_bias": np.float32(out_bias[0]),
        }
        for depth, (kernel, bias) in enumerate(dense[1:], start=1):
            arrays[f"dense_{depth}_kernel"], arrays[f"dense_{depth}_bias"] = kernel, bias
        if with_history:
            arrays["gmf_history"] = get("gmf_history").get_weights()[0]
            arrays["mlp_history"] = get("mlp_history").get_weights()[0]
            arrays["history_recency"] = np.float32(self.trained_history_recency)
        self.scorer = NeuMFScorer(arrays)

    def score(self, user_codes: np.ndarray) -> np.ndarray:
        """Every item's score for each user by :class:`NeuMFScorer`: logits, or their blend with the item-item part."""
        user_codes = np.asarray(user_codes, dtype=np.int64)
        history = binarize(self.train_matrix[user_codes])
        network_history = recent_rows(history, self.train_times, user_codes, self.trained_history_recency)
        gmf, mlp = self._with_history(
            self.gmf_user_id[user_codes], self.mlp_user_id[user_codes], network_history if self.user_history else None
        )
        if self.scorer.item_item is None:
            return self.scorer.score(gmf, mlp)
        return self.scorer.score(gmf, mlp, recent_rows(history, self.train_times, user_codes, self.scorer.recency))

    def item_embeddings(self) -> np.ndarray:
        """Each item's GMF and MLP vectors (id embedding plus content) side by side."""
        return self.scorer.item_embeddings()

    def similar_items(self, item_codes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` items whose embeddings are closest (cosine) to each given item's."""
        return embedding_neighbours(self.item_embeddings(), item_codes, k)


@dataclass(eq=False)
class NCFRating(HyperParameters):
    """Rating prediction in the NCF style: embeddings -> GMF and MLP branches -> predicted rating.

    The prediction is the global mean, plus user and item biases, plus one dense output
    over the GMF vector (element-wise product of user and item vectors) and the last
    layer of an MLP over the concatenated user and item vectors. Trained with mean
    squared error for ``epochs``, or with ``patience`` with early stopping on a held-out
    slice of the training ratings; clipped to 1-5. :meth:`export` gives everything
    :class:`RatingPredictor` needs to predict with NumPy alone.

    The vectors take side information as NeuMF's do: with ``user_history`` a user's vector
    adds the scaled sum of embeddings of every item they rated (SVD++'s implicit feedback);
    with ``user_features`` (age bucket, gender, occupation ...) the sum of those fields'
    embeddings; with ``item_features`` an item's vector adds its content vector (the
    content tower of :class:`NeuMF`), and its bias a dense map of that vector. An item no
    rating reached keeps only its content part, so it still gets a predicted rating.
    """

    name: ClassVar[str] = "ncf_rating"
    # The defaults are what ``flask train-recs`` trains; the ML-100K benchmark sets its own.
    # Two epochs on every rating, no hold-out: on 5% hold-outs of the demo's ratings (four
    # seeds) the RMSE was best after epoch 2 every time (0.920-0.925) and worse after 3.
    factors: int = 32
    hidden: tuple[int, ...] = (64, 32)
    learning_rate: float = 0.002
    l2: float = 1e-4
    dropout: float = 0.2
    epochs: int = 2
    batch_size: int = 4096
    patience: int = 0
    validation_fraction: float = 0.05
    user_history: bool = True
    content: bool = True
    item_item: bool = True
    seed: int = 42
    item_features: ItemFeatures | None = runtime()
    user_features: UserFeatures | None = runtime()
    progress: Callable[[dict], None] | None = runtime()
    # Keep the Keras model (``model``) after fit; by default it is dropped once its weights are read out.
    keep_network: bool = runtime(False)

    def __post_init__(self) -> None:
        self.hidden = tuple(self.hidden)

    @property
    def uses_content(self) -> bool:
        return self.content and self.item_features is not None

    def fit(self, users: np.ndarray, items: np.ndarray, ratings: np.ndarray, n_users: int, n_items: int) -> NCFRating:
        """Train on (user code, item code, rating) triples."""
        if self.item_features is not None and len(self.item_features) != n_items:
            raise ValueError(f"item_features has {len(self.item_features)} rows for {n_items} items")
        if self.user_features is not None and len(self.user_features) != n_users:
            raise ValueError(f"user_features has {len(self.user_features)} rows for {n_users} users")
        tf = _tensorflow(self.seed)
        keras, layers = tf.keras, tf.keras.layers
        regularizer = keras.regularizers.l2(self.l2) if self.l2 else None
        users, items = np.asarray(users, dtype=np.int64), np.asarray(items, dtype=np.int64)
        ratings = np.asarray(ratings, dtype=np.float32)
        self.mean = float(ratings.mean())
        rng = np.random.default_rng(self.seed)
        order = rng.permutation(len(ratings))
        n_val = int(len(order) * self.validation_fraction) if self.patience else 0
        val, train = order[:n_val], order[n_val:]
        history = binarize(sp.csr_matrix((np.ones(len(train)), (users[train], items[train])), shape=(n_users, n_items)))
        user_in = keras.Input(shape=(), dtype="int32", name="user")
        item_in = keras.Input(shape=(), dtype="int32", name="item")
        # Small initial vectors: a reader or book with few ratings moves only when a batch holds
        # them (LazyAdam), so its vector stays close to where it started (5% hold-outs of the
        # demo's ratings, two seeds: RMSE 0.8907 / 0.8877 at 0.01 against 0.8947 / 0.8993 at 0.05).
        init = keras.initializers.RandomNormal(stddev=0.01, seed=self.seed)

        def embedding(count: int, dim: int, name: str):
            return _embedding(tf, count, dim, name, init, regularizer)

        extra = {"bias": [], "gmf_user": [], "mlp_user": [], "gmf_item": [], "mlp_item": []}
        if self.user_history:
            for branch in ("gmf", "mlp"):
                layer = _history_embedding(
                    tf, history, self.factors, f"{branch}_history", init, regularizer, leave_out=False
                )
                extra[f"{branch}_user"].append(layer(user_in))
        if self.user_features is not None:
            fields = _user_fields_layer(tf, self.user_features, (1, self.factors, self.factors), init, regularizer)
            bias, gmf_fields, mlp_fields = fields(user_in)
            extra["bias"].append(layers.Flatten()(bias))
            extra["gmf_user"].append(gmf_fields)
            extra["mlp_user"].append(mlp_fields)
        if self.uses_content:
            self._content_layer = _content_tower(
                tf, self.item_features, self.factors, self.factors, self.seed, regularizer
            )
            gmf_content, mlp_content = self._content_layer(item_in)
            extra["bias"].append(layers.Flatten()(layers.Dense(1, name="content_bias")(gmf_content)))
            extra["gmf_item"].append(gmf_content)
            extra["mlp_item"].append(mlp_content)
        summed = {
            name: parts[0] if len(parts) == 1 else layers.Add(name=f"{name}_extra")(parts)
            for name, parts in extra.items()
            if parts and name != "bias"
        }
        gmf, hidden = _gmf_and_mlp_inputs(
            layers,
            embedding,
            user_in,
            item_in,
            n_users,
            n_items,
            self.factors,
            self.factors,
            {k: v for k, v in summed.items() if k.endswith("_user")},
            {k: v for k, v in summed.items() if k.endswith("_item")},
        )
        for depth, units in enumerate(self.hidden):
            hidden = layers.Dense(units, activation="relu", kernel_regularizer=regularizer, name=f"mlp_{depth}")(hidden)
            if self.dropout:
                hidden = layers.Dropout(self.dropout, seed=self.seed)(hidden)
        fused = layers.Concatenate(name="fused")([gmf, hidden])
        interaction = layers.Dense(1, name="prediction")(fused)
        user_bias = layers.Flatten()(embedding(n_users, 1, "user_bias")(user_in))
        item_bias = layers.Flatten()(embedding(n_items, 1, "item_bias")(item_in))
        output = layers.Reshape(())(layers.Add()([interaction, user_bias, item_bias, *extra["bias"]]))
        self.model = keras.Model([user_in, item_in], output)
        self.model.compile(optimizer=_lazy_adam(tf, self.learning_rate), loss="mse")
        inputs = {"user": users.astype(np.int32), "item": items.astype(np.int32)}
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
        self._read_weights(history)
        if not self.keep_network:
            self.model = self._content_layer = None
            gc.collect()  # a Keras model is a web of reference cycles: its tables are freed now, not later
        return self

    def _read_weights(self, history: sp.csr_matrix) -> None:
        """Copy the trained weights out of Keras: the shared part as a :class:`RatingPredictor`, and per-user
        and per-item ``[bias, gmf..., mlp...]`` vectors with their side information already added."""
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

        f = self.factors
        self.user_vectors, self.item_vectors = vectors("user"), vectors("item")
        self.item_vectors[np.diff(history.tocsc().indptr) == 0] = 0.0  # never trained: content only
        if self.user_history:
            for start, branch in ((1, "gmf"), (1 + f, "mlp")):
                self.user_vectors[:, start : start + f] += history_sums(
                    history, get(f"{branch}_history").get_weights()[0]
                )
        if self.user_features is not None:
            self.user_vectors += get("user_fields").numpy_vectors()
        if self.uses_content:
            gmf_content, mlp_content = ContentTower(self._content_layer.numpy_weights()).vectors(self.item_features)
            kernel, bias = get("content_bias").get_weights()
            self.item_vectors += np.concatenate([gmf_content @ kernel + bias, gmf_content, mlp_content], axis=1)

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
