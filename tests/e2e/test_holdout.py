"""Held-out data in jobs (issue 15): a validation_dataset scores every epoch
as evaluating it would, a test_dataset is evaluated with the job's final
weights and linked to the job, early_stopping.restore_best ends on the best
epoch's weights (also across a kill -9), and a table regression is evaluated
in its target's units."""
import math

import numpy as np
import pytest
from sklearn import metrics as skm

from datasets import SLOW_SPEC, slow_data
from test_evaluate import check_regression, near, plane
from test_tables import SPEC_CLASSES, SPEC_MASS, as_csv, penguins
from test_crash import wait_for_epoch

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

SPEC = {"name": "plane", "inputs": 3, "loss": "mse", "seed": 2,
        "layers": [{"type": "dense", "units": 16, "activation": "tanh"},
                   {"type": "dense", "units": 1}]}
JOB = {"batch_size": 16, "seed": 3, "optimizer": {"type": "adam", "lr": 0.01}}


def run(client, dataset, epochs, spec=SPEC, **config):
    model = client.create_model(spec)
    job = client.create_job(model["id"], dataset, epochs=epochs, **{**JOB, **config})
    done = client.wait(job["id"], timeout=120)
    assert done["state"] == "succeeded", done
    return model["id"], done


@pytest.fixture(scope="module")
def planes(shared):
    client = shared.client
    x, y = plane(300, seed=61)
    vx, vy = plane(120, seed=62)
    tx, ty = plane(200, seed=63)
    # targets of another plane: a model fitting the training rows gets worse on these
    fx = vx
    fy = [[-3 * r[0] + 2 * r[1]] for r in vx]
    ids = [client.create_dataset(name, a, targets=b)["id"]
           for name, a, b in (("train", x, y), ("val", vx, vy), ("test", tx, ty),
                              ("far", fx, fy))]
    return client, ids, (x, y), (vx, vy), (tx, ty), (fx, fy)


def test_validation_dataset_scores_as_evaluating_it(planes):
    client, (train, val, _, _), _, _, _, _ = planes
    model, done = run(client, train, 6, validation_dataset=val)
    assert "validation_split" not in done["config"] and done["config"]["validation_dataset"] == val
    metrics = client.metrics(done["id"])
    assert [m["epoch"] for m in metrics] == list(range(1, 7))
    newest = client.model_versions(model)[0]["version"]
    ev = client.evaluate(model, val, version=newest)
    # the epoch's loss sums float losses in double; the evaluation in its own order
    assert math.isclose(metrics[-1]["val_loss"], ev["metrics"]["mse"], rel_tol=1e-5)
    assert all(m["val_loss"] is not None for m in metrics)


def test_validation_dataset_of_a_classifier_scores_its_accuracy(shared):
    client = shared.client
    rng = np.random.default_rng(5)
    x = rng.normal(size=(200, 2)).round(3)
    labels = (x[:, 0] + x[:, 1] > 0).astype(int)
    ds = client.create_dataset("blobs", x.tolist(), labels=labels.tolist())
    vx = rng.normal(size=(80, 2)).round(3)
    vl = (vx[:, 0] - 0.2 > 0).astype(int)
    vds = client.create_dataset("blobs-val", vx.tolist(), labels=vl.tolist())
    spec = {"name": "blob", "inputs": 2, "loss": "cross_entropy", "seed": 1,
            "layers": [{"type": "dense", "units": 8, "activation": "relu"},
                       {"type": "dense", "units": 2, "activation": "softmax"}]}
    model, done = run(client, ds["id"], 4, spec=spec, validation_dataset=vds["id"])
    last = client.metrics(done["id"])[-1]
    ev = client.evaluate(model, vds["id"])["metrics"]
    assert last["val_accuracy"] == pytest.approx(ev["accuracy"], rel=1e-9)
    assert last["val_loss"] == pytest.approx(ev["log_loss"], rel=1e-5)


