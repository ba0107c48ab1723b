"""Compute threads: a job's weights do not depend on how many threads it got,
whether it ran alone with all of them or shared them with another job, and
each epoch records the threads it ran on."""
import random

from dbfile import weights

# Wide enough that the large matrix products of a batch are cut into tiles
# (core/gemm.c: 1536 rows or columns make three), so more threads really
# split the work, along rows and along columns.
SPEC = {"name": "wide", "inputs": 300, "loss": "cross_entropy",
        "layers": [{"type": "dense", "units": 1536, "activation": "relu"},
                   {"type": "dense", "units": 768, "activation": "relu"},
                   {"type": "dense", "units": 10, "activation": "softmax"}]}
JOB = {"epochs": 3, "batch_size": 64, "seed": 5, "validation_split": 0.0,
       "optimizer": {"type": "adam", "lr": 0.001}}


def data(rows=256):
    rnd = random.Random(7)
    x = [[rnd.uniform(-1, 1) for _ in range(300)] for _ in range(rows)]
    labels = [str(i % 10) + "c" for i in range(rows)]
    return x, labels


def train(client, x, labels, jobs=1):
    """Start jobs identical jobs at once; @return their (model id, job id)
    once all succeeded."""
    ds = client.create_dataset("wide", x, labels=labels)
    started = []
    for _ in range(jobs):
        model = client.create_model(SPEC)
        started.append((model["id"], client.create_job(model["id"], ds["id"], **JOB)["id"]))
    for _, job in started:
        assert client.wait(job, timeout=300)["state"] == "succeeded"
    return started


def threads(client, job):
    return [m["threads"] for m in client.metrics(job)]


def test_weights_do_not_depend_on_the_thread_budget(spawn, tmp_path):
    x, labels = data()
    one = spawn(db=tmp_path / "one.sqlite", workers=1, extra=("--threads", "1"))
    [(m1, j1)] = train(one.client, x, labels)
    assert threads(one.client, j1) == [1, 1, 1]
    # three threads for one job alone, then two jobs sharing them (1 each,
    # changing as the other starts and ends)
    three = spawn(db=tmp_path / "three.sqlite", workers=2, extra=("--threads", "3"))
    [(m3, j3)] = train(three.client, x, labels)
    assert threads(three.client, j3) == [3, 3, 3]
    shared = train(three.client, x, labels, jobs=2)
    for _, job in shared:
        assert all(1 <= t <= 3 for t in threads(three.client, job))
    one.stop()
    three.stop()
    reference = weights(one.db, m1)
    assert reference is not None and len(reference) > 300 * 1536 * 4
    assert weights(three.db, m3) == reference
    for m, _ in shared:
        assert weights(three.db, m) == reference


def test_threads_flag_is_validated(tmp_path):
    import subprocess
    from conftest import TRAIND
    for bad in ("0", "257", "x"):
        r = subprocess.run([TRAIND, "--threads", bad, "--db", str(tmp_path / "t.sqlite")],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 2, r
        assert "--threads" in r.stderr
