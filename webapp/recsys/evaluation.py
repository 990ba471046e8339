"""Offline evaluation: leave-one-out split, HR@K and NDCG@K (full and sampled), RMSE/MAE."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from webapp.recsys.data import Interactions
from webapp.recsys.models import Recommender, in_slices, mask_seen


@dataclass
class LeaveOneOutSplit:
    """Training matrix with one held-out item per evaluated user."""

    train: sp.csr_matrix
    test_users: np.ndarray
    test_items: np.ndarray


def leave_one_out(
    matrix: sp.csr_matrix,
    last_seen: sp.csr_matrix | None = None,
    seed: int = 42,
    min_interactions: int = 2,
) -> LeaveOneOutSplit:
    """Hold out each user's latest interaction (a seeded random one where times tie or are absent).

    Users with fewer than ``min_interactions`` keep everything in training and are not
    evaluated. ``last_seen`` has the sparsity of ``matrix`` and holds event times.
    """
    matrix = sp.csr_matrix(matrix)
    matrix.sort_indices()
    rng = np.random.default_rng(seed)
    counts = np.diff(matrix.indptr)
    test_users = np.flatnonzero(counts >= min_interactions)
    if last_seen is not None:
        last_seen = sp.csr_matrix(last_seen)
        last_seen.sort_indices()
    held_positions = np.empty(len(test_users), dtype=np.int64)
    for n, user in enumerate(test_users):
        start, end = matrix.indptr[user], matrix.indptr[user + 1]
        noise = rng.random(end - start)
        if last_seen is None:
            held_positions[n] = start + int(np.argmax(noise))
        else:
            times = last_seen.data[start:end]
            latest = np.flatnonzero(times == times.max())
            held_positions[n] = start + int(latest[np.argmax(noise[latest])])
    test_items = matrix.indices[held_positions].astype(np.int64)
    train = matrix.copy()
    train.data[held_positions] = 0
    train.eliminate_zeros()
    return LeaveOneOutSplit(train=train, test_users=test_users.astype(np.int64), test_items=test_items)


def hits_and_gains(ranks: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each user's hit (1 or 0) and NDCG@K from the 0-based rank of their held-out item."""
    ranks = np.asarray(ranks, dtype=np.float64)
    hits = ranks < k
    return hits.astype(np.float64), np.where(hits, 1.0 / np.log2(ranks + 2.0), 0.0)


def hit_rate_and_ndcg(ranks: np.ndarray, k: int) -> tuple[float, float]:
    """HR@K and NDCG@K from 0-based ranks of the held-out items (one per user)."""
    if len(ranks) == 0:
        return 0.0, 0.0
    hits, gains = hits_and_gains(ranks, k)
    return float(hits.mean()), float(gains.mean())


def paired_difference(first: np.ndarray, second: np.ndarray) -> tuple[float, float]:
    """Mean of ``first - second`` (per-user figures of two models on the same test users) and its
    standard error: the test users' own noise, which both models share, cancels out."""
    difference = np.asarray(first, dtype=np.float64) - np.asarray(second, dtype=np.float64)
    if len(difference) < 2:
        return float(difference.mean()) if len(difference) else 0.0, float("nan")
    return float(difference.mean()), float(difference.std(ddof=1) / np.sqrt(len(difference)))


def rank_of_target(scores: np.ndarray, target_scores: np.ndarray) -> np.ndarray:
    """0-based rank of each row's target: items scoring higher, plus half the ties.

    Counting half the ties keeps a model that gives many items the same score from
    looking better (all ties first) or worse (all ties last) than it is.
    """
    target = target_scores[:, None]
    higher = np.sum(scores > target, axis=1)
    ties = np.sum(scores == target, axis=1) - 1
    return higher + ties // 2


