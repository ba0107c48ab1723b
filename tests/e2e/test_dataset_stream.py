"""JSON data sets stream in: what a large upload costs the daemon in memory,
and how one refused or cut short is answered.

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
import socket
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


def post(url, path, body, method="POST"):
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=300)
    conn.request(method, path, body, {"Content-Type": "application/json"} if body else {})
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


def test_a_refusal_waits_for_the_whole_body(daemon):
    """A bad name at the start of a body longer than the 8 MiB the daemon
    drains after refusing a streamed chunk: the parse reads on (a later byte
    may hold malformed JSON, which outranks it), so the client gets its 400
    at the end, as it did when the body was buffered whole."""
    body, _ = dataset_body(12 << 20)
    body = body.replace(b'"name":"big"', b'"name":"no spaces"', 1)
    status, answer = post(daemon.url, "/v1/datasets", body)
    assert status == 400 and answer["error"]["field"] == "name", answer
    status, answer = post(daemon.url, "/v1/datasets", body[:-1])
    assert status == 400 and "end of the body" not in answer["error"]["message"], answer
    assert "expected ',' or '}'" in answer["error"]["message"], answer


def test_an_upload_cut_short_leaves_nothing_behind(daemon):
    """A client gone mid-body: the parse is freed (a sanitized daemon's exit
    checks for leaks) and nothing is stored."""
    body, _ = dataset_body(4 << 20)
    u = urllib.parse.urlsplit(daemon.url)
    for cut in (1, len(body) // 2, len(body) - 1):
        with socket.create_connection((u.hostname, u.port), timeout=30) as s:
            s.sendall(b"POST /v1/datasets HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                      b"Content-Length: %d\r\n\r\n" % len(body) + body[:cut])
    assert post(daemon.url, "/v1/datasets", None, "GET") == (200, {"datasets": []})
    status, answer = post(daemon.url, "/v1/datasets", body)
    assert status == 201, answer
