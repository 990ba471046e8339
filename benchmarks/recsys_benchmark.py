"""Offline quality of every recommender on MovieLens 100K and on the demo's Goodreads ratings.

Protocol: leave-one-out (each reader's latest rating held out on ML-100K, where ratings
have timestamps; a seeded random one on Goodreads, where they have none). Hyper-parameters
are chosen on a validation split cut from the training data the same way (the latest /
a random training interaction of each reader), never on the test items. Prints HR@10 and
NDCG@10 over the full ranking and over 1 held-out + 99 sampled books, fit and scoring time.
Every held-out reader is evaluated (``--max-users`` samples fewer, for quick runs): on
Goodreads a sample of 5,000 readers left a standard error of about 0.007 on HR@10, as
large as the gaps between the best models. Models whose result depends on a random seed
(BPR-MF, NeuMF) are fit with ``--seeds`` seeds on the test split and the table gives the
mean and standard deviation, so that "beats" is not decided by one lucky or unlucky
initialisation. Item cold start withholds different items in each of those repetitions
(which 10% are withheld moves the result more than the seed does), so there every model
is measured on ``--seeds`` splits.

The rating model is measured on the five official ML-100K folds (u1..u5.base/test), RMSE
and MAE, next to scikit-surprise's SVD (RMSE 0.934, MAE 0.737) and SVD++ (RMSE 0.922);
its setting (with or without the movies' features, the users' demographics and their
rated-items history) is chosen on a 10% validation slice of u1.base.

    python benchmarks/recsys_benchmark.py                  # everything (about 55 min on 2 cores)
    python benchmarks/recsys_benchmark.py --no-tune        # use the defaults below, no grid search
    python benchmarks/recsys_benchmark.py --datasets ml-100k --models item_knn neumf
    python benchmarks/recsys_benchmark.py --datasets ml-100k --protocols cold   # validation, then cold start
"""

from __future__ import annotations

import argparse
import itertools
import os
import time
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd
from baselines import ContentKNN, ImplicitALS, RandomScores

from webapp.recsys.data import build_interactions, times_of
from webapp.recsys.evaluation import (
    LeaveOneOutSplit,
    evaluate_item_cold_start,
    evaluate_ranking,
    fit_and_evaluate,
    hits_and_gains,
    item_cold_start_split,
    leave_one_out,
    mae,
    paired_difference,
    rmse,
    sampled_negatives,
    subsample_split,
    user_cold_start_split,
)
from webapp.recsys.features import FeatureVocabulary, ItemDescription, ItemFeatures, UserFeatures
from webapp.recsys.models import EASE, ItemKNN, MatrixFactorization, MostPopular, UserKNN
from webapp.recsys.neural import NCFRating, NeuMF
from webapp.recsys.pipeline import fit_model
from webapp.services.genres import categorise

DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data")
MODELS = (
    "random",
    "most_popular",
    "content_knn",
    "user_knn",
    "item_knn",
    "ease",
    "ease_recency",
    "als",
    "matrix_factorization",
    "neumf",
    "neumf_hybrid",
)
# The production model: history + content NeuMF blended with its sparse EASE^R item-item part
# (what flask train-recs trains); "neumf" is the network alone, without content or item-item part.
PRODUCTION = "neumf_hybrid"
# Models whose result depends on the random seed; each is fit with several seeds and averaged.
SEEDED = ("matrix_factorization", "als", "neumf", "neumf_hybrid")
# NeuMF models, which choose their item-item part on their own hold-out (never on the test split).
NEURAL = ("neumf", "neumf_hybrid")
# Models that read the items' side information (given as ``items=`` / ``item_features=``).
CONTENT_MODELS = ("content_knn", "neumf_hybrid")
COLD_ITEM_MODELS = ("random", "content_knn", "neumf", "neumf_hybrid")
METRICS = ("hr@10", "ndcg@10", "sampled_hr@10", "sampled_ndcg@10")
TIMES = ("fit_seconds", "score_seconds")


# The rating model measured on ML-100K's five folds (train-recs trains a faster setting on the demo).
RATING_MODEL = {"epochs": 40, "batch_size": 256, "learning_rate": 0.001, "patience": 4}
# Its settings, chosen on a validation slice of u1.base; the first is used with --no-tune. "side": movie
# features (genres, title, year), user demographics (age bucket, gender, occupation) and rated-items history.
# "cold" is both cold-start protocols.
PROTOCOLS = ("warm", "cold-items", "cold-users")

