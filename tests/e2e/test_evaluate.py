"""Evaluations (POST /v1/models/{id}/evaluate): every metric equals
sklearn.metrics (Debian's python3-sklearn, 1.2) computed here from the model's
own predict output on the same rows, to 1e-6 relative; stored, listed, read;
and each refusal names its field."""
import json
import math
import os
import random
import subprocess
import urllib.request

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.preprocessing import label_binarize

from conftest import ROOT
from datasets import IRIS_CLASSES, iris_rows
from traind_client import Client

REL = 1e-6

# sklearn warns about each number it leaves undefined; the tests check them
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def near(got, want, what):
    """got (JSON: a number or null) equals want (NaN for undefined) to REL."""
    if want is None or (isinstance(want, float) and math.isnan(want)):
        assert got is None, f"{what}: {got}, sklearn leaves it undefined"
        return
    assert got is not None, f"{what}: null, sklearn {want}"
    assert abs(got - want) <= REL * max(abs(got), abs(want)) + 1e-12, f"{what}: {got} vs {want}"


def near_all(got, want, what):
    want = list(np.asarray(want, dtype=np.float64).ravel())
    assert len(got) == len(want), f"{what}: {len(got)} numbers, sklearn {len(want)}"
    for i, (g, w) in enumerate(zip(got, want)):
        near(g, w, f"{what}[{i}]")


def no_nan(text):
    """The raw answer holds no NaN or Infinity (json would accept them)."""
    def refuse(name):
        raise AssertionError(f"{name} in JSON")
    return json.loads(text, parse_constant=refuse)


def evaluate_raw(client, model_id, body):
    status, _, doc = client.request("POST", f"/v1/models/{model_id}/evaluate", body)
    return status, doc


def train(client, spec, ds_id, epochs=15):
    model = client.create_model(spec)
    job = client.create_job(model["id"], ds_id, epochs=epochs, batch_size=16, seed=1,
                            optimizer={"type": "adam", "lr": 0.01})
    done = client.wait(job["id"], timeout=60)
    assert done["state"] == "succeeded", done
    return model["id"]


def safe(f):
    try:
        return f()
    except ValueError:
        return float("nan")


# ---- classification --------------------------------------------------------------------


