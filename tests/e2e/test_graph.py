"""Graph models (docs/graph.md): a spec of inputs, nodes and output is
stored, shown, trained, predicted through /v1 and /v2, refused by field
when it does not compile, and a job killed mid-training resumes to the very
weights of an uninterrupted run."""
import json
import math
import random

import pytest

from test_crash import wait_for_epoch
from test_trainctl import trainctl
from traind_client import TraindError


def residual_spec(name="res-net"):
    """A small residual net on 8 features: x -> h1 -> h2, h1 + h2 -> y."""
    return {
        "name": name, "inputs": {"x": [8]}, "loss": "cross_entropy", "seed": 3,
        "normalize": True,
        "nodes": [
            {"name": "h1", "op": "dense", "inputs": ["x"], "units": 16, "activation": "relu"},
            {"name": "h2", "op": "dense", "inputs": ["h1"], "units": 16, "activation": "relu"},
            {"name": "r", "op": "add", "inputs": ["h1", "h2"]},
            {"name": "ln", "op": "layernorm", "inputs": ["r"]},
            {"name": "y", "op": "dense", "inputs": ["ln"], "units": 3, "activation": "softmax"},
        ],
        "output": "y",
    }


def conv_spec(name="conv-net"):
    """A conv net on 8x8 one-channel images, with batchnorm and dropout."""
    return {
        "name": name, "inputs": {"img": [1, 8, 8]}, "loss": "cross_entropy", "seed": 4,
        "nodes": [
            {"name": "c1", "op": "conv2d", "inputs": ["img"], "filters": 4, "kernel": 3,
             "padding": 1},
            {"name": "bn", "op": "batchnorm", "inputs": ["c1"]},
            {"name": "a", "op": "relu", "inputs": ["bn"]},
            {"name": "p", "op": "maxpool", "inputs": ["a"], "size": 2},
            {"name": "f", "op": "flatten", "inputs": ["p"]},
            {"name": "d", "op": "dropout", "inputs": ["f"], "rate": 0.2},
            {"name": "z", "op": "dense", "inputs": ["d"], "units": 3},
            {"name": "y", "op": "softmax", "inputs": ["z"]},
        ],
        "output": "y",
    }


def classes(rows=240, seed=5):
    """8 features; the class is which of three sums is largest."""
    rng = random.Random(seed)
    x = [[round(rng.uniform(-1, 1), 3) for _ in range(8)] for _ in range(rows)]
    y = []
    for r in x:
        s = [r[0] + r[1] + r[2], r[3] + r[4] + r[5], r[6] + r[7]]
        y.append(s.index(max(s)))
    return x, y


def images(rows=300, seed=6):
    """8x8 images, flattened: a bright row, column or diagonal on noise."""
    rng = random.Random(seed)
    x, y = [], []
    for i in range(rows):
        k, at = i % 3, rng.randrange(8)
        img = [round(rng.uniform(-0.3, 0.3), 3) for _ in range(64)]
        for j in range(8):
            img[at * 8 + j if k == 0 else j * 8 + at if k == 1 else j * 9] += 2
        x.append(img)
        y.append(k)
    return x, y


def train(client, spec, data, **config):
    ds = client.create_dataset(spec["name"], data[0], labels=data[1])
    model = client.create_model(spec)
    job = client.create_job(model["id"], ds["id"], **config)
    return model, client.wait(job["id"], timeout=120)


def check_node_diagnostics(client, model_id, rows, spec):
    """Every epoch's row has a graph's per-node diagnostics: parameter
    nodes' gradient and weight norms, relu nodes' dead fractions; the last
    weight norms are those of the published weights (as the trace shows them)."""
    for row in rows:
        nodes = row["layers"]
        assert [n["node"] for n in nodes] == [n["name"] for n in spec["nodes"]], row
        for n, s in zip(nodes, spec["nodes"]):
            assert n["op"] == s["op"] and set(n) == {"node", "op", "activation", "grad_norm",
                                                     "weight_norm", "dead_fraction"}, n
            has_params = s["op"] in ("dense", "conv2d", "layernorm", "batchnorm", "embedding")
            assert (n["grad_norm"] is not None and n["grad_norm"] > 0) == has_params, n
            assert (n["weight_norm"] is not None) == has_params, n
            relu = s["op"] == "relu" or s.get("activation") == "relu"
            assert (n["dead_fraction"] is not None) == relu, n
            if relu:
                assert 0 <= n["dead_fraction"] <= 1, n
    status, _, doc = client.request("POST", f"/v1/models/{model_id}/trace",
                                    {"input": [0.0] * 8, "target": 0})
    assert status == 200, doc
    traced = {n["name"]: n for n in doc["nodes"]}
    for n in rows[-1]["layers"]:
        if n["weight_norm"] is None:
            continue
        params = traced[n["node"]]["params"].values()
        want = math.sqrt(sum(p["value"]["norm"] ** 2 for p in params))
        assert math.isclose(n["weight_norm"], want, rel_tol=1e-5), (n, want)


