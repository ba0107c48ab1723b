"""Training through the daemon: XOR, an iris-like CSV, cancellation and
predictions served while a model trains."""
import csv
import io
import json
import math
import threading
import time

import dbfile
from datasets import (IRIS_CLASSES, SLOW_SPEC, XOR_INPUTS, XOR_SPEC, XOR_TARGETS, iris_csv,
                      iris_rows, iris_spec, slow_data)

XOR_JOB = {"epochs": 500, "batch_size": 4, "optimizer": {"type": "adam", "lr": 0.05}, "seed": 7}
LONG = 1_000_000  # epochs of a job that only ends by being cancelled


def wait_running(client, job_id, timeout=30.0):
    deadline = time.monotonic() + timeout
    while True:
        job = client.get_job(job_id)
        if job["state"] != "queued":
            return job
        assert time.monotonic() < deadline, f"job {job_id} never started"
        time.sleep(0.01)


def test_xor_trains_and_predicts(client):
    ds = client.create_dataset("xor", XOR_INPUTS, targets=XOR_TARGETS)
    assert (ds["rows"], ds["features"], ds["outputs"], ds["task"]) == (4, 2, 1, "regression")
    assert "classes" not in ds
    model = client.create_model(XOR_SPEC)
    assert model["parameters"] == 33 and model["version"] == 0 and model["trained"] is False
    assert model["spec"]["layers"][0]["init"] == "xavier"  # defaults are written out

    job = client.create_job(model["id"], ds["id"], **XOR_JOB)
    assert job["state"] == "queued" and job["epochs"] == 500
    done = client.wait(job["id"], timeout=60)
    assert done["state"] == "succeeded", done
    assert done["epoch"] == 500 and done["error"] is None and done["finished_at"]

    out = client.predict(model["id"], XOR_INPUTS)
    assert out["model"] == model["id"] and out["version"] > 0
    flat = [row[0] for row in out["outputs"]]
    assert flat[0] < 0.1 and flat[1] > 0.9 and flat[2] > 0.9 and flat[3] < 0.1, flat
    assert "labels" not in out  # a regression model names no classes

    m = client.get_model(model["id"])
    assert m["trained"] is True and m["last_job"] == job["id"] and m["version"] == out["version"]
    assert m["classes"] is None
    metrics = client.metrics(job["id"])
    assert [r["epoch"] for r in metrics] == list(range(1, 501))
    assert metrics[-1]["loss"] < metrics[0]["loss"]
    assert [r["epoch"] for r in client.metrics(job["id"], after=498)] == [499, 500]
    assert client.checkpoints(job["id"])[-1]["epoch"] == 500
    assert [j["id"] for j in client.list_jobs(state="succeeded", model=model["id"])] == [job["id"]]
    assert client.list_jobs(state="running") == []


def test_iris_like_csv_classification(client):
    rows = iris_rows()
    ds = client.upload_csv("iris", "species", iris_csv(rows))
    assert ds["rows"] == 150 and ds["features"] == 4 and ds["outputs"] == 3
    assert ds["task"] == "classification" and ds["classes"] == IRIS_CLASSES
    assert client.get_dataset(ds["id"]) == ds

    model = client.create_model(iris_spec())
    job = client.create_job(model["id"], ds["id"], epochs=40, batch_size=16,
                            optimizer={"type": "adam", "lr": 0.01}, validation_split=0.2,
                            seed=1, checkpoint_every=5)
    done = client.wait(job["id"], timeout=60)
    assert done["state"] == "succeeded", done
    assert done["accuracy"] >= 0.95 and done["val_accuracy"] >= 0.9, done

    out = client.predict(model["id"], [x for x, _ in rows])
    assert len(out["outputs"]) == 150 and all(len(r) == 3 for r in out["outputs"])
    assert all(abs(sum(r) - 1) < 1e-4 for r in out["outputs"])  # softmax
    hits = sum(label == name for label, (_, name) in zip(out["labels"], rows))
    assert hits >= 0.95 * len(rows), hits
    assert client.get_model(model["id"])["classes"] == IRIS_CLASSES


# Free text the store keeps or looks up: class names (the target column's
# cells, kept as the dataset's and the model's classes) and column names.
# SQL is bound, never spliced, so each comes back byte for byte.
TRICKY_CLASSES = ["x'); DROP TABLE datasets;--", 'say "hi", then; -- leave',
                  "\\' OR '1'='1' /* ünïcödé %_ */"]
TRICKY_COLUMNS = ["a'b", '"c";d', "-- e", "DROP TABLE models;"]
TRICKY_TARGET = "kind'); DELETE FROM jobs; --"