def full_ranking_ranks(
    score: Callable[[np.ndarray], np.ndarray],
    train: sp.csr_matrix,
    users: np.ndarray,
    items: np.ndarray,
    block_size: int = 1024,
) -> np.ndarray:
    """Rank of each held-out item among every item the user has not interacted with in training.

    Blocks of users are scored in slices side by side (:func:`in_slices`).
    """
    users, items = np.asarray(users), np.asarray(items)

    def ranks_of(positions: np.ndarray) -> np.ndarray:
        block_users = users[positions]
        scores = np.array(score(block_users), dtype=np.float64)
        mask_seen(scores, train, block_users)
        return rank_of_target(scores, scores[np.arange(len(positions)), items[positions]])

    ranks = np.empty(len(users), dtype=np.int64)
    for start in range(0, len(users), block_size):
        positions = np.arange(start, min(start + block_size, len(users)))
        ranks[positions] = np.concatenate(in_slices(ranks_of, positions))
    return ranks


def sampled_negatives(
    train: sp.csr_matrix, users: np.ndarray, items: np.ndarray, n_negatives: int = 99, seed: int = 42
) -> np.ndarray:
    """For each (user, held-out item), ``n_negatives`` distinct items the user never interacted with.

    In a catalogue too small for that, the row is padded with -1, which ranks below everything.
    """
    rng = np.random.default_rng(seed)
    n_items = train.shape[1]
    out = np.full((len(users), n_negatives), -1, dtype=np.int64)
    for n, (user, item) in enumerate(zip(users, items)):
        seen = set(train.indices[train.indptr[user] : train.indptr[user + 1]].tolist())
        seen.add(int(item))
        candidates = np.setdiff1d(np.arange(n_items), np.fromiter(seen, dtype=np.int64), assume_unique=True)
        count = min(n_negatives, len(candidates))
        out[n, :count] = rng.choice(candidates, size=count, replace=False)
    return out


def sampled_ranks(
    score: Callable[[np.ndarray], np.ndarray],
    users: np.ndarray,
    items: np.ndarray,
    negatives: np.ndarray,
    block_size: int = 1024,
) -> np.ndarray:
    """Rank of each held-out item among itself and its sampled negatives (the NCF paper's protocol)."""
    ranks = np.empty(len(users), dtype=np.int64)
    for start in range(0, len(users), block_size):
        block = slice(start, start + block_size)
        scores = np.asarray(score(users[block]), dtype=np.float64)
        rows = np.arange(scores.shape[0])[:, None]
        candidates = np.concatenate([items[block][:, None], negatives[block]], axis=1)
        picked = np.where(candidates >= 0, scores[rows, np.maximum(candidates, 0)], -np.inf)
        ranks[block] = rank_of_target(picked, picked[:, 0])
    return ranks


def evaluate_ranking(
    score: Callable[[np.ndarray], np.ndarray],
    split: LeaveOneOutSplit,
    k: int = 10,
    negatives: np.ndarray | None = None,
    keep_ranks: bool = False,
    block_size: int = 1024,
) -> dict[str, Any]:
    """HR@K and NDCG@K over the full ranking and, given ``negatives``, over 1 + 99 sampled items;
    with ``keep_ranks``, also each test user's full-ranking rank ("ranks", for paired comparisons).
    ``block_size`` users are scored at a time (:func:`full_ranking_ranks`)."""
    full = full_ranking_ranks(score, split.train, split.test_users, split.test_items, block_size)
    hr, ndcg = hit_rate_and_ndcg(full, k)
    metrics: dict[str, Any] = {f"hr@{k}": hr, f"ndcg@{k}": ndcg, "users": int(len(split.test_users))}
    if keep_ranks:
        metrics["ranks"] = np.asarray(full)
    if negatives is not None:
        sampled = sampled_ranks(score, split.test_users, split.test_items, negatives)
        metrics[f"sampled_hr@{k}"], metrics[f"sampled_ndcg@{k}"] = hit_rate_and_ndcg(sampled, k)
    return metrics


