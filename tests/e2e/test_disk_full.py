"""A full disk: writes answer 507 storage_full, nothing stored is damaged, a
running job waits with the epoch it could not record (no epoch is lost, the
weights come out as without the pause), and once space returns the same
daemon works again, without a restart.

The disk is filled by tests/fault/enospc.c, preloaded into the test's daemon
only: while the flag file exists, writes to files in the database's
directory fail with ENOSPC."""
import os
import time

import pytest

import dbfile
from conftest import ROOT
from datasets import SLOW_SPEC, XOR_INPUTS, XOR_SPEC, XOR_TARGETS, iris_csv, iris_rows, slow_data

ENOSPC_LIB = os.environ.get("ENOSPC_LIB",
                            os.path.join(ROOT, "build", "tests", "fault", "libenospc.so"))

# Epochs of a few milliseconds, each one checkpointed: the disk fills while
# the job runs, and the pause falls between checkpoints of its own.
JOB = {"epochs": 60, "batch_size": 8, "optimizer": {"type": "adam", "lr": 0.002},
       "shuffle": True, "seed": 5, "checkpoint_every": 1}
WAITING = "waits to be recorded"  # what the daemon logs when a job waits for space


class Disk:
    """The flag file that makes the database's directory full."""

    def __init__(self, flag):
        self.flag = flag

    def fill(self):
        self.flag.touch()

    def free(self):
        self.flag.unlink()


@pytest.fixture
def full(spawn, tmp_path):
    """start() → (daemon, disk): a daemon whose database directory can be made full."""
    assert os.path.exists(ENOSPC_LIB), f"{ENOSPC_LIB} is missing: run make {ENOSPC_LIB}"
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    flag = tmp_path / "disk-is-full"
    asan = os.environ.get("ASAN_OPTIONS", "")
    env = {"LD_PRELOAD": ENOSPC_LIB, "ENOSPC_DIR": os.path.realpath(data_dir),
           "ENOSPC_FLAG": str(flag),
           # The shim comes before the sanitizer runtime in the load order.
           "ASAN_OPTIONS": (asan + ":" if asan else "") + "verify_asan_link_order=0"}

    def start():
        return spawn(db=data_dir / "db.sqlite", env=env), Disk(flag)

    return start


def check_full(answer):
    status, _, doc = answer
    assert status == 507, doc
    err = doc["error"]
    assert err["code"] == "storage_full" and err["field"] == "", err
    assert "disk" in err["message"] and "full" in err["message"], err


def create_job(client, data):
    ds = client.create_dataset("slow", data[0], targets=data[1])
    model = client.create_model(SLOW_SPEC)
    return model["id"], client.create_job(model["id"], ds["id"], **JOB)["id"]


def wait_for(predicate, what, timeout=120):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def log_has(daemon, text):
    with open(daemon.log_path, "rb") as f:
        return text.encode() in f.read()


def test_writes_answer_507_and_nothing_stored_is_damaged(full):
    d, disk = full()
    c = d.client
    ds = c.create_dataset("xor", XOR_INPUTS, targets=XOR_TARGETS)
    model = c.create_model(XOR_SPEC)
    job = c.create_job(model["id"], ds["id"], epochs=5)
    assert c.wait(job["id"])["state"] == "succeeded"
    before = (c.list_datasets(), c.list_models(), c.list_jobs())
    expected = c.predict(model["id"], XOR_INPUTS)
    snapshot = dbfile.dump(d.db)

    disk.fill()
    check_full(c.request("POST", "/v1/datasets",
                         {"name": "more", "inputs": [[1, 2]], "targets": [[3]]}))
    check_full(c.request("POST", "/v1/datasets?name=iris&target=species",
                         iris_csv(iris_rows(per_class=5)).encode(), "text/csv"))
    check_full(c.request("POST", "/v1/models", dict(XOR_SPEC, name="another")))
    check_full(c.request("POST", "/v1/jobs", {"model": model["id"], "dataset": ds["id"]}))
    check_full(c.request("DELETE", f"/v1/datasets/{ds['id']}"))
    # Reads go on: lists, predictions, health.
    assert (c.list_datasets(), c.list_models(), c.list_jobs()) == before
    assert c.predict(model["id"], XOR_INPUTS) == expected
    assert c.health() == {"status": "ok"}
    assert dbfile.dump(d.db) == snapshot

    disk.free()  # the same daemon takes writes again
    more = c.create_dataset("more", [[1, 2], [2, 1]], targets=[[3], [3]])
    again = c.create_job(model["id"], more["id"], epochs=3)
    assert c.wait(again["id"])["state"] == "succeeded"
    assert c.get_dataset(ds["id"]) == before[0][0]
    assert d.stop() == 0
    assert dbfile.integrity(d.db) == "ok"


def test_running_job_waits_for_space_and_ends_as_if_never_paused(spawn, full, tmp_path):
    data = slow_data(rows=1024)
    ref = spawn(db=tmp_path / "ref.sqlite")
    ref_model, ref_job = create_job(ref.client, data)
    assert ref.client.wait(ref_job, timeout=120)["state"] == "succeeded"
    assert ref.stop() == 0

    d, disk = full()
    c = d.client
    model_id, job_id = create_job(c, data)
    wait_for(lambda: c.get_job(job_id)["epoch"] >= 5, "epoch 5")
    disk.fill()
    wait_for(lambda: log_has(d, WAITING), "the job to wait for space")
    stuck = c.get_job(job_id)
    assert stuck["state"] == "running" and stuck["epoch"] < JOB["epochs"], stuck
    time.sleep(0.5)  # a few retries later: still waiting, where it was
    assert c.get_job(job_id) == stuck
    check_full(c.request("POST", f"/v1/jobs/{job_id}/cancel", None, "application/json"))  # cancelling is a write too

    disk.free()
    done = c.wait(job_id, timeout=120)
    assert done["state"] == "succeeded" and done["restarts"] == 0, done
    assert [m["epoch"] for m in c.metrics(job_id)] == list(range(1, JOB["epochs"] + 1))
    assert log_has(d, "the disk has room again")
    assert d.stop() == 0
    assert dbfile.integrity(d.db) == "ok"
    assert dbfile.weights(d.db, model_id) == dbfile.weights(ref.db, ref_model)


def test_stop_while_a_job_waits_for_space(spawn, full):
    """A graceful stop does not wait for the disk: the job is left as a crash
    leaves it, and the next start (disk free) finishes it."""
    d, disk = full()
    c = d.client
    _, job_id = create_job(c, slow_data(rows=1024))
    wait_for(lambda: c.get_job(job_id)["epoch"] >= 3, "epoch 3")
    disk.fill()
    wait_for(lambda: log_has(d, WAITING), "the job to wait for space")
    started = time.monotonic()
    assert d.stop() == 0
    assert time.monotonic() - started < 10.0, "the stop waited for the disk"
    disk.free()

    c = spawn(db=d.db).client
    done = c.wait(job_id, timeout=120)
    assert done["state"] == "succeeded" and done["restarts"] == 1, done
    assert [m["epoch"] for m in c.metrics(job_id)] == list(range(1, JOB["epochs"] + 1))
    assert done["error"] is None
