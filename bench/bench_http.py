#!/usr/bin/python3
"""The daemon's figures: predict throughput over HTTP, memory, and the cost of
training through traind rather than in the core alone.

Starts build/traind (or $TRAIND_BIN) on a free loopback port with a temporary
database and prints one fact per line (bench/report.py reads them):

    http <name> <requests/s> <p50 ms> <p99 ms> <rows/request>
        wrk on loopback, one wrk thread, CONNECTIONS connections, SECONDS s:
        ping = GET /v1 (a static answer, no database), xor = predict one row
        on a 2-16-1 net, c64 = predict 64 rows on the 784-256-128-10 net
    memory idle_rss_kib <n>          the daemon before any data
    memory dataset_bytes_per_row <n> <float32 bytes>
        database growth per stored (c) row, and the row's numbers as float32
    memory training_rss_kib <peak> <median> <before> <dataset>
        RSS while training (c) on ROWS rows: its peak and median (sampled
        every 50 ms), the RSS just before the job, and the rows as float32
    memory batch_predict_rss_kib <peak> <before> <dataset> <output> <rows>
        RSS while a batch prediction of the xor net runs over BATCH_ROWS
        stored rows and its CSV output is downloaded: its peak (sampled
        every 5 ms), the RSS just before, the rows as float32 and the CSV's size
    overhead c <wall samples/s> <in-trainer samples/s> <epochs> <rows>
        the (c) job's rows x epochs over its wall time from "running" (its
        rows and weights loaded) to "succeeded" in the log (each epoch's
        metrics commit and checkpoint included), and the trainer's own
        figure (the sum of its epochs' seconds)

usage: bench_http.py [--rows N] [--seconds S] [--connections C] [--batch-rows N]
"""
import argparse
import calendar
import json
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "clients", "python"))
from traind_client import Client  # noqa: E402

TRAIND = os.environ.get("TRAIND_BIN", os.path.join(ROOT, "build", "traind"))
# Config (c): 784 features (a label column besides), 256-128-10
FEATURES = 784
# A stored row: its features and its label, 4 bytes each
ROW_FLOAT_BYTES = (FEATURES + 1) * 4


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def db_bytes(path):
    """The database file's size once its write-ahead log is folded in (what
    the WAL holds would otherwise count twice after the next checkpoint)."""
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return os.path.getsize(path)


def start_daemon(db, log):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    proc = subprocess.Popen([TRAIND, "--listen", "127.0.0.1:0", "--db", db, "--workers", "1"],
                            stdout=subprocess.PIPE, stderr=log, env=env)
    line = proc.stdout.readline().decode()
    if not line.startswith("listening on "):
        proc.kill()
        raise RuntimeError(f"traind did not start: {line!r}")
    return proc, line.split()[-1]


