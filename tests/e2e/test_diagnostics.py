"""Training diagnostics and gradient checks through the daemon: each epoch's
metrics carry per-layer norms and dead-unit fractions, and POST
/v1/models/{id}/gradcheck checks backprop on the published weights."""
import json
import math
import time

import pytest

from datasets import (IRIS_CLASSES, SLOW_SPEC, XOR_INPUTS, XOR_SPEC, XOR_TARGETS, iris_csv,
                      iris_rows, slow_data)
from test_trainctl import trainctl
from traind_client import Client

# relu, dropout and softmax: a layer of each kind the diagnostics tell apart
IRIS_SPEC = {
    "name": "iris-diag", "inputs": 4, "loss": "cross_entropy", "seed": 3, "normalize": True,
    "layers": [{"type": "dense", "units": 12, "activation": "relu"},
               {"type": "dropout", "rate": 0.1},
               {"type": "dense", "units": 3, "activation": "softmax"}],
}
EPOCHS = 25


@pytest.fixture(scope="module")
def client(shared):
    return shared.client


@pytest.fixture(scope="module")
def iris(client):
    """A trained iris model: (dataset, model, job)."""
    ds = client.upload_csv("iris", "species", iris_csv(iris_rows()))
    assert ds["classes"] == IRIS_CLASSES
    model = client.create_model(IRIS_SPEC)
    job = client.create_job(model["id"], ds["id"], epochs=EPOCHS, batch_size=16, seed=2,
                            optimizer={"type": "adam", "lr": 0.01}, checkpoint_every=5)
    done = client.wait(job["id"], timeout=120)
    assert done["state"] == "succeeded", done
    return ds, client.get_model(model["id"]), done


@pytest.fixture(scope="module")
def xor(client):
    ds = client.create_dataset("xor", XOR_INPUTS, targets=XOR_TARGETS)
    model = client.create_model(XOR_SPEC)
    job = client.create_job(model["id"], ds["id"], epochs=300, batch_size=4, seed=7,
                            optimizer={"type": "adam", "lr": 0.05})
    assert client.wait(job["id"], timeout=120)["state"] == "succeeded"
    return ds, client.get_model(model["id"]), job