def check_classification(m, outputs, y, k):
    """Every number of an evaluation's metrics against sklearn on the outputs."""
    s = np.asarray(outputs, dtype=np.float64)
    y = np.asarray(y)
    n = len(y)
    p = (s[:, 0] >= 0.5).astype(int) if s.shape[1] == 1 else np.argmax(s, axis=1)
    near(m["accuracy"], skm.accuracy_score(y, p), "accuracy")
    near(m["balanced_accuracy"], skm.balanced_accuracy_score(y, p), "balanced_accuracy")
    near(m["log_loss"], skm.log_loss(y, s[:, 0] if s.shape[1] == 1 else s, labels=range(k)),
         "log_loss")
    if k == 2:
        pos = s[:, 0] if s.shape[1] == 1 else s[:, 1]
        near(m["roc_auc"], safe(lambda: skm.roc_auc_score(y, pos)), "roc_auc")
        near(m["average_precision"], skm.average_precision_score(y, pos), "average_precision")
        topk = [skm.top_k_accuracy_score(y, pos, k=1, labels=range(2))]
        cls = [(y == 0, -s[:, 0] if s.shape[1] == 1 else s[:, 0]), (y == 1, pos)]
    else:
        near(m["roc_auc"], safe(lambda: skm.roc_auc_score(y, s, multi_class="ovr",
                                                          labels=range(k))), "roc_auc")
        near(m["average_precision"], skm.average_precision_score(
            label_binarize(y, classes=range(k)), s, average="macro"), "average_precision")
        topk = [skm.top_k_accuracy_score(y, s, k=j, labels=range(k))
                for j in range(1, min(k - 1, 5) + 1)]
        cls = [(y == c, s[:, c]) for c in range(k)]
    assert (m["roc_auc"] is None) == (m["roc_auc_note"] is not None)
    assert [t["k"] for t in m["top_k_accuracy"]] == list(range(1, len(topk) + 1))
    near_all([t["accuracy"] for t in m["top_k_accuracy"]], topk, "top_k_accuracy")
    prec, rec, f1, sup = skm.precision_recall_fscore_support(y, p, labels=range(k),
                                                             zero_division=0)
    rows = m["per_class"]
    assert [r["class"] for r in rows] == list(range(k))
    near_all([r["precision"] for r in rows], prec, "precision")
    near_all([r["recall"] for r in rows], rec, "recall")
    near_all([r["f1"] for r in rows], f1, "f1")
    assert [r["support"] for r in rows] == list(sup)
    for avg in ("macro", "weighted"):
        want = skm.precision_recall_fscore_support(y, p, average=avg, zero_division=0)[:3]
        got = m[f"{avg}_avg"]
        near_all([got["precision"], got["recall"], got["f1"]], want, f"{avg}_avg")
    assert m["confusion_matrix"] == skm.confusion_matrix(y, p, labels=range(k)).tolist()
    near_all([r["roc_auc"] for r in rows],
             [safe(lambda: skm.roc_auc_score(t, sc)) if 0 < t.sum() < n else float("nan")
              for t, sc in cls], "per-class roc_auc")
    near_all([r["average_precision"] for r in rows],
             [skm.average_precision_score(t, sc) for t, sc in cls], "per-class average_precision")
    curves = [(c, t, sc) for c, (t, sc) in enumerate(cls) if k > 2 or c == 1]
    assert [c["class"] for c in m["roc_curves"]] == [c for c, _, _ in curves]
    for (c, t, sc), roc, pr in zip(curves, m["roc_curves"], m["pr_curves"]):
        # fewer rows than NN_EVAL_CURVE_POINTS here: the curves are sklearn's whole
        if not 0 < t.sum() < n:  # sklearn's fpr or tpr would be NaN: no curve
            assert roc["fpr"] == roc["tpr"] == roc["thresholds"] == []
        else:
            fpr, tpr, thr = skm.roc_curve(t, sc)
            near_all(roc["fpr"], fpr, f"roc_curves[{c}].fpr")
            near_all(roc["tpr"], tpr, f"roc_curves[{c}].tpr")
            near_all(roc["thresholds"], thr, f"roc_curves[{c}].thresholds")
        precision, recall, thr = skm.precision_recall_curve(t, sc)
        near_all(pr["precision"], precision, f"pr_curves[{c}].precision")
        near_all(pr["recall"], recall, f"pr_curves[{c}].recall")
        near_all(pr["thresholds"], thr, f"pr_curves[{c}].thresholds")


def two_blobs(n, seed):
    """Two overlapping classes "no" and "yes" of 2 features."""
    rng = random.Random(seed)
    x, labels = [], []
    for i in range(n):
        c = i % 2
        x.append([round(rng.gauss(c, 0.9), 3), round(rng.gauss(-c, 0.9), 3)])
        labels.append(["no", "yes"][c])
    return x, labels


BINARY_SPECS = {
    "sigmoid": {"name": "bin-sigmoid", "inputs": 2, "loss": "binary_cross_entropy", "seed": 3,
                "layers": [{"type": "dense", "units": 8, "activation": "tanh"},
                           {"type": "dense", "units": 1, "activation": "sigmoid"}]},
    "softmax": {"name": "bin-softmax", "inputs": 2, "loss": "cross_entropy", "seed": 3,
                "layers": [{"type": "dense", "units": 8, "activation": "tanh"},
                           {"type": "dense", "units": 2, "activation": "softmax"}]},
}


@pytest.mark.parametrize("head", sorted(BINARY_SPECS))
def test_binary_metrics_equal_sklearn(shared, head):
    client = shared.client
    x, labels = two_blobs(200, seed=11)
    train_ds = client.create_dataset("bin-train", x, labels=labels)
    hx, hlabels = two_blobs(120, seed=12)
    held = client.create_dataset("bin-held", hx, labels=hlabels)
    model = train(client, BINARY_SPECS[head], train_ds["id"])

    ev = client.evaluate(model, held["id"])
    assert (ev["model"], ev["dataset"], ev["task"], ev["rows"]) == (model, held["id"],
                                                                    "classification", 120)
    assert ev["version"] == client.get_model(model)["version"] and ev["created_at"]
    m = ev["metrics"]
    assert m["labels"] == ["no", "yes"]
    out = client.predict(model, hx)["outputs"]
    check_classification(m, out, [held["classes"].index(v) for v in hlabels], 2)
    assert 0.6 < m["accuracy"] < 1.0  # the classes overlap: a test that can tell