RATING_SETTINGS = [
    {"side": True, "user_history": True, "content": True},
    {"side": False, "user_history": False, "content": False},
    {"side": True, "user_history": True, "content": True, "l2": 1e-5},
]


def _neumf_grid(*settings: tuple, **fixed) -> list[dict]:
    """NeuMF grid entries from (factors, mlp_layers, negatives, batch_size, patience, l2, user_history) tuples."""
    return [
        {
            "factors": f,
            "mlp_layers": mlp_layers,
            "epochs": 30,
            "batch_size": batch_size,
            "learning_rate": 0.001,
            "negatives": negatives,
            "l2": l2,
            "patience": patience,
            "user_history": user_history,
            **fixed,
        }
        for f, mlp_layers, negatives, batch_size, patience, l2, user_history in settings
    ]


# Each model's grid; the first entry is the default used with --no-tune.
GRIDS = {
    "most_popular": (MostPopular, [{}]),
    "user_knn": (UserKNN, [{"neighbours": n} for n in (50, 100, 200, 400)]),
    "item_knn": (ItemKNN, [{"neighbours": n} for n in (50, 100, 200)]),
    "matrix_factorization": (
        MatrixFactorization,
        [{"factors": f, "regularization": r, "epochs": 30} for f, r in itertools.product((32, 64), (0.002, 0.01))],
    ),
    # (factors, mlp_layers, negatives, batch_size, patience, l2, user_history)
    "neumf": (
        NeuMF,
        _neumf_grid(
            (32, (64, 32, 16), 8, 1024, 4, 1e-6, True),
            (64, (128, 64), 4, 4096, 3, 1e-6, False),
            (64, (128, 64), 4, 4096, 3, 1e-5, True),
            item_item=False,
        ),
    ),
    "neumf_hybrid": (
        NeuMF,
        _neumf_grid(
            (32, (64, 32, 16), 4, 1024, 3, 1e-6, True),
            (32, (64, 32, 16), 4, 4096, 3, 1e-6, True),
            (64, (128, 64), 4, 4096, 3, 1e-5, True),
            content=True,
        ),
    ),
    "random": (RandomScores, [{}]),
    "content_knn": (ContentKNN, [{}]),
    "ease": (EASE, [{"l2": l2} for l2 in (500.0, 50.0, 100.0, 150.0, 200.0, 300.0, 1000.0, 2000.0)]),
    # EASE^R reading each reader's history weighted by recency (the event times; where they are all
    # alike, as on Goodreads, it is EASE^R): the production model's item-item part alone, as a baseline.
    "ease_recency": (
        EASE,
        [
            {"l2": l2, "recency": r}
            for l2 in (500.0, 150.0, 300.0, 1000.0, 2000.0, 4000.0)
            for r in (10.0, 1.0, 2.0, 3.0, 5.0, 25.0)
        ],
    ),
    "als": (
        ImplicitALS,
        [
            {"factors": f, "regularization": r, "alpha": a}
            for f, r, a in (
                (64, 0.1, 20.0),
                (128, 0.1, 40.0),
                (64, 1.0, 10.0),
                (32, 0.1, 40.0),
                (16, 0.1, 40.0),
                (32, 0.1, 80.0),
                (8, 0.1, 40.0),
                (16, 0.1, 20.0),
                (16, 0.1, 10.0),
                (16, 1.0, 20.0),
                (64, 1.0, 5.0),
                (64, 3.0, 10.0),
            )
        ],
    ),
}


def load_ml100k():
    """ML-100K's ratings as interactions, and each movie's genres (category: the first), year and title."""
    frame = pd.read_csv(
        os.path.join(DATA, "ml-100k", "u.data"), sep="\t", names=["user_id", "item_id", "rating", "timestamp"]
    )
    interactions = build_interactions(frame.assign(kind="rating"))
    genres = pd.read_csv(os.path.join(DATA, "ml-100k", "u.genre"), sep="|", names=["genre", "code"])["genre"].tolist()
    movies = pd.read_csv(os.path.join(DATA, "ml-100k", "u.item"), sep="|", encoding="latin-1", header=None, index_col=0)
    items = []
    for movie_id in interactions.item_ids:
        row = movies.loc[movie_id]
        flags = [genre for genre, flag in zip(genres, row.iloc[4:23]) if flag == 1 and genre != "unknown"]
        date = pd.to_datetime(row.iloc[1], format="%d-%b-%Y", errors="coerce")
        title = str(row.iloc[0]).rsplit(" (", 1)[0]
        items.append(
            ItemDescription(flags[0] if flags else "", tuple(flags), (), None if pd.isna(date) else date.year, title)
        )
    return interactions, True, SideInformation(items, ml100k_demographics(interactions.user_ids))