def fit_and_evaluate(
    model: Recommender,
    split: LeaveOneOutSplit,
    k: int = 10,
    negatives: np.ndarray | None = None,
    fit: Callable[[sp.csr_matrix], Recommender] | None = None,
    keep_ranks: bool = False,
) -> dict[str, Any]:
    """Fit ``model`` on the split's training matrix (by ``fit`` if given, to pass it more) and measure it
    (:func:`evaluate_ranking`); adds ``fit_seconds`` and ``score_seconds``."""
    started = time.perf_counter()
    (fit or model.fit)(split.train)
    fitted = time.perf_counter()
    metrics = evaluate_ranking(model.score, split, k=k, negatives=negatives, keep_ranks=keep_ranks)
    metrics["fit_seconds"] = round(fitted - started, 2)
    metrics["score_seconds"] = round(time.perf_counter() - fitted, 2)
    return metrics


def rmse(predicted: np.ndarray, actual: np.ndarray) -> float:
    """Root mean squared error."""
    diff = np.asarray(predicted, dtype=np.float64) - np.asarray(actual, dtype=np.float64)
    return float(np.sqrt(np.mean(diff**2)))


def mae(predicted: np.ndarray, actual: np.ndarray) -> float:
    """Mean absolute error."""
    diff = np.asarray(predicted, dtype=np.float64) - np.asarray(actual, dtype=np.float64)
    return float(np.mean(np.abs(diff)))


def subsample_split(split: LeaveOneOutSplit, max_users: int | None, seed: int = 42) -> LeaveOneOutSplit:
    """The same split evaluated on at most ``max_users`` randomly chosen test users."""
    if max_users is None or len(split.test_users) <= max_users:
        return split
    chosen = np.sort(np.random.default_rng(seed).choice(len(split.test_users), max_users, replace=False))
    return LeaveOneOutSplit(split.train, split.test_users[chosen], split.test_items[chosen])


def holdout_sample(
    matrix: sp.csr_matrix,
    max_users: int,
    seed: int = 42,
    min_interactions: int = 2,
    last_seen: sp.csr_matrix | None = None,
) -> LeaveOneOutSplit:
    """One interaction held out for at most ``max_users`` users; every other user keeps all of theirs.

    The held-out interaction is a random one, or with ``last_seen`` (event times, the
    sparsity of ``matrix``) the user's latest, as a test split by time holds out.

    Unlike :func:`subsample_split` of a :func:`leave_one_out`, the training matrix lacks only
    the held-out interactions of the users that are evaluated, so a validation hold-out
    for early stopping costs a model little of its training data.
    """
    split = subsample_split(leave_one_out(matrix, last_seen, seed, min_interactions), max_users, seed)
    held = sp.csr_matrix(
        (np.ones(len(split.test_users), dtype=bool), (split.test_users, split.test_items)), shape=matrix.shape
    )
    train = sp.csr_matrix(matrix - matrix.multiply(held))
    train.eliminate_zeros()
    return LeaveOneOutSplit(train=train, test_users=split.test_users, test_items=split.test_items)


def shortened_histories(split: LeaveOneOutSplit, longest: int, seed: int = 42) -> LeaveOneOutSplit:
    """The split with each evaluated user's training row cut to a random 1 to ``longest`` of its items
    (as a new reader's few first ones); the held-out items and every other user's row stay."""
    rng = np.random.default_rng(seed)
    train = sp.csr_matrix(split.train, copy=True)
    kept = np.ones(train.nnz, dtype=bool)
    for user in np.asarray(split.test_users, dtype=np.int64):
        start, count = train.indptr[user], train.indptr[user + 1] - train.indptr[user]
        dropped = rng.permutation(count)[int(rng.integers(1, longest + 1)) :]
        kept[start + dropped] = False
    train.data = np.where(kept, train.data, 0).astype(train.data.dtype)
    train.eliminate_zeros()
    return LeaveOneOutSplit(train=train, test_users=split.test_users, test_items=split.test_items)


def split_interactions(interactions: Interactions, seed: int = 42) -> LeaveOneOutSplit:
    """Leave-one-out on an :class:`Interactions`, holding out each reader's latest event."""
    return leave_one_out(interactions.matrix, interactions.last_seen, seed=seed)


