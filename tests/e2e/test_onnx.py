"""GET /v1/models/{id}/onnx, checked by two ONNX implementations traind's
authors did not write: Debian's python3-onnx (onnx.checker, full_check: the
schema, every operator's rules and shape inference) and ONNX Runtime
(onnxruntime-node from npm, tests/onnx/run.js). For every activation, every
loss head, with and without standardization and dropout, ONNX Runtime's
outputs on held-out rows equal traind's predict within 1e-5 relative (plus
1e-6 absolute, for outputs near 0 where float32 sums in another order cancel
differently), and its labels equal predict's labels exactly."""
import json
import math
import os
import random
import subprocess

import onnx
import pytest

from datasets import IRIS_CLASSES, XOR_SPEC, iris_csv, iris_rows

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RUN_JS = os.path.join(ROOT, "tests", "onnx", "run.js")
REL, ABS = 1e-5, 1e-6


@pytest.fixture(scope="module")
def client(shared):
    return shared.client


def dense(units, activation="linear", **kw):
    return dict(type="dense", units=units, activation=activation, **kw)


def regression_data(rows, inputs, outputs, seed):
    """Smooth targets of features on different scales (standardization matters)."""
    rng = random.Random(seed)
    x = [[round(rng.uniform(-2, 2) * (1 + 3 * j), 3) for j in range(inputs)] for _ in range(rows)]
    y = [[math.sin(sum(r) / (4 * inputs)) * (k + 1) / outputs for k in range(outputs)] for r in x]
    return x, y


# name: (spec fields, data kind); each activation appears, and each loss head
MODELS = {
    "linear-head-dropout": (dict(loss="mse", normalize=True,
                                 layers=[dense(8, "tanh"), {"type": "dropout", "rate": 0.2},
                                         dense(2)]), "regression"),
    "relu": (dict(loss="mse", normalize=False, layers=[dense(8, "relu"), dense(1)]),
             "regression"),
    "leaky-relu-sigmoid-head": (dict(loss="mse", normalize=True,
                                     layers=[dense(8, "leaky_relu", slope=0.2),
                                             dense(1, "sigmoid")]), "regression"),
    "sigmoid-tanh": (dict(loss="mse", normalize=True,
                          layers=[dense(6, "sigmoid"), dense(4, "tanh"), dense(1, "tanh")]),
                     "regression"),
    "softmax-hidden": (dict(loss="mse", normalize=False,
                            layers=[dense(5, "softmax"), dense(1)]), "regression"),
    "cross-entropy": (dict(loss="cross_entropy", normalize=True,
                           layers=[dense(12, "relu"), {"type": "dropout", "rate": 0.1},
                                   dense(3, "softmax")]), "iris"),
    "bce-one-unit": (dict(loss="binary_cross_entropy", normalize=True,
                          layers=[dense(6, "tanh"), dense(1, "sigmoid")]), "two-class"),
    "bce-unit-per-class": (dict(loss="binary_cross_entropy", normalize=False,
                                layers=[dense(6, "relu"), dense(3, "sigmoid")]), "iris"),
}


@pytest.fixture(scope="module")
def data(client):
    """{kind: (dataset id, held-out rows)}"""
    x, y = regression_data(120, 3, 2, seed=11)
    one = [[r[0]] for r in y]
    reg2 = client.create_dataset("onnx-reg2", x[:90], targets=y[:90])
    reg1 = client.create_dataset("onnx-reg1", x[:90], targets=one[:90])
    rows = iris_rows(per_class=40)
    iris = client.upload_csv("onnx-iris", "species", iris_csv(rows[:90]))
    two = [r for r in rows if r[1] != IRIS_CLASSES[2]]
    binary = client.upload_csv("onnx-two", "species", iris_csv(two[:60]))
    return {"regression2": (reg2["id"], x[90:]), "regression1": (reg1["id"], x[90:]),
            "iris": (iris["id"], [r for r, _ in rows[90:]]),
            "two-class": (binary["id"], [r for r, _ in two[60:]])}


@pytest.fixture(scope="module")
def exported(client, data, tmp_path_factory):
    """{name: (model, held-out rows, predict's answer, ONNX file path)}: every
    model of MODELS trained a little and exported."""
    tmp = tmp_path_factory.mktemp("onnx")
    out = {}
    for name, (fields, kind) in MODELS.items():
        if kind == "regression":
            kind = "regression2" if fields["layers"][-1]["units"] == 2 else "regression1"
        ds, held_out = data[kind]
        inputs = len(held_out[0])
        model = client.create_model(dict(fields, name=f"onnx-{name}", inputs=inputs, seed=4))
        job = client.create_job(model["id"], ds, epochs=15, batch_size=16,
                                optimizer={"type": "adam", "lr": 0.02}, seed=5)
        assert client.wait(job["id"], timeout=60)["state"] == "succeeded"
        path = tmp / f"{name}.onnx"
        path.write_bytes(client.export_onnx(model["id"]))
        out[name] = (client.get_model(model["id"]), held_out,
                     client.predict(model["id"], held_out), str(path))
    return out


