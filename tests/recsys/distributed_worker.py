"""One worker of the two-worker NeuMF test (test_distributed.py): python -m tests.recsys.distributed_worker INDEX PORTS.

Trains the planted-groups NeuMF under MultiWorkerMirroredStrategy with TF_CONFIG naming
127.0.0.1 on the given ports, and prints its hit rate and one trained weight as JSON.
"""

import json
import os
import sys

from tests.recsys.test_models import _hit_rate, planted
from webapp.recsys.neural import multi_worker_strategy


def distributed_neumf(strategy=None):
    from webapp.recsys.neural import NeuMF

    return NeuMF(
        factors=8,
        mlp_layers=(16, 8),
        epochs=12,
        batch_size=256,
        learning_rate=0.02,
        negatives=4,
        patience=0,
        user_history=True,
        content=False,
        seed=5,
        strategy=strategy,
    )


if __name__ == "__main__":
    index, ports = int(sys.argv[1]), sys.argv[2].split(",")
    os.environ["TF_CONFIG"] = json.dumps(
        {"cluster": {"worker": [f"127.0.0.1:{port}" for port in ports]}, "task": {"type": "worker", "index": index}}
    )
    model = distributed_neumf(multi_worker_strategy(seed=5))
    hit_rate = _hit_rate(model, planted())
    print(json.dumps({"hr": hit_rate, "out_bias": float(model.scorer.arrays["out_bias"])}), flush=True)
