"""Turn everything readers do into one implicit-feedback matrix, and encode ids."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

# How much each kind of signal says about a reader liking a book.
DEFAULT_WEIGHTS: dict[str, float] = {
    "rating": 1.0,
    "loan": 1.0,
    "purchase": 1.0,
    "review": 1.0,
    "favourite": 0.5,
    "view": 0.2,
}

EVENT_COLUMNS = ("user_id", "item_id", "kind", "timestamp")


@dataclass
class Interactions:
    """Readers x books implicit feedback, with the ids behind the contiguous codes.

    ``matrix[u, i]`` is the summed weight of everything reader code ``u`` did with book
    code ``i``; ``last_seen[u, i]`` (same sparsity) is the time of the latest such event,
    in seconds, used to hold out each reader's latest interaction.
    """

    matrix: sp.csr_matrix
    last_seen: sp.csr_matrix
    user_ids: np.ndarray
    item_ids: np.ndarray

    @property
    def n_users(self) -> int:
        return self.matrix.shape[0]

    @property
    def n_items(self) -> int:
        return self.matrix.shape[1]

    @property
    def n_interactions(self) -> int:
        return int(self.matrix.nnz)

    def user_codes(self, user_ids: np.ndarray) -> np.ndarray:
        """Codes of the given reader ids; -1 for readers the data has not seen."""
        return _codes(self.user_ids, user_ids)

    def item_codes(self, item_ids: np.ndarray) -> np.ndarray:
        """Codes of the given book ids; -1 for books the data has not seen."""
        return _codes(self.item_ids, item_ids)


def _codes(known_sorted: np.ndarray, ids: np.ndarray) -> np.ndarray:
    ids = np.asarray(ids)
    positions = np.searchsorted(known_sorted, ids)
    positions = np.clip(positions, 0, max(len(known_sorted) - 1, 0))
    found = len(known_sorted) > 0
    match = (known_sorted[positions] == ids) if found else np.zeros(len(ids), dtype=bool)
    return np.where(match, positions, -1)


def build_interactions(
    events: pd.DataFrame,
    weights: dict[str, float] | None = None,
    item_ids: np.ndarray | None = None,
) -> Interactions:
    """Aggregate events (user_id, item_id, kind, timestamp) into an :class:`Interactions`.

    Each event contributes ``weights[kind]``; kinds with no weight (or weight 0) are
    ignored. ``item_ids`` fixes the item vocabulary (every catalogue book, even unseen);
    by default it is the items that occur in the events.
    """
    weights = DEFAULT_WEIGHTS if weights is None else weights
    missing = [column for column in EVENT_COLUMNS if column not in events.columns]
    if missing:
        raise ValueError(f"events lack the column(s) {', '.join(missing)}")
    frame = events.loc[:, list(EVENT_COLUMNS)].copy()
    frame["weight"] = frame["kind"].map(weights).fillna(0.0).astype("float32")
    frame = frame[frame["weight"] > 0]
    user_ids = np.unique(frame["user_id"].to_numpy(dtype=np.int64))
    if item_ids is None:
        item_ids = np.unique(frame["item_id"].to_numpy(dtype=np.int64))
    else:
        item_ids = np.unique(np.asarray(item_ids, dtype=np.int64))
        frame = frame[frame["item_id"].isin(item_ids)]
    rows = np.searchsorted(user_ids, frame["user_id"].to_numpy(dtype=np.int64))
    cols = np.searchsorted(item_ids, frame["item_id"].to_numpy(dtype=np.int64))
    shape = (len(user_ids), len(item_ids))
    matrix = sp.csr_matrix((frame["weight"].to_numpy(), (rows, cols)), shape=shape, dtype=np.float32)
    matrix.sum_duplicates()
    # Latest time per cell: aggregate first, since a sparse matrix sums duplicates.
    latest = (
        pd.DataFrame({"r": rows, "c": cols, "t": frame["timestamp"].to_numpy(dtype=np.float64)})
        .groupby(["r", "c"], sort=False)["t"]
        .max()
    )
    index = latest.index
    last_seen = sp.csr_matrix(
        (latest.to_numpy() + 1.0, (index.get_level_values(0), index.get_level_values(1))),
        shape=shape,
        dtype=np.float64,
    )  # +1 so that a timestamp of 0 is not dropped as a structural zero
    last_seen.sort_indices()
    matrix.sort_indices()
    return Interactions(matrix=matrix, last_seen=last_seen, user_ids=user_ids, item_ids=item_ids)


def binarize(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """Same sparsity, every stored value 1."""
    binary = matrix.astype(np.float32)  # always a copy
    binary.data[:] = 1.0
    return binary


def times_of(last_seen: sp.csr_matrix, matrix: sp.csr_matrix) -> sp.csr_matrix:
    """The event times of ``matrix``'s interactions: ``last_seen`` cut to its sparsity (a training part's times)."""
    times = sp.csr_matrix(last_seen.multiply(matrix.astype(bool)))
    if times.nnz != matrix.nnz:
        raise ValueError("every interaction needs a time after the epoch")
    return times
