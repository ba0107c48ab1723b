"""The benchmark protocol for the Python peers: the workload table that
bench_data wrote (manifest.txt) and workload.c's rule for the timed rows."""
import os


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


def rows_to_time(rows, probe_rows, probe_seconds, rep_seconds):
    """wl_rows_to_time of workload.c."""
    full = probe_seconds * rows / probe_rows
    if full <= rep_seconds:
        return rows
    return max(probe_rows, int(rows * (rep_seconds / full)))


def selected(name, wanted):
    """All configs when none is named."""
    return not wanted or name in wanted
