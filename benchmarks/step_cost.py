"""What a step of NeuMF's training costs on a library, and which part grows with it.

On the database at DATABASE_URL (the demo's, or one of `scale.py`'s libraries), the
interactions and the catalogue are loaded as `flask train-recs` loads them, and NeuMF with
its production settings is built four times: as trained (history and content), without
the content tower, without the history sums, and with neither. Each draws its first slice
of training examples as an epoch does, traces its step on one batch, and then takes
``--steps`` steps the way an epoch takes them; the median milliseconds a step (and p10/p90) are printed, with the
microseconds an example spends being drawn (negative sampling and the history's left-out
item), with the distinct books a batch holds. An epoch is about interactions x (1 + negatives) /
batch size steps. ``--negative-pool 0`` draws each batch's negatives over the whole catalogue
(production: among ``NeuMF.negative_pool`` books drawn for the batch).

    DATABASE_URL=sqlite:////path/lib.sqlite python benchmarks/step_cost.py [--steps 60] [--parts all content]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import time

import numpy as np

from webapp import create_app
from webapp.recsys.neural import NeuMF
from webapp.services.training import SilentProgress, TrainingOptions, _load, _model

PARTS = {
    "all": {},
    "no content": {"content": False},
    "no history": {"user_history": False},
    "neither": {"content": False, "user_history": False},
}


class _Measured(Exception):
    """Raised by StepTimer once it has measured, to leave fit()."""


class StepTimer(NeuMF):
    """NeuMF whose training measures its first steps instead of running epochs."""

    steps: int = 60

    def _train_epochs(self, tf, epoch_slices, validation, reader_history) -> None:
        batch = self.batch_groups * (1 + self.negatives)
        slices = epoch_slices(self.batch_groups)
        inputs, labels = next(slices)  # the first slice also shuffles the epoch
        self.distinct_books = np.mean(
            [
                len(np.unique(inputs["item"][start : start + batch]))
                for start in range(0, len(labels) - batch + 1, batch)
            ]
        )
        started = time.perf_counter()
        drawn = next(slices)[1]
        self.sampling_us = (time.perf_counter() - started) / len(drawn) * 1e6

        def step(number: int) -> None:  # one batch, as an epoch trains it
            rows = slice(number * batch, (number + 1) * batch)
            self._keras_epoch(iter([({name: column[rows] for name, column in inputs.items()}, labels[rows])]), batch)

        step(0)  # traces the step
        ends = [time.perf_counter()]
        for number in range(1, 1 + min(self.steps, len(labels) // batch - 1)):
            step(number)
            ends.append(time.perf_counter())
        self.step_ms = np.diff(ends) * 1e3
        raise _Measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--parts", nargs="+", choices=sorted(PARTS), default=list(PARTS))
    parser.add_argument("--negative-pool", type=int, help="books a batch's negatives are drawn among (0: all)")
    args = parser.parse_args()
    app = create_app()
    with app.app_context():
        options = TrainingOptions()
        data = _load(options, SilentProgress())
        interactions, item_features = data.interactions, data.item_features
        del data
        print(
            f"{interactions.n_users:,} readers x {interactions.n_items:,} books, "
            f"{interactions.n_interactions:,} interactions\n"
        )
        print("| NeuMF | step ms, median | p10 | p90 | drawing, us an example | distinct books a batch |")
        print("|---|---|---|---|---|---|")
        for part in args.parts:
            settings = _model(options, "neumf", item_features, None, None).params
            if args.negative_pool is not None:
                settings["negative_pool"] = args.negative_pool
            model = StepTimer(**{**settings, **PARTS[part]}, item_features=item_features)
            model.steps = args.steps
            with contextlib.suppress(_Measured):  # raised once the steps are timed
                model.fit(interactions.matrix, None, interactions.last_seen)
            ms = model.step_ms
            print(
                f"| {part} | {np.median(ms):.1f} | {np.percentile(ms, 10):.1f} | {np.percentile(ms, 90):.1f} "
                f"| {model.sampling_us:.2f} | {model.distinct_books:,.0f} |",
                flush=True,
            )
    print(f"\n{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