def test_multiclass_metrics_equal_sklearn(shared):
    client = shared.client
    rows = iris_rows(per_class=40, seed=21, spread=0.6)
    train_ds = client.create_dataset("iris-train", [r[0] for r in rows],
                                     labels=[r[1] for r in rows])
    held_rows = iris_rows(per_class=30, seed=22, spread=0.6)
    held = client.create_dataset("iris-held", [r[0] for r in held_rows],
                                 labels=[r[1] for r in held_rows])
    spec = {"name": "iris-eval", "inputs": 4, "loss": "cross_entropy", "seed": 4,
            "normalize": True, "layers": [{"type": "dense", "units": 8, "activation": "relu"},
                                          {"type": "dense", "units": 3, "activation": "softmax"}]}
    model = train(client, spec, train_ds["id"], epochs=10)
    ev = client.evaluate(model, held["id"])
    m = ev["metrics"]
    assert m["labels"] == IRIS_CLASSES and ev["rows"] == 90
    out = client.predict(model, [r[0] for r in held_rows])["outputs"]
    check_classification(m, out, [IRIS_CLASSES.index(r[1]) for r in held_rows], 3)
    assert m["roc_auc_note"] is None and len(m["roc_curves"]) == 3


def test_one_class_only_leaves_roc_auc_null_and_says_why(shared):
    client = shared.client
    x, labels = two_blobs(100, seed=31)
    train_ds = client.create_dataset("bin-train-1", x, labels=[int(v == "yes") for v in labels])
    model = train(client, BINARY_SPECS["sigmoid"], train_ds["id"], epochs=3)
    yes = [r for r, v in zip(*two_blobs(40, seed=32)) if v == "yes"]
    # integer labels, all 1: a dataset of two classes whose rows are all of one
    held = client.create_dataset("only-ones", yes, labels=[1] * len(yes))
    assert held["outputs"] == 2
    m = client.evaluate(model, held["id"])["metrics"]
    assert m["roc_auc"] is None and "one class only" in m["roc_auc_note"]
    assert m["roc_curves"][0]["fpr"] == [] and m["per_class"][0]["support"] == 0
    check_classification(m, client.predict(model, yes)["outputs"], [1] * len(yes), 2)
    # named classes: a dataset naming "yes" alone is a dataset of one class
    named = client.create_dataset("only-yes", yes, labels=["yes"] * len(yes))
    status, doc = evaluate_raw(client, model, {"dataset": named["id"]})
    assert status == 422 and doc["error"]["field"] == "dataset", doc


# ---- regression ----------------------------------------------------------------------------


