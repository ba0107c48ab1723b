"""Hyperparameter searches: a grid and an ASHA search on XOR-like data end
with a best trial, the same search twice gives the same trials and results,
a cancel stops a search's jobs, and bad requests name their field."""
import json
import os
import subprocess
import time

import pytest

from conftest import ROOT
from tools import node_tool

SPEC = {
    "name": "xor-search", "inputs": 2, "loss": "mse", "seed": 1,
    "layers": [{"type": "dense", "units": 4, "activation": "tanh"},
               {"type": "dense", "units": 1, "activation": "sigmoid"}],
}
JOB = {"epochs": 9, "batch_size": 8, "optimizer": {"type": "adam", "lr": 0.05},
       "validation_split": 0.25, "seed": 3}


def xor_like(n=64):
    """n points near the XOR corners, spread by a fixed pattern (no randomness)."""
    x, y = [], []
    for i in range(n):
        a, b = i % 2, (i // 2) % 2
        jitter = ((i * 37) % 11 - 5) / 50.0
        x.append([a + jitter, b - jitter])
        y.append([float(a ^ b)])
    return x, y


@pytest.fixture
def xor(client):
    x, y = xor_like()
    return client.create_dataset("xor-like", x, targets=y)["id"]


def post(client, path, body):
    return client.request("POST", path, body)


def wait_search(client, sid, timeout=120.0):
    return client.wait_search(sid, timeout=timeout)


def test_grid_search_runs_every_point_and_names_the_best(client, xor):
    body = {"model": SPEC, "dataset": xor, "job": JOB, "method": "grid",
            "space": {"model.layers[0].units": {"choice": [2, 8]},
                      "job.optimizer.lr": {"choice": [0.001, 0.1]}},
            "max_concurrent": 2}
    status, _, created = post(client, "/v1/searches", body)
    assert status == 202, created
    assert created["state"] == "running" and created["config"]["trials"] == 4
    s = wait_search(client, created["id"])
    assert s["state"] == "succeeded" and s["finished_at"]
    assert [t["params"] for t in s["trials"]] == [
        {"model.layers[0].units": 2, "job.optimizer.lr": 0.001},
        {"model.layers[0].units": 2, "job.optimizer.lr": 0.1},
        {"model.layers[0].units": 8, "job.optimizer.lr": 0.001},
        {"model.layers[0].units": 8, "job.optimizer.lr": 0.1}]
    for t in s["trials"]:
        assert t["state"] == "done" and t["epochs"] == 9 and t["metric"] is not None, t
        job = client.get_job(t["job"])  # an ordinary job of an ordinary model
        assert job["model"] == t["model"] and job["state"] == "succeeded"
        assert job["val_loss"] == pytest.approx(t["metric"])
    model = client.get_model(s["trials"][3]["model"])
    assert model["spec"]["layers"][0]["units"] == 8
    best = min(s["trials"], key=lambda t: (t["metric"], t["trial"]))
    assert s["best"] == best
    assert [x["id"] for x in client.list_searches()] == [created["id"]]


def asha_body(xor):
    return {"model": SPEC, "dataset": xor, "job": JOB, "method": "asha",
            "asha": {"reduction_factor": 3, "min_epochs": 1},
            "space": {"job.optimizer.lr": {"loguniform": [1e-3, 0.3]},
                      "model.layers[0].units": {"int": [2, 8]}},
            "trials": 9, "metric": "val_loss", "mode": "min", "max_concurrent": 1, "seed": 5}


def test_asha_promotes_the_best_and_is_deterministic_whatever_the_concurrency(client, xor):
    runs = []
    for concurrent in (1, 3):
        status, _, created = post(client, "/v1/searches",
                                  dict(asha_body(xor), max_concurrent=concurrent))
        assert status == 202, created
        runs.append(wait_search(client, created["id"]))
    a, b = runs
    assert a["state"] == "succeeded"
    # rungs of 1, 3 and 9 epochs; promotions are asynchronous (a trial that
    # was in the top third when it finished a rung stays promoted), so a rung
    # can take more than a third of all the trials
    epochs = [t["epochs"] for t in a["trials"]]
    assert set(epochs) == {1, 3, 9}, epochs
    assert sum(epochs) < 9 * 9 * 0.4, epochs  # far less than every trial run to the end
    done = [t for t in a["trials"] if t["state"] == "done"]
    assert done
    assert a["best"] == min(a["trials"], key=lambda t: (t["metric"], -t["rung"], t["trial"]))
    assert {t["state"] for t in a["trials"]} == {"done", "stopped"}
    key = lambda s: [(t["params"], t["epochs"], t["metric"], t["state"]) for t in s["trials"]]
    assert key(a) == key(b)
    assert a["best"]["params"] == b["best"]["params"]
    assert a["best"]["metric"] == b["best"]["metric"]
    # a trial is one job, extended at each promotion; the one that reached
    # the last rung trained exactly as a 9-epoch job of its values does
    top = next(t for t in a["trials"] if t["state"] == "done")
    jobs = client.list_jobs(model=top["model"])
    assert [(j["epoch"], j["epochs"], j["state"]) for j in jobs] == [(9, 9, "succeeded")]
    job = dict(JOB, optimizer=dict(JOB["optimizer"], lr=top["params"]["job.optimizer.lr"]))
    spec = json.loads(json.dumps(SPEC))
    spec["layers"][0]["units"] = top["params"]["model.layers[0].units"]
    alone = client.create_model(spec)
    ref = client.wait(client.create_job(alone["id"], xor, **job)["id"])
    assert ref["val_loss"] == top["metric"], (ref, top)  # bit-exact through its pauses
    probe = [[0.1, 0.9], [0.9, 0.9]]
    assert client.predict(alone["id"], probe)["outputs"] == \
        client.predict(top["model"], probe)["outputs"]


def test_cancel_stops_the_search_and_its_jobs(client, xor):
    body = {"model": SPEC, "dataset": xor, "job": dict(JOB, epochs=1000000),
            "space": {"job.optimizer.lr": {"uniform": [0.01, 0.1]}}, "trials": 3,
            "max_concurrent": 2}
    status, _, created = post(client, "/v1/searches", body)
    assert status == 202, created
    sid = created["id"]
    deadline = time.monotonic() + 30
    while True:
        _, _, s = client.request("GET", f"/v1/searches/{sid}")
        if sum(t["state"] == "running" for t in s["trials"]) == 2:
            break
        assert time.monotonic() < deadline, s
        time.sleep(0.05)
    s = client.cancel_search(sid)
    assert s["state"] == "cancelled", s
    deadline = time.monotonic() + 30
    while True:
        _, _, s = client.request("GET", f"/v1/searches/{sid}")
        if all(t["state"] == "failed" for t in s["trials"]):
            break
        assert time.monotonic() < deadline, s
        time.sleep(0.05)
    assert len(s["trials"]) == 2  # the third never started
    for t in s["trials"]:
        assert client.get_job(t["job"])["state"] == "cancelled"
    status, _, err = post(client, f"/v1/searches/{sid}/cancel", {})
    assert status == 409 and err["error"]["code"] == "conflict"


@pytest.mark.parametrize("change,field,words", [
    ({"space": {"job.optimizer.lr": {"loguniform": [0, 1]}}},
     'space["job.optimizer.lr"].loguniform', "positive and ordered"),
    ({"space": {"job.optimizer.momentum": {"uniform": [0, 1]}}},
     'space["job.optimizer.momentum"]', "does not exist in the base job config"),
    ({"space": {"model.layers[0].units": {"int": [0, 4]}}}, "model.layers[0].units", "units"),
    ({"method": "grid", "space": {"job.optimizer.lr": {"uniform": [0.1, 0.2]}}},
     'space["job.optimizer.lr"]', "grid"),
    ({"job": dict(JOB, validation_split=0)}, "job.validation_split", "> 0"),
    ({"space": {"job.epochs": {"int": [1, 9]}}}, 'space["job.epochs"]', "resource"),
    ({"job": dict(JOB, epochs=0)}, "job.epochs", "epochs"),
    ({"method": "bayes"}, "method", "random, grid, asha"),
    ({"asha": {"reduction_factor": 3}}, "asha", "method asha"),
    ({"method": "asha", "asha": {"min_epochs": 10}}, "asha.min_epochs", "min_epochs"),
    ({"trials": 0}, "trials", "trials"),
])
def test_bad_requests_name_their_field(client, xor, change, field, words):
    body = {"model": SPEC, "dataset": xor, "job": JOB,
            "space": {"job.optimizer.lr": {"uniform": [0.01, 0.1]}}}
    body.update(change)
    status, _, err = post(client, "/v1/searches", body)
    assert status == 400, err
    assert err["error"]["field"] == field and words in err["error"]["message"], err


def test_missing_rows_answer_404(client, xor):
    body = {"model": 999, "dataset": xor, "job": JOB,
            "space": {"job.optimizer.lr": {"uniform": [0.01, 0.1]}}}
    status, _, err = post(client, "/v1/searches", body)
    assert status == 404 and err["error"]["field"] == "model", err
    status, _, err = client.request("GET", "/v1/searches/77")
    assert status == 404, err


def kill_mid_rung(d, spawn, db, sid, ready):
    """Once search sid is ready(search) with a trial's rung running, kill -9
    daemon d and start another on its database: the one returned."""
    deadline = time.monotonic() + 60
    while True:
        _, _, s = d.client.request("GET", f"/v1/searches/{sid}")
        if ready(s) and any(t["state"] == "running" for t in s["trials"]):
            break
        assert time.monotonic() < deadline, s
        time.sleep(0.02)
    assert s["state"] == "running", "the search ended before the kill"
    d.kill9()
    return spawn(db=db)


def test_a_search_survives_kill9_and_ends_as_an_uninterrupted_one(spawn, tmp_path):
    x, y = xor_like()
    results = []
    for crash in (False, True):
        db = tmp_path / f"search-{crash}.sqlite"
        d = spawn(db=db)
        xor = d.client.create_dataset("xor-like", x, targets=y)["id"]
        status, _, created = post(d.client, "/v1/searches", asha_body(xor))
        assert status == 202, created
        sid = created["id"]
        if crash:  # some rungs done, some trials still to run
            d = kill_mid_rung(d, spawn, db, sid,
                              lambda s: sum(t["state"] != "running" for t in s["trials"]) >= 3)
        s = wait_search(d.client, sid)
        assert s["state"] == "succeeded", s
        # nothing ran twice: one job per trial, trained to its rung's epochs
        for t in s["trials"]:
            jobs = d.client.list_jobs(model=t["model"])
            assert [j["epochs"] for j in jobs] == [t["epochs"]], (t, jobs)
        # its events were logged with its rows: the crash neither lost nor doubled one
        events = [d for _, _, d in d.client.events(search=sid)]
        s["events"] = sorted((e["type"], e.get("trial", -1), e.get("rung", -1)) for e in events)
        results.append(s)
    key = lambda s: [(t["params"], t["epochs"], t["metric"], t["state"]) for t in s["trials"]]
    assert key(results[0]) == key(results[1])
    assert results[0]["events"] == results[1]["events"]
    assert results[0]["best"]["trial"] == results[1]["best"]["trial"]


def test_trainctl_creates_lists_shows_and_cancels_searches(daemon, xor, tmp_path):
    trainctl = os.environ.get("TRAINCTL_BIN", os.path.join(ROOT, "build", "trainctl"))

    def run(*args):
        return subprocess.run([trainctl, "--server", daemon.url, *args], capture_output=True,
                              text=True, timeout=60)

    body = {"model": SPEC, "dataset": xor, "job": JOB, "method": "grid",
            "space": {"job.batch_size": {"int": [4, 5]}}}
    (tmp_path / "search.json").write_text(json.dumps(body))
    out = run("searches", "create", str(tmp_path / "search.json"))
    assert out.returncode == 0 and out.stdout == "search 1 started\n", out
    s = daemon.client.wait_search(1, timeout=60)
    out = run("searches", "show", "1")
    assert out.returncode == 0, out
    lines = out.stdout.splitlines()
    head = f"search 1: succeeded, best trial {s['best']['trial']} metric "
    assert lines[0].startswith(head), out.stdout
    assert float(lines[0][len(head):]) == pytest.approx(s["best"]["metric"], rel=1e-5)
    assert lines[1].split()[:4] == ["TRIAL", "STATE", "RUNG", "EPOCHS"], out.stdout
    assert len(lines) == 4 and lines[2].split()[:4] == ["0", "done", "0", "9"], out.stdout
    out = run("searches", "ls")
    assert out.returncode == 0 and out.stdout.splitlines()[1].split()[:2] == ["1", "succeeded"]
    out = run("searches", "cancel", "1")
    assert out.returncode == 1 and "has ended" in out.stderr, out
    bad = dict(body, space={"job.nope": {"int": [1, 2]}})
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    out = run("searches", "create", str(tmp_path / "bad.json"))
    assert out.returncode == 1 and 'space["job.nope"]' in out.stderr, out


def test_asha_trains_far_less_than_full_runs_and_finds_their_best(client, xor):
    """The issue's bar: 16 trials, at most 40% of the epochs of running every
    configuration to the end (a random search draws the same 16), and a best
    trial within 2% of the full runs' best metric."""
    space = {"job.optimizer.lr": {"loguniform": [1e-3, 0.3]},
             "model.layers[0].units": {"int": [2, 8]}}
    job = dict(JOB, epochs=27)
    common = {"model": SPEC, "dataset": xor, "job": job, "space": space, "trials": 16,
              "seed": 11, "max_concurrent": 2}
    full = client.wait_search(client.create_search(method="random", **common)["id"])
    asha = client.wait_search(client.create_search(
        method="asha", asha={"reduction_factor": 3, "min_epochs": 1}, **common)["id"])
    assert [t["params"] for t in full["trials"]] == [t["params"] for t in asha["trials"]]
    spent = sum(t["epochs"] for t in asha["trials"])
    assert spent <= 0.4 * 16 * 27, spent
    best = full["best"]["metric"]
    assert asha["best"]["metric"] <= best * 1.02 or asha["best"]["trial"] == full["best"]["trial"], \
        (asha["best"], full["best"])


# ---- the search's events ----------------------------------------------------------

def test_search_events_tell_its_progress_and_resume(client, xor):
    """The search's stream (and the stream of everything) says it was
    created, each trial's start, pauses at rungs, promotions, stops and end,
    in the order the rows changed, and ends with 'finished' naming the same
    best trial as GET /v1/searches/{id}; resumed with Last-Event-ID it
    replays the rest, and after its end it answers 204."""
    status, _, created = post(client, "/v1/searches", dict(asha_body(xor), trials=5))
    assert status == 202, created
    sid = created["id"]
    events = list(client.events(search=sid))
    s = client.get_search(sid)
    ids = [i for i, _, _ in events]
    assert ids == sorted(set(ids)), ids
    assert {e for _, e, _ in events} == {"search"}
    assert all(d["search"] == sid for _, _, d in events)
    types = [d["type"] for _, _, d in events]
    assert types[0] == "created" and types[-1] == "finished" and types.count("finished") == 1
    started = [d for _, _, d in events if d["type"] == "trial_started"]
    assert sorted(d["trial"] for d in started) == list(range(5))
    assert all(d["rung"] == 0 for d in started)
    by_trial = {t["trial"]: t for t in s["trials"]}
    for d in started:
        assert d["job"] == by_trial[d["trial"]]["job"]
    promoted = [d for _, _, d in events if d["type"] == "trial_promoted"]
    assert promoted, "the best trials are promoted"
    for d in promoted:  # a promotion follows the pause at the rung below
        pause = [i for i, _, e in events
                 if e["type"] == "trial_paused" and (e["trial"], e["rung"]) == (d["trial"], d["rung"] - 1)]
        assert pause and pause[0] < ids[[e for _, _, e in events].index(d)]
    stopped = {d["trial"] for _, _, d in events if d["type"] == "trial_stopped"}
    assert stopped == {t["trial"] for t in s["trials"] if t["state"] == "stopped"}
    done = [d for _, _, d in events if d["type"] in ("trial_paused", "trial_done")]
    assert all(isinstance(d["metric"], float) for d in done)
    end = events[-1][2]
    assert end["state"] == "succeeded" == s["state"]
    assert end["best"]["trial"] == s["best"]["trial"] and end["best"]["job"] == s["best"]["job"]
    assert end["best"]["metric"] == pytest.approx(s["best"]["metric"])
    # resumed mid-way it replays the rest; after the end there is no more
    mid = ids[len(ids) // 2]
    assert list(client.events(search=sid, last_event_id=mid)) == [e for e in events if e[0] > mid]
    status, _, _ = client.request("GET", f"/v1/searches/{sid}/events",
                                  headers={"Last-Event-ID": str(ids[-1])})
    assert status == 204
    # the stream of everything carries the same events, among the jobs'
    everything = client.events(last_event_id=ids[0] - 1)
    seen = []
    for i, e, d in everything:
        if e == "search" and d["search"] == sid:
            seen.append((i, e, d))
        if i >= ids[-1]:
            break
    everything.close()
    assert seen == events


def test_search_events_of_a_cancelled_search_and_of_none(client, xor):
    status, _, created = post(client, "/v1/searches", dict(asha_body(xor), trials=4))
    sid = created["id"]
    status, _, _ = post(client, f"/v1/searches/{sid}/cancel", {})
    assert status == 200
    events = list(client.events(search=sid))
    assert events[0][2]["type"] == "created"
    assert events[-1][2]["type"] == "finished" and events[-1][2]["state"] == "cancelled"
    status, _, body = client.request("GET", "/v1/searches/999999/events")
    assert status == 404 and body["error"]["code"] == "not_found", body
    status, _, body = client.request("GET", f"/v1/searches/{sid}/events",
                                     headers={"Last-Event-ID": "x"})
    assert status == 400 and body["error"]["field"] == "Last-Event-ID", body


def test_a_standard_eventsource_stops_once_the_search_has_ended(client, xor):
    """The npm eventsource package (tests/tools), as browsers implement
    EventSource, follows a finished search's stream: every event, then a
    reconnect with Last-Event-ID answered 204, and it stops for good."""
    script = node_tool("eventsource_follow.mjs")
    status, _, created = post(client, "/v1/searches", dict(asha_body(xor), trials=3))
    assert status == 202, created
    sid = created["id"]
    assert wait_search(client, sid)["state"] == "succeeded"
    want = [str(i) for i, _, _ in client.events(search=sid)]
    run = subprocess.run(["node", script, f"{client.url}/v1/searches/{sid}/events", "15"],
                         capture_output=True, text=True, timeout=60, check=True)
    seen = [json.loads(line) for line in run.stdout.splitlines()]
    assert [e["id"] for e in seen if e["type"] == "search"] == want, seen
    assert [e["type"] for e in seen if e["type"] in ("open", "error", "closed", "timeout")] == [
        "open", "error", "error", "closed"], seen
    errors = [e for e in seen if e["type"] == "error"]
    assert errors[1] == dict(errors[1], code=204, readyState=2)


# ---- a metric of an evaluation on a validation dataset --------------------------------

CLS_SPEC = {
    "name": "blobs-search", "inputs": 2, "loss": "cross_entropy", "seed": 1,
    "layers": [{"type": "dense", "units": 4, "activation": "tanh"},
               {"type": "dense", "units": 3, "activation": "softmax"}],
}
CLS_JOB = {"epochs": 9, "batch_size": 8, "optimizer": {"type": "adam", "lr": 0.05}, "seed": 3}
CLASSES = ["a", "b", "c"]


def blobs(n, shift):
    """n points around three centres, spread by a fixed pattern (no
    randomness); shift moves the pattern, so a validation set differs from
    the training rows. The classes overlap: no trial scores perfectly."""
    centres = [(0.0, 0.0), (1.0, 0.2), (0.4, 1.0)]
    x, labels = [], []
    for i in range(n):
        k = (i * 7 + shift) % 3
        cx, cy = centres[k]
        x.append([cx + (((i + shift) * 37) % 23 - 11) / 18.0,
                  cy + (((i + shift) * 53) % 19 - 9) / 15.0])
        labels.append(CLASSES[k])
    return x, labels


@pytest.fixture
def blob_sets(client):
    x, y = blobs(96, 0)
    vx, vy = blobs(45, 5)
    train = client.create_dataset("blobs", x, labels=y)["id"]
    val = client.create_dataset("blobs-val", vx, labels=vy)["id"]
    return train, val, vx, vy


def eval_body(train, val, **change):
    body = {"model": CLS_SPEC, "dataset": train,
            "job": dict(CLS_JOB, validation_dataset=val), "method": "asha",
            "asha": {"reduction_factor": 3, "min_epochs": 1},
            "space": {"job.optimizer.lr": {"loguniform": [1e-3, 0.3]},
                      "model.layers[0].units": {"int": [2, 8]}},
            "trials": 9, "metric": "evaluation.balanced_accuracy", "seed": 2}
    body.update(change)
    return body


def promotions(client, sid):
    return [(d["trial"], d["rung"]) for _, _, d in client.events(search=sid)
            if d["type"] == "trial_promoted"]


def test_an_evaluation_metric_is_post_evaluate_of_the_trials_weights(client, blob_sets):
    """Each trial's metric is the balanced accuracy of its weights at its last
    finished rung on the validation dataset: what POST evaluate answers for
    those weights, and what sklearn computes from predict's labels; each
    rung's evaluation is stored with the trial's model."""
    skm = pytest.importorskip("sklearn.metrics")
    train, val, vx, vy = blob_sets
    status, _, created = post(client, "/v1/searches", eval_body(train, val))
    assert status == 202, created
    cfg = created["config"]
    assert cfg["metric"] == "evaluation.balanced_accuracy" and cfg["mode"] == "max", cfg
    assert cfg["job"]["validation_dataset"] == val
    s = wait_search(client, created["id"])
    assert s["state"] == "succeeded", s
    measured = [t for t in s["trials"] if t["metric"] is not None]
    assert len(measured) == 9 and {t["epochs"] for t in measured} == {1, 3, 9}, s["trials"]
    assert len({t["metric"] for t in measured}) > 1, "the trials should differ"
    for t in measured:
        job = client.get_job(t["job"])
        assert job["config"]["validation_dataset"] == val and job["val_accuracy"] is not None
        e = client.evaluate(t["model"], val)  # the newest weights: those of its last rung
        assert e["metrics"]["balanced_accuracy"] == t["metric"], (t, e["metrics"])
        labels = client.predict(t["model"], vx)["labels"]
        assert t["metric"] == pytest.approx(skm.balanced_accuracy_score(vy, labels), abs=1e-12)
        # the search's own evaluations: one per finished rung, of the job's weights
        stored = [x for x in client.evaluations(t["model"]) if x["id"] != e["id"]]
        assert len(stored) == t["rung"] + 1 and {x["dataset"] for x in stored} == {val}
        assert all(x["job"] is None for x in stored)
        assert stored[-1]["version"] == e["version"]
        whole = client.get_evaluation(t["model"], stored[-1]["id"])
        assert whole["metrics"] == e["metrics"]
    assert s["best"] == max(s["trials"], key=lambda t: (t["metric"] if t["metric"] is not None
                                                        else -1, t["rung"], -t["trial"]))


def test_an_evaluation_metric_search_twice_gives_identical_results(client, blob_sets):
    train, val, _, _ = blob_sets
    runs = []
    for concurrent in (1, 3):
        status, _, created = post(client, "/v1/searches",
                                  eval_body(train, val, metric="evaluation.log_loss",
                                            max_concurrent=concurrent))
        assert status == 202, created
        assert created["config"]["mode"] == "min"
        s = wait_search(client, created["id"])
        assert s["state"] == "succeeded", s
        runs.append((s, promotions(client, s["id"])))
    (a, pa), (b, pb) = runs
    key = lambda s: [(t["params"], t["epochs"], t["rung"], t["metric"], t["state"])
                     for t in s["trials"]]
    assert key(a) == key(b)
    assert pa == pb and pa, pa
    assert a["best"]["trial"] == b["best"]["trial"] and a["best"]["metric"] == b["best"]["metric"]
    assert a["best"]["metric"] == min(t["metric"] for t in a["trials"] if t["metric"] is not None)


def test_an_evaluation_metric_search_survives_kill9(spawn, tmp_path):
    """Killed while trials train and rungs are measured, the search ends with
    the metrics and promotions of an uninterrupted run."""
    x, y = blobs(96, 0)
    vx, vy = blobs(45, 5)
    results = []
    for crash in (False, True):
        db = tmp_path / f"eval-search-{crash}.sqlite"
        d = spawn(db=db)
        train = d.client.create_dataset("blobs", x, labels=y)["id"]
        val = d.client.create_dataset("blobs-val", vx, labels=vy)["id"]
        status, _, created = post(d.client, "/v1/searches",
                                  eval_body(train, val, metric="evaluation.f1_macro"))
        assert status == 202, created
        sid = created["id"]
        if crash:
            d = kill_mid_rung(d, spawn, db, sid,
                              lambda s: sum(t["metric"] is not None for t in s["trials"]) >= 2)
        s = wait_search(d.client, sid)
        assert s["state"] == "succeeded", s
        for t in s["trials"]:  # one evaluation per finished rung, none twice
            stored = d.client.evaluations(t["model"])
            assert len(stored) == t["rung"] + 1, (t, stored)
        results.append((s, promotions(d.client, sid)))
    key = lambda s: [(t["params"], t["epochs"], t["metric"], t["state"]) for t in s["trials"]]
    assert key(results[0][0]) == key(results[1][0])
    assert results[0][1] == results[1][1]


@pytest.mark.parametrize("change,status,field,words", [
    ({"metric": "evaluation.nope"}, 400, "metric", "evaluation.NAME, NAME one of accuracy"),
    ({"metric": "accuracy"}, 400, "metric", "one of"),
    ({"metric": "evaluation.balanced_accuracy", "mode": "min"}, 400, "metric", "mode must be max"),
    ({"metric": "evaluation.log_loss", "mode": "max"}, 400, "metric", "mode must be min"),
    ({"metric": "val_loss", "mode": "max"}, 400, "metric", "minimized"),
    ({"metric": "evaluation.r2"}, 422, "metric", "regression metric"),
    ({"metric": "evaluation.rmse"}, 422, "metric", "regression metric"),
    ({"job": dict(CLS_JOB, validation_split=0.25)}, 400, "job.validation_dataset", "required"),
    ({"job": dict(CLS_JOB, validation_dataset=999)}, 404, "job.validation_dataset", "999"),
    ({"job": "VAL_AND_TEST"}, 400, "job.test_dataset", "asha"),
    ({"job": "XOR_VAL"}, 422, "job.validation_dataset", ""),
])
def test_bad_evaluation_metrics_name_their_field(client, blob_sets, change, status, field, words):
    train, val, _, _ = blob_sets
    if change.get("job") == "VAL_AND_TEST":
        change = {"job": dict(CLS_JOB, validation_dataset=val, test_dataset=val)}
    elif change.get("job") == "XOR_VAL":  # of another task
        x, y = xor_like(8)
        change = {"job": dict(CLS_JOB, validation_dataset=client.create_dataset(
            "xor-val", x, targets=y)["id"])}
    body = eval_body(train, val)  # evaluation.balanced_accuracy unless changed
    body.update(change)
    got, _, err = post(client, "/v1/searches", body)
    assert got == status, err
    assert err["error"]["field"] == field and words in err["error"]["message"], err


def test_val_accuracy_of_a_regression_is_refused(client, xor):
    body = {"model": SPEC, "dataset": xor, "job": JOB, "metric": "val_accuracy",
            "space": {"job.optimizer.lr": {"uniform": [0.01, 0.1]}}}
    status, _, err = post(client, "/v1/searches", body)
    assert status == 422 and err["error"]["field"] == "metric", err
    assert "classification metric" in err["error"]["message"], err
