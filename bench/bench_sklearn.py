#!/usr/bin/python3
"""Training throughput of scikit-learn's MLP on the benchmark workloads.

Same rows and protocol as the other peers (bench/workload.h, protocol.py).
MLPRegressor (tanh hidden, identity output, squared error) for regression,
MLPClassifier (relu hidden, softmax output, log-loss) for classification;
solver "sgd" without momentum or "adam", no L2 penalty (alpha=0), shuffling
every epoch. One partial_fit call is one epoch over the rows. Prints:
    sklearn <config> <optim> <samples/s> <rows timed> <threads>
Threads are OpenBLAS's under numpy (OPENBLAS_NUM_THREADS, set by run.sh);
scikit-learn's MLP has no threads of its own.

usage: bench_sklearn.py DATA_DIR [CONFIG...]    (all configs when none is named)
"""
import math
import os
import sys
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor

from protocol import load_data, read_manifest, rows_to_time, selected


def make_model(task, widths, batch, optim):
    name, lr = optim
    common = dict(hidden_layer_sizes=tuple(widths[1:-1]), solver=name, alpha=0.0,
                  batch_size=batch, learning_rate_init=lr, shuffle=True, random_state=1)
    if name == "sgd":
        common.update(momentum=0.0, nesterovs_momentum=False, learning_rate="constant")
    if task == "regression":
        return MLPRegressor(activation="tanh", **common)
    return MLPClassifier(activation="relu", **common)


def run_epochs(model, x, t, classes, epochs):
    start = time.perf_counter()
    for _ in range(epochs):
        if classes is None:
            model.partial_fit(x, t if t.shape[1] > 1 else t.ravel())
        else:
            model.partial_fit(x, t, classes=classes)
    return time.perf_counter() - start


def bench(protocol, config, optim, x, t):
    probe_rows, reps, rep_seconds, max_epochs = protocol
    _, task, batch, rows, widths = config
    classes = None if task == "regression" else np.arange(widths[-1], dtype=np.int32)
    model = make_model(task, widths, batch, optim)
    probe_rows = min(rows, probe_rows)
    probe = run_epochs(model, x[:probe_rows], t[:probe_rows], classes, 1)
    n = rows_to_time(rows, probe_rows, probe, rep_seconds)
    x, t = x[:n], t[:n]
    warm = run_epochs(model, x, t, classes, 1)
    epochs = min(max_epochs, max(1, math.ceil(rep_seconds / max(warm, 1e-9))))
    best = min(run_epochs(model, x, t, classes, epochs) for _ in range(reps))
    return n * epochs / best, n


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    warnings.simplefilter("ignore", ConvergenceWarning)
    threads = int(os.environ.get("OPENBLAS_NUM_THREADS", "1"))
    protocol, optims, configs = read_manifest(sys.argv[1])
    for config in configs:
        name, task, _, rows, widths = config
        if not selected(name, sys.argv[2:]):
            continue
        x, t = load_data(sys.argv[1], name, task, rows, widths)
        for optim in optims:
            sps, timed = bench(protocol, config, optim, x, t)
            print(f"sklearn {name} {optim[0]} {sps:.1f} {timed} {threads}", flush=True)


if __name__ == "__main__":
    main()
