"""Data-parallel jobs through the daemon (issue #19): a job with "ranks": 2
runs as traind-rank processes under a real mpirun on loopback, launched by
the worker (server/mpi_job.c) and reporting over a unix socket.

What a local job promises holds: the run repeats bit for bit, equals
traind-rank's own run of the same job (the allreduce pinned to basic linear,
whose order of additions the in-process shards of --local use), and a
cancel, a SIGTERM pause and a kill -9 of one rank each end where an
uninterrupted run with the same number of ranks ends.
"""
import os
import random
import signal
import struct
import subprocess
import time

import pytest

from test_crash import wait_for_epoch
from traind_client import TraindError

RANK = os.environ.get(
    "TRAIND_RANK_BIN",
    os.path.join(os.path.dirname(__file__), "..", "..", "build", "traind-rank"))
# A sanitized traind-rank reports Open MPI's allocations kept past
# MPI_Finalize as leaks (test_mpi.py) at its exit, after its last message:
# the worker does not heed a rank's exit status then, so leak checking stays
# on for the daemon (its exit status is checked) and the reports only land in
# its log.
ENV = {}
MPI = ["--mpi", "--mpi-rank-bin", RANK]

# Epochs of a few tens of milliseconds over 2 ranks: long enough to stop a
# job mid-way.
SPEC = {"name": "mpi-net", "inputs": 8, "loss": "mse", "seed": 2,
        "layers": [{"type": "dense", "units": 32, "activation": "tanh"},
                   {"type": "dropout", "rate": 0.1},
                   {"type": "dense", "units": 1}]}
JOB = {"epochs": 16, "batch_size": 64, "optimizer": {"type": "adam", "lr": 0.002},
       "validation_split": 0.1, "seed": 11, "checkpoint_every": 3, "clip_norm": 1.0,
       "ranks": 2}


def data(rows=1536, seed=8):
    rng = random.Random(seed)
    x = [[round(rng.uniform(-1, 1), 3) for _ in range(8)] for _ in range(rows)]
    return x, [[sum(r) / 8] for r in x]


@pytest.fixture
def mpi_daemon(spawn):
    return spawn(extra=MPI, env=ENV)


def start(client, x, y, **over):
    ds = client.create_dataset("sums", x, targets=y)
    model = client.create_model(SPEC)
    job = client.create_job(model["id"], ds["id"], **dict(JOB, **over))
    return model["id"], job


def reference(client, x, y, probe):
    """An uninterrupted 2-rank run: its predictions and metrics."""
    model_id, job = start(client, x, y)
    done = client.wait(job["id"], timeout=120)
    assert done["state"] == "succeeded", done
    return client.predict(model_id, probe)["outputs"], client.metrics(job["id"])


def losses(metrics):
    return [(m["epoch"], m["loss"], m["val_loss"]) for m in metrics]


class Interrupted:
    """A reference 2-rank run, then the same job started and left running
    past epoch `at`, for the caller to interrupt."""

    def __init__(self, client, at):
        self.client = client
        x, y = data()
        self.probe = x[:16]
        self.outputs, self.metrics = reference(client, x, y, self.probe)
        self.model_id, self.job = start(client, x, y)
        wait_for_epoch(client, self.job["id"], at)

    def ends_like_the_reference(self, client=None, restarts=0):
        c = client or self.client
        done = c.wait(self.job["id"], timeout=120)
        assert done["state"] == "succeeded" and done["restarts"] == restarts, done
        assert c.predict(self.model_id, self.probe)["outputs"] == self.outputs
        assert losses(c.metrics(self.job["id"])) == losses(self.metrics)


def descendants(pid):
    """The processes under pid, by walking /proc's parent links."""
    parent = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    stat = f.read()
                parent[int(d)] = (int(stat.rsplit(")", 1)[1].split()[1]),
                                  stat[stat.index("(") + 1:stat.rindex(")")])
            except OSError:
                pass
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for child, (pp, comm) in parent.items():
            if pp == p:
                out.append((child, comm))
                todo.append(child)
    return out


def ranks_of(daemon):
    return [p for p, comm in descendants(daemon.proc.pid) if comm == "traind-rank"]


def wait_no_children(daemon):
    deadline = time.monotonic() + 20
    while descendants(daemon.proc.pid):
        assert time.monotonic() < deadline, descendants(daemon.proc.pid)
        time.sleep(0.05)