def load_goodreads():
    """The demo's Goodreads ratings, and each book's category and tags (from its shelves), authors, year and title."""
    frame = pd.read_csv(os.path.join(DATA, "goodbooks", "ratings.csv")).rename(columns={"book_id": "item_id"})
    interactions = build_interactions(frame.assign(kind="rating", timestamp=0.0))
    books = pd.read_csv(os.path.join(DATA, "goodbooks", "books.csv")).set_index("book_id")
    shelves = pd.read_csv(os.path.join(DATA, "goodbooks", "book_tags.csv")).merge(
        pd.read_csv(os.path.join(DATA, "goodbooks", "tags.csv")), on="tag_id"
    )
    by_book = {
        gid: list(zip(group["tag_name"].str.lower(), group["count"]))
        for gid, group in shelves.groupby("goodreads_book_id")
    }
    items = []
    for book_id in interactions.item_ids:
        book = books.loc[book_id]
        category, tags = categorise(by_book.get(book["goodreads_book_id"], []))
        authors = tuple(name.strip() for name in str(book["authors"]).split(",") if name.strip())
        year = book["original_publication_year"]
        items.append(
            ItemDescription(category, tuple(tags), authors, None if pd.isna(year) else year, str(book["title"]))
        )
    return interactions, False, SideInformation(items, None)


@dataclass
class SideInformation:
    """What a data set says about its items (in item-code order) and, on MovieLens, its users (user-code order)."""

    items: list[ItemDescription]
    users: UserFeatures | None


def ml100k_demographics(user_ids: np.ndarray) -> UserFeatures:
    """Age bucket, gender and occupation of each ML-100K user, in the order of ``user_ids``."""
    users = pd.read_csv(
        os.path.join(DATA, "ml-100k", "u.user"), sep="|", names=["user_id", "age", "gender", "occupation", "zip"]
    ).set_index("user_id")
    rows = [(age_bucket(users.at[u, "age"]), users.at[u, "gender"], users.at[u, "occupation"]) for u in user_ids]
    return UserFeatures.encode(("age", "gender", "occupation"), rows)


def build(name: str, params: dict, side: SideInformation):
    """A fresh model ``name`` with ``params``; content models also get the side information."""
    factory = GRIDS[name][0]
    if name == "content_knn":
        return factory(**params, items=side.items)
    if name == "neumf_hybrid":
        item_features = FeatureVocabulary.learn(side.items).encode(side.items)
        return factory(**params, item_features=item_features, user_features=side.users)
    return factory(**params)


def split(interactions, timed: bool, seed: int) -> LeaveOneOutSplit:
    return leave_one_out(interactions.matrix, interactions.last_seen if timed else None, seed=seed)


def validation_split(test_split: LeaveOneOutSplit, interactions, timed: bool, seed: int) -> LeaveOneOutSplit:
    """The same leave-one-out, applied to the training matrix only."""
    times = None
    if timed:
        times = times_of(interactions.last_seen, test_split.train)
    return leave_one_out(test_split.train, times, seed=seed + 1)


def warm_fit(model, split: LeaveOneOutSplit, interactions):
    """How a model is fit for the warm protocol: NeuMF holds out each reader's latest training interaction
    for early stopping, as the test holds out the latest (ties, as on Goodreads: a random one)."""
    return partial(fit_model, model, last_seen=times_of(interactions.last_seen, split.train))


def choose(name: str, validation: LeaveOneOutSplit, tune: bool, side: SideInformation, interactions) -> dict:
    _factory, grid = GRIDS[name]
    if not tune or len(grid) == 1:
        return grid[0]
    best, best_ndcg = grid[0], -1.0
    for params in grid:
        model = build(name, params, side)
        ndcg = fit_and_evaluate(model, validation, fit=warm_fit(model, validation, interactions))["ndcg@10"]
        print(f"    validation {name} {params}: NDCG@10 {ndcg:.4f}", flush=True)
        if ndcg > best_ndcg:
            best, best_ndcg = params, ndcg
    return best


