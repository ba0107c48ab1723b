"""A crash loop: three jobs train while the daemon is killed with SIGKILL ten
times, at random moments, and started again on the same database each time,
with data sets, models and short jobs created all along. Afterwards every
acknowledged write is there, the database is intact, every job has ended,
and the three with the very weights (byte for byte) of an uninterrupted run
of each."""
import http.client
import random
import threading
import time

import dbfile
from datasets import SLOW_SPEC, slow_data

KILLS = 10
RANDOM_SEED = 2026  # the kill moments
SEEDS = (7, 8, 9)   # one job each
# Checkpoints every second epoch: most kills land past the last one, so the
# resumed job runs epochs again that it had recorded already.
JOB = {"epochs": 150, "batch_size": 8, "optimizer": {"type": "adam", "lr": 0.002},
       "validation_split": 0.1, "shuffle": True, "checkpoint_every": 2}
TIMEOUT = 600


def start_jobs(client, data):
    """One data set, and a model and a job per seed: [(model id, job id)]."""
    ds = client.create_dataset("slow", data[0], targets=data[1])
    started = []
    for seed in SEEDS:
        model = client.create_model(dict(SLOW_SPEC, seed=seed))
        job = client.create_job(model["id"], ds["id"], seed=seed, **JOB)
        started.append((model["id"], job["id"]))
    return started


def wait_for_progress(client, job_ids, epochs):
    """Poll until each job has recorded `epochs` epochs past the one it showed
    at the start. A job resumed from a checkpoint first records again the
    epochs between that checkpoint and the one shown, so two epochs past it
    take it past a checkpoint of this run."""
    shown = {j: client.get_job(j)["epoch"] for j in job_ids}
    deadline = time.monotonic() + TIMEOUT
    while True:
        now = {j: client.get_job(j) for j in job_ids}
        if all(now[j]["epoch"] >= shown[j] + epochs for j in job_ids):
            return
        for job in now.values():
            assert job["state"] in ("queued", "running"), job
        assert time.monotonic() < deadline, now
        time.sleep(0.005)


class Writer(threading.Thread):
    """Creates data sets, models and short jobs (on the newest acknowledged
    data set and model), one after the other, on whichever daemon is up, and
    keeps each one acknowledged (2xx). A request the kill cuts off has no
    answer; any other answer than 2xx is kept as an error."""

    def __init__(self):
        super().__init__(daemon=True)
        self.client = None  # set by the test as daemons come and go
        self.done = threading.Event()
        self.datasets, self.models, self.jobs, self.errors = [], [], [], []

    def next_write(self, n):
        """(path, body, the list it goes to when acknowledged) of write n."""
        if n % 3 == 1 or not self.datasets:
            rows = [[n % 7] * 8, [1] * 8]
            return ("/v1/datasets", {"name": f"w{n}", "inputs": rows, "targets": [[n], [-n]]},
                    self.datasets)
        if n % 3 == 2 or not self.models:
            return "/v1/models", dict(SLOW_SPEC, name=f"w{n}", seed=n), self.models
        job = {"model": self.models[-1]["id"], "dataset": self.datasets[-1]["id"], "epochs": 2,
               "batch_size": 2, "seed": n}
        return "/v1/jobs", job, self.jobs

    def run(self):
        n = 0
        while not self.done.is_set():
            client = self.client
            if client is None:
                time.sleep(0.005)
                continue
            n += 1
            path, body, acked = self.next_write(n)
            try:
                status, _, doc = client.request("POST", path, body)
            except (OSError, http.client.HTTPException):
                continue  # killed mid-request, or not listening any more
            (acked if 200 <= status < 300 else self.errors).append(doc)
            time.sleep(0.01)


def test_kill9_loop_loses_nothing_acknowledged_and_changes_no_weights(spawn, tmp_path):
    data = slow_data(rows=1024)
    ref = spawn(db=tmp_path / "ref.sqlite", workers=len(SEEDS))
    ref_jobs = start_jobs(ref.client, data)
    for _, job in ref_jobs:
        assert ref.client.wait(job, timeout=TIMEOUT)["state"] == "succeeded"
    # Kills land up to two epochs after the jobs moved on, whatever an
    # epoch takes on this machine and build.
    seconds = [m["seconds"] for _, job in ref_jobs for m in ref.client.metrics(job)]
    epoch_seconds = sum(seconds) / len(seconds)
    assert ref.stop() == 0

    rng = random.Random(RANDOM_SEED)
    db = tmp_path / "loop.sqlite"
    d = spawn(db=db, workers=len(SEEDS))
    jobs = start_jobs(d.client, data)
    job_ids = [job for _, job in jobs]
    writer = Writer()
    writer.client = d.client
    writer.start()
    try:
        for _ in range(KILLS):
            wait_for_progress(d.client, job_ids, 2)
            time.sleep(rng.uniform(0.0, 2 * epoch_seconds))
            d.kill9()
            writer.client = None
            d = spawn(db=db, workers=len(SEEDS))
            writer.client = d.client
        time.sleep(0.1)  # a few more writes on the last daemon
    finally:
        writer.done.set()
        writer.join()

    client = d.client
    for job_id in job_ids:
        done = client.wait(job_id, timeout=TIMEOUT)
        # Each kill found every job running, and none was given up on.
        assert done["state"] == "succeeded" and done["restarts"] == KILLS, done
        epochs = [m["epoch"] for m in client.metrics(job_id)]
        assert epochs == list(range(1, JOB["epochs"] + 1))
    assert writer.errors == []
    assert writer.datasets and writer.models and writer.jobs, "no write was acknowledged"
    for ds in writer.datasets:
        assert client.get_dataset(ds["id"]) == ds
    trained = {"trained", "version", "last_job"}  # what the writer's jobs change
    for model in writer.models:
        now = client.get_model(model["id"])
        assert {k: v for k, v in now.items() if k not in trained} == \
            {k: v for k, v in model.items() if k not in trained}
    for job in writer.jobs:
        done = client.wait(job["id"], timeout=TIMEOUT)
        assert done["state"] == "succeeded" and done["epoch"] == 2, done
        assert (done["model"], done["dataset"], done["config"]["seed"]) == \
            (job["model"], job["dataset"], job["config"]["seed"])
    assert d.stop() == 0

    assert dbfile.integrity(db) == "ok"
    for (model, _), (ref_model, _) in zip(jobs, ref_jobs):
        weights = dbfile.weights(db, model)
        assert weights is not None and weights == dbfile.weights(ref.db, ref_model)