def check_regression(m, outputs, target):
    p = np.asarray(outputs, dtype=np.float64)
    t = np.asarray(target, dtype=np.float32).astype(np.float64)
    names = ("mse", "rmse", "mae", "median_absolute_error", "r2", "explained_variance")

    def numbers(tt, pp):
        return [skm.mean_squared_error(tt, pp), skm.mean_squared_error(tt, pp, squared=False),
                skm.mean_absolute_error(tt, pp), skm.median_absolute_error(tt, pp),
                skm.r2_score(tt, pp), skm.explained_variance_score(tt, pp)]

    for name, want in zip(names, numbers(t, p)):
        near(m[name], want, name)
    maxes = [skm.max_error(t[:, c], p[:, c]) for c in range(t.shape[1])]
    near(m["max_error"], max(maxes), "max_error")
    assert (m["r2"] is None) == (m["r2_note"] is not None)
    for c, o in enumerate(m["outputs"]):
        assert o["output"] == c
        for name, want in zip(names, numbers(t[:, c], p[:, c])):
            near(o[name], want, f"outputs[{c}].{name}")
        near(o["max_error"], maxes[c], f"outputs[{c}].max_error")
        q = o["residual_quantiles"]
        near_all(q["values"], np.quantile(t[:, c] - p[:, c], q["levels"]),
                 f"outputs[{c}].residual_quantiles")
    sample = m["sample"]
    n = len(t)
    k = min(n, 2000)
    assert sample["rows"] == [i * n // k for i in range(k)]
    # both as float32: the dataset's targets and the outputs are
    assert np.array_equal(np.float32(sample["actual"]), np.float32(t[sample["rows"]]))
    assert np.array_equal(np.float32(sample["predicted"]), np.float32(p[sample["rows"]]))


def plane(n, seed, outputs=1):
    rng = random.Random(seed)
    x = [[round(rng.uniform(-2, 2), 3) for _ in range(3)] for _ in range(n)]
    y = [[round(a - 0.5 * b + c * c / 4 + rng.gauss(0, 0.3) + o, 3) for o in range(outputs)]
         for a, b, c in x]
    return x, y


LINEAR = {"inputs": 3, "loss": "mse", "seed": 2, "layers": [{"type": "dense", "units": 1}]}


def linear(client, name, x, y, epochs):
    """A one-layer regression model trained on (x, y): (model id, dataset)."""
    ds = client.create_dataset(f"{name}-train", x, targets=y)
    return train(client, {"name": name, **LINEAR}, ds["id"], epochs=epochs), ds


@pytest.mark.parametrize("outputs", [1, 2])
def test_regression_metrics_equal_sklearn(shared, outputs):
    client = shared.client
    x, y = plane(300, seed=41, outputs=outputs)
    train_ds = client.create_dataset("plane-train", x, targets=y)
    hx, hy = plane(2500, seed=42, outputs=outputs)  # more rows than the sample keeps
    held = client.create_dataset("plane-held", hx, targets=hy)
    spec = {"name": "plane", "inputs": 3, "loss": "mse", "seed": 2,
            "layers": [{"type": "dense", "units": 16, "activation": "tanh"},
                       {"type": "dense", "units": outputs}]}
    model = train(client, spec, train_ds["id"], epochs=10)
    ev = client.evaluate(model, held["id"])
    assert ev["task"] == "regression" and ev["rows"] == 2500
    out = client.predict(model, hx)["outputs"]
    check_regression(ev["metrics"], out, hy)
    assert len(ev["metrics"]["sample"]["rows"]) == 2000


def test_constant_targets_score_r2_as_sklearn(shared):
    client = shared.client
    x, y = plane(100, seed=51)
    model, _ = linear(client, "const", x, y, epochs=2)
    const = client.create_dataset("const", x[:10], targets=[[1.5]] * 10)
    m = client.evaluate(model, const["id"])["metrics"]
    assert m["r2"] == 0.0 and m["explained_variance"] == 0.0  # force_finite
    one = client.create_dataset("one", x[:1], targets=[[1.5]])
    m = client.evaluate(model, one["id"])["metrics"]
    assert m["r2"] is None and "fewer than 2 rows" in m["r2_note"]
    check_regression(m, client.predict(model, x[:1])["outputs"], [[1.5]])


# ---- stored, listed, read ------------------------------------------------------------------


def test_evaluations_are_stored_listed_and_read(shared):
    client = shared.client
    model, ds = linear(client, "stored", *plane(60, seed=61), epochs=2)
    v1 = client.get_model(model)["version"]
    job = client.create_job(model, ds["id"], epochs=2, seed=2)
    assert client.wait(job["id"])["state"] == "succeeded"
    assert client.evaluations(model) == []
    first = client.evaluate(model, ds["id"], version=v1)
    second = client.evaluate(model, ds["id"])
    assert first["version"] == v1 and second["version"] > v1
    assert first["metrics"]["mse"] != second["metrics"]["mse"]
    status, _, raw = client.request("GET", f"/v1/models/{model}/evaluations/{first['id']}")
    assert status == 200 and raw == first
    listed = client.evaluations(model)
    assert [e["id"] for e in listed] == [first["id"], second["id"]]
    for e, full in zip(listed, (first, second)):
        assert "metrics" not in e
        assert e["summary"] == {k: full["metrics"][k] for k in ("rmse", "mae", "r2")}
        assert {k: e[k] for k in e if k != "summary"} == \
            {k: full[k] for k in full if k != "metrics"}
    # an evaluation outlives its dataset, not its model
    client.delete_dataset(ds["id"])
    assert client.get_evaluation(model, first["id"]) == first
    client.delete_model(model)
    status, _, doc = client.request("GET", f"/v1/models/{model}/evaluations")
    assert status == 404 and doc["error"]["field"] == "id"


def test_answers_hold_no_nan(shared):
    client = shared.client
    x, labels = two_blobs(60, seed=71)
    model = train(client, BINARY_SPECS["sigmoid"],
                  client.create_dataset("nan-train", x, labels=[int(v == "yes") for v in labels])
                  ["id"], epochs=2)
    # every row of class 1: ROC AUC and the class-0 numbers undefined
    ev = client.evaluate(model, client.create_dataset("nan-ones", x[:6], labels=[1] * 6)["id"])
    assert ev["metrics"]["roc_auc"] is None
    for path in (f"/v1/models/{model}/evaluations/{ev['id']}", f"/v1/models/{model}/evaluations"):
        with urllib.request.urlopen(client._prepare("GET", path)) as r:
            no_nan(r.read().decode())


# ---- refusals -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained(shared):
    """A trained regression model, an untrained one, and datasets to point at."""
    client = shared.client
    model, ds = linear(client, "err", *plane(40, seed=81), epochs=1)
    untrained = client.create_model({"name": "raw", **LINEAR})
    narrow = client.create_dataset("narrow", [[1.0, 2.0]], targets=[[1.0]])
    labelled = client.create_dataset("labelled", [[1.0, 2.0, 3.0]] * 2, labels=["a", "b"])
    return {"model": model, "ds": ds["id"], "untrained": untrained["id"],
            "narrow": narrow["id"], "labelled": labelled["id"]}


@pytest.mark.parametrize("body, field", [
    ({}, "dataset"),
    ({"dataset": 0}, "dataset"),
    ({"dataset": "1"}, "dataset"),
    ({"dataset": 1.5}, "dataset"),
    ({"dataset": 1, "version": 0}, "version"),
    ({"dataset": 1, "version": "new"}, "version"),
    ({"dataset": 1, "rows": 5}, "rows"),
    ([1], None),
])
def test_bad_bodies_are_400_naming_the_field(shared, trained, body, field):
    status, doc = evaluate_raw(shared.client, trained["model"], body)
    assert status == 400 and doc["error"]["code"] == "invalid_argument", doc
    if field is not None:
        assert doc["error"]["field"] == field, doc


def test_missing_things_are_404_and_untrained_409(shared, trained):
    client = shared.client
    cases = [
        (999999, {"dataset": trained["ds"]}, 404, "id", "no model with id 999999"),
        (trained["model"], {"dataset": 999999}, 404, "dataset", "no dataset with id 999999"),
        (trained["model"], {"dataset": trained["ds"], "version": 999}, 404, "version",
         "has no version 999"),
        (trained["untrained"], {"dataset": trained["ds"]}, 409, "id",
         f"model {trained['untrained']} has not been trained yet"),
        (trained["model"], {"dataset": trained["narrow"]}, 422, "dataset", "has 2 features"),
        (trained["model"], {"dataset": trained["labelled"]}, 422, "dataset",
         "is a classification dataset"),
    ]
    for model, body, status, field, message in cases:
        got, doc = evaluate_raw(client, model, body)
        assert (got, doc["error"]["field"]) == (status, field), doc
        assert message in doc["error"]["message"], doc
    status, _, doc = client.request("GET", f"/v1/models/{trained['model']}/evaluations/999")
    assert status == 404 and doc["error"]["field"] == "eid", doc
    status, _, doc = client.request("GET", "/v1/models/999999/evaluations/1")
    assert status == 404 and doc["error"]["field"] == "id", doc
    # an evaluation is read through its own model only
    ev = client.evaluate(trained["model"], trained["ds"])
    status, _, doc = client.request("GET",
                                    f"/v1/models/{trained['untrained']}/evaluations/{ev['id']}")
    assert status == 404 and doc["error"]["field"] == "eid", doc


def test_a_dataset_over_the_row_cap_is_422(shared, trained):
    client = shared.client
    n = 1_000_001  # EVALUATION_MAX_ROWS + 1
    big = client.create_dataset("big", [[0.0, 1.0, 2.0]] * n, targets=[[0.0]] * n)
    status, doc = evaluate_raw(client, trained["model"], {"dataset": big["id"]})
    assert status == 422 and doc["error"]["field"] == "dataset", doc
    assert doc["error"]["message"] == (f"dataset {big['id']} has 1000001 rows; an evaluation "
                                       "reads at most 1000000 rows")
    client.delete_dataset(big["id"])


def test_more_predictions_than_the_cap_is_422(shared):
    client = shared.client
    n = (1 << 24) // 256 + 1  # EVALUATION_MAX_VALUES / 256 classes, and one row more
    ds = client.create_dataset("wide", [[float(i % 256)] for i in range(n)],
                               labels=[i % 256 for i in range(n)])
    small = client.create_dataset("wide-small", [[0.0], [1.0]], labels=[0, 255])
    model = train(client, {"name": "wide", "inputs": 1, "loss": "cross_entropy",
                           "layers": [{"type": "dense", "units": 256, "activation": "softmax"}]},
                  small["id"], epochs=1)
    status, doc = evaluate_raw(client, model, {"dataset": ds["id"]})
    assert status == 422 and doc["error"]["field"] == "dataset", doc
    assert doc["error"]["message"] == (
        f"dataset {ds['id']} has {n} rows and model {model} has 256 outputs; an evaluation "
        "predicts at most 16777216 values")


def test_too_many_classes_is_422(shared):
    client = shared.client
    ds = client.create_dataset("many", [[0.0], [1.0]], labels=[0, 256])  # 257 classes
    model = train(client, {"name": "many", "inputs": 1, "loss": "cross_entropy",
                           "layers": [{"type": "dense", "units": 257, "activation": "softmax"}]},
                  ds["id"], epochs=1)
    status, doc = evaluate_raw(client, model, {"dataset": ds["id"]})
    assert status == 422 and doc["error"]["field"] == "dataset", doc
    assert "has 257 classes; an evaluation needs 2 to 256" in doc["error"]["message"], doc


def test_class_names_must_match_the_weights(shared):
    client = shared.client
    x, labels = two_blobs(60, seed=91)
    model = train(client, BINARY_SPECS["sigmoid"],
                  client.create_dataset("names-train", x, labels=labels)["id"], epochs=1)
    other = client.create_dataset("names-other", x, labels=["cat" if v == "no" else "dog"
                                                            for v in labels])
    status, doc = evaluate_raw(client, model, {"dataset": other["id"]})
    assert status == 422 and doc["error"]["field"] == "dataset", doc
    assert '["cat","dog"]' in doc["error"]["message"], doc


# ---- trainctl -----------------------------------------------------------------------------


def trainctl(url, *args):
    binary = os.environ.get("TRAINCTL_BIN", os.path.join(ROOT, "build", "trainctl"))
    return subprocess.run([binary, "--server", url, *args], capture_output=True, text=True,
                          timeout=60)


def test_trainctl_models_evaluate(shared):
    client = shared.client
    rows = iris_rows(per_class=10, seed=101)
    ds = client.create_dataset("ctl-iris", [r[0] for r in rows], labels=[r[1] for r in rows])
    spec = {"name": "ctl-iris", "inputs": 4, "loss": "cross_entropy", "seed": 4,
            "normalize": True, "layers": [{"type": "dense", "units": 3, "activation": "softmax"}]}
    model = train(client, spec, ds["id"], epochs=5)
    r = trainctl(shared.url, "models", "evaluate", str(model), "--dataset", str(ds["id"]))
    assert r.returncode == 0, r.stderr
    ev = client.evaluations(model)[-1]
    assert f"evaluation {ev['id']} on 30 rows: accuracy " in r.stdout, r.stdout
    assert all(name in r.stdout for name in IRIS_CLASSES), r.stdout
    r = trainctl(shared.url, "--json", "models", "evaluate", str(model), "--dataset",
                 str(ds["id"]), "--version", str(ev["version"]))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["metrics"]["accuracy"] == ev["summary"]["accuracy"]
    r = trainctl(shared.url, "models", "evaluate", str(model))
    assert r.returncode == 2 and "--dataset" in r.stderr, r.stderr
    r = trainctl(shared.url, "models", "evaluate", str(model), "--dataset", "999999")
    assert r.returncode == 1 and "no dataset with id 999999" in r.stderr, r.stderr


def test_read_token_reads_evaluations_but_cannot_make_one(spawn):
    d = spawn(extra=("--token", "full", "--read-token", "read"))
    full, read = Client(d.url, token="full"), Client(d.url, token="read")
    model = full.create_model({"name": "auth", **LINEAR})
    status, _, doc = read.request("POST", f"/v1/models/{model['id']}/evaluate", {"dataset": 1})
    assert status == 403 and doc["error"]["code"] == "forbidden", doc
    assert read.evaluations(model["id"]) == []
    status, _, doc = read.request("GET", f"/v1/models/{model['id']}/evaluations/1")
    assert status == 404 and doc["error"]["field"] == "eid", doc
