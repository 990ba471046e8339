"""gunicorn's settings, read from the directory it starts in (`make run` and the benchmarks start it here)."""

import threading

# Each worker listens on its own socket (SO_REUSEPORT) and the kernel spreads new connections
# over them. Without it one worker could accept every keep-alive connection while the other
# idled: in wrk runs of 20 connections one worker held all 20 in 4 of 10 runs, at half the
# throughput. The cost: a second server started on the same port shares it instead of failing.
reuse_port = True


def post_worker_init(worker) -> None:
    """Compute what every page shares before this worker takes requests, so that no reader waits for it.

    The warm-up runs in a thread that the worker waits for at most half of gunicorn's
    timeout: on a library large enough to take longer, the worker starts serving (rather
    than being killed for not answering) while the warm-up goes on.
    """
    from webapp.services.reader_recs import warm_up

    app = worker.wsgi

    def run() -> None:
        with app.app_context():
            warm_up()

    thread = threading.Thread(target=run, name="warm-up", daemon=True)
    thread.start()
    thread.join(worker.cfg.timeout / 2)
