"""Load: 64 clients at once for $TRAIND_LOAD_SECONDS (60 by default) mixing
predictions, job submissions followed to their end, metrics polling,
listings and event streams that hang up and resume. Every answer is a 2xx,
every accepted job is listed exactly once and ends succeeded, every stream
sees each event once and in order across its reconnects, and the daemon's
memory stays flat."""
import http.client
import json
import os
import random
import threading
import time
import urllib.parse
from collections import Counter

from datasets import XOR_INPUTS, XOR_SPEC, XOR_TARGETS
from traind_client import FINAL_STATES, Client

SECONDS = float(os.environ.get("TRAIND_LOAD_SECONDS", "60"))
CLIENTS = 64
JOB = {"epochs": 3, "batch_size": 4, "optimizer": {"type": "adam", "lr": 0.05}}

# Memory: RSS sampled all along; the last third's peak may exceed the first
# third's by a tenth plus 12 MiB. The first third holds the warm-up (malloc's
# per-thread arenas, SQLite page caches, the predict cache), after which RSS
# only wobbles with the requests in flight: 64 at most, each well under a
# MiB. Measured on 2 cores: the daemon peaks at 30-46 MiB in the first third
# and at most 5 MiB higher in the last (20 s and 60 s runs). What the bound
# catches is retained growth, which LeakSanitizer cannot see at exit (caches,
# queues, per-thread state never freed while running): some 34,000 requests
# run in the last two thirds of a 60 s run, so even half a kB kept per
# request overshoots it. The failure message gives the counts. A sanitized
# daemon's RSS is the sanitizer's as much as ours (ASan holds up to 256 MiB
# of freed memory in quarantine, and its RSS grew 15-108 MiB over runs as
# that filled), so there the figures are printed, not held to the bound.
RSS_FACTOR, RSS_SLACK = 1.1, 12 << 20


def sanitized(pid):
    """Does the process run under a sanitizer's allocator?"""
    with open(f"/proc/{pid}/maps") as f:
        maps = f.read()
    return any(lib in maps for lib in ("libasan", "libtsan", "libubsan"))


class Load:
    """What the clients saw: answers by (what, status), failures, accepted jobs."""

    def __init__(self, url, models, dataset, job_model, last_event):
        self.url, self.models, self.dataset, self.job_model = url, models, dataset, job_model
        self.last_event = last_event  # the newest event id before the load
        self.lock = threading.Lock()
        self.answers = Counter()
        self.failures = []
        self.accepted = []
        self.streamed = Counter()  # events, sessions
        self.stop = threading.Event()

    def call(self, client, what, method, path, body=None, expect=200):
        try:
            status, _, doc = client.request(method, path, body)
        except Exception as e:  # a refused or dropped connection is a failure too
            status, doc = repr(e), None
        with self.lock:
            self.answers[what, status] += 1
            if status != expect:
                self.failures.append((what, method, path, status, doc))
        return doc if status == expect else None

    def fail(self, *what):
        with self.lock:
            self.failures.append(what)

    # ---- the five kinds of client; each runs until stop --------------------------

    def predict(self, client, rng):
        rows = [rng.choice(XOR_INPUTS) for _ in range(rng.randint(1, 32))]
        doc = self.call(client, "predict", "POST",
                        f"/v1/models/{rng.choice(self.models)}/predict", {"inputs": rows})
        if doc is not None and len(doc["outputs"]) != len(rows):
            with self.lock:
                self.failures.append(("predict", "rows", len(rows), doc))

    def submit(self, client, rng):
        """Queue a job and follow it, metrics and all, to its end (even past stop)."""
        config = dict(JOB, model=self.job_model, dataset=self.dataset, seed=rng.randint(1, 99))
        job = self.call(client, "submit", "POST", "/v1/jobs", config, expect=202)
        if job is None:
            return
        with self.lock:
            self.accepted.append(job["id"])
        seen = 0
        while job is not None and job["state"] not in FINAL_STATES:
            time.sleep(0.02)
            metrics = self.call(client, "job metrics", "GET",
                                f"/v1/jobs/{job['id']}/metrics?after={seen}")
            if metrics is not None and metrics["metrics"]:
                seen = metrics["metrics"][-1]["epoch"]
            job = self.call(client, "job", "GET", f"/v1/jobs/{job['id']}")

    def poll_metrics(self, client, rng):
        self.call(client, "metrics", "GET", "/metrics")
        self.call(client, "healthz", "GET", "/healthz")
        time.sleep(rng.uniform(0, 0.05))

    def list(self, client, rng):
        # Lists that stay bounded as jobs pile up: the memory check compares
        # the run's start with its end, so no request may grow with time.
        path = rng.choice(["/v1/models", "/v1/datasets", "/v1/jobs?state=running",
                           "/v1/jobs?state=queued", f"/v1/jobs?model={self.models[0]}", "/v1"])
        self.call(client, "list", "GET", path)

    def stream(self, client, rng):
        """Follow every job's events from before the load, a while at a time,
        resuming after the last one seen. Nothing deletes events here, and
        commits are serial, so the ids a stream sees are consecutive: a lost
        or repeated event, or one out of order, breaks the run."""
        last = self.last_event
        while not self.stop.is_set():
            last = self.stream_session(rng, last)

    def stream_session(self, rng, last):
        """One GET /v1/events after `last`, read for up to 2 s (hanging up
        early when no event comes for a second); @return the last event id."""
        u = urllib.parse.urlsplit(self.url)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
        events = 0
        try:
            conn.request("GET", "/v1/events", headers={"Last-Event-ID": str(last)})
            resp = conn.getresponse()
            conn.sock.settimeout(1.0)  # the events: each within a second, or hang up
            with self.lock:
                self.answers["stream", resp.status] += 1
            if resp.status != 200:
                self.fail("stream", last, resp.status, resp.read()[:200])
                time.sleep(0.1)
                return last
            until = time.monotonic() + rng.uniform(0.1, 2.0)
            event_id, data = None, None
            while time.monotonic() < until and not self.stop.is_set():
                try:
                    line = resp.readline()
                except TimeoutError:  # quiet for a second: hang up and resume
                    break
                if not line:
                    self.fail("stream", last, "the server ended the stream")
                    break
                line = line.decode().rstrip("\n")
                if line.startswith("id: "):
                    event_id = int(line[4:])
                elif line.startswith("data: "):
                    data = json.loads(line[6:])
                elif line == "" and event_id is not None:  # an event is complete
                    if event_id != last + 1 or not isinstance(data, dict):
                        self.fail("stream", "after", last, "came", event_id, data)
                        return max(last, event_id)
                    last, event_id, data, events = event_id, None, None, events + 1
        except Exception as e:  # refused, cut, or a malformed event: a failure too
            self.fail("stream", last, repr(e))
            time.sleep(0.1)
        finally:
            conn.close()
            with self.lock:
                self.streamed["events"] += events
                self.streamed["sessions"] += 1
        return last

    def run_client(self, i):
        kinds = [self.predict, self.predict, self.predict, self.submit, self.submit,
                 self.poll_metrics, self.list, self.stream]
        kind, rng = kinds[i % len(kinds)], random.Random(i)
        client = Client(self.url, timeout=120)
        while not self.stop.is_set():
            kind(client, rng)


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def prepare(client):
    """A dataset, two trained models to predict with, and a model for the jobs."""
    ds = client.create_dataset("xor", XOR_INPUTS, targets=XOR_TARGETS)
    models = []
    for seed in (1, 2):
        model = client.create_model(dict(XOR_SPEC, seed=seed))
        job = client.create_job(model["id"], ds["id"], **JOB)
        assert client.wait(job["id"], timeout=60)["state"] == "succeeded"
        models.append(model["id"])
    job_model = client.create_model(XOR_SPEC)["id"]
    jobs = [j["id"] for j in client.list_jobs()]
    last_event = max(list(client.events(job=j))[-1][0] for j in jobs)
    return ds["id"], models, job_model, jobs, last_event


