"""The benchmark protocol for the Python peers: the workload table and data
sets that bench_data wrote (manifest.txt, <config>.x/.y/.labels) and
workload.c's rule for the timed rows."""
import os

import numpy as np


def read_manifest(data_dir):
    """(protocol, optims, configs): protocol = (probe_rows, reps, rep_seconds,
    max_epochs); optims = [(name, lr)]; configs = [(name, task, batch, rows, widths)]."""
    protocol, optims, configs = None, [], []
    with open(os.path.join(data_dir, "manifest.txt")) as f:
        for line in f:
            kind, *fields = line.split()
            if kind == "protocol":
                protocol = (int(fields[0]), int(fields[1]), float(fields[2]), int(fields[3]))
            elif kind == "optim":
                optims.append((fields[0], float(fields[1])))
            elif kind == "config":
                name, task, batch, rows = fields[0], fields[1], int(fields[2]), int(fields[3])
                configs.append((name, task, batch, rows, [int(w) for w in fields[4:]]))
    return protocol, optims, configs


def load_data(data_dir, name, task, rows, widths):
    """(x, targets) as numpy arrays: x (rows, inputs) float32; targets
    (rows, outputs) float32 for regression, else (rows,) int32 labels."""
    base = os.path.join(data_dir, name)
    x = np.fromfile(base + ".x", dtype=np.float32).reshape(rows, widths[0])
    if task == "regression":
        return x, np.fromfile(base + ".y", dtype=np.float32).reshape(rows, widths[-1])
    return x, np.fromfile(base + ".labels", dtype=np.int32)


def rows_to_time(rows, probe_rows, probe_seconds, rep_seconds):
    """wl_rows_to_time of workload.c."""
    full = probe_seconds * rows / probe_rows
    if full <= rep_seconds:
        return rows
    return max(probe_rows, int(rows * (rep_seconds / full)))


def selected(name, wanted):
    """All configs when none is named."""
    return not wanted or name in wanted
