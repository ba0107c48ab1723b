"""The trace of one example (POST /v1/models/{id}/trace) against PyTorch's
autograd on the same weights: every node's value and the gradient arriving
at it, the parameters' gradients, the loss; the output is predict's; a
table's record is encoded and its target standardized as training does;
every refusal names its field."""
import math

import numpy as np
import pytest
import torch

from datasets import IRIS_CLASSES, iris_rows

TOL = 1e-5  # float32 on both sides, other summation orders


def close(got, want, what):
    want = [float(v) for v in torch.as_tensor(want).reshape(-1)]
    assert len(got) == len(want), f"{what}: {len(got)} values, PyTorch {len(want)}"
    for i, (g, w) in enumerate(zip(got, want)):
        assert abs(g - w) <= TOL * max(1.0, abs(w)), f"{what}[{i}]: {g} vs PyTorch {w}"


def f32(values):
    """The floats as float32 (the answers print them in different digits)."""
    return list(np.float32(values))


def trace(client, model_id, body):
    status, _, doc = client.request("POST", f"/v1/models/{model_id}/trace", body)
    return status, doc


def train(client, spec, ds_id, epochs=10):
    model = client.create_model(spec)
    job = client.create_job(model["id"], ds_id, epochs=epochs, batch_size=16, seed=1,
                            optimizer={"type": "adam", "lr": 0.01})
    assert client.wait(job["id"], timeout=60)["state"] == "succeeded"
    return model["id"]


def by_name(doc):
    return {n["name"]: n for n in doc["nodes"]}


@pytest.fixture(scope="module")
def iris(shared):
    client = shared.client
    rows = iris_rows(per_class=20, seed=5)
    ds = client.create_dataset("iris-trace", [r[0] for r in rows], labels=[r[1] for r in rows])
    spec = {"name": "iris-trace", "inputs": 4, "loss": "cross_entropy", "seed": 3,
            "normalize": True,
            "layers": [{"type": "dense", "units": 6, "activation": "tanh"},
                       {"type": "dropout", "rate": 0.2},
                       {"type": "dense", "units": 5, "activation": "relu"},
                       {"type": "dense", "units": 3, "activation": "softmax"}]}
    return client, train(client, spec, ds["id"]), rows


def test_a_classifier_traced_equals_pytorch_autograd(iris):
    client, model, rows = iris
    x, cls = rows[7]
    status, doc = trace(client, model, {"input": x, "target": cls})
    assert status == 200, doc
    assert doc["model"] == model and doc["head"] == "softmax"
    assert doc["loss"]["type"] == "cross_entropy"
    pred = client.predict(model, [x])
    assert f32(doc["output"]["values"]) == f32(pred["outputs"][0]), "predict's, bit for bit"
    assert doc["label"] == pred["labels"][0]
    names = [n["name"] for n in doc["nodes"]]
    assert names == ["x", "layers[0]", "layers[0].tanh", "layers[1]", "layers[2]",
                     "layers[2].relu", "layers[3]"]
    n = by_name(doc)

    # PyTorch from the same standardized input and weights
    x0 = torch.tensor(n["x"]["value"]["values"], requires_grad=True)
    def dense(name, v):
        p = n[name]["params"]
        w = torch.tensor(p["weight"]["value"]["values"]).reshape(p["weight"]["value"]["shape"])
        b = torch.tensor(p["bias"]["value"]["values"])
        w.requires_grad_(), b.requires_grad_()
        return v @ w.T + b, w, b
    z0, w0, b0 = dense("layers[0]", x0)
    a0 = torch.tanh(z0)
    z2, w2, b2 = dense("layers[2]", a0)  # dropout: the identity at inference
    a2 = torch.relu(z2)
    z3, w3, b3 = dense("layers[3]", a2)
    for t in (z0, a0, z2, a2, z3):
        t.retain_grad()
    loss = torch.nn.functional.cross_entropy(z3.unsqueeze(0),
                                             torch.tensor([IRIS_CLASSES.index(cls)]))
    loss.backward()
    assert math.isclose(doc["loss"]["value"], loss.item(), rel_tol=TOL, abs_tol=TOL)
    close(doc["output"]["values"], torch.softmax(z3, 0), "output")
    for name, t in [("layers[0]", z0), ("layers[0].tanh", a0), ("layers[1]", a0),
                    ("layers[2]", z2), ("layers[2].relu", a2), ("layers[3]", z3)]:
        close(n[name]["value"]["values"], t, name + " value")
        close(n[name]["grad"]["values"], t.grad, name + " grad")
    close(n["x"]["grad"]["values"], x0.grad, "dL/dx")
    for name, w, b in [("layers[0]", w0, b0), ("layers[2]", w2, b2), ("layers[3]", w3, b3)]:
        close(n[name]["params"]["weight"]["grad"]["values"], w.grad, name + " dW")
        close(n[name]["params"]["bias"]["grad"]["values"], b.grad, name + " db")
    # the local derivative is what turns the arriving gradient into the next
    close(n["layers[0].tanh"]["local"]["values"], 1 - a0.detach() ** 2, "tanh'")
    close(n["layers[2].relu"]["local"]["values"], (z2 > 0).float(), "relu'")
    assert "local" not in n["layers[0]"] and n["layers[0]"]["rule"].startswith("z = x W^T + b")
    # a class by index is the same class; the raw input is the one sent
    again = trace(client, model, {"input": x, "target": IRIS_CLASSES.index(cls)})[1]
    assert again["loss"] == doc["loss"]
    close(n["x"]["raw"]["values"], torch.tensor(x), "raw input")