@dataclass
class ItemColdStartSplit:
    """Training matrix without any interaction with ``cold_items``; ``pairs`` (user, item) with them to rank."""

    train: sp.csr_matrix
    cold_items: np.ndarray
    users: np.ndarray
    items: np.ndarray


def item_cold_start_split(
    matrix: sp.csr_matrix, fraction: float = 0.1, min_readers: int = 5, seed: int = 42
) -> ItemColdStartSplit:
    """Withhold ``fraction`` of the items with at least ``min_readers`` readers from training entirely."""
    matrix = sp.csr_matrix(matrix)
    readers = np.diff(matrix.tocsc().indptr)
    eligible = np.flatnonzero(readers >= min_readers)
    rng = np.random.default_rng(seed)
    cold = np.sort(rng.choice(eligible, size=max(1, int(round(fraction * len(eligible)))), replace=False))
    is_cold = np.zeros(matrix.shape[1], dtype=bool)
    is_cold[cold] = True
    coo = matrix.tocoo()
    held = is_cold[coo.col]
    train = sp.csr_matrix((coo.data[~held], (coo.row[~held], coo.col[~held])), shape=matrix.shape)
    has_history = np.diff(train.indptr)[coo.row[held]] > 0  # a reader with nothing left cannot be scored
    return ItemColdStartSplit(train, cold, coo.row[held][has_history], coo.col[held][has_history])


def evaluate_item_cold_start(
    score: Callable[[np.ndarray], np.ndarray], split: ItemColdStartSplit, k: int = 10, block_size: int = 1024
) -> dict[str, float]:
    """HR@K and NDCG@K of each withheld (user, item) among all withheld items the user did not interact with."""
    order = np.argsort(split.users, kind="stable")
    users, items = split.users[order], split.items[order]
    column = {item: position for position, item in enumerate(split.cold_items)}
    ranks = np.empty(len(users), dtype=np.int64)
    unique_users, first = np.unique(users, return_index=True)
    bounds = np.append(first, len(users))
    for start in range(0, len(unique_users), block_size):
        block = unique_users[start : start + block_size]
        scores = np.asarray(score(block), dtype=np.float64)[:, split.cold_items]
        for row in range(len(block)):
            pairs = slice(bounds[start + row], bounds[start + row + 1])
            own = [column[item] for item in items[pairs]]
            for offset, target in enumerate(own):
                candidates = scores[row].copy()
                candidates[[other for other in own if other != target]] = -np.inf  # the user's other positives
                ranks[pairs.start + offset] = rank_of_target(candidates[None, :], candidates[[target]])[0]
    hr, ndcg = hit_rate_and_ndcg(ranks, k)
    return {f"hr@{k}": hr, f"ndcg@{k}": ndcg, "pairs": int(len(ranks)), "items": int(len(split.cold_items))}


def user_cold_start_split(
    matrix: sp.csr_matrix, fraction: float = 0.2, min_interactions: int = 5, seed: int = 42
) -> LeaveOneOutSplit:
    """Readers with 1-3 interactions in training: ``fraction`` of those with ``min_interactions`` or more keep
    a random 1, 2 or 3 of their items in training and one other is held out; everyone else keeps everything."""
    matrix = sp.csr_matrix(matrix)
    rng = np.random.default_rng(seed)
    counts = np.diff(matrix.indptr)
    eligible = np.flatnonzero(counts >= min_interactions)
    chosen = np.sort(rng.choice(eligible, size=max(1, int(fraction * len(eligible))), replace=False))
    train = matrix.tolil(copy=True)
    test_items = np.empty(len(chosen), dtype=np.int64)
    for n, user in enumerate(chosen):
        items = matrix.indices[matrix.indptr[user] : matrix.indptr[user + 1]]
        shuffled = rng.permutation(items)
        kept = int(rng.integers(1, 4))
        test_items[n] = shuffled[kept]
        for item in shuffled[kept:]:
            train[user, item] = 0
    train = sp.csr_matrix(train)
    train.eliminate_zeros()
    return LeaveOneOutSplit(train=train, test_users=chosen.astype(np.int64), test_items=test_items)
