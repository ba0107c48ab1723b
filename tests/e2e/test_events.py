"""Event streams (GET /v1/jobs/{id}/events, GET /v1/events) and long polls
(GET /v1/jobs/{id}?wait=): what they carry, resuming after Last-Event-ID,
durability across restarts, keepalives, the stream limit, and that neither
a slow reader nor open streams hold up training or shutdown."""
import http.client
import json
import re
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request

import pytest

from datasets import SLOW_SPEC, XOR_INPUTS, XOR_SPEC, XOR_TARGETS, slow_data
from tools import node_tool
from traind_client import Client, TraindError

FINAL = ("succeeded", "failed", "cancelled")
LONG = 1_000_000  # epochs of a job that only ends by being cancelled or stopped


def xor_job(client, epochs=12, **config):
    ds = client.create_dataset("xor", XOR_INPUTS, targets=XOR_TARGETS)
    model = client.create_model(XOR_SPEC)
    job = client.create_job(model["id"], ds["id"], epochs=epochs, batch_size=4, seed=7, **config)
    return model["id"], job["id"]


def slow_job(client, epochs=LONG, batch_size=1):
    """A job whose epochs take milliseconds: it is still running when looked at."""
    x, y = slow_data(rows=512)
    ds = client.create_dataset("slow", x, targets=y)
    model = client.create_model(SLOW_SPEC)
    return client.create_job(model["id"], ds["id"], epochs=epochs, batch_size=batch_size)["id"]


def wait_until(what, check, timeout=30.0):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def wait_running(client, job_id, epoch=1):
    """The job once it has completed `epoch` epochs, followed by long polls."""
    deadline = time.monotonic() + 60
    job = client.get_job(job_id)
    while job["epoch"] < epoch:
        assert job["state"] in ("queued", "running") and time.monotonic() < deadline, job
        job = client.get_job(job_id, wait=10, after_epoch=job["epoch"])
    return job


def stream_gauge(url):
    """traind_event_streams from GET /metrics."""
    with urllib.request.urlopen(url + "/metrics", timeout=10) as resp:
        text = resp.read().decode()
    m = re.search(r"^traind_event_streams (\d+)$", text, re.M)
    assert m, text
    return int(m.group(1))


class RawStream:
    """A stream read with http.client, for its headers and comment lines."""

    def __init__(self, url, path, headers=None, timeout=30.0):
        u = urllib.parse.urlsplit(url)
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
        self.conn.request("GET", path, headers=headers or {})
        self.resp = self.conn.getresponse()

    def line(self):
        return self.resp.readline().decode()

    def close(self):
        self.conn.close()


def summary(events):
    """Events compared across reads: a state event's job is read when it is
    sent (only its state and epoch are the event's), so it is reduced to those."""
    return [(i, e, (d["id"], d["state"], d["epoch"]) if e == "state" else d)
            for i, e, d in events]


def split_events(events):
    states = [d["state"] for _, e, d in events if e == "state"]
    epochs = [d for _, e, d in events if e == "epoch"]
    checkpoints = [d for _, e, d in events if e == "checkpoint"]
    return states, epochs, checkpoints


# ---- a job's stream -------------------------------------------------------------

def test_job_stream_follows_a_job_to_its_end(client):
    model_id, job_id = xor_job(client, epochs=12, checkpoint_every=4)
    events = list(client.events(job=job_id))  # ends by itself after the final state

    ids = [i for i, _, _ in events]
    assert ids == sorted(set(ids)) and ids[0] > 0, ids
    assert {e for _, e, _ in events} == {"state", "epoch", "checkpoint"}
    states, epochs, checkpoints = split_events(events)
    assert states == ["queued", "running", "succeeded"]
    assert events[-1][1] == "state", "the stream ends with the final state"

    # epoch events carry the job id and exactly the rows GET metrics returns
    assert all(d["job"] == job_id for d in epochs + checkpoints)
    rows = [{k: v for k, v in d.items() if k != "job"} for d in epochs]
    assert rows == client.metrics(job_id)
    assert [r["epoch"] for r in rows] == list(range(1, 13))

    # checkpoints: every 4 epochs and the last, each publishing a new version
    assert [c["epoch"] for c in checkpoints] == [4, 8, 12]
    assert [c["version"] for c in checkpoints] == [1, 2, 3]
    assert checkpoints[-1]["version"] == client.get_model(model_id)["version"]
    kept = {c["epoch"]: c["bytes"] for c in client.checkpoints(job_id)}
    assert all(kept[c["epoch"]] == c["bytes"] for c in checkpoints if c["epoch"] in kept)

    # state events are the job as GET returns it, in the state of the event
    # (but for test_evaluation, which GET /v1/jobs/{id} alone reads)
    final = [d for _, e, d in events if e == "state"]
    got = client.get_job(job_id)
    assert got.pop("test_evaluation") is None
    assert final[-1] == got
    assert final[0]["id"] == job_id and final[0]["finished_at"] is None
    assert final[1]["state"] == "running" and final[1]["epoch"] == 0

    # a finished job's stream replays the same and ends again
    replay = list(client.events(job=job_id))
    assert summary(replay) == summary(events)
    assert list(client.events(job=job_id)) == replay


