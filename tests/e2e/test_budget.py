"""Admission by memory (--memory-budget) and one running job per model.

Models and jobs whose training would take more than the budget answer 422
too_large naming the estimate; queued jobs that fit the budget alone but not
beside the running ones wait; a model trains in one job at a time."""
import re
import time

import pytest
from traind_client import TraindError

from datasets import SLOW_SPEC, slow_data

# Issue 20: 1,048,576 inputs -> 1023 -> 1 is 1.07e9 parameters.
HUGE_SPEC = {"name": "huge", "inputs": 1 << 20, "loss": "mse",
             "layers": [{"type": "dense", "units": 1023, "activation": "relu"},
                        {"type": "dense", "units": 1}]}
SLOW_JOB = {"epochs": 40, "batch_size": 16, "optimizer": {"type": "sgd", "lr": 0.01}}


def estimate(err):
    """The estimate a too_large answer names, in bytes."""
    m = re.search(r"estimated [0-9.]+ [KMGT]iB \((\d+) bytes\)", err.message)
    assert m, err.message
    return int(m.group(1))


def test_a_model_too_large_to_train_is_refused(spawn):
    client = spawn(extra=("--memory-budget", "8G")).client
    with pytest.raises(TraindError) as e:
        client.create_model(HUGE_SPEC)
    assert (e.value.status, e.value.code, e.value.field) == (422, "too_large", "layers")
    # parameters, gradients, momentum, and the copies a commit makes: > 5 x 4.29 GB
    assert estimate(e.value) > 5 * 4 * 1_072_740_000, e.value.message
    assert "memory budget of 8.0 GiB" in e.value.message
    assert client.list_models() == []


def test_the_default_budget_follows_the_machine(spawn):
    pages = None
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                pages = int(line.split()[1]) * 1024
    if pages is None or pages // 2 >= 30 << 30:
        pytest.skip("a machine this large could train it")
    client = spawn().client
    with pytest.raises(TraindError) as e:
        client.create_model(HUGE_SPEC)
    assert (e.value.status, e.value.code) == (422, "too_large"), e.value


def test_a_job_over_the_budget_is_refused_naming_its_batch(spawn):
    client = spawn(extra=("--memory-budget", "64M")).client
    spec = {"name": "wide", "inputs": 8, "loss": "mse",
            "layers": [{"type": "dense", "units": 1024, "activation": "relu"},
                       {"type": "dense", "units": 1024, "activation": "relu"},
                       {"type": "dense", "units": 1}]}
    model = client.create_model(spec)  # fits at batch 1
    x, y = slow_data(rows=4096)
    ds = client.create_dataset("big", x, targets=y)
    job = client.create_job(model["id"], ds["id"], epochs=1, batch_size=128)
    assert job["state"] == "queued"
    with pytest.raises(TraindError) as e:
        client.create_job(model["id"], ds["id"], epochs=1, batch_size=4096,
                          optimizer={"type": "adam"})
    assert (e.value.status, e.value.code, e.value.field) == (422, "too_large", "batch_size")
    assert "batch_size 4096, adam, 4096 rows" in e.value.message
    assert estimate(e.value) > 64 << 20
    assert [j["id"] for j in client.list_jobs()] == [job["id"]]
    assert client.wait(job["id"], timeout=120)["state"] == "succeeded"


def overlaps(client, ids, timeout=120):
    """Poll until every job ends; return whether two of them ever ran at once.
    Each poll is one list read, one snapshot of the jobs table: reading the
    jobs one by one could see the first still running and then the second
    already claimed after it ended."""
    deadline = time.monotonic() + timeout
    both = False
    while True:
        listed = {j["id"]: j for j in client.list_jobs()}
        jobs = [listed[i] for i in ids]
        both = both or sum(j["state"] == "running" for j in jobs) > 1
        if all(j["state"] in ("succeeded", "failed", "cancelled") for j in jobs):
            return both, jobs
        assert time.monotonic() < deadline, jobs
        time.sleep(0.005)