def check_graph_gradcheck(g, names, samples):
    """A graph model's check: its parameter nodes by name, each within the
    threshold, the totals theirs."""
    assert g["pass"] is True and "layers" not in g, g
    assert g["samples"] == samples and g["epsilon"] == 1e-3, g
    assert [n["name"] for n in g["nodes"]] == names, g
    for n in g["nodes"]:
        assert set(n) == {"name", "op", "error", "checked", "skipped"}, n
        assert n["checked"] > 0 and 0 <= n["error"] < g["threshold"], n
    assert g["checked"] == sum(n["checked"] for n in g["nodes"])
    assert g["max_error"] == max(n["error"] for n in g["nodes"])
    assert g["loss"] > 0


def test_residual_graph_trains_predicts_and_answers_v2(daemon):
    client = daemon.client
    spec = residual_spec()
    data = classes()
    model, job = train(client, spec, data, epochs=30, batch_size=16, seed=2,
                       optimizer={"type": "adam", "lr": 0.01}, validation_split=0.2)
    # stored and shown as given, every default written out
    shown = client.get_model(model["id"])
    assert shown["spec"]["nodes"][0] == dict(spec["nodes"][0], init="auto"), shown
    assert shown["spec"]["inputs"] == {"x": [8]} and shown["spec"]["output"] == "y"
    assert shown["parameters"] == 8 * 16 + 16 + 16 * 16 + 16 + 2 * 16 + 16 * 3 + 3
    assert job["state"] == "succeeded", job
    rows = client.metrics(job["id"])
    assert len(rows) == 30 and rows[-1]["loss"] < rows[0]["loss"] / 2, rows
    check_node_diagnostics(client, model["id"], rows, spec)
    out = client.predict(model["id"], data[0][:20])["outputs"]
    assert all(abs(sum(p) - 1) < 1e-5 for p in out)
    right = sum(p.index(max(p)) == c for p, c in zip(out, data[1][:20]))
    assert right >= 16, out
    status, _, doc = client.request(
        "POST", f"/v2/models/{model['id']}/infer",
        json.dumps({"inputs": [{"name": "input", "shape": [2, 8], "datatype": "FP32",
                                "data": data[0][:2]}]}).encode(), "application/json")
    assert status == 200, doc
    assert doc["outputs"][0]["shape"] == [2, 3]
    got = doc["outputs"][0]["data"]
    assert all(abs(a - b) < 1e-6 for a, b in zip(got, [v for r in out[:2] for v in r])), got
    # its weights file imports as a graph model that predicts the same
    version = client.get_model(model["id"])["version"]
    blob = client.export_weights(model["id"], version)
    imported = client.import_model(blob)
    assert imported["spec"] == shown["spec"] and imported["parameters"] == shown["parameters"]
    assert client.predict(imported["id"], data[0][:20])["outputs"] == out
    assert client.export_weights(imported["id"], version) == blob
    # an evaluation reads the same predictions
    ev = client.evaluate(model["id"], job["dataset"])
    assert ev["rows"] == len(data[0]) and ev["metrics"]["accuracy"] > 0.8, ev
    # the trace runs the model's own graph, the gradient check its loss
    # (ONNX export: tests/e2e/test_onnx.py)
    check_graph_gradcheck(client.gradcheck(model["id"], job["dataset"]),
                          ["h1", "h2", "ln", "y"], 8)
    r = trainctl(daemon.url, "models", "gradcheck", str(model["id"]), "--dataset",
                 str(job["dataset"]))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["NODE", "OP", "ERROR", "CHECKED", "SKIPPED"]
    assert [line.split()[:2] for line in lines[1:5]] == \
        [["h1", "dense"], ["h2", "dense"], ["ln", "layernorm"], ["y", "dense"]]
    assert lines[5].startswith("pass: largest relative error ")
    status, _, doc = client.request("POST", f"/v1/models/{model['id']}/trace",
                                    {"input": data[0][0], "target": 0})
    assert status == 200 and [n["name"] for n in doc["nodes"]] == \
        ["x", "h1", "h2", "r", "ln", "y"], doc


