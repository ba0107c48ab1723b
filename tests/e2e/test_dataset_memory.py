"""What a large JSON data set upload costs the daemon in memory.

A JSON data set streams in (server/json_stream.c, parse_dataset.c): each
number goes straight into a float array, never into a tree. So a ~50 MB body
of 17 numbers a row may raise the daemon's peak RSS (VmHWM) by the floats it
keeps (4 bytes a number, ~20 MB here) and their copy in SQLite's record
while it is stored (the arrays' doubling slack is never touched, so never
resident): ~2x the floats, under the body's size. As a cJSON tree the same
body raised it by 518 MB, 10x the body (a node of ~64 bytes a number: 43x
for one-digit numbers, 10.8 GB for 252 MB; streamed, a 54 MB body of those
peaks at 196 MB, 2.0x its floats). A sanitized daemon's peak is ASan's as
much as ours (quarantine, shadow memory), so there the figures are printed,
not held to the bounds."""
import http.client
import json
import random
import urllib.parse

from test_load import sanitized

BODY_MB = 50
FEATURES = 16
BOUND = 3.0         # peak RSS growth, as a multiple of the body's size
STORED_BOUND = 2.5  # ... and of the floats kept (~2: the arrays, then SQLite's record of them)


def peak_rss(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def dataset_body(target_bytes):
    """A regression data set of about target_bytes: a block of random rows
    repeated (the parser does not care), and how many rows it holds."""
    rng = random.Random(7)
    rows = [json.dumps([round(rng.uniform(-1, 1), 6) for _ in range(FEATURES)])
            for _ in range(1000)]
    targets = [json.dumps([round(rng.uniform(-1, 1), 6)]) for _ in range(1000)]
    block_x, block_y = ",".join(rows), ",".join(targets)
    repeats = max(1, target_bytes // (len(block_x) + len(block_y)))
    body = ('{"name":"big","inputs":[' + ",".join([block_x] * repeats) + '],"targets":[' +
            ",".join([block_y] * repeats) + "]}")
    return body.encode(), 1000 * repeats


def post(url, path, body):
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=300)
    conn.request("POST", path, body, {"Content-Type": "application/json"})
    r = conn.getresponse()
    answer = r.status, json.loads(r.read() or b"null")
    conn.close()
    return answer


def test_json_dataset_peak_rss_is_a_small_multiple_of_the_body(daemon):
    body, rows = dataset_body(BODY_MB << 20)
    pid = daemon.proc.pid
    before = peak_rss(pid)
    status, answer = post(daemon.url, "/v1/datasets", body)
    after = peak_rss(pid)
    assert status == 201, answer
    assert answer["rows"] == rows and answer["features"] == FEATURES and answer["outputs"] == 1
    growth = after - before
    stored = rows * (FEATURES + 1) * 4
    print(f"\nJSON data set of {len(body) / 1e6:.1f} MB ({rows} rows, {stored / 1e6:.1f} MB "
          f"of floats): peak RSS {before / 1e6:.1f} -> {after / 1e6:.1f} MB, grew "
          f"{growth / 1e6:.1f} MB = {growth / len(body):.2f}x the body, "
          f"{growth / stored:.2f}x the floats")
    assert sanitized(pid) or growth < min(BOUND * len(body), STORED_BOUND * stored), \
        f"peak RSS grew {growth} bytes for a body of {len(body)}, {stored} bytes of floats"