def test_large_tensors_are_summarized(shared):
    client = shared.client
    rows = iris_rows(per_class=5, seed=6)
    ds = client.create_dataset("iris-wide", [r[0] for r in rows], labels=[r[1] for r in rows])
    spec = {"name": "wide", "inputs": 4, "loss": "cross_entropy", "seed": 1,
            "layers": [{"type": "dense", "units": 300, "activation": "relu"},
                       {"type": "dense", "units": 3, "activation": "softmax"}]}
    model = train(client, spec, ds["id"], epochs=1)
    status, doc = trace(client, model, {"input": rows[0][0], "target": 0})
    assert status == 200, doc
    n = by_name(doc)
    big = n["layers[0]"]["params"]["weight"]["grad"]  # 300 x 4: summarized
    assert big["shape"] == [300, 4] and "values" not in big
    value = n["layers[0]"]["value"]  # 300: summarized, and the summary is right
    assert "values" not in value and value["min"] <= value["mean"] <= value["max"]
    small = n["layers[1]"]["params"]["bias"]["grad"]
    assert small["shape"] == [3] and len(small["values"]) == 3
    assert math.isclose(small["norm"], math.sqrt(sum(v * v for v in small["values"])),
                        rel_tol=1e-6)


TABLE = """island,mass,flipper,weight
Biscoe,4200,210,41.5
Dream,3400,190,33.0
Torgersen,3700,195,35.9
Biscoe,5000,220,49.1
Dream,,185,31.2
Biscoe,4700,215,45.0
Torgersen,3300,188,32.1
Dream,3600,192,34.8
"""


def test_a_table_record_is_encoded_and_its_target_standardized(shared):
    client = shared.client
    ds = client.upload_csv("trace-table", "weight", TABLE)
    spec = {"name": "trace-table", "loss": "mse", "seed": 2,
            "layers": [{"type": "dense", "units": 4, "activation": "tanh"},
                       {"type": "dense", "units": 1}]}
    model = train(client, spec, ds["id"], epochs=5)
    record = {"island": "Dream", "mass": None, "flipper": 188}
    docs = []
    for target in (30.0, 50.0):
        status, doc = trace(client, model, {"record": record, "target": target})
        assert status == 200, doc
        docs.append(doc)
    want = client.predict_records(model, [record])["outputs"][0][0]
    p = docs[0]["prediction"][0]
    assert math.isclose(p, want, rel_tol=1e-6), "the prediction in the target's units"
    # L = ((p - t) / std)^2 for each target: the ratio leaves std out
    ratio = math.sqrt(docs[0]["loss"]["value"] / docs[1]["loss"]["value"])
    assert math.isclose(ratio, abs(p - 30.0) / abs(p - 50.0), rel_tol=1e-4)
    # the input is the record encoded: a one-hot island among the features
    assert docs[0]["nodes"][0]["raw"] == docs[0]["nodes"][0]["value"]
    status, doc = trace(client, model, {"record": {"island": "Dream", "mass": "heavy"},
                                        "target": 30})
    assert status == 400 and doc["error"]["field"] == "record.mass", doc


@pytest.mark.parametrize("body,field", [
    ({"target": 0}, "input"),
    ({"input": [1, 2, 3, 4]}, "target"),
    ({"input": [1, 2, 3, 4], "record": {}, "target": 0}, "record"),
    ({"input": [1, 2, 3], "target": 0}, "input"),
    ({"input": [1, 2, "3", 4], "target": 0}, "input"),
    ({"input": [1, 2, 3, 4], "target": "daisy"}, "target"),
    ({"input": [1, 2, 3, 4], "target": 3}, "target"),
    ({"input": [1, 2, 3, 4], "target": 1.5}, "target"),
    ({"record": {"a": 1}, "target": 0}, "record"),
    ({"input": [1, 2, 3, 4], "target": 0, "version": 0}, "version"),
    ({"input": [1, 2, 3, 4], "target": 0, "extra": 1}, "extra"),
])
def test_bad_requests_name_their_field(iris, body, field):
    client, model, _ = iris
    status, doc = trace(client, model, body)
    assert status == 400, doc
    assert doc["error"]["field"] == field, doc


