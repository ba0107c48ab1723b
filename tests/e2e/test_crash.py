"""Durability: what a 2xx acknowledged survives kill -9, and a job killed
mid-training resumes from its checkpoint to the very weights of an
uninterrupted run."""
import time

import dbfile
from datasets import SLOW_SPEC, iris_spec, slow_data

# Epochs of a few milliseconds: long enough to kill the job mid-way, and
# spent computing rather than committing, so polling it is not slowed down.
JOB = {"epochs": 120, "batch_size": 8, "optimizer": {"type": "adam", "lr": 0.002},
       "validation_split": 0.1, "shuffle": True, "seed": 11, "checkpoint_every": 4}
KILL_AFTER = 10  # epochs done before the kill; not a multiple of checkpoint_every


def start_job(client, data):
    ds = client.create_dataset("slow", data[0], targets=data[1])
    model = client.create_model(SLOW_SPEC)
    job = client.create_job(model["id"], ds["id"], **JOB)
    return model["id"], job["id"]


def reference_outputs(spawn, tmp_path, data, probe):
    """Predictions on probe after the job ran uninterrupted on a fresh database."""
    ref = spawn(db=tmp_path / "ref.sqlite").client
    ref_model, ref_job = start_job(ref, data)
    assert ref.wait(ref_job, timeout=120)["state"] == "succeeded"
    return ref.predict(ref_model, probe)["outputs"]


def wait_for_epoch(client, job_id, epoch):
    """Poll until the job has completed epoch; @return the job then."""
    deadline = time.monotonic() + 60
    while True:
        job = client.get_job(job_id)
        if job["epoch"] >= epoch:
            return job
        assert job["state"] in ("queued", "running") and time.monotonic() < deadline, job
        time.sleep(0.002)


def test_acknowledged_writes_survive_kill9(spawn, tmp_path):
    db = tmp_path / "acked.sqlite"
    d = spawn(db=db)
    ds = d.client.create_dataset("xor", [[0, 0], [1, 1]], targets=[[0], [1]])
    model = d.client.create_model(iris_spec())
    d.kill9()
    client = spawn(db=db).client
    assert client.get_dataset(ds["id"]) == ds
    assert client.get_model(model["id"]) == model


def test_kill9_mid_training_resumes_to_identical_weights(spawn, tmp_path):
    data = slow_data()
    probe = data[0][:32]
    expected = reference_outputs(spawn, tmp_path, data, probe)

    db = tmp_path / "crash.sqlite"
    d = spawn(db=db)
    model_id, job_id = start_job(d.client, data)
    job = wait_for_epoch(d.client, job_id, KILL_AFTER)
    d.kill9()
    assert job["state"] == "running" and job["epoch"] < JOB["epochs"], \
        "the job ended before the kill: make it longer"

    client = spawn(db=db).client
    done = client.wait(job_id, timeout=120)
    assert done["state"] == "succeeded" and done["restarts"] == 1, done
    assert done["epoch"] == JOB["epochs"]
    assert [m["epoch"] for m in client.metrics(job_id)] == list(range(1, JOB["epochs"] + 1))
    assert client.predict(model_id, probe)["outputs"] == expected