def test_free_text_with_sql_in_it_round_trips(daemon):
    client = daemon.client
    rows = [(x, TRICKY_CLASSES[IRIS_CLASSES.index(name)]) for x, name in iris_rows()]
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(TRICKY_COLUMNS + [TRICKY_TARGET])
    writer.writerows(x + [name] for x, name in rows)
    assert "'" in text.getvalue() and '""' in text.getvalue()  # quoted cells too

    classes = sorted(TRICKY_CLASSES, key=str.encode)  # in byte order
    ds = client.upload_csv("tricky", TRICKY_TARGET, text.getvalue())
    assert (ds["rows"], ds["features"], ds["task"]) == (150, 4, "classification")
    assert ds["classes"] == classes
    assert client.get_dataset(ds["id"]) == ds
    summary = {k: v for k, v in ds.items() if k != "classes"}  # lists carry class_count
    assert [d for d in client.list_datasets() if d["id"] == ds["id"]] == [summary]

    model = client.create_model(iris_spec())
    job = client.create_job(model["id"], ds["id"], epochs=40, batch_size=16,
                            optimizer={"type": "adam", "lr": 0.01}, seed=1)
    assert client.wait(job["id"], timeout=60)["state"] == "succeeded"
    assert client.get_model(model["id"])["classes"] == classes
    out = client.predict(model["id"], [x for x, _ in rows])
    assert set(out["labels"]) == set(TRICKY_CLASSES)
    hits = sum(label == name for label, (_, name) in zip(out["labels"], rows))
    assert hits >= 0.95 * len(rows), hits

    # nothing dropped or deleted, and the file is sound
    assert dbfile.integrity(daemon.db) == "ok"
    with dbfile.connect(daemon.db) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        stored = conn.execute("SELECT classes FROM datasets WHERE id = ?", (ds["id"],)).fetchone()
    assert {"datasets", "models", "jobs", "model_versions", "events"} <= tables
    assert stored is not None and json.loads(stored[0]) == classes
    assert client.get_job(job["id"])["state"] == "succeeded"
    assert [m["id"] for m in client.list_models()] == [model["id"]]


def slow_model(client):
    """A dataset and model whose jobs (batch_size 1) take milliseconds an epoch."""
    x, y = slow_data()
    return client.create_dataset("slow", x, targets=y)["id"], client.create_model(SLOW_SPEC)["id"]


def test_cancel_running_and_queued_jobs(spawn):
    client = spawn(workers=1).client
    ds, model = slow_model(client)
    running = client.create_job(model, ds, epochs=LONG, batch_size=1)
    queued = client.create_job(model, ds, epochs=LONG)
    assert wait_running(client, running["id"])["state"] == "running"

    # The only worker is busy: the second job is still queued and ends at once.
    q = client.cancel_job(queued["id"])
    assert q["state"] == "cancelled" and q["started_at"] is None

    r = client.cancel_job(running["id"])
    assert r["state"] in ("running", "cancelled") and r["cancel_requested"] is True
    done = client.wait(running["id"], timeout=30)
    assert done["state"] == "cancelled" and done["epoch"] < LONG, done
    # Cancelling a finished job changes nothing.
    assert client.cancel_job(running["id"])["state"] == "cancelled"
    assert client.health() == {"status": "ok"}


def test_requests_answered_while_a_tiny_job_trains(spawn):
    """XOR epochs take microseconds, so the worker commits back to back; the
    API's own writes must still get their turn."""
    client = spawn(workers=1).client
    ds = client.create_dataset("xor", XOR_INPUTS, targets=XOR_TARGETS)
    model = client.create_model(XOR_SPEC)
    running = client.create_job(model["id"], ds["id"], epochs=LONG, batch_size=4)
    assert wait_running(client, running["id"])["state"] == "running"
    try:
        other = client.create_dataset("xor2", XOR_INPUTS, targets=XOR_TARGETS)
        queued = client.create_job(model["id"], other["id"], epochs=1)
        assert client.cancel_job(queued["id"])["state"] == "cancelled"
    finally:
        client.cancel_job(running["id"])
    assert client.wait(running["id"])["state"] == "cancelled"


def test_predict_while_training(spawn):
    client = spawn(workers=1).client
    ds, model = slow_model(client)
    probe = slow_data(rows=16, seed=99)[0]
    first = client.create_job(model, ds, epochs=2)
    assert client.wait(first["id"])["state"] == "succeeded"
    long = client.create_job(model, ds, epochs=LONG, batch_size=1)
    assert wait_running(client, long["id"])["state"] == "running"

    failures = []

    def hammer():
        last = 0
        for _ in range(40):
            try:
                out = client.predict(model, probe)
                rows = out["outputs"]
                ok = (len(rows) == 16 and all(len(r) == 1 and isinstance(r[0], float)
                                              and math.isfinite(r[0]) for r in rows)
                      and out["version"] >= last)
                last = out["version"]
                if not ok:
                    failures.append(out)
            except Exception as e:  # noqa: BLE001 — any failure is reported below
                failures.append(repr(e))

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert client.get_job(long["id"])["state"] == "running"
    client.cancel_job(long["id"])
    assert client.wait(long["id"])["state"] == "cancelled"


def test_follow_yields_every_epoch_once_in_order(client):
    data = slow_data(rows=512)
    ds = client.create_dataset("follow", data[0], targets=data[1])
    model = client.create_model(SLOW_SPEC)
    job = client.create_job(model["id"], ds["id"], epochs=12, batch_size=16, seed=3)
    rows = list(client.follow(job["id"], timeout=120, interval=0.01))
    assert [r["epoch"] for r in rows] == list(range(1, 13))
    assert all(r["loss"] is not None and r["lr"] > 0 for r in rows)
    assert client.get_job(job["id"])["state"] == "succeeded"
    # a finished job still yields its whole history, then ends
    assert [r["epoch"] for r in client.follow(job["id"], timeout=5)] == list(range(1, 13))