def test_mixed_load_from_64_clients(spawn):
    d = spawn(workers=2)
    dataset, models, job_model, earlier_jobs, last_event = prepare(d.client)
    load = Load(d.url, models, dataset, job_model, last_event)
    samples = []  # (seconds since start, RSS bytes)
    clients = [threading.Thread(target=load.run_client, args=(i,), daemon=True)
               for i in range(CLIENTS)]
    fds_before = len(os.listdir(f"/proc/{d.proc.pid}/fd"))
    started = time.monotonic()
    for t in clients:
        t.start()
    while time.monotonic() - started < SECONDS:
        samples.append((time.monotonic() - started, rss_bytes(d.proc.pid)))
        time.sleep(0.2)
    load.stop.set()
    for t in clients:
        t.join(timeout=120)
        assert not t.is_alive(), "a client is still waiting for an answer"
    elapsed = time.monotonic() - started

    total = sum(load.answers.values())
    summary = (f"{total} requests in {elapsed:.0f} s ({total / elapsed:.0f}/s), "
               f"{len(load.accepted)} jobs, {load.streamed['events']} events streamed in "
               f"{load.streamed['sessions']} sessions; " +
               ", ".join(f"{what} {status}: {n}" for (what, status), n in
                         sorted(load.answers.items(), key=str)))
    assert not load.failures, f"{load.failures[:10]}\n{summary}"
    assert load.answers["predict", 200] and load.answers["metrics", 200], summary
    assert load.accepted and load.answers["list", 200], summary
    # every stream client resumed many times, each time after its last event
    assert load.streamed["sessions"] >= 4 * CLIENTS // 8, summary
    assert load.streamed["events"] >= len(load.accepted), summary

    # No job lost or duplicated: each accepted id listed once, nothing else
    # added, and every one succeeded.
    listed = d.client.list_jobs()
    ids = Counter(j["id"] for j in listed)
    assert all(n == 1 for n in ids.values()), [i for i, n in ids.items() if n > 1]
    assert sorted(ids) == sorted(earlier_jobs + load.accepted), summary
    states = Counter(j["state"] for j in listed)
    assert states == {"succeeded": len(listed)}, states

    # Memory flat (see RSS_FACTOR above).
    first = max(rss for t, rss in samples if t < elapsed / 3)
    last = max(rss for t, rss in samples if t >= 2 * elapsed / 3)
    assert sanitized(d.proc.pid) or last <= RSS_FACTOR * first + RSS_SLACK, \
        f"RSS peaked at {first >> 20} MiB in the first third, {last >> 20} MiB in the last\n" \
        f"{summary}"
    assert d.client.health() == {"status": "ok"}
    print(f"{summary}\nRSS peak: {first >> 20} MiB in the first third, "
          f"{last >> 20} MiB in the last; descriptors {fds_before} before, "
          f"{len(os.listdir(f'/proc/{d.proc.pid}/fd'))} after")
