"""One worker of the two-worker NeuMF test (test_distributed.py): python -m tests.recsys.distributed_worker INDEX PORTS.

Trains the planted-groups NeuMF under MultiWorkerMirroredStrategy with TF_CONFIG naming
127.0.0.1 on the given ports, and prints its hit rate and one trained weight as JSON.
"""

import json
import os
import sys

from tests.recsys.helpers import hit_rate, planted, small_neumf
from webapp.recsys.neural import multi_worker_strategy


def distributed_neumf(strategy=None):
    return small_neumf(epochs=12, learning_rate=0.02, user_history=True, content=False, strategy=strategy)


if __name__ == "__main__":
    index, ports = int(sys.argv[1]), sys.argv[2].split(",")
    os.environ["TF_CONFIG"] = json.dumps(
        {"cluster": {"worker": [f"127.0.0.1:{port}" for port in ports]}, "task": {"type": "worker", "index": index}}
    )
    model = distributed_neumf(multi_worker_strategy(seed=5))
    planted_hit_rate = hit_rate(model, planted())
    print(json.dumps({"hr": planted_hit_rate, "out_bias": float(model.scorer.arrays["out_bias"])}), flush=True)