def ranking_table(
    datasets: list[str],
    models: list[str],
    tune: bool,
    max_users: int | None,
    seed: int,
    seeds: int,
    protocols: tuple[str, ...] = PROTOCOLS,
) -> None:
    loaders = {"ml-100k": load_ml100k, "goodreads": load_goodreads}
    for dataset in datasets:
        interactions, timed, side = loaders[dataset]()
        test = subsample_split(split(interactions, timed, seed), max_users, seed)
        validation = subsample_split(validation_split(test, interactions, timed, seed), max_users, seed)
        negatives = sampled_negatives(test.train, test.test_users, test.test_items, seed=seed)
        print(
            f"\n{dataset}: {interactions.n_users} readers, {interactions.n_items} items, "
            f"{interactions.n_interactions} interactions; {len(test.test_users)} test readers "
            f"({'latest' if timed else 'random'} interaction held out)",
            flush=True,
        )
        rows = {}
        for name in models:
            params = choose(name, validation, tune, side, interactions)
            if "warm" not in protocols:  # the cold-start tables only need the chosen parameters
                rows[name] = ([], params)
                continue
            runs = []
            for run_seed in [seed + n for n in range(seeds)] if name in SEEDED else [None]:
                run_params = params if run_seed is None else {**params, "seed": run_seed}
                model = build(name, run_params, side)
                runs.append(
                    fit_and_evaluate(
                        model, test, negatives=negatives, fit=warm_fit(model, test, interactions), keep_ranks=True
                    )
                )
                ranks = runs[-1].pop("ranks")  # kept beside the printed figures, for the paired comparison
                runs[-1]["per_user"] = hits_and_gains(ranks, 10)
                chose = ""
                if name in NEURAL:
                    chose = (
                        f" (item-item part chosen on its hold-out: {model.item_item_choice}; "
                        f"histories in time order, recency: {model.trained_history_recency:g})"
                    )
                shown = {key: value for key, value in runs[-1].items() if key != "per_user"}
                print(f"  {name} {run_params}: {shown}{chose}", flush=True)
            rows[name] = (runs, params)
        if "warm" in protocols:
            _warm_table(dataset, rows)
        if "cold-items" in protocols:
            item_cold_start_table(dataset, interactions, side, rows, seed, seeds)
        if "cold-users" in protocols:
            user_cold_start_table(dataset, interactions, side, rows, seed, seeds, max_users)


def _warm_table(dataset: str, rows: dict[str, tuple[list[dict], dict]]) -> None:
    """The warm leave-one-out table: each model's mean (and spread over seeds) of every metric."""
    columns = "HR@10 | NDCG@10 | sampled HR@10 | sampled NDCG@10 | fit s | score s | seeds | parameters"
    print(f"\n| {dataset} | {columns} |")
    print("|---|---|---|---|---|---|---|---|---|")
    means = {}
    for name, (runs, params) in rows.items():
        means[name] = {key: float(np.mean([run[key] for run in runs])) for key in (*METRICS, *TIMES)}
        cells = []
        for key in METRICS:
            spread = f" ± {np.std([run[key] for run in runs], ddof=1):.4f}" if len(runs) > 1 else ""
            cells.append(f"{means[name][key]:.4f}{spread}")
        print(
            f"| {name} | {' | '.join(cells)} | "
            + " | ".join(f"{means[name][key]:.1f}" for key in TIMES)
            + f" | {len(runs)} | {params} |"
        )
    baselines = [name for name in means if name not in (PRODUCTION, "neumf")]
    if PRODUCTION in means and baselines:  # a run of the production model alone compares with nothing
        losses = [
            f"{name} {key}" for name in baselines for key in METRICS[:2] if means[PRODUCTION][key] <= means[name][key]
        ]
        print(
            f"\nThe production NeuMF (history + content) beats every baseline of this run ({', '.join(baselines)}) "
            f"on HR@10 and NDCG@10 (means): {'yes' if not losses else 'NO, not ' + ', '.join(losses)}"
        )
        _paired_table(dataset, rows, baselines)