def mnist_like_csv(rows, seed):
    """(rows, FEATURES) digits 0..9 and a label from a fixed random linear map,
    as CSV bytes built with numpy (a Python loop would take minutes)."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 10, size=(rows, FEATURES), dtype=np.uint8)
    w = rng.standard_normal((FEATURES, 10)).astype(np.float32)
    labels = np.argmax((x.astype(np.float32) - 4.5) @ w, axis=1).astype(np.uint8)
    # every cell one character and a separator: "d,d,...,d,L\n"
    last = 2 * FEATURES
    cells = np.empty((rows, last + 2), dtype=np.uint8)
    cells[:, 0:last:2] = x + ord("0")
    cells[:, last] = labels + ord("a")  # names, so the column is a class label
    cells[:, 1:last + 1:2] = ord(",")
    cells[:, last + 1] = ord("\n")
    header = ",".join([f"f{i}" for i in range(FEATURES)] + ["label"]) + "\n"
    return header.encode() + cells.tobytes(), x[:64]


def dense(units, act):
    return {"type": "dense", "units": units, "activation": act}


def train(client, model, dataset, **config):
    job = client.create_job(model, dataset, **config)
    return client.wait(job["id"], timeout=3600, interval=0.05)


def wrk(url, path, body, seconds, connections, tmp):
    script = os.path.join(tmp, "wrk.lua")
    with open(script, "w") as f:
        if body is not None:
            bpath = os.path.join(tmp, "body.json")
            with open(bpath, "w") as b:
                b.write(body)
            f.write('wrk.method = "POST"\n'
                    'wrk.headers["Content-Type"] = "application/json"\n'
                    f'local f = io.open("{bpath}"); wrk.body = f:read("*a"); f:close()\n')
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency",
                          "-s", script, url + path], capture_output=True, text=True,
                         check=True).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk saw errors on {path}:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def pct(p):
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]
        return float(m.group(1)) * scale
    return rps, pct(50), pct(99)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=60000)
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch-rows", type=int, default=1000000)
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench_http: wrk is missing (scripts/deps.sh bench installs it)")
    tmp = tempfile.mkdtemp(prefix="traind-bench-")
    db = os.path.join(tmp, "bench.db")
    log = open(os.path.join(tmp, "traind.log"), "wb")
    proc, url = start_daemon(db, log)
    try:
        c = Client(url, timeout=600)
        time.sleep(0.5)
        print(f"memory idle_rss_kib {rss_kib(proc.pid)}", flush=True)

        # xor: the smallest model, so predict measures the server, not the net
        xd = c.create_dataset("xor", [[0, 0], [0, 1], [1, 0], [1, 1]], targets=[[0], [1], [1], [0]])
        xm = c.create_model({"name": "xor", "inputs": 2, "loss": "mse",
                             "layers": [dense(16, "tanh"), dense(1, "sigmoid")]})
        train(c, xm["id"], xd["id"], epochs=5, batch_size=4)

        batch_predict(c, proc.pid, xm["id"], args.batch_rows)

        # (c) on rows rows: memory, overhead, then 64-row predicts
        before = db_bytes(db)
        csv, sample = mnist_like_csv(args.rows, 1)
        cd = c.upload_csv("c", "label", csv)
        del csv
        grown = (db_bytes(db) - before) / args.rows
        print(f"memory dataset_bytes_per_row {grown:.0f} {ROW_FLOAT_BYTES}", flush=True)
        cm = c.create_model({"name": "c", "inputs": FEATURES, "loss": "cross_entropy",
                             "layers": [dense(256, "relu"), dense(128, "relu"),
                                        dense(10, "softmax")]})
        base = rss_kib(proc.pid)
        samples = [base]
        done = threading.Event()

        def sample_rss():
            while not done.wait(0.05) and proc.poll() is None:
                samples.append(rss_kib(proc.pid))
        sampler = threading.Thread(target=sample_rss)
        sampler.start()
        try:
            job = train(c, cm["id"], cd["id"], epochs=args.epochs, batch_size=128,
                        validation_split=0.0, shuffle=True, checkpoint_every=1,
                        optimizer={"type": "sgd", "lr": 0.01})
        finally:
            done.set()
            sampler.join()
        if job["state"] != "succeeded":
            raise RuntimeError(f"the (c) job ended {job['state']}: {job.get('error')}")
        floats_kib = args.rows * ROW_FLOAT_BYTES // 1024
        print(f"memory training_rss_kib {max(samples)} {statistics.median(samples):.0f} {base} "
              f"{floats_kib}", flush=True)
        rows = c.metrics(job["id"])
        trainer = sum(r["seconds"] for r in rows)
        wall = wall_seconds(os.path.join(tmp, "traind.log"), job["id"])
        n = args.rows * args.epochs
        print(f"overhead c {n / wall:.1f} {n / trainer:.1f} {args.epochs} {args.rows}", flush=True)

        ping = wrk(url, "/v1", None, args.seconds, args.connections, tmp)
        print(f"http ping {ping[0]:.1f} {ping[1]:.3f} {ping[2]:.3f} 0", flush=True)
        body = json.dumps({"inputs": [[0.0, 1.0]]})
        xor = wrk(url, f"/v1/models/{xm['id']}/predict", body, args.seconds, args.connections, tmp)
        print(f"http xor {xor[0]:.1f} {xor[1]:.3f} {xor[2]:.3f} 1", flush=True)
        body = json.dumps({"inputs": sample.astype(float).tolist()})
        c64 = wrk(url, f"/v1/models/{cm['id']}/predict", body, args.seconds, args.connections, tmp)
        print(f"http c64 {c64[0]:.1f} {c64[1]:.3f} {c64[2]:.3f} 64", flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


def batch_predict(c, pid, model, rows):
    """A batch prediction of model over `rows` stored rows of 2 features, and
    its csv downloaded, with the daemon's RSS sampled meanwhile."""
    xs = np.random.default_rng(3).random((rows, 2), dtype=np.float32)
    lines = "\n".join(f"{a:.4f},{b:.4f},0" for a, b in xs)
    ds = c.upload_csv("batch", "y", "a,b,y\n" + lines + "\n")
    del lines, xs
    base = rss_kib(pid)
    peak = [base]
    done = threading.Event()

    def sample():
        while not done.wait(0.005):
            peak[0] = max(peak[0], rss_kib(pid))
    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        p = c.wait_prediction(c.create_prediction(model, ds["id"])["id"], timeout=600)
        if p["state"] != "succeeded":
            raise RuntimeError(f"the batch prediction ended {p['state']}: {p.get('error')}")

        class Count:
            n = 0

            def write(self, b):
                self.n += len(b)
        out = Count()
        c.prediction_output(p["id"], out)
    finally:
        done.set()
        sampler.join()
    c.delete_dataset(ds["id"])
    print(f"memory batch_predict_rss_kib {peak[0]} {base} {rows * 12 // 1024} "
          f"{out.n // 1024} {rows}", flush=True)


def wall_seconds(log_path, job_id):
    """From the job's "running" log line (written once its rows and weights
    are loaded) to its "succeeded" line: the daemon's own clock, commits and
    checkpoints included."""
    start = end = None
    with open(log_path) as f:
        for line in f:
            if f"job {job_id} running" in line:
                start = log_time(line)
            elif f"job {job_id} succeeded" in line:
                end = log_time(line)
    if start is None or end is None:
        raise RuntimeError("the job's start or end is not in the log")
    return end - start


def log_time(line):
    """Seconds since the epoch from the log line's RFC 3339 UTC timestamp."""
    m = re.match(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d+)?", line)
    if m is None:
        raise RuntimeError(f"no timestamp in log line {line!r}")
    t = time.strptime("".join(m.groups()[:6]), "%Y%m%d%H%M%S")
    return calendar.timegm(t) + float(m.group(7) or 0)


if __name__ == "__main__":
    main()