def test_missing_models_versions_and_untrained_ones(iris):
    client, model, _ = iris
    assert trace(client, 9999, {"input": [1, 2, 3, 4], "target": 0})[0] == 404
    status, doc = trace(client, model, {"input": [1, 2, 3, 4], "target": 0, "version": 999})
    assert status == 404 and doc["error"]["field"] == "version"
    fresh = client.create_model({"name": "untrained", "inputs": 4, "loss": "cross_entropy",
                                 "layers": [{"type": "dense", "units": 3,
                                             "activation": "softmax"}]})
    status, doc = trace(client, fresh["id"], {"input": [1, 2, 3, 4], "target": 0})
    assert status == 409 and doc["error"]["field"] == "id"


# ---- graph models: the model's own graph, node by node ----------------------------

def graph_model(client, spec, data):
    ds = client.create_dataset(spec["name"], data[0], labels=data[1])
    return train(client, spec, ds["id"], epochs=3)


def tensor_of(t):
    return torch.tensor(t["values"]).reshape(t["shape"])


def param(node, name):
    t = tensor_of(node["params"][name]["value"]).clone()
    return t.requires_grad_()


def check_nodes(n, values, what):
    """Every named value and its arriving gradient against PyTorch's."""
    for name, t in values.items():
        close(n[name]["value"]["values"], t, f"{what} {name} value")
        close(n[name]["grad"]["values"], t.grad, f"{what} {name} grad")


def test_a_residual_graph_traced_equals_pytorch_autograd(shared):
    from test_graph import classes, residual_spec
    client = shared.client
    data = classes(rows=120)
    model = graph_model(client, residual_spec("res-trace"), data)
    x, cls = data[0][4], data[1][4]
    status, doc = trace(client, model, {"input": x, "target": cls})
    assert status == 200, doc
    assert doc["head"] == "softmax" and [m["name"] for m in doc["nodes"]] == \
        ["x", "h1", "h2", "r", "ln", "y"]
    n = by_name(doc)
    assert "layer" not in n["h1"] and n["r"]["inputs"] == ["h1", "h2"]
    x0 = torch.tensor(n["x"]["value"]["values"], requires_grad=True)
    w1, b1, w2, b2 = (param(n["h1"], "weight"), param(n["h1"], "bias"),
                      param(n["h2"], "weight"), param(n["h2"], "bias"))
    g, be = param(n["ln"], "gain"), param(n["ln"], "bias")
    w3, b3 = param(n["y"], "weight"), param(n["y"], "bias")
    h1 = torch.relu(x0 @ w1.T + b1)
    h2 = torch.relu(h1 @ w2.T + b2)
    r = h1 + h2
    ln = torch.nn.functional.layer_norm(r, (16,), g, be, eps=1e-5)
    z = ln @ w3.T + b3  # the softmax is the loss's head
    values = {"h1": h1, "h2": h2, "r": r, "ln": ln, "y": z}
    for t in values.values():
        t.retain_grad()
    loss = torch.nn.functional.cross_entropy(z.unsqueeze(0), torch.tensor([cls]))
    loss.backward()
    assert math.isclose(doc["loss"]["value"], loss.item(), rel_tol=TOL, abs_tol=TOL)
    check_nodes(n, values, "residual")
    # h1 feeds h2 and r: its gradient is the sum along both paths
    close(n["x"]["grad"]["values"], x0.grad, "dL/dx")
    for node, name, t in [("h1", "weight", w1), ("h1", "bias", b1), ("h2", "weight", w2),
                          ("h2", "bias", b2), ("ln", "gain", g), ("ln", "bias", be),
                          ("y", "weight", w3), ("y", "bias", b3)]:
        close(n[node]["params"][name]["grad"]["values"], t.grad, f"{node}.{name} grad")
    close(doc["output"]["values"], torch.softmax(z, 0), "output")
    assert n["r"]["rule"].startswith("y = a + b") and "product rule" not in n["r"]["rule"]
    assert n["ln"]["rule"].startswith("h = (x - mean)")