def run_ort(jobs):
    """ONNX Runtime on [(model file, rows)] → [{"output": rows, "label": [...]?}]."""
    installed = os.path.join(os.path.dirname(RUN_JS), "node_modules", "onnxruntime-node")
    assert os.path.isdir(installed), \
        "onnxruntime-node is not installed: make tests/onnx/node_modules/.package-lock.json"
    body = json.dumps([{"model": path, "inputs": rows} for path, rows in jobs])
    done = subprocess.run(["node", RUN_JS], input=body.encode(), capture_output=True,
                          timeout=120, cwd=os.path.dirname(RUN_JS))
    assert done.returncode == 0, done.stderr.decode()
    answers = []
    for ans in json.loads(done.stdout):
        outs = ans["outputs"]
        rows, width = outs["output"]["dims"]
        flat = outs["output"]["data"]
        got = {"output": [flat[i * width:(i + 1) * width] for i in range(rows)]}
        if "label" in outs:
            got["label"] = outs["label"]["data"]
        answers.append(got)
    return answers


def test_every_model_passes_the_onnx_checker(exported):
    for name, (model, _, _, path) in exported.items():
        m = onnx.load(path)
        onnx.checker.check_model(m, full_check=True)
        assert m.ir_version == 8
        assert {o.domain: o.version for o in m.opset_import}[""] == 17
        props = {p.key: p.value for p in m.metadata_props}
        assert props["model_id"] == str(model["id"]) and props["version"] == str(model["version"])
        assert props["inputs"] == str(model["spec"]["inputs"]) and props["traind_version"]
        assert m.model_version == model["version"] and m.producer_name == "traind"
        ops = [n.op_type for n in m.graph.node]
        assert "Dropout" not in ops
        assert ("Sub" in ops and "Div" in ops) == model["spec"]["normalize"], name
        outputs = [o.name for o in m.graph.output]
        if model["classes"]:
            assert outputs == ["output", "label"]
            assert json.loads(props["classes"]) == model["classes"]
        else:
            assert outputs == ["output"] and "classes" not in props


def test_onnx_runtime_predicts_as_traind(exported):
    names = list(exported)
    answers = run_ort([(exported[n][3], exported[n][1]) for n in names])
    for name, got in zip(names, answers):
        model, held_out, want, _ = exported[name]
        assert len(got["output"]) == len(held_out)
        for i, (a, b) in enumerate(zip(got["output"], want["outputs"])):
            for k, (u, v) in enumerate(zip(a, b)):
                assert math.isclose(u, v, rel_tol=REL, abs_tol=ABS), (name, i, k, u, v)
        if model["classes"]:
            assert got["label"] == want["labels"], name
        else:
            assert "label" not in got


def test_activations_and_heads_are_covered(exported):
    acts, heads = set(), set()
    for model, *_ in exported.values():
        spec = model["spec"]
        acts |= {l["activation"] for l in spec["layers"] if l["type"] == "dense"}
        heads.add((spec["loss"], spec["layers"][-1]["activation"]))
    assert acts == {"linear", "relu", "leaky_relu", "sigmoid", "tanh", "softmax"}
    assert {"mse", "cross_entropy", "binary_cross_entropy"} == {h for h, _ in heads}


def test_a_kept_version_exports_and_errors(client, exported, tmp_path):
    model = exported["relu"][0]
    versions = client.model_versions(model["id"])
    older = versions[-1]["version"]
    assert older < model["version"]
    m = onnx.load_from_string(client.export_onnx(model["id"], version=older))
    assert m.model_version == older
    assert {p.key: p.value for p in m.metadata_props}["version"] == str(older)

    def error(path, status, field):
        got, _, doc = client.request("GET", path)
        assert got == status and doc["error"]["field"] == field, doc
        return doc["error"]["message"]

    assert "no model" in error("/v1/models/999999/onnx", 404, "id")
    error(f"/v1/models/{model['id']}/onnx?version=999999", 404, "version")
    error(f"/v1/models/{model['id']}/onnx?version=abc", 400, "version")
    untrained = client.create_model(dict(XOR_SPEC, name="onnx-untrained"))
    assert "not been trained" in error(f"/v1/models/{untrained['id']}/onnx", 409, "id")


def test_imported_model_exports_the_same_onnx(client, exported):
    model = exported["cross-entropy"][0]
    blob = client.export_weights(model["id"], model["version"])
    copy = client.import_model(blob)
    a = onnx.load_from_string(client.export_onnx(model["id"]))
    b = onnx.load_from_string(client.export_onnx(copy["id"]))
    assert a.graph == b.graph