def test_stream_headers_and_framing(client):
    _, job_id = xor_job(client, epochs=2)
    client.wait(job_id)
    s = RawStream(client.url, f"/v1/jobs/{job_id}/events")
    try:
        assert s.resp.status == 200
        assert s.resp.getheader("Content-Type") == "text/event-stream"
        assert s.resp.getheader("Cache-Control") == "no-store"
        first = [s.line() for _ in range(4)]
        assert re.fullmatch(r"id: [1-9]\d*\n", first[0]), first
        assert first[1] == "event: state\n" and first[2].startswith("data: {") and first[3] == "\n"
        assert json.loads(first[2][len("data: "):])["state"] == "queued"
        rest = s.resp.read().decode()  # the server ends the stream
        assert rest.endswith("\n\n") and '"state":"succeeded"' in rest
    finally:
        s.close()


def test_resuming_replays_only_missed_events(client):
    _, job_id = xor_job(client, epochs=200, checkpoint_every=50)

    # hang up after a few events, mid-training, and pick up where it stopped
    stream = client.events(job=job_id)
    head = [next(stream) for _ in range(5)]
    stream.close()
    tail = list(client.events(job=job_id, last_event_id=head[-1][0]))
    everything = list(client.events(job=job_id))
    assert summary(head + tail) == summary(everything), "nothing missing, nothing twice"
    assert [d["epoch"] for _, e, d in everything if e == "epoch"] == list(range(1, 201))

    # from any point, the header and ?after= replay exactly the events after it
    for k in (0, 1, len(everything) // 2, len(everything) - 2):
        after = everything[k][0]
        assert list(client.events(job=job_id, last_event_id=after)) == everything[k + 1:]
    after = everything[3][0]
    s = RawStream(client.url, f"/v1/jobs/{job_id}/events?after={after}")
    try:
        assert s.line() == f"id: {everything[4][0]}\n"
    finally:
        s.close()
    # the header wins over ?after= (what a reconnecting EventSource sends)
    got = list(client.events(job=job_id, last_event_id=everything[-2][0]))
    assert got == everything[-1:]

    # a client that has the final state gets nothing, at once
    assert list(client.events(job=job_id, last_event_id=everything[-1][0])) == []


def test_a_finished_job_resumed_after_its_last_event_is_204(client):
    """204 No Content is the answer that makes an EventSource stop
    reconnecting (WHATWG HTML, "server-sent events": any status but 200 fails
    the connection); an empty 200 would have it reconnect forever."""
    _, job_id = xor_job(client, epochs=3)
    assert client.wait(job_id)["state"] == "succeeded"
    everything = list(client.events(job=job_id))
    last = everything[-1][0]
    for path, headers in ((f"/v1/jobs/{job_id}/events", {"Last-Event-ID": str(last)}),
                          (f"/v1/jobs/{job_id}/events?after={last}", {}),
                          (f"/v1/jobs/{job_id}/events?after={last + 1000}", {})):
        status, got, doc = client.request("GET", path, headers=headers)
        assert (status, doc) == (204, None), (path, headers, status, doc)
        assert got.get("Content-Type") is None, dict(got)
    # before the last event, the rest is replayed as usual
    status, got, _ = client.request("GET", f"/v1/jobs/{job_id}/events?after={everything[-2][0]}")
    assert status == 200 and got["Content-Type"] == "text/event-stream"


def test_a_standard_eventsource_stops_once_the_job_has_ended(client):
    """The npm eventsource package (tests/tools), an EventSource as browsers
    implement it, follows a finished job: it gets every event, reconnects once
    (after its default 3 s) with Last-Event-ID when the stream ends, gets 204
    and stops for good, where it would retry every 3 s forever otherwise."""
    script = node_tool("eventsource_follow.mjs")
    _, job_id = xor_job(client, epochs=3)
    assert client.wait(job_id)["state"] == "succeeded"
    want = [str(i) for i, _, _ in client.events(job=job_id)]
    run = subprocess.run(["node", script, f"{client.url}/v1/jobs/{job_id}/events", "15"],
                         capture_output=True, text=True, timeout=60, check=True)
    seen = [json.loads(line) for line in run.stdout.splitlines()]
    assert [e["id"] for e in seen if "id" in e] == want, seen
    assert [e["type"] for e in seen if e["type"] in ("open", "error", "closed", "timeout")] == [
        "open", "error", "error", "closed"], seen
    # the first error is the stream's end (it reconnects), the second the 204 (it stops)
    errors = [e for e in seen if e["type"] == "error"]
    assert errors[0]["readyState"] == 0 and errors[1] == dict(errors[1], code=204, readyState=2)


def test_events_survive_restarts_and_crashes(spawn, tmp_path):
    db = tmp_path / "events.sqlite"
    d = spawn(db=db)
    _, done_id = xor_job(d.client, epochs=5)
    before = list(d.client.events(job=done_id))
    running = slow_job(d.client, epochs=300, batch_size=16)
    wait_running(d.client, running, epoch=3)
    d.kill9()

    d = spawn(db=db)
    client = d.client
    assert summary(client.events(job=done_id)) == summary(before), "the log is durable"
    assert client.wait(running, timeout=120)["state"] == "succeeded"
    events = list(client.events(job=running))
    states, epochs, _ = split_events(events)
    # recovery requeued the job the crash interrupted, with its own event
    assert states == ["queued", "running", "queued", "running", "succeeded"], states
    assert sorted({e["epoch"] for e in epochs}) == list(range(1, 301))
    assert all(i > before[-1][0] for i, _, _ in events), "ids only grow"

    # a graceful stop pauses a job: its checkpoint, then the state queued
    paused = slow_job(client)
    wait_running(client, paused, epoch=2)
    assert d.stop() == 0
    client = spawn(db=db).client
    client.cancel_job(paused)
    events = list(client.events(job=paused))  # ends with the cancel
    states, _, _ = split_events(events)
    assert states[:3] == ["queued", "running", "queued"] and states[-1] == "cancelled", states
    pause = [k for k, (_, e, ev) in enumerate(events) if e == "state"][2]
    assert events[pause - 1][1] == "checkpoint", events[pause - 1]
    assert events[pause - 1][2]["epoch"] == events[pause][2]["epoch"] >= 2
    assert [i for i, _, _ in events] == sorted({i for i, _, _ in events})


def test_stream_of_every_job(client):
    stream = client.events()
    _, first = xor_job(client, epochs=6)
    _, second = xor_job(client, epochs=6)
    seen, ended = [], set()
    for event in stream:
        seen.append(event)
        if event[1] == "state" and event[2]["state"] in FINAL:
            ended.add(event[2]["id"])
        if ended == {first, second}:
            break
    stream.close()
    ids = [i for i, _, _ in seen]
    assert ids == sorted(set(ids))
    for job_id in (first, second):
        mine = [(i, e, d) for i, e, d in seen if d.get("job", d.get("id")) == job_id]
        states, epochs, _ = split_events(mine)
        assert states == ["queued", "running", "succeeded"]
        assert [d["epoch"] for d in epochs] == list(range(1, 7))
        assert summary(mine) == summary(client.events(job=job_id)), "as in the job's stream"


def test_stream_of_every_job_starts_with_the_unfinished_ones(spawn):
    client = spawn(workers=1).client
    _, finished = xor_job(client, epochs=2)
    client.wait(finished)
    running = slow_job(client)
    queued = slow_job(client)
    wait_running(client, running)

    stream = client.events()
    snapshot = [next(stream), next(stream)]
    assert snapshot[0][0] < snapshot[1][0]
    assert all(e == "state" for _, e, _ in snapshot)
    states = {d["id"]: (i, d["state"]) for i, _, d in snapshot}
    assert set(states) == {running, queued}, "finished jobs are left out"
    assert states[running][1] == "running" and states[queued][1] == "queued"
    # each carries the id of its job's newest event: the queued one has one
    assert states[queued][0] == next(client.events(job=queued))[0]
    assert states[running][0] >= [i for i, e, d in client.events(job=finished)][-1]

    client.cancel_job(queued)
    for i, e, d in stream:
        assert i > snapshot[1][0]
        if e == "state" and d["id"] == queued:
            assert d["state"] == "cancelled"
            break
    stream.close()
    client.cancel_job(running)
    assert client.wait(running)["state"] == "cancelled"


# ---- keepalives, limits, disconnects -----------------------------------------------

def test_idle_stream_gets_keepalive_comments(spawn):
    d = spawn(extra=("--stream-keepalive", "1"))
    s = RawStream(d.url, "/v1/events")
    try:
        assert s.resp.status == 200
        # no job exists: nothing but keepalives, each a comment and a blank line
        assert [s.line() for _ in range(4)] == [": keepalive\n", "\n"] * 2
        # an event still comes through, after which keepalives resume
        xor_job(d.client, epochs=1)
        assert re.fullmatch(r"id: \d+\n", s.line())
        assert s.line() == "event: state\n"
    finally:
        s.close()


def cpu_ticks(pid):
    """The process's user + system CPU time so far, in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)


STREAMS = 32  # idle streams open at once


def test_idle_streams_cost_no_cpu_and_an_event_wakes_them_at_once(spawn):
    """An idle stream is a connection thread asleep on the notifier: 32 of
    them cost the daemon nothing while idle (no polling, no timer ticks), and
    an event reaches every one of them at once, not at the keepalive."""
    d = spawn(extra=("--stream-keepalive", "25"))  # the longest allowed
    _, done = xor_job(d.client, epochs=2)
    d.client.wait(done)
    last = list(d.client.events(job=done))[-1][0]

    # each stream replays the finished job from the start, then goes idle
    streams = [RawStream(d.url, "/v1/events", headers={"Last-Event-ID": "0"}, timeout=30)
               for _ in range(STREAMS)]
    try:
        for s in streams:
            assert s.resp.status == 200
            while s.line() != f"id: {last}\n":
                pass
            assert s.line() == "event: state\n" and '"succeeded"' in s.line()
            assert s.line() == "\n"
        wait_until("the streams to be counted", lambda: stream_gauge(d.url) == STREAMS)

        # Idle: the daemon's whole CPU time over 3 s, in ticks of 10 ms. It
        # is 0 in every build (sanitizers included); streams that polled
        # their notifier every 10 ms would cost 6 to 8.
        time.sleep(0.5)  # the gauge's request is over
        before = cpu_ticks(d.proc.pid)
        time.sleep(3.0)
        idle = cpu_ticks(d.proc.pid) - before
        assert idle <= 3, f"{idle} ticks of CPU in 3 s with {STREAMS} idle streams"

        # An event wakes every stream well before the keepalive is due
        started = time.monotonic()
        _, job_id = xor_job(d.client, epochs=1)
        for s in streams:
            s.conn.sock.settimeout(10)
            assert re.fullmatch(r"id: \d+\n", s.line())
            assert s.line() == "event: state\n"
            state = json.loads(s.line()[len("data: "):])
            assert (state["id"], state["state"]) == (job_id, "queued")
        woken = time.monotonic() - started
        assert woken < 5.0, f"the event took {woken:.1f} s to reach {STREAMS} streams"
        print(f"idle: {idle} ticks in 3 s; event on {STREAMS} streams after {woken * 1000:.0f} ms")
        assert d.client.wait(job_id)["state"] == "succeeded"
    finally:
        for s in streams:
            s.close()


def test_stream_limit_and_disconnected_clients_are_freed(spawn):
    d = spawn(extra=("--max-streams", "2", "--stream-keepalive", "25"))
    assert stream_gauge(d.url) == 0
    open_streams = [RawStream(d.url, "/v1/events") for _ in range(2)]
    assert all(s.resp.status == 200 for s in open_streams)
    assert stream_gauge(d.url) == 2

    with pytest.raises(TraindError) as refused:
        next(d.client.events())
    assert refused.value.status == 503 and refused.value.code == "unavailable"
    assert "--max-streams" in refused.value.message
    _, job_id = xor_job(d.client, epochs=1)
    with pytest.raises(TraindError) as refused:
        next(d.client.events(job=job_id))
    assert refused.value.status == 503

    # once the job's last event is read, the streams are idle: clients that
    # hang up then are noticed at once, not at the keepalive 25 s on
    assert d.client.wait(job_id)["state"] == "succeeded"
    for s in open_streams:
        while '"succeeded"' not in s.line():
            pass
    time.sleep(0.5)
    closed = time.monotonic()
    for s in open_streams:
        s.close()
    wait_until("the streams to be freed", lambda: stream_gauge(d.url) == 0)
    freed = time.monotonic() - closed
    assert freed < 10, f"freed after {freed:.1f} s: at the keepalive, not at the hangup"
    assert next(d.client.events(job=job_id))[1] == "state", "a slot is free again"
    ended = [line for line in d.log_tail(400).splitlines() if "GET /v1/events 200" in line]
    assert len(ended) == 2 and all("ended=" in line for line in ended), ended


def test_a_client_that_stops_reading_does_not_hold_up_training(client):
    """The stream blocks on its full socket (some 400 kB of events against a
    4 kB receive buffer); the worker committing epochs, and the notifier it
    posts to, must not wait for it."""
    _, job_id = xor_job(client, epochs=1000, checkpoint_every=1)
    u = urllib.parse.urlsplit(client.url)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((u.hostname, u.port))
    try:
        sock.sendall(f"GET /v1/jobs/{job_id}/events HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
        assert client.wait(job_id, timeout=120)["state"] == "succeeded"
        assert len(client.metrics(job_id)) == 1000
        # the stalled stream then delivers everything, in order
        sock.settimeout(30)
        data = b""
        while not data.endswith(b"\r\n0\r\n\r\n"):
            chunk = sock.recv(65536)
            assert chunk, "the server hung up mid-stream"
            data += chunk
    finally:
        sock.close()
    epochs = [int(m) for m in re.findall(rb'"epoch":(\d+),"loss"', data)]
    assert epochs == list(range(1, 1001))


def test_sigterm_ends_open_streams_and_long_polls_promptly(spawn):
    d = spawn(workers=1)
    running = slow_job(d.client)
    queued = slow_job(d.client)
    wait_running(d.client, running)
    streams = [RawStream(d.url, "/v1/events"), RawStream(d.url, f"/v1/jobs/{running}/events")]
    assert all(s.resp.status == 200 for s in streams)
    outcome = []

    def long_poll():
        try:
            outcome.append(d.client.request("GET", f"/v1/jobs/{queued}", query={"wait": 60},
                                            timeout=90)[0])
        except OSError as e:  # the answer may be cut by the stop: the client retries
            outcome.append(e)

    poll = threading.Thread(target=long_poll)
    poll.start()
    wait_until("both streams open", lambda: stream_gauge(d.url) == 2)
    time.sleep(0.2)  # the long poll is waiting by now
    started = time.monotonic()
    assert d.stop() == 0
    # streams sleep up to a keepalive (15 s) and polls up to 60 s unless woken
    assert time.monotonic() - started < 10.0
    poll.join(timeout=30)
    assert outcome, "the long poll ended with the daemon"
    for s in streams:
        s.resp.read()  # the server ended it cleanly, with the last chunk
        s.close()


def test_streams_need_a_read_token(spawn):
    d = spawn(extra=("--token", "full-token", "--read-token", "read-token"))
    with pytest.raises(TraindError) as refused:
        next(Client(d.url).events())
    assert refused.value.status == 401
    _, job_id = xor_job(Client(d.url, token="full-token"), epochs=1)
    reader = Client(d.url, token="read-token")
    assert list(reader.events(job=job_id))[-1][2]["state"] in FINAL


# ---- errors ---------------------------------------------------------------------------

def test_bad_stream_requests(client):
    _, job_id = xor_job(client, epochs=1)
    for path, headers, status, field in (
            ("/v1/jobs/999999/events", {}, 404, "id"),
            (f"/v1/jobs/{job_id}/events?after=-1", {}, 400, "after"),
            ("/v1/events?after=1e3", {}, 400, "after"),
            ("/v1/events", {"Last-Event-ID": "abc"}, 400, "Last-Event-ID"),
            (f"/v1/jobs/{job_id}/events", {"Last-Event-ID": "-5"}, 400, "Last-Event-ID"),
            ("/v1/events", {"Last-Event-ID": "99999999999999999"}, 400, "Last-Event-ID")):
        got, _, doc = client.request("GET", path, headers=headers)
        assert got == status and doc["error"]["field"] == field, (path, headers, doc)
    got, _, doc = client.request("POST", "/v1/events")
    assert got == 405, doc


# ---- long polls -------------------------------------------------------------------------

def test_long_poll_returns_on_a_new_epoch(spawn):
    client = spawn(workers=1).client
    # epochs of some 15 ms (a second and more under the sanitizers)
    x, y = slow_data(rows=2048)
    ds = client.create_dataset("slow", x, targets=y)
    model = client.create_model(dict(SLOW_SPEC, layers=[
        {"type": "dense", "units": 256, "activation": "tanh"}, {"type": "dense", "units": 1}]))
    running = client.create_job(model["id"], ds["id"], epochs=LONG, batch_size=1)["id"]
    now = wait_running(client, running, epoch=3)
    epoch_seconds = sorted(m["seconds"] for m in client.metrics(running))[1]

    # an epoch some half a second ahead: held until the job passes it, no longer
    ahead = max(2, round(0.5 / epoch_seconds))
    after = now["epoch"] + ahead
    wait = 60
    started = time.monotonic()
    job = client.get_job(running, wait=wait, after_epoch=after)
    took = time.monotonic() - started
    assert job["state"] == "running"
    assert after < job["epoch"] <= after + 2, (after, job["epoch"])
    assert took < wait / 2, f"{took:.1f} s: held until the timeout"
    print(f"epochs of {epoch_seconds * 1000:.0f} ms; after_epoch {ahead} ahead answered "
          f"in {took * 1000:.0f} ms at epoch {job['epoch'] - after} past it")

    # without after_epoch: the next epoch after the one at the request
    later = client.get_job(running, wait=60)
    assert job["epoch"] < later["epoch"] <= job["epoch"] + 2
    client.cancel_job(running)
    assert client.wait(running)["state"] == "cancelled"


def test_long_poll_returns_on_a_state_change_or_times_out(spawn):
    client = spawn(workers=1).client
    running = slow_job(client)
    queued = slow_job(client)
    wait_running(client, running)

    started = time.monotonic()
    same = client.get_job(queued, wait=1)
    assert time.monotonic() - started >= 1.0, "held for the whole wait"
    assert same["state"] == "queued" and same["epoch"] == 0
    assert client.get_job(queued, wait=0)["state"] == "queued"

    timer = threading.Timer(0.5, client.cancel_job, (queued,))
    timer.start()
    started = time.monotonic()
    changed = client.get_job(queued, wait=60)
    timer.join()
    assert changed["state"] == "cancelled"
    assert time.monotonic() - started < 50.0, "woken by the change, not the timeout"

    # a finished job cannot change: answered at once
    started = time.monotonic()
    assert client.get_job(queued, wait=60, after_epoch=5)["state"] == "cancelled"
    assert time.monotonic() - started < 50.0
    client.cancel_job(running)
    assert client.wait(running)["state"] == "cancelled"


def test_long_poll_parameters_are_checked(client):
    _, job_id = xor_job(client, epochs=1)
    for query, field in (("wait=61", "wait"), ("wait=-1", "wait"), ("wait=1.5", "wait"),
                         ("wait=abc", "wait"), ("wait=", "wait"), ("after_epoch=-1", "after_epoch"),
                         ("wait=1&after_epoch=x", "after_epoch")):
        got, _, doc = client.request("GET", f"/v1/jobs/{job_id}?{query}")
        assert got == 400 and doc["error"]["field"] == field, (query, doc)
        assert doc["error"]["code"] == "invalid_argument"
    with pytest.raises(TraindError) as missing:
        client.get_job(999999, wait=1)
    assert missing.value.status == 404