def test_a_validation_table_is_encoded_as_the_training_rows(shared):
    client = shared.client
    train = client.upload_csv("penguins-train", "species", as_csv(penguins(160, seed=1)),
                              ignore="id,mass")
    # other rows, other statistics: an encoding refitted on them would score otherwise
    val = client.upload_csv("penguins-val", "species", as_csv(penguins(70, seed=9)),
                            ignore="id,mass")
    test = client.upload_csv("penguins-test", "species", as_csv(penguins(50, seed=10)),
                             ignore="id,mass")
    model, done = run(client, train["id"], 5, spec=SPEC_CLASSES, validation_dataset=val["id"],
                      test_dataset=test["id"])
    last = client.metrics(done["id"])[-1]
    ev = client.evaluate(model, val["id"])  # with the weights' own encoding
    assert ev["rows"] == val["rows"] - val["rows_without_target"]
    assert last["val_accuracy"] == pytest.approx(ev["metrics"]["accuracy"], rel=1e-9)
    assert last["val_loss"] == pytest.approx(ev["metrics"]["log_loss"], rel=1e-5)
    te = done["test_evaluation"]
    assert te["dataset"] == test["id"] and te["job"] == done["id"]
    again = client.evaluate(model, test["id"])["metrics"]
    assert te["summary"]["accuracy"] == again["accuracy"]
    # a table needs a table of the same target
    numbers = client.create_dataset("numbers", [[1, 2]] * 3, labels=[0, 1, 0])
    mass = client.upload_csv("penguins-mass", "mass", as_csv(penguins(30, seed=11)),
                             ignore="id,species")
    m = client.create_model(SPEC_CLASSES)
    for field, other in (("validation_dataset", numbers["id"]), ("test_dataset", mass["id"])):
        got, _, doc = client.request("POST", "/v1/jobs", {"model": m["id"], "dataset": train["id"],
                                                          field: other})
        assert got == 422 and doc["error"]["field"] == field, doc


def test_test_dataset_is_evaluated_with_the_final_weights(planes):
    client, (train, val, test, _), _, _, (tx, ty), _ = planes
    model, done = run(client, train, 5, validation_dataset=val, test_dataset=test)
    te = done["test_evaluation"]
    assert te is not None and te["job"] == done["id"] and te["dataset"] == test
    assert set(te["summary"]) >= {"rmse", "mae", "r2"}
    final = client.model_versions(model)[0]["version"]
    assert te["version"] == final
    stored = client.call("GET", f"/v1/models/{model}/evaluations/{te['id']}")
    assert stored["job"] == done["id"]
    again = client.evaluate(model, test, version=final)
    assert again["job"] is None
    assert again["metrics"] == stored["metrics"]
    check_regression(stored["metrics"], client.predict(model, tx, version=final)["outputs"], ty)
    # a job without one shows null
    _, plain = run(client, train, 1)
    assert client.get_job(plain["id"])["test_evaluation"] is None


def test_restore_best_publishes_the_best_epochs_weights(planes):
    client, (train, _, _, far), _, _, _, (fx, _) = planes
    model, done = run(client, train, 12, validation_dataset=far,
                      early_stopping={"restore_best": True})
    losses = [m["val_loss"] for m in client.metrics(done["id"])]
    best = int(np.argmin(losses)) + 1
    assert best < 12 and losses[-1] > losses[best - 1], "val loss must rise later"
    # the same run stopped at the best epoch: its weights, bit for bit
    short, _ = run(client, train, best, validation_dataset=far)
    want = client.predict(short, fx)["outputs"]
    versions = client.model_versions(model)
    assert versions[0]["version"] > versions[1]["version"]
    assert client.predict(model, fx)["outputs"] == want
    # without restore_best the job ends on its last epoch's weights
    plain, _ = run(client, train, 12, validation_dataset=far)
    assert client.predict(plain, fx)["outputs"] != want
    # early stopping ends patience epochs past the best, on the best
    patient, stopped = run(client, train, 12, validation_dataset=far,
                           early_stopping={"patience": 2, "restore_best": True})
    assert stopped["epoch"] == min(best + 2, 12), stopped
    assert client.predict(patient, fx)["outputs"] == want


@pytest.mark.parametrize("config,status,field", [
    ({"validation_split": 0.2, "validation_dataset": "VAL"}, 400, "validation_dataset"),
    ({"early_stopping": {"restore_best": True}}, 400, "early_stopping.restore_best"),
    ({"early_stopping": {"restore_best": 1}, "validation_split": 0.2}, 400,
     "early_stopping.restore_best"),
    ({"validation_dataset": 0}, 400, "validation_dataset"),
    ({"test_dataset": "x"}, 400, "test_dataset"),
    ({"validation_dataset": 999999}, 404, "validation_dataset"),
    ({"test_dataset": 999999}, 404, "test_dataset"),
    ({"validation_dataset": "WIDE"}, 422, "validation_dataset"),
    ({"test_dataset": "LABELS"}, 422, "test_dataset"),
    ({"validation_dataset": "LABELS"}, 422, "validation_dataset"),
])
def test_bad_holdouts_are_refused_naming_the_field(planes, config, status, field):
    client, (train, val, _, _), _, _, _, _ = planes
    wide = client.create_dataset("wide", [[1, 2, 3, 4]] * 3, targets=[[1]] * 3)["id"]
    labels = client.create_dataset("labels", [[1, 2, 3]] * 4, labels=[0, 1, 0, 1])["id"]
    names = {"VAL": val, "WIDE": wide, "LABELS": labels}
    raw = config
    config = {k: names.get(v, v) if isinstance(v, str) else v for k, v in config.items()}
    model = client.create_model(SPEC)
    got, _, doc = client.request("POST", "/v1/jobs",
                                 {"model": model["id"], "dataset": train, **config})
    assert got == status, doc
    assert doc["error"]["field"] == field, doc
    if "LABELS" in raw.values():  # says what is wrong with it
        assert "is a classification dataset but dataset" in doc["error"]["message"], doc


