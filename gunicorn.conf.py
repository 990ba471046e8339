"""gunicorn's settings, read from the directory it starts in (`make run` and the benchmarks start it here)."""


def post_worker_init(worker) -> None:
    """Compute what every page shares before this worker takes requests, so no reader waits for it."""
    from webapp.services.reader_recs import warm_up

    with worker.wsgi.app_context():
        warm_up()