def state_events(client, job):
    """The id of the event of each state the job entered (the last, if twice)."""
    return {data["state"]: eid for eid, kind, data in client.events(job=job) if kind == "state"}


def test_jobs_that_fit_alone_but_not_together_run_one_after_the_other(spawn):
    x, y = slow_data()
    # the estimates, as the 422 answers name them: the model's at batch 1 on
    # one row, then (with just that much) the job's, on 2048 rows
    d = spawn(extra=("--memory-budget", "1"), workers=2)
    with pytest.raises(TraindError) as e:
        d.client.create_model(SLOW_SPEC)
    least = estimate(e.value)
    d.stop()
    d = spawn(db=d.db, extra=("--memory-budget", str(least)), workers=2)
    client = d.client
    a = client.create_model(SLOW_SPEC)
    b = client.create_model(dict(SLOW_SPEC, name="slow-b"))
    ds = client.create_dataset("slow", x, targets=y)
    with pytest.raises(TraindError) as e:
        client.create_job(a["id"], ds["id"], **SLOW_JOB)
    assert (e.value.code, e.value.field) == ("too_large", "dataset")
    one = estimate(e.value)
    d.stop()
    # room for one job and a half: the second waits for the first
    d = spawn(db=d.db, extra=("--memory-budget", str(one * 3 // 2)), workers=2)
    client = d.client
    ids = [client.create_job(m["id"], ds["id"], **SLOW_JOB)["id"] for m in (a, b)]
    both, jobs = overlaps(client, ids)
    assert not both, "two jobs ran at once beyond the budget"
    assert [j["state"] for j in jobs] == ["succeeded", "succeeded"]
    first, second = state_events(client, ids[0]), state_events(client, ids[1])
    assert first["succeeded"] < second["running"], (first, second)
    d.stop()
    # with room for both, both run at once on two workers
    d = spawn(db=d.db, extra=("--memory-budget", str(one * 2)), workers=2)
    client = d.client
    ids = [client.create_job(m["id"], ds["id"], **dict(SLOW_JOB, epochs=400))["id"]
           for m in (a, b)]
    both, jobs = overlaps(client, ids)
    assert both, "jobs that fit together should run together"


def test_one_model_trains_in_one_job_at_a_time(spawn):
    client = spawn(workers=2).client
    x, y = slow_data()
    model = client.create_model(SLOW_SPEC)
    ds = client.create_dataset("slow", x, targets=y)
    ids = [client.create_job(model["id"], ds["id"], **SLOW_JOB)["id"] for _ in range(2)]
    both, jobs = overlaps(client, ids)
    assert not both, "two jobs of one model ran at once"
    assert [j["state"] for j in jobs] == ["succeeded", "succeeded"]
    assert jobs[1]["started_at"] >= jobs[0]["finished_at"]
    # the weights versions follow the jobs: all of the first's, then the second's
    versions = sorted(client.model_versions(model["id"]), key=lambda v: v["version"])
    owners = [v["job"] for v in versions]
    assert owners == sorted(owners) and set(owners) == set(ids), versions
    # the events agree: the second job runs after the first ended
    first, second = state_events(client, ids[0]), state_events(client, ids[1])
    assert first["succeeded"] < second["running"], (first, second)


def test_a_job_queued_under_a_larger_budget_fails_rather_than_waiting_forever(spawn):
    x, y = slow_data()
    d = spawn(workers=1)
    client = d.client
    model = client.create_model(SLOW_SPEC)
    ds = client.create_dataset("slow", x, targets=y)
    job = client.create_job(model["id"], ds["id"], epochs=1_000_000, batch_size=16)
    deadline = time.monotonic() + 30
    while client.get_job(job["id"])["state"] != "running":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    d.stop()  # the job goes back to the queue, to resume at the next start
    d = spawn(db=d.db, extra=("--memory-budget", "1K"), workers=1)
    done = d.client.wait(job["id"], timeout=30)
    assert done["state"] == "failed", done
    assert "more than the memory budget of 1.0 KiB" in done["error"], done["error"]
    assert "--memory-budget was lowered" in done["error"]
