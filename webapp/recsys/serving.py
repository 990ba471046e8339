"""A trained rating model's forward pass in NumPy, for the web process (which never loads TensorFlow).

A run stores one vector per reader and per book (``[bias, gmf..., mlp...]`` as float32
bytes) and the shared weights (global mean, dense layers) as one ``.npz`` archive; the
site predicts "you'd rate this N★" for one reader and book from those alone.
"""

from __future__ import annotations

import io

import numpy as np
import scipy.sparse as sp


class RatingPredictor:
    """rating = mean + user bias + item bias + w · [gmf(u) ⊙ gmf(i), MLP(mlp(u) ‖ mlp(i))] + b, clipped to 1-5."""

    def __init__(
        self,
        mean: float,
        factors: int,
        kernels: list[np.ndarray],
        biases: list[np.ndarray],
        out_kernel: np.ndarray,
        out_bias: float,
    ) -> None:
        self.mean = float(mean)
        self.factors = int(factors)
        self.kernels = [np.asarray(k, dtype=np.float32) for k in kernels]
        self.biases = [np.asarray(b, dtype=np.float32) for b in biases]
        self.out_kernel = np.asarray(out_kernel, dtype=np.float32).ravel()
        self.out_bias = float(out_bias)

    @property
    def vector_size(self) -> int:
        """Length of each reader's and book's vector: bias, GMF part, MLP part."""
        return 1 + 2 * self.factors

    def predict(self, user_vectors: np.ndarray, item_vectors: np.ndarray) -> np.ndarray:
        """Predicted ratings for pairs of rows of ``user_vectors`` and ``item_vectors``."""
        users = np.atleast_2d(np.asarray(user_vectors, dtype=np.float32))
        items = np.atleast_2d(np.asarray(item_vectors, dtype=np.float32))
        f = self.factors
        gmf = users[:, 1 : 1 + f] * items[:, 1 : 1 + f]
        hidden = np.concatenate([users[:, 1 + f :], items[:, 1 + f :]], axis=1)
        for kernel, bias in zip(self.kernels, self.biases, strict=True):
            hidden = np.maximum(hidden @ kernel + bias, 0.0)
        interaction = np.concatenate([gmf, hidden], axis=1) @ self.out_kernel + self.out_bias
        return np.clip(self.mean + users[:, 0] + items[:, 0] + interaction, 1.0, 5.0)

    def to_bytes(self) -> bytes:
        """The shared weights as an ``.npz`` archive."""
        buffer = io.BytesIO()
        arrays = {f"kernel_{i}": k for i, k in enumerate(self.kernels)}
        arrays |= {f"bias_{i}": b for i, b in enumerate(self.biases)}
        np.savez(
            buffer,
            mean=np.float64(self.mean),
            factors=np.int64(self.factors),
            out_kernel=self.out_kernel,
            out_bias=np.float64(self.out_bias),
            **arrays,
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> RatingPredictor:
        """Read weights written by :meth:`to_bytes`."""
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            layers = sum(1 for name in archive.files if name.startswith("kernel_"))
            return cls(
                mean=float(archive["mean"]),
                factors=int(archive["factors"]),
                kernels=[archive[f"kernel_{i}"] for i in range(layers)],
                biases=[archive[f"bias_{i}"] for i in range(layers)],
                out_kernel=archive["out_kernel"],
                out_bias=float(archive["out_bias"]),
            )


def vector_to_bytes(vector: np.ndarray) -> bytes:
    """A vector as little-endian float32 bytes, for the database."""
    return np.asarray(vector, dtype="<f4").tobytes()


def vector_from_bytes(data: bytes) -> np.ndarray:
    """A vector written by :func:`vector_to_bytes`."""
    return np.frombuffer(data, dtype="<f4")


def arrays_to_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """Named arrays as one ``.npz`` archive."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def arrays_from_bytes(data: bytes) -> dict[str, np.ndarray]:
    """Arrays written by :func:`arrays_to_bytes`."""
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


def _masked_mean(table: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Mean of the rows of ``table`` for each row of ``codes``, code 0 (none) left out."""
    present = (codes > 0).astype(np.float32)
    total = (table[codes] * present[..., None]).sum(axis=1)
    return total / np.maximum(present.sum(axis=1), 1.0)[:, None]


# The content tower's weights by name, as the Keras layer creates them and the NumPy pass reads them.
CONTENT_TABLES = ("category", "tags", "authors", "decade", "title")


class ContentTower:
    """An item's side information -> its content vectors for NeuMF's GMF and MLP branches (NumPy).

    category and decade embeddings, the mean of its tag and author embeddings, and a
    text-CNN over its title words (word embeddings, a Conv1D per window size with ReLU,
    max-pooled over the title) are concatenated, and one dense layer per branch maps
    them to that branch's item vector. :mod:`webapp.recsys.neural` trains the same
    computation in TensorFlow; this pass gives a book added after training its vector.
    """

    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        self.weights = {name: np.asarray(value, dtype=np.float32) for name, value in weights.items()}
        self.windows = sorted(
            int(name.split("_")[1]) for name in self.weights if name.startswith("conv_") and name.endswith("_kernel")
        )

    def features_vector(self, category, tags, authors, decade, title) -> np.ndarray:
        """The concatenated side-information vector of each item (codes as in ItemFeatures)."""
        w = self.weights
        words = w["title"][title] * (title > 0).astype(np.float32)[..., None]  # (n, words, dim)
        pooled = []
        for size in self.windows:
            windows = np.concatenate(
                [words[:, offset : words.shape[1] - size + 1 + offset, :] for offset in range(size)], axis=-1
            )
            convolved = np.maximum(windows @ w[f"conv_{size}_kernel"] + w[f"conv_{size}_bias"], 0.0)
            pooled.append(convolved.max(axis=1))
        return np.concatenate(
            [
                w["category"][category],
                _masked_mean(w["tags"], tags),
                _masked_mean(w["authors"], authors),
                w["decade"][decade],
                *pooled,
            ],
            axis=1,
        )

    def vectors(self, features) -> tuple[np.ndarray, np.ndarray]:
        """(GMF part, MLP part) of each item's content vector; ``features`` is an ItemFeatures."""
        x = self.features_vector(features.category, features.tags, features.authors, features.decade, features.title)
        w = self.weights
        return x @ w["to_gmf_kernel"] + w["to_gmf_bias"], x @ w["to_mlp_kernel"] + w["to_mlp_bias"]


SCORE_BLOCK_PAIRS = 250_000


class NeuMFScorer:
    """A trained NeuMF's item side and output layers in NumPy: scores every item for given user vectors.

    The user side of NeuMF is a GMF vector and an MLP vector per user (id embedding plus
    the scaled sum of the user's history embeddings); :meth:`user_vectors` builds them
    from a history, so a reader's scores can be recomputed after each thing they do
    (fold-in) with no TensorFlow and no retraining. A network trained on histories in time
    order (``history_recency`` above 0) weighs a history's items by recency, given their times.

    With an item-item part (``item_item_*`` arrays: sparse EASE^R weights and their blend
    weights), a score is the network's logit standardised over the user's row plus a
    weight times the user's item-item scores (history row times the weights), standardised
    the same way (:func:`blended`). Histories of at most ``item_item_short_history`` items
    have a weight of their own: a few items' weights are a thin row to rank by. With an
    ``item_item_recency`` above 0 the history row weighs recent items more
    (:func:`recency_weighted`).
    """

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.arrays = {name: np.asarray(value) for name, value in arrays.items()}
        a = self.arrays
        self.item_item: sp.csr_matrix | None = None
        self.recency = float(a.get("item_item_recency", 0.0))  # runs stored before it had one: 0
        self.history_recency = float(a.get("history_recency", 0.0))  # the network's, likewise
        if "item_item_data" in a:
            n_items = len(a["item_item_indptr"]) - 1
            self.item_item = sp.csr_matrix(
                (a["item_item_data"], a["item_item_indices"], a["item_item_indptr"]), shape=(n_items, n_items)
            )
        self.gmf_item_t = np.ascontiguousarray((a["gmf_item"] * a["out_gmf"]).T, dtype=np.float32)
        # The first MLP layer's item half, once per item (it does not depend on the user).
        self.item_first = np.asarray(a["mlp_item"] @ a["first_item_kernel"] + a["first_bias"], dtype=np.float32)
        self.dense = []
        depth = 1
        while f"dense_{depth}_kernel" in a:
            self.dense.append(
                (a[f"dense_{depth}_kernel"].astype(np.float32), a[f"dense_{depth}_bias"].astype(np.float32))
            )
            depth += 1

    @property
    def n_items(self) -> int:
        return self.item_first.shape[0]

    def user_vectors(
        self,
        history: list[np.ndarray],
        gmf_id: np.ndarray | None = None,
        mlp_id: np.ndarray | None = None,
        moments: list[np.ndarray] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """GMF and MLP user vectors from each user's history (item codes) and id embeddings (zero if none).

        With each event's time in ``moments`` and a network trained on recency-weighted
        histories (``history_recency``), the history's embeddings are weighted as in training.
        """
        a = self.arrays
        rows = self._history_rows(history, moments, self.history_recency)
        gmf, mlp = history_sums(rows, a["gmf_history"]), history_sums(rows, a["mlp_history"])
        if gmf_id is not None:
            gmf += gmf_id
        if mlp_id is not None:
            mlp += mlp_id
        return gmf, mlp

    @staticmethod
    def item_item_arrays(
        weights: sp.csr_matrix,
        blend: float,
        short_blend: float | None = None,
        short_history: int = 0,
        recency: float = 0.0,
    ) -> dict[str, np.ndarray]:
        """The arrays that give a scorer its item-item part (see the class docstring).

        ``short_blend`` weighs histories of at most ``short_history`` items (``blend`` if not given).
        """
        return {
            "item_item_data": weights.data.astype(np.float32),
            "item_item_indices": weights.indices.astype(np.int32),
            "item_item_indptr": weights.indptr.astype(np.int64),
            "item_item_weight": np.float32(blend),
            "item_item_short_weight": np.float32(blend if short_blend is None else short_blend),
            "item_item_short_history": np.int32(short_history),
            "item_item_recency": np.float32(recency),
        }

    def item_item_blends(self, history: sp.csr_matrix) -> np.ndarray:
        """Each user's blend weight for the item-item part, a column: by the length of their history."""
        a = self.arrays
        blend = float(a["item_item_weight"])
        short_blend = float(a.get("item_item_short_weight", blend))  # runs stored before it had one
        short = np.diff(history.indptr) <= int(a.get("item_item_short_history", 0))
        return np.where(short, short_blend, blend).astype(np.float32)[:, None]

    def history_matrix(self, history: list[np.ndarray], moments: list[np.ndarray] | None = None) -> sp.csr_matrix:
        """Users' histories (lists of item codes) as the (users, items) matrix the item-item part reads (:meth:`score`).

        Binary; or, with each event's time in ``moments`` (row for row with ``history``) and a
        scorer with a recency, weighted by it (:func:`recency_weighted`; an item listed
        twice counts once, at its latest time).
        """
        return self._history_rows(history, moments, self.recency)

    def _history_rows(
        self, history: list[np.ndarray], moments: list[np.ndarray] | None, recency: float
    ) -> sp.csr_matrix:
        """Users' histories as a (users, items) matrix: binary, or weighted by ``recency`` from ``moments``."""
        rows = np.repeat(np.arange(len(history)), [len(items) for items in history])
        columns = np.concatenate([np.asarray(items, dtype=np.int64) for items in history]) if history else []
        shape = (len(history), self.n_items)
        if moments is None or not recency:
            matrix = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, columns)), shape=shape)
            matrix.data[:] = 1.0  # an item listed twice counts once
            return matrix
        times = np.concatenate([np.asarray(m, dtype=np.float64) for m in moments])
        order = np.lexsort((times, columns, rows))  # by user, then item, then time
        rows, columns, times = rows[order], columns[order], times[order]
        last = np.r_[(rows[1:] != rows[:-1]) | (columns[1:] != columns[:-1]), True][: len(rows)]
        latest = sp.csr_matrix((times[last], (rows[last], columns[last])), shape=shape)
        return recency_weighted(latest, recency)

    def score(self, gmf_user: np.ndarray, mlp_user: np.ndarray, history: sp.csr_matrix | None = None) -> np.ndarray:
        """Each item's score for each user: the network's logits, blended with the item-item part if there is one.

        ``history`` (users x items, binary or recency-weighted: :meth:`history_matrix`) is what
        the item-item part reads; a scorer with one refuses to score without it.
        """
        logits = self.logits(gmf_user, mlp_user)
        if self.item_item is None:
            return logits
        if history is None:
            raise ValueError("this scorer has an item-item part: give the users' history")
        item_item = np.asarray((history @ self.item_item).todense(), dtype=np.float32)
        return blended(standardised(logits), standardised(item_item), self.item_item_blends(history))

    def logits(self, gmf_user: np.ndarray, mlp_user: np.ndarray) -> np.ndarray:
        """The network's logits of every item for each user vector pair (sigmoid is monotonic).

        The MLP runs over blocks of about ``SCORE_BLOCK_PAIRS`` (user, item) pairs in
        buffers reused from block to block: small enough to stay in the CPU's cache, and
        no new memory per layer (a third faster than fresh 8-million-float blocks).
        """
        a = self.arrays
        n_users, n_items = len(gmf_user), self.n_items
        out = np.empty((n_users, n_items), dtype=np.float32)
        width = self.item_first.shape[1]
        block = max(1, SCORE_BLOCK_PAIRS // max(n_items, 1))
        user_first = np.asarray(mlp_user @ a["first_user_kernel"], dtype=np.float32)
        first = np.empty((min(block, n_users), n_items, width), dtype=np.float32)
        buffers = [np.empty((len(first) * n_items, kernel.shape[1]), dtype=np.float32) for kernel, _ in self.dense]
        for start in range(0, n_users, block):
            stop = min(start + block, n_users)
            hidden = first[: stop - start]
            np.add(user_first[start:stop, None, :], self.item_first[None, :, :], out=hidden)
            np.maximum(hidden, 0.0, out=hidden)
            hidden = hidden.reshape(-1, width)
            for (kernel, bias), buffer in zip(self.dense, buffers, strict=True):
                layer = buffer[: len(hidden)]
                np.matmul(hidden, kernel, out=layer)
                layer += bias
                np.maximum(layer, 0.0, out=layer)
                hidden = layer
            np.matmul(gmf_user[start:stop], self.gmf_item_t, out=out[start:stop])
            out[start:stop] += (hidden @ a["out_mlp"]).reshape(stop - start, n_items)
        out += float(a["out_bias"])
        return out

    def with_items(self, gmf: np.ndarray, mlp: np.ndarray) -> NeuMFScorer:
        """A scorer that also scores more items, given their GMF and MLP vectors (books added after training).

        Such a book has no history embedding (nobody had it when the model learned them):
        in a reader's history it counts for nothing until the next run.
        """
        a = self.arrays
        arrays = {
            **a,
            "gmf_item": np.vstack([a["gmf_item"], gmf]).astype(np.float32),
            "mlp_item": np.vstack([a["mlp_item"], mlp]).astype(np.float32),
        }
        for name in ("gmf_history", "mlp_history"):
            if name in a:
                arrays[name] = np.vstack([a[name], np.zeros((len(gmf), a[name].shape[1]), np.float32)])
        if self.item_item is not None:  # no item-item weights for them either: empty rows
            indptr = a["item_item_indptr"]
            arrays["item_item_indptr"] = np.concatenate([indptr, np.full(len(gmf), indptr[-1])]).astype(np.int64)
        return NeuMFScorer(arrays)

    def item_embeddings(self) -> np.ndarray:
        """Each item's GMF and MLP vectors side by side (for similar books and reasons)."""
        return np.concatenate([self.arrays["gmf_item"], self.arrays["mlp_item"]], axis=1)

    def to_bytes(self) -> bytes:
        return arrays_to_bytes(self.arrays)

    @classmethod
    def from_bytes(cls, data: bytes) -> NeuMFScorer:
        return cls(arrays_from_bytes(data))


def recency_weighted(times: sp.csr_matrix, recency: float) -> sp.csr_matrix:
    """Users' histories from their events' ``times`` (users x items, one time per item read):
    each item weighs ``exp(-r / recency)``, ``r`` the number of the user's items with a later time.

    The latest item (and every item tied with it) weighs 1; the tenth latest weighs 0.41 with
    a recency of 10. A recency of 0 gives the binary history. Next to what a reader did last,
    what they did long ago says less about what they do next: on MovieLens, whose readers
    rate in sessions, EASE^R's hit rate rose by a third from this weighting alone.
    """
    weighted = sp.csr_matrix(times, dtype=np.float64, copy=True)
    weighted.sum_duplicates()
    if not recency:
        weighted.data[:] = 1.0
        return weighted.astype(np.float32)
    rows = np.repeat(np.arange(weighted.shape[0]), np.diff(weighted.indptr))
    order = np.lexsort((-weighted.data, rows))  # each row's latest first
    ordered_rows, ordered_times = rows[order], weighted.data[order]
    position = np.arange(len(order))
    changes = (ordered_rows[1:] != ordered_rows[:-1]) | (ordered_times[1:] != ordered_times[:-1])
    starts = np.r_[True, changes][: len(order)]  # where a row or a tie begins
    first_of_tie = np.maximum.accumulate(np.where(starts, position, 0))
    later = np.empty(len(order), dtype=np.float64)
    later[order] = first_of_tie - weighted.indptr[ordered_rows]
    weighted.data = np.exp(-later / recency)
    return weighted.astype(np.float32)


def history_sums(history: sp.csr_matrix, table: np.ndarray) -> np.ndarray:
    """Each row's weighted sum of its items' rows of ``table``, over the square root of its total weight
    (at least 1): for a binary row, the square root of its length, as in FISM and SVD++."""
    weight = np.asarray(history.sum(axis=1), dtype=np.float32)
    return np.asarray(history @ table, dtype=np.float32) / np.sqrt(np.maximum(weight, 1.0))


def standardised(scores: np.ndarray) -> np.ndarray:
    """Each row minus its mean, over its standard deviation (a constant row becomes zeros)."""
    spread = scores.std(axis=1, keepdims=True)
    return (scores - scores.mean(axis=1, keepdims=True)) / np.where(spread > 0, spread, 1.0)


def blended(network: np.ndarray, item_item: np.ndarray, weight: float | np.ndarray) -> np.ndarray:
    """Standardised network scores plus ``weight`` (a number, or a column: one per user) times standardised
    item-item scores: the one blend of NeuMF's item-item part, for choosing its weights and for scoring."""
    return network + weight * item_item


def content_tower_to_bytes(tower: ContentTower) -> bytes:
    return arrays_to_bytes(tower.weights)


def content_tower_from_bytes(data: bytes) -> ContentTower:
    return ContentTower(arrays_from_bytes(data))
