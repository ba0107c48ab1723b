"""The request log: one line per request, "METHOD PATH STATUS NB Nus id=RID",
with the body's byte count (a stream's too, counted as it is sent) and the
request id the client gave or the one the daemon made up and answered with."""
import http.client
import json
import re
import time
import urllib.parse

from datasets import XOR_INPUTS, XOR_SPEC, XOR_TARGETS

# "2026-01-02T03:04:05.678Z info GET /healthz 200 15B 2244us id=my-id-1"
LINE = re.compile(r"^\S+ (\w+) (\S+) (\S+) (\S+) (\d+)B (\d+)us id=(\S+)(?: ended=(.+))?$")


def send(url, method, path, body=None, headers=None):
    """(status, headers, body bytes, seconds) of one request on its own connection."""
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    data = json.dumps(body).encode() if body is not None else None
    hdrs = dict(headers or {})
    if data is not None:
        hdrs["Content-Type"] = "application/json"
    started = time.monotonic()
    try:
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        raw = resp.read()
        return resp.status, resp.headers, raw, time.monotonic() - started
    finally:
        conn.close()


def logged(daemon, request_id, timeout=10.0):
    """The fields of the one log line of request_id, once it is written (the
    line is written when the request completes, just after the answer)."""
    deadline = time.monotonic() + timeout
    while True:
        with open(daemon.log_path, encoding="utf-8", errors="replace") as f:
            lines = [m for m in map(LINE.match, f.read().splitlines())
                     if m and m.group(7) == request_id]
        if lines:
            assert len(lines) == 1, [m.group(0) for m in lines]
            level, method, path, status, nbytes, us, rid, ended = lines[0].groups()
            return {"level": level, "method": method, "path": path, "status": status,
                    "bytes": int(nbytes), "us": int(us), "id": rid, "ended": ended}
        assert time.monotonic() < deadline, f"no log line with id={request_id}\n" + \
            daemon.log_tail()
        time.sleep(0.02)


def test_each_request_is_logged_with_its_id_status_bytes_and_time(daemon):
    model = dict(XOR_SPEC, name="logged")
    cases = [  # method, path as sent, body, path logged, status
        ("GET", "/healthz", None, "/healthz", 200),
        ("POST", "/v1/models", model, "/v1/models", 201),
        ("GET", "/v1/jobs?state=running", None, "/v1/jobs", 200),  # the query is left out
        ("GET", "/v1/models/999999", None, "/v1/models/999999", 404),
        ("POST", "/v1/models", {"name": "x"}, "/v1/models", 400),
        ("DELETE", "/v1/events", None, "/v1/events", 405),
    ]
    for n, (method, path, body, logged_path, status) in enumerate(cases, 1):
        rid = f"my-id-{n}"
        got, headers, raw, seconds = send(daemon.url, method, path, body, {"X-Request-Id": rid})
        assert got == status, raw
        assert headers["X-Request-Id"] == rid, "the client's id is echoed"
        line = logged(daemon, rid)
        assert line == {"level": "info", "method": method, "path": logged_path,
                        "status": str(status), "bytes": len(raw), "us": line["us"],
                        "id": rid, "ended": None}, line
        assert raw and 0 < line["us"] < seconds * 1e6 + 1e6, (line, seconds)

    # no id given, or one that is not fit for a log: one is made up and answered
    for headers in ({}, {"X-Request-Id": "bad id\twith spaces"}, {"X-Request-Id": "x" * 200}):
        got, answer, raw, _ = send(daemon.url, "GET", "/healthz", headers=headers)
        rid = answer["X-Request-Id"]
        assert got == 200 and re.fullmatch(r"[0-9a-f]{16}", rid), rid
        line = logged(daemon, rid)
        assert (line["method"], line["path"], line["status"], line["bytes"]) == \
            ("GET", "/healthz", "200", len(raw))
    ids = [send(daemon.url, "GET", "/healthz")[1]["X-Request-Id"] for _ in range(3)]
    assert len(set(ids)) == 3, "each request its own id"


def test_a_stream_is_logged_with_the_bytes_it_sent(daemon):
    client = daemon.client
    ds = client.create_dataset("xor", XOR_INPUTS, targets=XOR_TARGETS)
    model = client.create_model(XOR_SPEC)
    job = client.create_job(model["id"], ds["id"], epochs=20, batch_size=4, checkpoint_every=5)
    client.wait(job["id"])

    # a finished job's stream replays its events and ends: its length is known
    path = f"/v1/jobs/{job['id']}/events"
    got, headers, raw, _ = send(daemon.url, "GET", path, headers={"X-Request-Id": "stream-1"})
    assert got == 200 and headers["Content-Type"] == "text/event-stream"
    assert raw.count(b"\nevent: epoch\n") == 20 and len(raw) > 2000
    line = logged(daemon, "stream-1")
    assert (line["method"], line["path"], line["status"], line["ended"]) == \
        ("GET", path, "200", None), line
    assert line["bytes"] == len(raw), line

    # resumed near its end: only the rest is sent, and counted
    last_ids = re.findall(rb"^id: (\d+)$", raw, re.M)
    got, _, tail, _ = send(daemon.url, "GET", path,
                           headers={"X-Request-Id": "stream-2",
                                    "Last-Event-ID": last_ids[-3].decode()})
    assert got == 200 and tail == raw[raw.index(b"id: " + last_ids[-2] + b"\n"):]
    assert logged(daemon, "stream-2")["bytes"] == len(tail)


def test_a_stream_the_client_leaves_is_logged_as_cut_short(spawn):
    d = spawn(extra=("--stream-keepalive", "1"))
    u = urllib.parse.urlsplit(d.url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    try:
        conn.request("GET", "/v1/events", headers={"X-Request-Id": "left-1"})
        resp = conn.getresponse()
        assert resp.status == 200
        keepalive = b": keepalive\n\n"
        assert resp.read(2 * len(keepalive)) == 2 * keepalive  # no job: nothing else
    finally:
        conn.close()
    # noticed at the next keepalive that finds the connection gone
    line = logged(d, "left-1")
    assert (line["level"], line["method"], line["path"], line["status"]) == \
        ("warn", "GET", "/v1/events", "200"), line
    assert line["ended"] in ("error", "client abort"), line
    # what was handed to the connection: the two read, and any sent into the void
    assert line["bytes"] >= 2 * len(keepalive) and line["bytes"] % len(keepalive) == 0, line
    assert line["us"] >= 2_000_000, line