def _paired_table(dataset: str, rows: dict[str, tuple[list[dict], dict]], baselines: list[str]) -> None:
    """The production model minus each baseline, reader by reader on the same test (each model's per-reader
    figures averaged over its seeds): the mean difference and its 95% interval (1.96 standard errors)."""

    def per_user(name: str) -> tuple[np.ndarray, np.ndarray]:
        runs = rows[name][0]
        return tuple(np.mean([run["per_user"][metric] for run in runs], axis=0) for metric in (0, 1))

    production = per_user(PRODUCTION)
    print(f"\n| {dataset}: production minus | HR@10 difference (95% interval) | NDCG@10 difference (95% interval) |")
    print("|---|---|---|")
    for name in baselines:
        cells = []
        for mine, theirs in zip(production, per_user(name)):
            mean, error = paired_difference(mine, theirs)
            cells.append(f"{mean:+.4f} ({mean - 1.96 * error:+.4f} to {mean + 1.96 * error:+.4f})")
        print(f"| {name} | {' | '.join(cells)} |")


def _seeded_runs(name: str, params: dict, seed: int, seeds: int) -> list[dict]:
    return [{**params, "seed": seed + n} for n in range(seeds)] if name in SEEDED else [params]


def _table(title: str, results: dict[str, list[dict]], columns: tuple[str, ...], runs_label: str = "seeds") -> None:
    print(f"\n| {title} | " + " | ".join(columns) + f" | {runs_label} |")
    print("|---" * (len(columns) + 2) + "|")
    for name, runs in results.items():
        cells = []
        for key in columns:
            values = [run[key] for run in runs]
            spread = f" ± {np.std(values, ddof=1):.4f}" if len(values) > 1 else ""
            cells.append(f"{np.mean(values):.4f}{spread}")
        print(f"| {name} | " + " | ".join(cells) + f" | {len(runs)} |", flush=True)


def item_cold_start_table(dataset: str, interactions, side, chosen: dict, seed: int, seeds: int) -> None:
    """Item cold start: 10% of the items with 5+ readers withheld from training, ranked among the withheld items.

    Which items are withheld decides much of the result (40 books on Goodreads), so each
    of the ``seeds`` repetitions withholds its own items (split seed, seed+1, ...) and
    every model, seeded or not, is measured on every split; a seeded model also takes that
    seed. Each model uses the parameters the warm validation chose for it.
    """
    results: dict[str, list[dict]] = {}
    for split_seed in range(seed, seed + seeds):
        cold_items = item_cold_start_split(interactions.matrix, seed=split_seed)
        print(
            f"\n{dataset} item cold start, split {split_seed}: {len(cold_items.cold_items)} items withheld from "
            f"training, {len(cold_items.users)} (reader, withheld item) pairs ranked among the withheld items",
            flush=True,
        )
        for name in COLD_ITEM_MODELS:
            if name not in chosen:
                continue
            params = {**chosen[name][1], "seed": split_seed} if name in SEEDED else chosen[name][1]
            model = build(name, params, side).fit(cold_items.train)
            results.setdefault(name, []).append(evaluate_item_cold_start(model.score, cold_items))
            print(f"  {name}: {results[name][-1]}", flush=True)
    _table(f"{dataset} item cold start", results, ("hr@10", "ndcg@10"), runs_label="splits")


def user_cold_start_table(dataset: str, interactions, side, chosen: dict, seed: int, seeds: int, max_users) -> None:
    """User cold start: readers with 1-3 items in training, each model with the parameters the warm validation chose."""
    cold_users = subsample_split(user_cold_start_split(interactions.matrix, seed=seed), max_users, seed)
    print(f"\n{dataset} user cold start: {len(cold_users.test_users)} readers with 1-3 items in training", flush=True)
    results = {}
    for name, (_runs, params) in chosen.items():
        runs = []
        for run_params in _seeded_runs(name, params, seed, seeds):
            model = build(name, run_params, side).fit(cold_users.train)
            runs.append(evaluate_ranking(model.score, cold_users))
            if name in NEURAL:
                print(f"  {name} {run_params}: {runs[-1]} (item-item part: {model.item_item_choice})", flush=True)
        results[name] = runs
    _table(f"{dataset} user cold start", results, ("hr@10", "ndcg@10"))


def ml100k_side_information() -> tuple[ItemFeatures, UserFeatures]:
    """Every movie's features and every user's demographics, indexed by their raw ML-100K ids (row 0 unused)."""
    interactions, _timed, side = load_ml100k()
    by_id = [ItemDescription()] * (int(interactions.item_ids.max()) + 1)
    for movie_id, item in zip(interactions.item_ids, side.items, strict=True):
        by_id[movie_id] = item
    # Codes are the raw ids here (row 0 unused): the official folds index users and movies by them.
    raw_ids = np.arange(int(interactions.user_ids.max()) + 1)
    demographics = ml100k_demographics(raw_ids[1:])
    users = UserFeatures(
        demographics.fields, np.vstack([np.zeros((1, len(demographics.fields)), np.int32), demographics.codes])
    )
    return FeatureVocabulary.learn(by_id).encode(by_id), users