def test_a_conv_graph_traced_equals_pytorch_autograd(shared):
    from test_graph import conv_spec, images
    client = shared.client
    data = images(rows=90)
    spec = conv_spec("conv-trace")
    spec["nodes"].insert(3, {"name": "s", "op": "mul", "inputs": ["a", "a"]})
    spec["nodes"][4]["inputs"] = ["s"]  # the pool reads a * a: the product rule
    model = graph_model(client, spec, data)
    x, cls = data[0][2], data[1][2]
    status, doc = trace(client, model, {"input": x, "target": cls})
    assert status == 200, doc
    assert [m["name"] for m in doc["nodes"]] == \
        ["img", "c1", "bn", "a", "s", "p", "f", "d", "z", "y"]
    n = by_name(doc)
    assert n["img"]["value"]["shape"] == [1, 8, 8]
    img = tensor_of(n["img"]["value"]).unsqueeze(0).requires_grad_()
    wc, bc = param(n["c1"], "weight"), param(n["c1"], "bias")
    assert list(wc.shape) == [4, 1, 3, 3]
    g, be = param(n["bn"], "gain"), param(n["bn"], "bias")
    rm = tensor_of(n["bn"]["state"]["running_mean"])
    rv = tensor_of(n["bn"]["state"]["running_var"])
    wz, bz = param(n["z"], "weight"), param(n["z"], "bias")
    c1 = torch.nn.functional.conv2d(img, wc, bc, padding=1)
    bn = torch.nn.functional.batch_norm(c1, rm, rv, g, be, training=False, eps=1e-5)
    a = torch.relu(bn)
    s = a * a
    p = torch.nn.functional.max_pool2d(s, 2)
    f = p.flatten(1)
    z = f @ wz.T + bz
    values = {"c1": c1, "bn": bn, "a": a, "s": s, "p": p, "f": f, "d": f, "z": z}
    for t in (c1, bn, a, s, p, f, z):
        t.retain_grad()
    loss = torch.nn.functional.cross_entropy(z, torch.tensor([cls]))
    loss.backward()
    assert math.isclose(doc["loss"]["value"], loss.item(), rel_tol=TOL, abs_tol=TOL)
    check_nodes(n, values, "conv")
    close(n["img"]["grad"]["values"], img.grad, "dL/dimg")
    for node, name, t in [("c1", "weight", wc), ("c1", "bias", bc), ("bn", "gain", g),
                          ("bn", "bias", be), ("z", "weight", wz), ("z", "bias", bz)]:
        close(n[node]["params"][name]["grad"]["values"], t.grad, f"{node}.{name} grad")
    close(n["a"]["local"]["values"], (bn > 0).float(), "relu'")
    # the softmax node the loss's head replaces is computed, and takes no gradient
    close(n["y"]["value"]["values"], torch.softmax(z[0], 0), "y value")
    assert n["y"]["grad"] is None
    assert "product rule" in n["s"]["rule"] and n["p"]["rule"].startswith("y = the largest")
    for m in doc["nodes"][1:]:
        assert m["rule"], m["name"]


def test_an_embedding_graph_traced_names_its_inputs(shared):
    client = shared.client
    rows = [[c % 3, 0.1 * c, -0.2 * c] for c in range(30)]
    labels = [r[0] % 2 for r in rows]
    spec = {"name": "emb-trace", "loss": "cross_entropy", "seed": 2,
            "inputs": {"code": [1], "num": [2]},
            "nodes": [{"name": "e", "op": "embedding", "inputs": ["code"], "categories": 3,
                       "dim": 2},
                      {"name": "ef", "op": "flatten", "inputs": ["e"]},
                      {"name": "c", "op": "concat", "inputs": ["ef", "num"]},
                      {"name": "y", "op": "dense", "inputs": ["c"], "units": 2,
                       "activation": "softmax"}],
            "output": "y"}
    model = graph_model(client, spec, (rows, labels))
    status, doc = trace(client, model, {"input": [2, 0.5, 1.0], "target": 1})
    assert status == 200, doc
    n = by_name(doc)
    assert n["code"]["raw"]["values"] == [2] and n["code"]["grad"] is None
    assert n["num"]["raw"]["values"] == [0.5, 1.0] and n["num"]["grad"] is not None
    table = n["e"]["params"]["table"]
    assert table["value"]["shape"] == [3, 2]
    # the scatter-add: only code 2's row takes a gradient, the arriving one
    grad = table["grad"]["values"]
    assert grad[:4] == [0, 0, 0, 0] and grad[4:] == n["e"]["grad"]["values"]
    assert "scatter-add" in n["e"]["rule"]
    status, doc = trace(client, model, {"input": [3, 0.5, 1.0], "target": 1})
    assert status == 400 and doc["error"]["field"] == "input", doc