def test_ranks_are_refused_without_mpi_and_out_of_range(spawn):
    plain = spawn().client
    x, y = data(rows=64)
    ds = plain.create_dataset("sums", x, targets=y)
    model = plain.create_model(SPEC)
    with pytest.raises(TraindError) as e:
        plain.create_job(model["id"], ds["id"], ranks=2)
    assert e.value.status == 422 and e.value.field == "ranks", e.value
    assert "--mpi" in e.value.message
    one = plain.create_job(model["id"], ds["id"], epochs=1, ranks=1)
    assert "ranks" not in one["config"] and "mpi" not in one and "warnings" not in one
    mpi = spawn(extra=MPI, env=ENV).client
    ds = mpi.create_dataset("sums", x, targets=y)
    model = mpi.create_model(SPEC)
    for bad in (0, 257, -1, 1.5, "2", True, None):
        with pytest.raises(TraindError) as e:
            mpi.create_job(model["id"], ds["id"], ranks=bad)
        assert e.value.status == 400 and e.value.field == "ranks", (bad, e.value)
    # a graph model is refused: core shards layer lists only
    graph = mpi.create_model({"name": "g", "loss": "mse", "inputs": {"x": [8]}, "nodes": [
        {"name": "h", "op": "dense", "inputs": ["x"], "units": 4, "activation": "tanh"},
        {"name": "y", "op": "dense", "inputs": ["h"], "units": 1}], "output": "y"})
    with pytest.raises(TraindError) as e:
        mpi.create_job(graph["id"], ds["id"], ranks=2)
    assert e.value.status == 422 and e.value.field == "ranks" and "graph" in e.value.message
    # what the rank protocol does not carry yet is refused, not ignored
    held = mpi.create_dataset("held", x[:16], targets=y[:16])
    for extra, field in [({"validation_dataset": held["id"]}, "validation_dataset"),
                         ({"validation_split": 0.25, "early_stopping":
                           {"patience": 2, "restore_best": True}},
                          "early_stopping.restore_best")]:
        with pytest.raises(TraindError) as e:
            mpi.create_job(model["id"], ds["id"], ranks=2, **extra)
        assert e.value.status == 422 and e.value.field == field, e.value


def test_small_batches_per_rank_are_warned_about(mpi_daemon):
    c = mpi_daemon.client
    x, y = data(rows=64)
    ds = c.create_dataset("sums", x, targets=y)
    model = c.create_model(SPEC)
    small = c.create_job(model["id"], ds["id"], epochs=1, batch_size=16, ranks=2)
    version = subprocess.run(["mpirun", "--version"], capture_output=True, text=True).stdout
    assert small["mpi"] == {"ranks": 2, "algorithm": 1,
                            "open_mpi_version": version.split("\n")[0].split()[-1]}
    assert small["config"]["ranks"] == 2
    assert len(small["warnings"]) == 1 and "8 rows per rank" in small["warnings"][0]
    big = c.create_job(model["id"], ds["id"], epochs=1, batch_size=64, ranks=2)
    assert "warnings" not in big
    for j in (small, big):
        assert c.wait(j["id"], timeout=60)["state"] == "succeeded"


def write_trds(path, x, y):
    rows, features = len(x), len(x[0])
    with open(path, "wb") as f:
        f.write(b"TRDS" + struct.pack("<IQIIII", 1, rows, features, 1, 0, 0))
        f.write(struct.pack("<%df" % (rows * features), *[v for r in x for v in r]))
        f.write(struct.pack("<%df" % rows, *[r[0] for r in y]))