def finite(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def check_layers(layers, spec):
    assert [l["layer"] for l in layers] == list(range(len(spec["layers"])))
    for l, s in zip(layers, spec["layers"]):
        assert set(l) == {"layer", "type", "activation", "grad_norm", "weight_norm",
                          "dead_fraction"}, l
        assert l["type"] == s["type"]
        if s["type"] != "dense":
            assert l["activation"] is None and l["grad_norm"] is None, l
            assert l["weight_norm"] is None and l["dead_fraction"] is None, l
            continue
        assert l["activation"] == s["activation"]
        assert finite(l["weight_norm"]) and l["weight_norm"] > 0, l
        assert finite(l["grad_norm"]) and l["grad_norm"] >= 0, l
        if s["activation"] == "relu":
            assert finite(l["dead_fraction"]) and 0 <= l["dead_fraction"] <= 1, l
            # a fraction of the layer's units
            assert (l["dead_fraction"] * s["units"]) == pytest.approx(
                round(l["dead_fraction"] * s["units"]))
        else:
            assert l["dead_fraction"] is None, l


def test_every_epoch_carries_its_layers(client, iris):
    _, model, job = iris
    rows = client.metrics(job["id"])
    assert [r["epoch"] for r in rows] == list(range(1, EPOCHS + 1))
    for r in rows:
        check_layers(r["layers"], model["spec"])
    # the weights move: their norm is not the same every epoch
    assert len({r["layers"][0]["weight_norm"] for r in rows}) > 1
    # the rows read after an epoch are the same rows
    assert client.metrics(job["id"], after=EPOCHS - 2) == rows[-2:]


def test_a_regression_net_has_no_dead_fractions(client, xor):
    _, model, job = xor
    for r in client.metrics(job["id"]):
        check_layers(r["layers"], model["spec"])
        assert [l["activation"] for l in r["layers"]] == ["tanh", "sigmoid"]


def check_gradcheck(g, model, dataset, samples):
    assert g["model"] == model["id"] and g["version"] == model["version"]
    assert g["dataset"] == dataset["id"] and g["samples"] == samples
    assert g["pass"] is True, g
    assert g["threshold"] == 0.01
    assert finite(g["max_error"]) and g["max_error"] < g["threshold"] / 2, g
    assert finite(g["loss"]) and g["loss"] >= 0
    layers = g["layers"]
    assert [l["layer"] for l in layers] == list(range(len(model["spec"]["layers"])))
    counted = 0
    for l, s in zip(layers, model["spec"]["layers"]):
        assert l["type"] == s["type"]
        if s["type"] != "dense":
            assert l["weights_checked"] == l["biases_checked"] == l["skipped"] == 0, l
            assert l["weight_error"] is None and l["bias_error"] is None, l
            continue
        assert 0 <= l["weight_error"] < g["threshold"], l
        assert 0 <= l["bias_error"] < g["threshold"], l
        counted += l["weights_checked"] + l["biases_checked"] + l["skipped"]
    assert g["checked"] == sum(l["weights_checked"] + l["biases_checked"] for l in layers)
    return counted


def test_gradcheck_of_a_trained_classifier_passes(client, iris):
    ds, model, _ = iris
    g = client.gradcheck(model["id"], ds["id"])
    # every tensor has at most 64 entries (4 x 12 weights...): all are checked
    assert check_gradcheck(g, model, ds, 8) == model["parameters"]
    assert g["epsilon"] == 1e-6 and g["seed"] == 0
    g = client.gradcheck(model["id"], ds["id"], samples=64, epsilon=1e-5, seed=9)
    check_gradcheck(g, model, ds, 64)
    assert g["epsilon"] == 1e-5 and g["seed"] == 9


def test_gradcheck_of_a_tiny_dataset_uses_all_its_rows(client, xor):
    ds, model, _ = xor
    g = client.gradcheck(model["id"], ds["id"], samples=64)
    assert check_gradcheck(g, model, ds, 4) == model["parameters"]
    assert g["checked"] == model["parameters"]  # tanh and sigmoid have no kinks


# ---- errors --------------------------------------------------------------------------------

def check_error(answer, status, code, field):
    got, _, doc = answer
    assert got == status, doc
    assert set(doc) == {"error"} and doc["error"]["code"] == code, doc
    assert doc["error"]["field"] == field, doc
    assert doc["error"]["message"], doc
    return doc["error"]


def gradcheck(client, model, body):
    return client.request("POST", f"/v1/models/{model}/gradcheck", body)


def test_gradcheck_names_what_is_missing(client, iris):
    ds, model, _ = iris
    check_error(gradcheck(client, 999999, {"dataset": ds["id"]}), 404, "not_found", "id")
    check_error(gradcheck(client, model["id"], {"dataset": 999999}), 404, "not_found", "dataset")
    fresh = client.create_model(dict(IRIS_SPEC, name="untrained"))
    err = check_error(gradcheck(client, fresh["id"], {"dataset": ds["id"]}), 409, "conflict",
                      "id")
    # the one message of an untrained model, as predict answers it (fit.c)
    assert err["message"] == f"model {fresh['id']} has not been trained yet", err
    _, _, doc = client.request("POST", f"/v1/models/{fresh['id']}/predict",
                               {"inputs": [[0, 0, 0, 0]]})
    assert doc["error"] == err, doc


@pytest.mark.parametrize("body,field", [
    ({}, "dataset"),
    ({"dataset": "1"}, "dataset"),
    ({"dataset": 0}, "dataset"),
    ({"dataset": 1, "samples": 0}, "samples"),
    ({"dataset": 1, "samples": 65}, "samples"),
    ({"dataset": 1, "samples": 2.5}, "samples"),
    ({"dataset": 1, "epsilon": 0}, "epsilon"),
    ({"dataset": 1, "epsilon": 0.5}, "epsilon"),
    ({"dataset": 1, "epsilon": "small"}, "epsilon"),
    ({"dataset": 1, "seed": -1}, "seed"),
    ({"dataset": 1, "colour": "red"}, "colour"),
])
def test_gradcheck_rejects_bad_requests(client, iris, body, field):
    _, model, _ = iris
    check_error(gradcheck(client, model["id"], body), 400, "invalid_argument", field)


def test_gradcheck_refuses_a_dataset_that_does_not_fit(client, iris, xor):
    iris_ds, model, _ = iris
    xor_ds, xor_model, _ = xor
    err = check_error(gradcheck(client, model["id"], {"dataset": xor_ds["id"]}),
                      422, "unprocessable", "dataset")
    assert "features" in err["message"]
    wide = client.create_dataset("wide", [[0, 0, 0]], targets=[[1]])
    check_error(gradcheck(client, xor_model["id"], {"dataset": wide["id"]}),
                422, "unprocessable", "dataset")
    labelled = client.create_dataset("lab", [[0, 0], [1, 1]], labels=["a", "b"])
    check_error(gradcheck(client, xor_model["id"], {"dataset": labelled["id"]}),
                422, "unprocessable", "dataset")


def test_gradcheck_needs_the_full_token(spawn):
    d = spawn(extra=("--token", "full-token", "--read-token", "read-token"))
    full, read = Client(d.url, token="full-token"), Client(d.url, token="read-token")
    ds = full.create_dataset("xor", XOR_INPUTS, targets=XOR_TARGETS)
    model = full.create_model(XOR_SPEC)
    check_error(gradcheck(read, model["id"], {"dataset": ds["id"]}), 403, "forbidden", "")
    check_error(gradcheck(full, model["id"], {"dataset": ds["id"]}), 409, "conflict", "id")


# ---- trainctl --------------------------------------------------------------------------------

def test_trainctl_models_gradcheck(shared, iris):
    ds, model, _ = iris
    r = trainctl(shared.url, "models", "gradcheck", str(model["id"]), "--dataset", str(ds["id"]),
                 "--samples", "16")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["LAYER", "TYPE", "ACTIVATION", "WEIGHT_ERROR", "BIAS_ERROR",
                                "WEIGHTS", "BIASES", "SKIPPED"]
    rows = [line.split() for line in lines[1:4]]
    assert [row[:3] for row in rows] == [["0", "dense", "relu"], ["1", "dropout", "-"],
                                         ["2", "dense", "softmax"]]
    assert rows[1][3:] == ["-", "-", "0", "0", "0"]
    assert float(rows[0][3]) < 0.01 and int(rows[0][5]) + int(rows[0][7]) == 48
    assert lines[4].startswith("pass: largest relative error ") and "on 16 rows" in lines[4]

    r = trainctl(shared.url, "--json", "models", "gradcheck", str(model["id"]),
                 "--dataset", str(ds["id"]))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["samples"] == 8


def test_trainctl_gradcheck_errors(shared, iris):
    ds, model, _ = iris
    r = trainctl(shared.url, "models", "gradcheck", str(model["id"]))
    assert r.returncode == 2 and "--dataset" in r.stderr
    r = trainctl(shared.url, "models", "gradcheck", "--dataset", str(ds["id"]))
    assert r.returncode == 2 and "model ID" in r.stderr
    r = trainctl(shared.url, "models", "gradcheck", str(model["id"]), "--dataset", "x")
    assert r.returncode == 2
    r = trainctl(shared.url, "models", "gradcheck", str(model["id"]), "--dataset", str(ds["id"]),
                 "--samples", "65")
    assert r.returncode == 1 and "samples" in r.stderr


# ---- a paused epoch ------------------------------------------------------------------------

RELU_SPEC = dict(SLOW_SPEC, name="slow-relu",
                 layers=[{"type": "dense", "units": 32, "activation": "relu"},
                         {"type": "dense", "units": 1}])
PAUSE_JOB = {"epochs": 24, "batch_size": 8, "optimizer": {"type": "adam", "lr": 0.002},
             "seed": 5, "checkpoint_every": 4}


def run_diagnostics(client, job_id):
    """Each epoch's layers; every value is deterministic for a seed."""
    return [r["layers"] for r in client.metrics(job_id)]


def test_a_job_stopped_mid_epoch_resumes_with_the_same_diagnostics(spawn, tmp_path):
    """SIGTERM pauses a job inside an epoch (hundreds of batches each): the
    checkpoint carries that epoch's partial sums, so the resumed job reports
    what an uninterrupted one does, bit for bit."""
    x, y = slow_data()

    def start(client):
        ds = client.create_dataset("slow", x, targets=y)
        model = client.create_model(RELU_SPEC)
        return client.create_job(model["id"], ds["id"], **PAUSE_JOB)["id"]

    ref = spawn(db=tmp_path / "ref.sqlite").client
    ref_job = start(ref)
    assert ref.wait(ref_job, timeout=120)["state"] == "succeeded"
    expected = run_diagnostics(ref, ref_job)

    db = tmp_path / "paused.sqlite"
    d = spawn(db=db)
    job_id = start(d.client)
    deadline = time.monotonic() + 60
    while d.client.get_job(job_id)["epoch"] < 6:
        assert time.monotonic() < deadline
        time.sleep(0.002)
    assert d.stop() == 0
    client = spawn(db=db).client
    assert client.get_job(job_id)["epoch"] < PAUSE_JOB["epochs"], "stopped too late"
    assert client.wait(job_id, timeout=120)["state"] == "succeeded"
    got = run_diagnostics(client, job_id)
    assert len(got) == PAUSE_JOB["epochs"]
    assert got == expected