def test_embedding_beside_numbers(client):
    """Two inputs: a row's first 3 columns are numbers, its last a category code."""
    rng = random.Random(9)
    x = [[round(rng.uniform(-1, 1), 3) for _ in range(3)] + [i % 4] for i in range(200)]
    y = [[(-1.5, -0.5, 0.5, 1.5)[r[3]] + r[0]] for r in x]
    spec = {
        "name": "embed-net", "inputs": {"num": [3], "code": [1]}, "loss": "mse", "seed": 1,
        "normalize": True,
        "nodes": [
            {"name": "e", "op": "embedding", "inputs": ["code"], "categories": 4, "dim": 2},
            {"name": "ef", "op": "flatten", "inputs": ["e"]},
            {"name": "cat", "op": "concat", "inputs": ["num", "ef"]},
            {"name": "h", "op": "dense", "inputs": ["cat"], "units": 8, "activation": "tanh"},
            {"name": "y", "op": "dense", "inputs": ["h"], "units": 1},
        ],
        "output": "y",
    }
    ds = client.create_dataset("embed", x, targets=y)
    model = client.create_model(spec)
    job = client.wait(client.create_job(model["id"], ds["id"], epochs=40, batch_size=16,
                                        optimizer={"type": "adam", "lr": 0.02})["id"],
                      timeout=120)
    assert job["state"] == "succeeded", job
    rows = client.metrics(job["id"])
    assert rows[-1]["loss"] < rows[0]["loss"] / 4, rows
    # a code outside the embedding's categories is the client's error
    with pytest.raises(TraindError) as e:
        client.predict(model["id"], [[0, 0, 0, 7]])
    assert e.value.status == 400 and e.value.field == "inputs", e.value
    # and a dataset whose codes are out of range fails its job, naming the cell
    bad = client.create_dataset("embed-bad", [r[:3] + [5] for r in x[:20]], targets=y[:20])
    failed = client.wait(client.create_job(model["id"], bad["id"], epochs=1)["id"], timeout=60)
    assert failed["state"] == "failed" and "row 0 column 3" in failed["error"], failed


def test_graph_specs_are_refused_by_field(client):
    cases = [
        (lambda s: s["nodes"][1].update(units=8), "nodes[2].inputs[1]",
         "shape [8] does not match [16]"),
        (lambda s: s["nodes"][2].update(inputs=["h1", "nope"]), "nodes[2].inputs[1]",
         'unknown name "nope"'),
        (lambda s: s["nodes"][0].update(inputs=["r"]), "nodes[0].inputs[0]", "cycle"),
        (lambda s: s["nodes"][3].update(op="groupnorm"), "nodes[3].op", "must be one of"),
        (lambda s: s["nodes"][2].update(units=4), "nodes[2].units", "does not apply"),
        (lambda s: s.update(inputs={"x": [0]}), "inputs.x", ""),
        (lambda s: s.update(output="h2"), "output", "softmax"),
    ]
    for change, field, says in cases:
        spec = residual_spec("bad-graph")
        change(spec)
        status, _, doc = client.request("POST", "/v1/models", spec)
        assert status == 400, (spec, doc)
        assert doc["error"]["field"] == field and says in doc["error"]["message"], doc


def test_conv_net_killed_mid_training_resumes_to_identical_weights(spawn, tmp_path):
    data = images()
    probe = data[0][:16]
    job_config = {"epochs": 40, "batch_size": 8, "seed": 11, "checkpoint_every": 3,
                  "validation_split": 0.1, "optimizer": {"type": "adam", "lr": 0.005}}

    ref = spawn(db=tmp_path / "ref.sqlite").client
    model, job = train(ref, conv_spec(), data, **job_config)
    assert job["state"] == "succeeded", job
    expected = ref.predict(model["id"], probe)["outputs"]
    rows = ref.metrics(job["id"])
    assert rows[-1]["val_accuracy"] > 0.9, rows[-1]
    assert rows[-1]["layers"][0]["node"] == "c1" and rows[-1]["layers"][0]["grad_norm"] > 0
    check_graph_gradcheck(ref.gradcheck(model["id"], job["dataset"], samples=16),
                          ["c1", "bn", "z"], 16)

    db = tmp_path / "crash.sqlite"
    d = spawn(db=db)
    ds = d.client.create_dataset("img", data[0], labels=data[1])
    model = d.client.create_model(conv_spec())
    job = d.client.create_job(model["id"], ds["id"], **job_config)
    seen = wait_for_epoch(d.client, job["id"], 7)
    d.kill9()
    assert seen["state"] == "running" and seen["epoch"] < 40, "make the job longer"
    client = spawn(db=db).client
    done = client.wait(job["id"], timeout=120)
    assert done["state"] == "succeeded" and done["restarts"] == 1, done
    assert client.predict(model["id"], probe)["outputs"] == expected
    # the epochs run again after the restart report what the first run did
    assert [r["layers"] for r in client.metrics(job["id"])] == [r["layers"] for r in rows]
