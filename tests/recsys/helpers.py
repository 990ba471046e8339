"""Planted-structure data and small models shared by the recommender tests."""

import numpy as np
import scipy.sparse as sp

from webapp.recsys.evaluation import evaluate_ranking, leave_one_out


def planted(n_users: int = 120, n_items: int = 60, groups: int = 4, per_user: int = 8, seed: int = 0):
    """Readers in a group interact only with that group's books; one book is much more popular."""
    rng = np.random.default_rng(seed)
    rows, cols = [], []
    size = n_items // groups
    for user in range(n_users):
        group = user % groups
        items = rng.choice(np.arange(group * size, (group + 1) * size), per_user, replace=False)
        rows += [user] * per_user
        cols += items.tolist()
    return sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(n_users, n_items))


def sessions(n_users: int = 160, n_items: int = 60, groups: int = 4, seed: int = 0):
    """Each reader read six books of one group long ago and then five of another: only the events'
    times say which group they read now. The interactions, and their times (1 to 11 per reader)."""
    rng = np.random.default_rng(seed)
    size = n_items // groups
    rows, cols = [], []
    for user in range(n_users):
        old, new = rng.choice(groups, 2, replace=False)
        cols += rng.choice(np.arange(old * size, (old + 1) * size), 6, replace=False).tolist()
        cols += rng.choice(np.arange(new * size, (new + 1) * size), 5, replace=False).tolist()
        rows += [user] * 11
    times = np.tile(np.arange(1.0, 12.0), n_users)
    shape = (n_users, n_items)
    return sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=shape), sp.csr_matrix(
        (times, (rows, cols)), shape=shape
    )


def hit_rate(model, matrix, k=10) -> float:
    """HR@k of ``model`` fitted on ``matrix`` with one random interaction of each reader held out."""
    split = leave_one_out(matrix, seed=1)
    model.fit(split.train)
    return evaluate_ranking(model.score, split, k=k)[f"hr@{k}"]


def small_neumf(**overrides):
    """A NeuMF small and quick enough for planted(): 8 factors, 25 epochs of 256 examples at learning rate 0.01."""
    from webapp.recsys.neural import NeuMF

    settings = {
        "factors": 8,
        "mlp_layers": (16, 8),
        "epochs": 25,
        "batch_size": 256,
        "learning_rate": 0.01,
        "negatives": 4,
        "patience": 0,
        "user_history": False,
        "seed": 5,
    }
    return NeuMF(**{**settings, **overrides})