def test_sigterm_mid_training_pauses_and_resumes_to_identical_weights(spawn, tmp_path):
    data = slow_data()
    probe = data[0][:32]
    expected = reference_outputs(spawn, tmp_path, data, probe)

    db = tmp_path / "stop.sqlite"
    d = spawn(db=db)
    model_id, job_id = start_job(d.client, data)
    wait_for_epoch(d.client, job_id, KILL_AFTER)
    started = time.monotonic()
    assert d.stop() == 0
    assert time.monotonic() - started < 5.0, "a graceful stop must not wait for the job"

    # Before it resumes: the job is queued where it paused, and the pause
    # wrote its own checkpoint there, logged just before the job's requeue.
    # An epoch that is a multiple of checkpoint_every also has a periodic
    # one, logged after its epoch: the pause's comes on top of it.
    with dbfile.connect(db) as conn:
        state, epoch, restarts = conn.execute(
            "SELECT state, epoch, restarts FROM jobs WHERE id = ?", (job_id,)).fetchone()
        newest = conn.execute("SELECT max(epoch) FROM checkpoints WHERE job_id = ?",
                              (job_id,)).fetchone()[0]
        events = conn.execute("SELECT kind, state, epoch FROM events WHERE job_id = ? ORDER BY id",
                              (job_id,)).fetchall()
    assert (state, restarts) == ("queued", 0), "a graceful stop is not a crash"
    assert KILL_AFTER <= epoch < JOB["epochs"] and newest == epoch, (epoch, newest)
    assert events[-2:] == [("checkpoint", None, epoch), ("state", "queued", epoch)], events[-3:]
    periodic = 1 if epoch % JOB["checkpoint_every"] == 0 else 0
    assert events.count(("checkpoint", None, epoch)) == periodic + 1, events[-4:]

    client = spawn(db=db).client
    assert client.get_job(job_id)["restarts"] == 0
    done = client.wait(job_id, timeout=120)
    assert done["state"] == "succeeded" and done["epoch"] == JOB["epochs"], done
    assert client.predict(model_id, probe)["outputs"] == expected


def test_unreadable_checkpoint_fails_the_job_clearly(spawn, tmp_path):
    """A checkpoint damaged behind the daemon's back: the resumed job ends
    failed, saying why, and the daemon stays up."""
    import sqlite3

    db = tmp_path / "damaged.sqlite"
    d = spawn(db=db)
    _, job_id = start_job(d.client, slow_data())
    wait_for_epoch(d.client, job_id, KILL_AFTER)
    d.kill9()
    with sqlite3.connect(db) as conn:
        assert conn.execute("UPDATE checkpoints SET data = zeroblob(bytes) WHERE job_id = ?",
                            (job_id,)).rowcount > 0
    client = spawn(db=db).client
    done = client.wait(job_id, timeout=60)
    assert done["state"] == "failed", done
    assert "checkpoint" in done["error"] and "unreadable" in done["error"], done
    assert client.health() == {"status": "ok"}


def test_unreadable_weights_answer_one_message_everywhere(spawn, tmp_path):
    """Published weights damaged behind the daemon's back: predict and the
    gradient check answer 500 with the one message fit.c gives, a job that
    would fine-tune from them fails with that message, and the daemon stays up."""
    import sqlite3
    from datasets import XOR_INPUTS, XOR_SPEC, XOR_TARGETS

    db = tmp_path / "weights.sqlite"
    d = spawn(db=db)
    ds = d.client.create_dataset("xor", XOR_INPUTS, targets=XOR_TARGETS)
    model = d.client.create_model(XOR_SPEC)
    job = d.client.create_job(model["id"], ds["id"], epochs=2, batch_size=4)
    assert d.client.wait(job["id"])["state"] == "succeeded"
    d.stop()
    with sqlite3.connect(db) as conn:
        assert conn.execute("UPDATE model_versions SET weights = zeroblob(length(weights)) "
                            "WHERE model_id = ?", (model["id"],)).rowcount > 0
    client = spawn(db=db).client
    message = f"the stored weights of model {model['id']} are unreadable"
    for path, body in ((f"/v1/models/{model['id']}/predict", {"inputs": [[0, 1]]}),
                       (f"/v1/models/{model['id']}/gradcheck", {"dataset": ds["id"]})):
        status, _, doc = client.request("POST", path, body)
        assert status == 500, doc
        assert doc == {"error": {"code": "internal", "message": message, "field": ""}}, doc
    again = client.create_job(model["id"], ds["id"], epochs=2, batch_size=4)
    done = client.wait(again["id"])
    assert done["state"] == "failed" and done["error"] == message, done
    assert client.health() == {"status": "ok"}