def test_a_job_repeats_bit_for_bit_and_equals_traind_ranks_own_run(mpi_daemon, tmp_path):
    c = mpi_daemon.client
    x, y = data()
    probe = x[:16]
    outputs, metrics = reference(c, x, y, probe)
    again, metrics2 = reference(c, x, y, probe)
    assert again == outputs and losses(metrics2) == losses(metrics)
    assert [m["epoch"] for m in metrics] == list(range(1, JOB["epochs"] + 1))
    wait_no_children(mpi_daemon)
    # the same job from files, its 2 ranks threads of one process
    write_trds(tmp_path / "sums.trds", x, y)
    spec = "inputs=8;dense:32:tanh;dropout:0.1;dense:1:linear;loss=mse;seed=2"
    p = subprocess.run(
        [RANK, "--local", "2", "--spec", spec, "--data", str(tmp_path / "sums.trds"),
         "--epochs", "16", "--batch-size", "64", "--optimizer", "adam", "--lr", "0.002",
         "--validation-split", "0.1", "--seed", "11", "--clip-norm", "1"],
        capture_output=True, text=True, timeout=120, env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
    assert p.returncode == 0, p.stderr
    own = []
    for line in p.stdout.splitlines():
        f = line.split()
        if f[0] == "epoch":
            own.append((int(f[1]), float(f[3]), float(f[7])))
    # cJSON prints a double with 15 digits when they read back within an ulp
    api = losses(metrics)
    assert [e for e, _, _ in own] == [e for e, _, _ in api]
    for (_, *a), (_, *b) in zip(own, api):
        for u, v in zip(a, b):
            assert abs(u - v) <= 2.3e-16 * abs(u), (own, api)


def test_cancel_stops_every_rank_after_the_same_batch(mpi_daemon):
    c = mpi_daemon.client
    x, y = data()
    _, job = start(c, x, y, epochs=2000)
    wait_for_epoch(c, job["id"], 2)
    assert len(ranks_of(mpi_daemon)) == 2
    c.cancel_job(job["id"])
    done = c.wait(job["id"], timeout=60)
    assert done["state"] == "cancelled" and done["epoch"] < 2000, done
    wait_no_children(mpi_daemon)


def test_sigterm_pauses_and_the_job_resumes_bit_for_bit(spawn, tmp_path):
    db = tmp_path / "pause.sqlite"
    d = spawn(db=db, extra=MPI, env=ENV)
    run = Interrupted(d.client, 4)
    assert d.stop() == 0  # PAUSE to rank 0, a mid-epoch checkpoint, mpirun gone
    run.ends_like_the_reference(spawn(db=db, extra=MPI, env=ENV).client)


def test_kill9_of_one_rank_requeues_and_resumes_bit_for_bit(mpi_daemon):
    run = Interrupted(mpi_daemon.client, 4)
    victims = ranks_of(mpi_daemon)
    assert len(victims) == 2
    os.kill(victims[-1], signal.SIGKILL)
    run.ends_like_the_reference(restarts=1)
    wait_no_children(mpi_daemon)


def test_a_silent_rank_0_is_killed_by_the_watchdog_and_the_job_resumes(spawn):
    d = spawn(extra=MPI + ["--mpi-heartbeat-timeout", "2"], env=ENV)
    run = Interrupted(d.client, 2)
    frozen = min(ranks_of(d))  # rank 0 is forked first
    os.kill(frozen, signal.SIGSTOP)
    run.ends_like_the_reference(restarts=1)
    assert "silent" in open(d.log_path).read()
    wait_no_children(d)


def test_ranks_that_never_start_fail_the_job_after_the_crash_limit(spawn):
    """mpirun ending before rank 0 connects counts as a crash; the fourth
    in a row without a new checkpoint fails the job, as after daemon crashes."""
    c = spawn(extra=["--mpi", "--mpi-rank-bin", "/bin/false"], env=ENV).client
    x, y = data(rows=64)
    ds = c.create_dataset("sums", x, targets=y)
    model = c.create_model(SPEC)
    job = c.create_job(model["id"], ds["id"], epochs=2, ranks=2)
    done = c.wait(job["id"], timeout=120)
    assert done["state"] == "failed" and done["restarts"] == 4, done
    assert "mpirun ended before rank 0 connected" in done["error"], done


def test_a_job_waiting_for_rank_0_stops_at_once(spawn, tmp_path):
    """Ranks that never connect: a cancel, then a daemon stop, each end the
    wait within a poll; the stopped job is queued as it was, and a daemon
    without --mpi fails it saying why."""
    script = tmp_path / "silent-rank"
    script.write_text("#!/bin/sh\nexec sleep 60\n")
    script.chmod(0o755)
    db = tmp_path / "wait.sqlite"
    d = spawn(db=db, extra=["--mpi", "--mpi-rank-bin", str(script)], env=ENV)
    c = d.client
    x, y = data(rows=64)
    ds = c.create_dataset("sums", x, targets=y)
    model = c.create_model(SPEC)

    def running(job):
        deadline = time.monotonic() + 20
        while c.get_job(job["id"])["state"] != "running":
            assert time.monotonic() < deadline
            time.sleep(0.02)
        time.sleep(0.5)

    job = c.create_job(model["id"], ds["id"], epochs=2, ranks=2)
    running(job)
    c.cancel_job(job["id"])
    assert c.wait(job["id"], timeout=10)["state"] == "cancelled"
    job = c.create_job(model["id"], ds["id"], epochs=2, ranks=2)
    running(job)
    t0 = time.monotonic()
    assert d.stop() == 0 and time.monotonic() - t0 < 10
    plain = spawn(db=db).client
    done = plain.wait(job["id"], timeout=30)
    assert done["state"] == "failed" and done["restarts"] == 0, done
    assert "--mpi" in done["error"], done
