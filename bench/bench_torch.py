#!/usr/bin/python3
"""Training throughput of PyTorch (CPU) on the benchmark workloads.

Reads the workload table and data sets that bench_data wrote (so the rows are
the ones the C peers train on) and prints, per config and optimizer:
    torch <config> <optim> <samples/s> <rows timed> <threads>
Same protocol as the C peers (bench/workload.h): a probe epoch on the first
<probe_rows> rows sizes the timed prefix, then one warm-up epoch and the best
of <reps> repetitions of enough epochs to last about <rep_seconds>.

usage: bench_torch.py [-t THREADS] DATA_DIR [CONFIG...]
    all configs when none is named; THREADS (default 1) is torch.set_num_threads,
    the intra-op pool (OpenBLAS or MKL under it follows OMP/OPENBLAS_NUM_THREADS)
"""
import math
import sys
import time

import torch

from protocol import load_data, read_manifest, rows_to_time, selected


def make_model(task, widths):
    hidden = torch.nn.Tanh if task == "regression" else torch.nn.ReLU
    layers = []
    for i in range(1, len(widths)):
        layers.append(torch.nn.Linear(widths[i - 1], widths[i]))
        if i < len(widths) - 1:
            layers.append(hidden())
    # The output stays linear: CrossEntropyLoss applies the softmax itself,
    # fused as in our core.
    loss = torch.nn.MSELoss() if task == "regression" else torch.nn.CrossEntropyLoss()
    return torch.nn.Sequential(*layers), loss


def make_optimizer(name, lr, params):
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)
    raise ValueError("unknown optimizer " + name)


def run_epochs(model, loss_fn, opt, x, t, batch, epochs):
    rows = x.shape[0]
    start = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(rows)
        xs, ts = x[perm], t[perm]
        for i in range(0, rows, batch):
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xs[i:i + batch]), ts[i:i + batch])
            loss.backward()
            opt.step()
    return time.perf_counter() - start


def bench(protocol, config, optim, x, t):
    probe_rows, reps, rep_seconds, max_epochs = protocol
    _, task, batch, rows, widths = config
    torch.manual_seed(1)
    model, loss_fn = make_model(task, widths)
    opt = make_optimizer(optim[0], optim[1], model.parameters())
    probe_rows = min(rows, probe_rows)
    probe = run_epochs(model, loss_fn, opt, x[:probe_rows], t[:probe_rows], batch, 1)
    n = rows_to_time(rows, probe_rows, probe, rep_seconds)
    x, t = x[:n], t[:n]
    warm = run_epochs(model, loss_fn, opt, x, t, batch, 1)
    epochs = min(max_epochs, max(1, math.ceil(rep_seconds / max(warm, 1e-9))))
    best = min(run_epochs(model, loss_fn, opt, x, t, batch, epochs) for _ in range(reps))
    return n * epochs / best, n


def main():
    args = sys.argv[1:]
    threads = 1
    if len(args) > 1 and args[0] == "-t":
        threads, args = int(args[1]), args[2:]
    if not args:
        sys.exit(__doc__)
    torch.set_num_threads(threads)
    protocol, optims, configs = read_manifest(args[0])
    for config in configs:
        name, task, _, rows, widths = config
        if not selected(name, args[1:]):
            continue
        x, t = load_data(args[0], name, task, rows, widths)
        if task != "regression":
            t = t.astype("int64")  # CrossEntropyLoss takes int64 class indices
        x, t = torch.from_numpy(x), torch.from_numpy(t)
        for optim in optims:
            sps, timed = bench(protocol, config, optim, x, t)
            print(f"torch {name} {optim[0]} {sps:.1f} {timed} {threads}", flush=True)


if __name__ == "__main__":
    main()
