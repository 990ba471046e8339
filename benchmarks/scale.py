"""How cost grows with the library: a synthetic library at 1x, 10x and 50x the demo, end to end.

For each size a library in the goodbooks files' format is synthesised from a latent-factor
generator with a fixed seed: readers and books get 16 random factors, books a Zipf-like
popularity; each reader draws candidate books by popularity and rates (and marks to read)
those with the highest factor score + Gumbel noise; stars follow the score. 1x is the demo's size
(48,000 readers, 233,383 ratings, 210,962 want-to-read marks, 10,000 books); 10x has
25,000 books and 50x 50,000 (their metadata and shelves are the real books', repeated as
further volumes). Then, on a fresh database (DATABASE_URL, else an SQLite file per size):

- `flask seed-demo` on those files (seconds),
- `flask train-recs` (its stages, and the process's peak RSS),
- in-process: p95 of the demo reader's home and book page (30 requests each, shared
  fragments kept as in production) and of the slowest statistics JSON view (5 requests each).

    python benchmarks/scale.py [--sizes 1 10 50] [--books N] [--database mysql+mysqldb://...]

With --database every size reuses that database (seed-demo --reset). With --books every size
has N books: a catalogue held fixed, to tell what grows with the readers and interactions
from what grows with the books.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEMO = os.path.join(ROOT, "data", "goodbooks")
DEMO_READERS, DEMO_RATINGS, DEMO_MARKS = 48_000, 233_383, 210_962
BOOKS = {1: 10_000, 10: 25_000, 50: 50_000}
FACTORS = 16
SEED = 2026

# Run a command's module with the peak RSS of the process printed to stderr when it exits.
_WITH_PEAK_RSS = (
    "import atexit, resource, runpy, sys; "
    "atexit.register(lambda: print('PEAK_RSS_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "
    "file=sys.stderr)); sys.argv = sys.argv[1:]; runpy.run_module(sys.argv[0], run_name='__main__')"
)


def synthesise(multiplier: int, target: str, books: int | None = None) -> dict[str, int]:
    """Write books/tags/book_tags/ratings/to_read CSVs of a ``multiplier``-times library into ``target``;
    ``books`` overrides the size's number of books (readers and interactions stay the size's)."""
    rng = np.random.default_rng(SEED + multiplier)
    n_books = books or BOOKS.get(multiplier, 10_000 * multiplier)
    n_readers = DEMO_READERS * multiplier
    real_books = pd.read_csv(os.path.join(DEMO, "books.csv"), dtype=str, keep_default_na=False)
    shelves = pd.read_csv(os.path.join(DEMO, "book_tags.csv"), dtype=str, keep_default_na=False)
    volume = np.arange(n_books) // len(real_books)
    books = real_books.iloc[np.arange(n_books) % len(real_books)].reset_index(drop=True)
    books["book_id"] = np.arange(1, n_books + 1)
    gid = books["goodreads_book_id"].astype(np.int64) + volume * 100_000_000
    books["goodreads_book_id"] = gid
    later = volume > 0
    books.loc[later, "title"] = books.loc[later, "title"] + [f" (volume {v + 1})" for v in volume[later]]
    books.loc[later, "isbn"] = ""
    books.to_csv(os.path.join(target, "books.csv"), index=False)
    copies = [
        shelves.assign(goodreads_book_id=shelves["goodreads_book_id"].astype(np.int64) + v * 100_000_000)
        for v in range(int(volume.max()) + 1)
    ]
    pd.concat(copies).to_csv(os.path.join(target, "book_tags.csv"), index=False)
    with open(os.path.join(DEMO, "tags.csv"), "rb") as source, open(os.path.join(target, "tags.csv"), "wb") as copy:
        copy.write(source.read())

    item_factors = rng.normal(size=(n_books, FACTORS)).astype(np.float32) / np.sqrt(FACTORS)
    popularity = 1.0 / (rng.permutation(n_books) + 1.0) ** 0.8
    popularity /= popularity.sum()
    for name, total, stars in (("ratings.csv", DEMO_RATINGS, True), ("to_read.csv", DEMO_MARKS, False)):
        per_reader = rng.poisson(total * multiplier / n_readers - 1, n_readers) + 1
        users, items, ratings = [], [], []
        for start in range(0, n_readers, 4096):
            count = per_reader[start : start + 4096]
            k = int(count.max())
            # Candidates drawn by popularity, each reader keeps the best by factor score + Gumbel noise.
            candidates = np.sort(rng.choice(n_books, size=(len(count), max(8 * k, 64)), p=popularity), axis=1)
            user_factors = rng.normal(size=(len(count), FACTORS)).astype(np.float32)
            affinity = np.einsum("uf,ucf->uc", user_factors, item_factors[candidates])
            noisy = affinity + rng.gumbel(size=affinity.shape).astype(np.float32)
            noisy[:, 1:][candidates[:, 1:] == candidates[:, :-1]] = -np.inf  # a candidate drawn twice counts once
            order = np.argsort(-noisy, axis=1)[:, :k]
            keep = (np.arange(k)[None, :] < count[:, None]) & np.isfinite(np.take_along_axis(noisy, order, axis=1))
            rows = np.repeat(np.arange(len(count)), k).reshape(len(count), k)[keep]
            chosen = np.take_along_axis(candidates, order, axis=1)[keep]
            users.append(start + rows + 1)
            items.append(chosen + 1)
            if stars:
                score = np.take_along_axis(affinity, order, axis=1)[keep]
                ratings.append(np.clip(np.round(3.8 + 0.9 * score), 1, 5).astype(int))
        frame = pd.DataFrame({"user_id": np.concatenate(users), "book_id": np.concatenate(items)})
        if stars:
            frame["rating"] = np.concatenate(ratings)
        frame.to_csv(os.path.join(target, name), index=False)
    return {"books": n_books, "readers": n_readers}


def flask(database: str, *args: str) -> tuple[str, float, int]:
    """Run a flask command; (output, seconds, peak RSS in MB)."""
    env = {**os.environ, "DATABASE_URL": database, "FLASK_APP": "wsgi.py", "TF_CPP_MIN_LOG_LEVEL": "3"}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _WITH_PEAK_RSS, "flask", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"flask {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    peak = int(re.search(r"PEAK_RSS_KB (\d+)", done.stderr).group(1)) // 1024
    return done.stdout, seconds, peak


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def page_and_statistics_times(database: str) -> dict[str, float]:
    """p95 ms of the demo reader's home and book page, and of the slowest statistics JSON view, in-process.

    The statistics are computed on every call (STATISTICS_SECONDS=0): what their aggregates cost at this size.
    """
    os.environ["DATABASE_URL"] = database
    from webapp import create_app
    from webapp.services.seed import DEMO_ADMIN_PASSWORD, DEMO_ADMIN_USERNAME, DEMO_READER_PASSWORD
    from webapp.services.statistics import CHARTS

    app = create_app(
        {
            "WTF_CSRF_ENABLED": False,
            "SECRET_KEY": "scale-benchmark",
            "SQLALCHEMY_DATABASE_URI": database,
            "STATISTICS_SECONDS": 0,
        }
    )
    times: dict[str, float] = {}

    def timed(client, url: str, repeat: int) -> float:
        client.get(url)
        samples = []
        for _ in range(repeat):
            started = time.perf_counter()
            if client.get(url).status_code != 200:
                raise SystemExit(f"{url} did not answer 200")
            samples.append((time.perf_counter() - started) * 1000)
        return _p95(samples)

    reader = app.test_client()
    reader.post("/auth/login", data={"username": "demo", "password": DEMO_READER_PASSWORD})
    times["home p95 ms"] = timed(reader, "/", 30)
    times["book page p95 ms"] = timed(reader, "/books/1", 30)
    staff = app.test_client()
    staff.post("/auth/login", data={"username": DEMO_ADMIN_USERNAME, "password": DEMO_ADMIN_PASSWORD})
    times["slowest statistics view p95 ms"] = max(timed(staff, f"/dashboard/api/{chart}", 5) for chart in CHARTS)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", type=int, default=[1, 10, 50])
    parser.add_argument("--database", help="a database URL to use for every size (default: a fresh SQLite file each)")
    parser.add_argument("--books", type=int, help="books at every size (default: 10,000, 25,000 and 50,000)")
    args = parser.parse_args()
    rows = []
    for multiplier in args.sizes:
        with tempfile.TemporaryDirectory() as work:
            started = time.perf_counter()
            size = synthesise(multiplier, work, args.books)
            synth_seconds = time.perf_counter() - started
            database = args.database or f"sqlite:///{work}/scale.sqlite"
            if not args.database:
                flask(database, "db", "upgrade")
            _out, seed_seconds, seed_peak = flask(database, "seed-demo", "--data-dir", work, "--reset")
            out, train_seconds, train_peak = flask(database, "train-recs")
            stages = ast.literal_eval(re.search(r"stages: (\{.*\})", out).group(1))
            interactions = int(re.search(r"([\d,]+) interactions", out).group(1).replace(",", ""))
            # The web measurements run in a child, so that every size gets a fresh app and cache.
            code = (
                "import json, sys; sys.path.insert(0, 'benchmarks'); from scale import page_and_statistics_times; "
                f"print(json.dumps(page_and_statistics_times({database!r})))"
            )
            web = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
            rows.append(
                {
                    "size": f"{multiplier}x",
                    **size,
                    "interactions": interactions,
                    "synthesise s": round(synth_seconds, 1),
                    "seed s": round(seed_seconds, 1),
                    "seed peak MB": seed_peak,
                    **{name.replace("_seconds", " s"): value for name, value in stages.items()},
                    "train-recs wall s": round(train_seconds, 1),
                    "train-recs peak MB": train_peak,
                    **{k: round(v, 1) for k, v in ast.literal_eval(web.stdout.strip().splitlines()[-1]).items()},
                }
            )
            print(rows[-1], flush=True)
    print(f"\n{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the end\n")
    columns = list(rows[0])
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        print("| " + " | ".join(f"{row.get(column, '')}" for column in columns) + " |")


if __name__ == "__main__":
    main()
