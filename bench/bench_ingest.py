#!/usr/bin/python3
"""Typed ingest of a mixed CSV (issue 14): traind end to end against
pandas.read_csv on the same file, in the same run.

Writes a CSV of about --mb MB (an integer id, numbers with ~3 % blank
cells, three text categories, a yes/no column, an ISO date and a text
target), then:

- traind: starts build/traind (or $TRAIND_BIN) on a free loopback port with
  a temporary database and times POST /v1/datasets?name=..&target=label
  with the file as the body, from the first byte sent to the 201 read (the
  body streamed in, parsed, the table committed to SQLite: durable when the
  answer arrives). The daemon's peak RSS (VmHWM) before and after, and the
  stored table's bytes (its columns: 8 bytes a number and 1 of missing mask,
  4 a category code, the dictionaries) read from the database.
- pandas: pandas.read_csv of the same file into memory (parse only, its
  default C engine and type inference), best of --repeat.

Prints one fact per line (bench/report.py reads them):

    ingest file <bytes> <rows> <columns>
    ingest traind <seconds> <MB/s>          best of --repeat uploads
    ingest pandas <seconds> <MB/s> <version>
    ingest rss <peak before> <peak after> <stored table bytes>

MB is 10^6 bytes. usage: bench_ingest.py [--mb N] [--repeat N] [--csv PATH]
"""
import argparse
import http.client
import os
import random
import sqlite3
import sys
import tempfile
import time

from bench_http import start_daemon  # build/traind or $TRAIND_BIN on a free port

CITIES = ["Lisbon", "Oslo", "Quito", "Hanoi", "Lagos", "Perth", "Lima", "Riga", "Cusco",
          "Dakar", "Turin", "Kyoto", "Porto", "Bergen", "Malmo", "Ghent"]
COLORS = ["red", "green", "blue", "amber", "violet", "teal", "grey"]
GRADES = ["A", "B", "C", "D", "E"]
NUMBERS = 8


def write_csv(path, target_bytes, seed=11):
    """A block of 20,000 random rows written again and again up to about
    target_bytes (parsers do not cache): @return rows, columns."""
    rng = random.Random(seed)
    header = (["id"] + [f"x{i}" for i in range(NUMBERS)] +
              ["city", "color", "grade", "member", "joined", "label"])
    block = []
    for r in range(20000):
        cells = [None]  # the id, filled in as written
        for i in range(NUMBERS):
            cells.append("" if rng.random() < 0.03 else f"{rng.gauss(0, 10 ** (i % 4)):.4f}")
        cells.append(rng.choice(CITIES))
        cells.append("" if rng.random() < 0.05 else rng.choice(COLORS))
        cells.append(rng.choice(GRADES))
        cells.append(rng.choice(["yes", "no"]))
        cells.append(f"{rng.randint(1990, 2024)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}")
        cells.append(rng.choice(["low", "mid", "high"]))
        block.append(cells)
    rows = 0
    with open(path, "w") as f:
        f.write(",".join(header) + "\n")
        while f.tell() < target_bytes:
            lines = []
            for cells in block:
                rows += 1
                cells[0] = str(rows)
                lines.append(",".join(cells))
            f.write("\n".join(lines) + "\n")
    return rows, len(header)


def peak_rss(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def upload(address, path, name):
    """POST the file, streamed from disk: seconds to the 201, and its body."""
    host, port = address.split("//")[-1].rsplit(":", 1)
    # 1 MiB a send: http.client's default 8 KiB blocks cost the client more
    # time than the daemon takes to parse them
    conn = http.client.HTTPConnection(host, int(port), timeout=600, blocksize=1 << 20)
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        started = time.perf_counter()
        conn.request("POST", f"/v1/datasets?name={name}&target=label", f,
                     {"Content-Type": "text/csv", "Content-Length": str(size)})
        r = conn.getresponse()
        body = r.read()
        seconds = time.perf_counter() - started
    conn.close()
    if r.status != 201:
        raise RuntimeError(f"upload answered {r.status}: {body[:300]!r}")
    return seconds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--csv", help="keep the generated file here")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        path = args.csv or os.path.join(tmp, "mixed.csv")
        rows, columns = write_csv(path, int(args.mb * 1e6))
        size = os.path.getsize(path)
        print(f"ingest file {size} {rows} {columns}", flush=True)

        db = os.path.join(tmp, "traind.db")
        with open(os.path.join(tmp, "traind.log"), "w") as log:
            proc, address = start_daemon(db, log)
            try:
                before = peak_rss(proc.pid)
                # the first upload alone sets the peak: later ones only repeat it
                best = upload(address, path, "mixed0")
                after = peak_rss(proc.pid)
                for k in range(1, args.repeat):
                    best = min(best, upload(address, path, f"mixed{k}"))
            finally:
                proc.terminate()
                proc.wait(timeout=60)
        with sqlite3.connect(db) as conn:
            stored = conn.execute("SELECT total(length(bytes)) FROM dataset_pieces WHERE "
                                  "dataset_id = (SELECT min(id) FROM datasets)").fetchone()[0]
        print(f"ingest traind {best:.3f} {size / 1e6 / best:.1f}", flush=True)
        print(f"ingest rss {before} {after} {int(stored)}", flush=True)

        import pandas
        best = None
        for _ in range(args.repeat):
            started = time.perf_counter()
            frame = pandas.read_csv(path)
            seconds = time.perf_counter() - started
            assert len(frame) == rows
            del frame
            best = seconds if best is None else min(best, seconds)
        print(f"ingest pandas {best:.3f} {size / 1e6 / best:.1f} {pandas.__version__}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