def test_a_table_regression_is_evaluated_in_its_targets_units(shared):
    client = shared.client
    rows = penguins(n=200, seed=4)
    ds = client.upload_csv("masses-eval", "mass", as_csv(rows), ignore="id,species")
    model = client.create_model(SPEC_MASS)
    job = client.create_job(model["id"], ds["id"], epochs=15, batch_size=16, seed=7)
    assert client.wait(job["id"], timeout=120)["state"] == "succeeded"
    ev = client.evaluate(model["id"], ds["id"])["metrics"]
    records = [{"island": r["island"], "flipper": r["flipper"] or None, "sex": r["sex"],
                "seen": r["seen"]} for r in rows]
    pred = np.asarray(client.predict_records(model["id"], records)["outputs"], dtype=np.float64)
    mass = np.asarray([float(r["mass"]) for r in rows])
    assert ev["rmse"] > 50  # grams, not z-scores
    for name, want in (("mse", skm.mean_squared_error(mass, pred)),
                       ("mae", skm.mean_absolute_error(mass, pred)),
                       ("r2", skm.r2_score(mass, pred)),
                       ("max_error", skm.max_error(mass, pred[:, 0]))):
        # the targets come back through float32 z-scores: about 1e-7 of a gram's thousands
        assert ev[name] == pytest.approx(want, rel=1e-4), name


# ---- restore_best across a kill -9 -------------------------------------------------------

CRASH_JOB = {"epochs": 120, "batch_size": 8, "optimizer": {"type": "adam", "lr": 0.002},
             "shuffle": True, "seed": 11, "checkpoint_every": 4,
             "early_stopping": {"restore_best": True}}
KILL_AFTER = 10


def start_crash_job(client, data):
    ds = client.create_dataset("slow", data[0], targets=data[1])
    x = data[0][:256]
    # the opposite of the training target: the better the fit, the worse on these
    far = client.create_dataset("slow-far", x, targets=[[-sum(r) / 8] for r in x])
    model = client.create_model(SLOW_SPEC)
    job = client.create_job(model["id"], ds["id"], validation_dataset=far["id"], **CRASH_JOB)
    return model["id"], job["id"]


@pytest.mark.parametrize("how", ["kill9", "sigterm"])
def test_restore_best_resumes_to_identical_weights(spawn, tmp_path, how):
    """Killed (resumed from its last periodic checkpoint) or stopped (paused
    mid-epoch, resumed from the pause's checkpoint): either checkpoint must
    carry the best epoch's weights."""
    data = slow_data()
    probe = data[0][:32]
    ref = spawn(db=tmp_path / "ref.sqlite").client
    ref_model, ref_job = start_crash_job(ref, data)
    assert ref.wait(ref_job, timeout=120)["state"] == "succeeded"
    expected = ref.predict(ref_model, probe)["outputs"]
    losses = [m["val_loss"] for m in ref.metrics(ref_job)]
    assert int(np.argmin(losses)) + 1 < KILL_AFTER - 2, "the best epoch must precede the resume"

    db = tmp_path / "crash.sqlite"
    d = spawn(db=db)
    model_id, job_id = start_crash_job(d.client, data)
    job = wait_for_epoch(d.client, job_id, KILL_AFTER)
    if how == "kill9":
        d.kill9()
    else:
        assert d.stop() == 0
    assert job["state"] == "running" and job["epoch"] < CRASH_JOB["epochs"], \
        "the job ended before the kill: make it longer"
    client = spawn(db=db).client
    done = client.wait(job_id, timeout=120)
    assert done["state"] == "succeeded", done
    assert done["restarts"] == (1 if how == "kill9" else 0), done
    assert [m["val_loss"] for m in client.metrics(job_id)] == losses
    assert client.predict(model_id, probe)["outputs"] == expected
