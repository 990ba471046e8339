"""Does an epoch cost what the interactions cost, whatever the number of readers?

Random (reader, book, stars) triples, the same number at every size, spread over more
and more readers: NeuMF and the rating model with ``flask train-recs``'s defaults are
trained for ``--epochs`` epochs and the mean seconds of the epochs after the first (which
carries TensorFlow's tracing) are printed. With costs that follow the interactions the
columns stay flat; a per-step cost that follows the tables would grow with the readers.

    python benchmarks/training_cost.py [--readers 20000 200000 1000000] [--interactions 200000]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import scipy.sparse as sp

from webapp.recsys.data import binarize
from webapp.recsys.neural import NCFRating, NeuMF


def epoch_seconds(train, epochs: int) -> float:
    """Mean seconds of the epochs after the first, from ``train(progress)`` calling progress once per epoch."""
    ends = []
    started = time.perf_counter()
    train(lambda _record: ends.append(time.perf_counter() - started))
    return float(np.mean(np.diff(ends))) if epochs > 1 else ends[0]


def neumf_epoch_seconds(matrix: sp.csr_matrix, epochs: int) -> float:
    return epoch_seconds(lambda progress: NeuMF(epochs=epochs, patience=0, progress=progress).fit(matrix), epochs)


def rating_epoch_seconds(readers, books, stars, shape: tuple[int, int], epochs: int) -> float:
    return epoch_seconds(
        lambda progress: NCFRating(epochs=epochs, progress=progress).fit(readers, books, stars, *shape), epochs
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--readers", nargs="+", type=int, default=[20_000, 200_000, 1_000_000])
    parser.add_argument("--interactions", type=int, default=200_000)
    parser.add_argument("--books", type=int, default=5_000)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    print("| readers | interactions | NeuMF s per epoch | rating model s per epoch |")
    print("|---|---|---|---|")
    for n_readers in args.readers:
        rng = np.random.default_rng(0)
        readers = rng.integers(0, n_readers, args.interactions)
        books = rng.integers(0, args.books, args.interactions)
        stars = rng.integers(1, 6, args.interactions).astype(np.float32)
        matrix = binarize(
            sp.csr_matrix((np.ones(args.interactions, np.float32), (readers, books)), (n_readers, args.books))
        )
        neumf = neumf_epoch_seconds(matrix, args.epochs)
        rating = rating_epoch_seconds(readers, books, stars, (n_readers, args.books), args.epochs)
        print(f"| {n_readers:,} | {matrix.nnz:,} | {neumf:.2f} | {rating:.2f} |", flush=True)
    print(f"\n{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