def age_bucket(age: int) -> str:
    """MovieLens-1M's age groups: under 18, 18-24, 25-34, 35-44, 45-49, 50-55, 56+."""
    for limit, name in ((18, "under 18"), (25, "18-24"), (35, "25-34"), (45, "35-44"), (50, "45-49"), (56, "50-55")):
        if age < limit:
            return name
    return "56+"


def rating_table(folds: list[int], seed: int, tune: bool) -> None:
    """RMSE/MAE on the official folds, with the setting chosen on a 10% validation slice of u1.base."""
    names = ["user_id", "item_id", "rating", "timestamp"]
    item_features, user_features = ml100k_side_information()
    n_users, n_items = len(user_features), len(item_features)

    def fit(train: pd.DataFrame, setting: dict) -> NCFRating:
        side = {}
        if setting["side"]:
            side = {"item_features": item_features, "user_features": user_features}
        params = {key: value for key, value in setting.items() if key != "side"}
        model = NCFRating(**RATING_MODEL, **params, **side, seed=seed)
        return model.fit(train["user_id"], train["item_id"], train["rating"], n_users, n_items)

    chosen = RATING_SETTINGS[0]
    if tune:
        base = pd.read_csv(os.path.join(DATA, "ml-100k", "u1.base"), sep="\t", names=names)
        held = np.random.default_rng(seed).random(len(base)) < 0.1
        best = np.inf
        for setting in RATING_SETTINGS:
            model = fit(base[~held], setting)
            score = rmse(model.predict(base[held]["user_id"], base[held]["item_id"]), base[held]["rating"])
            print(f"    validation rating model {setting}: RMSE {score:.4f}", flush=True)
            if score < best:
                chosen, best = setting, score
    print(f"\n| ML-100K fold | RMSE | MAE | fit s |   (rating model: {chosen})")
    print("|---|---|---|---|")
    rmses, maes = [], []
    for fold in folds:
        train = pd.read_csv(os.path.join(DATA, "ml-100k", f"u{fold}.base"), sep="\t", names=names)
        test = pd.read_csv(os.path.join(DATA, "ml-100k", f"u{fold}.test"), sep="\t", names=names)
        started = time.perf_counter()
        model = fit(train, chosen)
        fit_seconds = time.perf_counter() - started
        predicted = model.predict(test["user_id"], test["item_id"])
        rmses.append(rmse(predicted, test["rating"]))
        maes.append(mae(predicted, test["rating"]))
        print(f"| u{fold} | {rmses[-1]:.4f} | {maes[-1]:.4f} | {fit_seconds:.1f} |", flush=True)
    print(f"| mean | {np.mean(rmses):.4f} | {np.mean(maes):.4f} | |")
    print("| scikit-surprise SVD (published) | 0.934 | 0.737 | |")
    print("| scikit-surprise SVD++ (the figure issue 18 quotes) | 0.922 | | |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="*", default=["ml-100k", "goodreads"], choices=["ml-100k", "goodreads"])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--no-tune", dest="tune", action="store_false")
    parser.add_argument("--max-users", type=int, help="test readers sampled per data set (default: all of them)")
    parser.add_argument("--rating-folds", nargs="*", type=int, default=[1, 2, 3, 4, 5])
    parser.add_argument(
        "--protocols",
        nargs="+",
        default=list(PROTOCOLS),
        choices=[*PROTOCOLS, "cold"],
        help="warm and/or cold-start tables (cold: both cold-start ones)",
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--seeds", type=int, default=5, help="fits of each seeded model (seed, seed+1, ...); the table shows the mean"
    )
    args = parser.parse_args()
    both_cold = ("cold-items", "cold-users")
    protocols = tuple(p for name in args.protocols for p in (both_cold if name == "cold" else (name,)))
    if args.datasets and args.models:
        ranking_table(args.datasets, args.models, args.tune, args.max_users, args.seed, args.seeds, protocols)
    if args.rating_folds:
        rating_table(args.rating_folds, args.seed, args.tune)


if __name__ == "__main__":
    main()
