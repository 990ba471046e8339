"""What recomputing one reader's recommendations costs in the web process (fold-in), on the demo database.

Needs a database with a trained NeuMF run (``make recs``). For readers the run knows and
for new readers with three rated books, it times :func:`reader_recs.refresh_reader`:
the scoring alone (NumPy: user vectors from the history, every book scored, top 20,
reasons) and the whole call (reading the history, scoring, replacing the rows, commit).
It also prints what loading the live model adds to the process's memory (what each web
worker holds for it): RSS after less RSS before, and the peak on the way (VmHWM, reset first).

    python benchmarks/fold_in.py [--readers 200]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sqlalchemy import func, select

from webapp import create_app
from webapp.config import Config
from webapp.extensions import db
from webapp.models import Rating, User
from webapp.services import reader_recs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--readers", type=int, default=200)
    args = parser.parse_args()
    app = create_app(Config)
    with app.app_context():
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")  # VmHWM starts again from the RSS now
        rss_before = _memory_mib("VmRSS")
        started = time.perf_counter()
        model = reader_recs.live_model()
        if model is None:
            raise SystemExit("No trained NeuMF run with live artifacts: run `make recs` (flask train-recs) first.")
        load_ms = (time.perf_counter() - started) * 1000
        held_mib, peak_mib = _memory_mib("VmRSS") - rss_before, _memory_mib("VmHWM") - rss_before
        readers = db.session.scalars(
            select(Rating.user_id).group_by(Rating.user_id).order_by(func.random()).limit(args.readers)
        ).all()
        popular = db.session.scalars(
            select(Rating.book_id).group_by(Rating.book_id).order_by(func.count().desc()).limit(30)
        ).all()
        rows = {"known reader": ([], []), "new reader, 3 ratings": ([], [])}
        for user_id in readers:
            begin = time.perf_counter()
            refreshed = reader_recs.refresh_reader(user_id)
            rows["known reader"][0].append(refreshed.scoring_ms)
            rows["known reader"][1].append((time.perf_counter() - begin) * 1000)
        rng = np.random.default_rng(0)
        newcomers = []
        for n in range(min(args.readers, 50)):
            user = User(username=f"foldin-bench-{n}-{rng.integers(1e9)}", email=f"foldin{n}@bench.invalid")
            db.session.add(user)
            db.session.flush()
            for book_id in rng.choice(popular, 3, replace=False):
                db.session.add(Rating(user_id=user.id, book_id=int(book_id), rating=5))
            newcomers.append(user.id)
        db.session.commit()
        try:
            for user_id in newcomers:
                begin = time.perf_counter()
                refreshed = reader_recs.refresh_reader(user_id)
                rows["new reader, 3 ratings"][0].append(refreshed.scoring_ms)
                rows["new reader, 3 ratings"][1].append((time.perf_counter() - begin) * 1000)
        finally:
            db.session.execute(User.__table__.delete().where(User.id.in_(newcomers)))
            db.session.commit()
        print(
            f"\nLive model: {model.scorer.n_items:,} books and {len(model.reader_ids):,} readers, read once per "
            f"process in {load_ms:.0f} ms; it added {held_mib:,.0f} MiB to the RSS ({peak_mib:,.0f} MiB at the peak)"
        )
        print("\n| reader | readers | scoring ms p50 | scoring ms p95 | whole refresh ms p50 | whole refresh ms p95 |")
        print("|---|---|---|---|---|---|")
        for name, (scoring, whole) in rows.items():
            print(
                f"| {name} | {len(scoring)} | {np.percentile(scoring, 50):.1f} | {np.percentile(scoring, 95):.1f} | "
                f"{np.percentile(whole, 50):.1f} | {np.percentile(whole, 95):.1f} |"
            )


def _memory_mib(field: str) -> float:
    """A memory figure of this process from /proc/self/status (VmRSS, VmHWM), in MiB."""
    with open("/proc/self/status") as status:
        values = dict(line.split(":", 1) for line in status)
    return int(values[field].split()[0]) / 1024


if __name__ == "__main__":
    main()
