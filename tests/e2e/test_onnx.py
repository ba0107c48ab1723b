"""GET /v1/models/{id}/onnx, checked by two ONNX implementations traind's
authors did not write: Debian's python3-onnx (onnx.checker, full_check: the
schema, every operator's rules and shape inference) and ONNX Runtime
(onnxruntime-node from npm, tests/onnx/run.js). For every activation, every
loss head, with and without standardization and dropout, ONNX Runtime's
outputs on held-out rows equal traind's predict within 1e-5 relative (plus
1e-6 absolute, for outputs near 0 where float32 sums in another order cancel
differently), and its labels equal predict's labels exactly.

Models trained on typed tables export with one input per column and the
encoding in the graph: ONNX Runtime, fed the raw columns (blanks, missing
markers, unseen categories, dates as seconds since 1970 UTC), answers what
predict answers on the same raw records; a column named as a value of the
graph is a 422 that names it.

Graph models (a residual MLP, an embedding beside numbers, a conv net with
batchnorm and pools; between them every op) export too, taking the rows
predict takes, and answer as predict within the same bounds."""
import datetime
import json
import math
import os
import random
import subprocess

import onnx
import pytest

from datasets import IRIS_CLASSES, XOR_SPEC, iris_csv, iris_rows
from test_graph import classes, images

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


# ---- models trained on typed tables --------------------------------------------------

TABLE_COLUMNS = ["id", "island", "flipper", "eggs", "tagged", "sex", "seen", "species", "mass"]
UTC = datetime.timezone.utc
# dates whose calendar parts are easy to get wrong: before 1970 (negative
# seconds), a leap day, day 366, the last second of a year, a century that
# is not leap, and one that is
DATES = ["1969-12-31T23:59:59", "2020-02-29T12:00:00", "2020-12-31T06:30:00",
         "2021-12-31T23:59:59", "1900-03-01", "2000-02-29T01:02:03", "1812-06-15T18:00:00"]


def table_rows(n, seed):
    """Penguin-like rows: a category of 4 islands (2 kept: the others go to the
    other slot), a number with blanks, an integer with blanks, a boolean with
    blanks, a category with NA; a class and a number target."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        island = rng.choice(["Biscoe", "Dream", "Torgersen", "Biscoe", "Dream", "Anvers"])
        flipper = round(rng.gauss(200, 12), 1)
        eggs = rng.randint(1, 4)
        tagged = rng.random() < 0.4
        mass = round(3000 + 10 * flipper - 300 * (island == "Dream") + 90 * eggs +
                     rng.gauss(0, 100))
        when = datetime.datetime(1950, 1, 1) + datetime.timedelta(
            seconds=rng.randrange(0, 100 * 365 * 86400))
        seen = "" if rng.random() < 0.1 else (
            DATES[i % len(DATES)] if i % 5 == 0 else when.isoformat())
        rows.append({"id": str(i), "island": island, "seen": seen,
                     "flipper": "" if rng.random() < 0.1 else str(flipper),
                     "eggs": "" if rng.random() < 0.1 else str(eggs),
                     "tagged": "" if rng.random() < 0.1 else ("true" if tagged else "false"),
                     "sex": rng.choice(["male", "female", "NA"]),
                     "species": "Gentoo" if mass > 5000 else "Adelie", "mass": str(mass)})
    return rows


def table_csv(rows):
    return ",".join(TABLE_COLUMNS) + "\n" + "".join(
        ",".join(r[c] for c in TABLE_COLUMNS) + "\n" for r in rows)


def as_record(r):
    """A raw record as predict takes it: numbers as numbers, blanks as null."""
    num = lambda v: float(v) if v else None  # noqa: E731
    return {"island": r["island"], "flipper": num(r["flipper"]), "eggs": num(r["eggs"]),
            "tagged": {"true": True, "false": False}.get(r["tagged"]), "sex": r["sex"],
            "seen": r["seen"] or None}


# the held-out records: blanks, missing markers, unseen and dropped categories
EDGE_RECORDS = [{"island": "Atlantis", "flipper": None, "eggs": None, "tagged": None,
                 "sex": "NA", "seen": None},
                {"island": "", "flipper": 230.5, "eggs": 9, "tagged": True, "sex": None,
                 "seen": "2024-02-29T23:00:00"},
                {"island": "Anvers", "flipper": 150, "eggs": 0, "tagged": False,
                 "sex": "unknown", "seen": "0001-01-01"}] + [
                {"island": "Dream", "seen": d} for d in DATES]

TABLE_MODELS = {
    "table-classifier": ("species", dict(
        loss="cross_entropy", normalize=False,
        preprocess={"types": {"number": {"missing_indicator": True},
                              "category": {"max_categories": 2},
                              "datetime": {"cyclic": True, "missing_indicator": True}},
                    "columns": {"sex": {"missing_indicator": True},
                                "eggs": {"impute": "median"}}},
        layers=[dense(8, "tanh"), dense(2, "softmax")])),
    "table-regression": ("mass", dict(
        loss="mse", normalize=True,
        preprocess={"types": {"boolean": {"missing_indicator": True, "standardize": True}},
                    "columns": {"flipper": {"impute": "constant", "fill_value": 190}}},
        layers=[dense(8, "relu"), dense(1)])),
    "table-bce": ("species", dict(
        loss="binary_cross_entropy", normalize=False,
        layers=[dense(6, "sigmoid"), dense(1, "sigmoid")])),
}


def columns_feed(records, model):
    """The records as ONNX Runtime's inputs: one column each, as the
    metadata's "columns" say: strings ("" when missing) or float64 (null);
    dates as seconds since 1970 UTC."""
    feed = {}
    for col in model["encoding"]["columns"]:
        values = [r.get(col["name"]) for r in records]
        if col["type"] == "category":
            feed[col["name"]] = {"type": "string",
                                 "data": ["" if v is None else v for v in values]}
        elif col["type"] == "datetime":
            feed[col["name"]] = {"type": "float64", "data": [
                None if v is None else
                datetime.datetime.fromisoformat(v).replace(tzinfo=UTC).timestamp()
                for v in values]}
        else:
            feed[col["name"]] = {"type": "float64",
                                 "data": [None if v is None else float(v) for v in values]}
    return feed


@pytest.fixture(scope="module")
def table_exported(client, tmp_path_factory):
    """{name: (model, records, predict's answer, ONNX file)}"""
    tmp = tmp_path_factory.mktemp("onnx-table")
    rows = table_rows(200, seed=21)
    out = {}
    for name, (target, fields) in TABLE_MODELS.items():
        ignore = "id,mass" if target == "species" else "id,species"
        ds = client.upload_csv(f"onnx-{name}", target, table_csv(rows[:150]), ignore=ignore)
        model = client.create_model(dict(fields, name=f"onnx-{name}", seed=4))
        job = client.create_job(model["id"], ds["id"], epochs=15, batch_size=16,
                                optimizer={"type": "adam", "lr": 0.02}, seed=5)
        assert client.wait(job["id"], timeout=60)["state"] == "succeeded"
        path = tmp / f"{name}.onnx"
        path.write_bytes(client.export_onnx(model["id"]))
        records = [as_record(r) for r in rows[150:]] + EDGE_RECORDS
        out[name] = (client.get_model(model["id"]), records,
                     client.predict_records(model["id"], records), str(path))
    return out


def test_table_models_pass_the_checker_with_one_input_per_column(table_exported):
    for name, (model, _, _, path) in table_exported.items():
        m = onnx.load(path)
        onnx.checker.check_model(m, full_check=True)
        enc = model["encoding"]
        inputs = {i.name: i.type.tensor_type for i in m.graph.input}
        assert list(inputs) == [c["name"] for c in enc["columns"]], name
        for c in enc["columns"]:
            t = inputs[c["name"]]
            want = onnx.TensorProto.STRING if c["type"] == "category" else onnx.TensorProto.DOUBLE
            assert t.elem_type == want and [d.dim_value for d in t.shape.dim] == [0, 1]
        props = {p.key: p.value for p in m.metadata_props}
        assert [c["name"] for c in json.loads(props["columns"])] == list(inputs)
        assert props["target"] == enc["target"]["name"] and props["inputs"] == str(enc["width"])
        ops = {(n.domain, n.op_type) for n in m.graph.node}
        assert ("ai.onnx.ml", "LabelEncoder") in ops and ("ai.onnx.ml", "OneHotEncoder") in ops
        assert ("", "Concat") in ops and ("", "Where") in ops
        out = {o.name: o.type.tensor_type.elem_type for o in m.graph.output}
        if model["classes"]:
            assert out == {"output": onnx.TensorProto.FLOAT, "label": onnx.TensorProto.STRING}
        else:  # de-standardized: the target's units, in double as predict computes them
            assert out == {"output": onnx.TensorProto.DOUBLE}


def test_onnx_runtime_predicts_raw_records_as_traind(table_exported):
    names = list(table_exported)
    body = [{"model": table_exported[n][3], "columns": columns_feed(table_exported[n][1],
                                                                   table_exported[n][0])}
            for n in names]
    done = subprocess.run(["node", RUN_JS], input=json.dumps(body).encode(),
                          capture_output=True, timeout=120, cwd=os.path.dirname(RUN_JS))
    assert done.returncode == 0, done.stderr.decode()
    for name, ans in zip(names, json.loads(done.stdout)):
        model, records, want, _ = table_exported[name]
        outs = ans["outputs"]
        rows, width = outs["output"]["dims"]
        assert rows == len(records)
        got = [outs["output"]["data"][i * width:(i + 1) * width] for i in range(rows)]
        for i, (a, b) in enumerate(zip(got, want["outputs"])):
            for k, (u, v) in enumerate(zip(a, b)):
                assert math.isclose(u, v, rel_tol=REL, abs_tol=ABS), (name, i, k, u, v)
        if model["classes"]:
            assert outs["label"]["data"] == want["labels"], name
        else:
            assert 3000 < sum(o[0] for o in want["outputs"]) / rows < 7000  # grams
    # every kind of column and transform was exported
    kinds = set()
    for model, *_ in table_exported.values():
        for c in model["encoding"]["columns"]:
            kinds.add(c["type"])
            kinds.add(("indicator", c["type"]) if c["missing_indicator"] else "plain")
            if c["type"] == "category" and len(c["categories"]) < 4:
                kinds.add("other slot")
            if c["type"] == "datetime":
                kinds.add(("cyclic", c["cyclic"]))
            if c.get("impute") not in (None, "mean"):
                kinds.add(c["impute"])
    assert {"number", "integer", "boolean", "category", "datetime", ("indicator", "number"),
            ("indicator", "category"), ("indicator", "boolean"), ("indicator", "datetime"),
            "other slot", "median", "constant", ("cyclic", True), ("cyclic", False)} <= kinds


def test_a_column_named_as_a_graph_value_is_a_422_naming_it(client):
    csv = "when,name,features,y\n" + "".join(
        f"2021-0{1 + i % 9}-1{i % 10},n{i % 3},{i},{i % 2}\n" for i in range(30))

    def trained(ignore, name):
        ds = client.upload_csv(f"onnx-{name}", "y", csv, ignore=ignore,
                               types="y:category")
        model = client.create_model(dict(name=f"onnx-{name}", loss="cross_entropy", seed=1,
                                         layers=[dense(2, "softmax")]))
        job = client.create_job(model["id"], ds["id"], epochs=2, batch_size=8)
        assert client.wait(job["id"], timeout=60)["state"] == "succeeded"
        return model["id"]

    def error(mid):
        got, _, doc = client.request("GET", f"/v1/models/{mid}/onnx")
        assert got == 422 and doc["error"]["code"] == "unprocessable", doc
        return doc["error"]["message"]

    # "features" is the name of the encoded row inside the graph
    msg = error(trained("when", "clash"))
    assert "input column features has the name of a value of the graph" in msg
    # without it, it exports
    mid = trained("features", "plain")
    onnx.checker.check_model(onnx.load_from_string(client.export_onnx(mid)), full_check=True)


# ---- graph models (docs/graph.md) ------------------------------------------------------

def node(name, op, inputs, **attrs):
    return dict(name=name, op=op, inputs=inputs, **attrs)


def graph_data(kind, rows, seed):
    """(rows, labels or targets): test_graph.py's 8 features of 3 classes or
    8x8 images of 3 classes (flattened), or numbers beside a code."""
    if kind == "classes":
        return classes(rows, seed)
    if kind == "images":
        return images(rows, seed)
    rng = random.Random(seed)
    x = [[round(rng.uniform(-2, 2) * (1 + j), 3) for j in range(3)] + [i % 5]
         for i in range(rows)]
    return x, [[(-1.5, -0.5, 0.5, 1.5, 2.5)[r[3]] + r[0] / 3] for r in x]


# name: (graph spec fields, data kind); between them every op, axes that
# move by one for the batch, broadcasting of a lower-rank operand, a dense
# node over leading axes, several graph inputs, and each way a head is fused
GRAPHS = {
    "residual-mlp": (dict(
        inputs={"x": [8]}, loss="cross_entropy", normalize=True,
        nodes=[node("h1", "dense", ["x"], units=16, activation="relu"),
               node("h2", "dense", ["h1"], units=16, activation="tanh"),
               node("r", "add", ["h1", "h2"]),
               node("ln", "layernorm", ["r"]),
               node("s", "slice", ["ln"], axis=0, start=2, end=10),
               node("g", "sigmoid", ["s"]),
               node("m", "mul", ["s", "g"]),
               node("rs", "reshape", ["ln"], shape=[4, 4]),
               node("lead", "dense", ["rs"], units=2, activation="leaky_relu", slope=0.1),
               node("b", "dense", ["x"], units=2),
               node("d", "sub", ["lead", "b"]),
               node("fl", "flatten", ["d"]),
               node("lk", "leaky_relu", ["fl"], slope=0.2),
               node("th", "tanh", ["lk"]),
               node("c", "concat", ["m", "th", "x"], axis=-1),
               node("drop", "dropout", ["c"], rate=0.2),
               node("y", "dense", ["drop"], units=3, activation="softmax")],
        output="y"), "classes"),
    "embedding-numbers": (dict(
        inputs={"num": [3], "code": [1]}, loss="mse", normalize=True,
        nodes=[node("e", "embedding", ["code"], categories=5, dim=2),
               node("ef", "flatten", ["e"]),
               node("cat", "concat", ["num", "ef"]),
               node("h", "dense", ["cat"], units=8, activation="tanh"),
               node("hr", "relu", ["h"]),
               node("y", "dense", ["hr"], units=1)],
        output="y"), "codes"),
    "conv-net": (dict(
        inputs={"img": [1, 8, 8]}, loss="cross_entropy", normalize=False,
        nodes=[node("c1", "conv2d", ["img"], filters=4, kernel=3, padding=1, activation="relu"),
               node("bn", "batchnorm", ["c1"]),
               node("p", "maxpool", ["bn"], size=2),
               node("c2", "conv2d", ["bn"], filters=3, kernel=3, stride=2, dilation=1,
                    activation="tanh"),
               node("ap", "avgpool", ["c2"], size=2, stride=1),
               node("gp", "global_avgpool", ["ap"]),
               node("rows", "reshape", ["img"], shape=[8, 8]),
               node("c3", "conv1d", ["rows"], filters=2, kernel=3, dilation=2, padding=1,
                    activation="sigmoid"),
               node("bn1", "batchnorm", ["c3"]),
               node("mp", "maxpool", ["bn1"], size=2),
               node("mf", "flatten", ["mp"]),
               node("pf", "flatten", ["p"]),
               node("bn0", "batchnorm", ["gp"]),
               node("cat", "concat", ["bn0", "pf", "mf"]),
               node("z", "dense", ["cat"], units=3),
               node("y", "softmax", ["z"])],
        output="y"), "images"),
}


@pytest.fixture(scope="module")
def graphs(client, tmp_path_factory):
    """{name: (model, held-out rows, predict's answer, ONNX file path)}: every
    graph of GRAPHS trained a few epochs and exported: its newest version,
    which predict answers from the snapshot the worker published."""
    tmp = tmp_path_factory.mktemp("onnx-graphs")
    out = {}
    for i, (name, (fields, kind)) in enumerate(GRAPHS.items()):
        x, y = graph_data(kind, 150, seed=20 + i)
        if kind == "codes":
            ds = client.create_dataset(f"onnx-{name}", x[:120], targets=y[:120])
        else:
            ds = client.create_dataset(f"onnx-{name}", x[:120], labels=y[:120])
        model = client.create_model(dict(fields, name=f"onnx-{name}", seed=6))
        job = client.create_job(model["id"], ds["id"], epochs=6, batch_size=16,
                                optimizer={"type": "adam", "lr": 0.02}, seed=5)
        assert client.wait(job["id"], timeout=120)["state"] == "succeeded"
        shown = client.get_model(model["id"])
        want = client.predict(model["id"], x[120:])
        path = tmp / f"{name}.onnx"
        path.write_bytes(client.export_onnx(model["id"], version=want["version"]))
        assert want["version"] == shown["version"]
        out[name] = (shown, x[120:], want, str(path))
    return out


def test_graph_models_pass_the_onnx_checker(graphs):
    ops = set()
    for name, (model, _, _, path) in graphs.items():
        m = onnx.load(path)
        onnx.checker.check_model(m, full_check=True)
        assert [(i.name, [d.dim_value or d.dim_param for d in i.type.tensor_type.shape.dim])
                for i in m.graph.input] == [("input", ["N", len(graphs[name][1][0])])], name
        assert m.model_version == model["version"]
        names = [n.op_type for n in m.graph.node]
        assert "Dropout" not in names
        assert ("Sub" in names and "Div" in names) == model["spec"]["normalize"], name
        assert [o.name for o in m.graph.output] == (["output", "label"] if model["classes"]
                                                    else ["output"])
        ops |= set(names)
    assert {"Gemm", "MatMul", "Transpose", "Add", "Sub", "Mul", "Relu", "LeakyRelu", "Sigmoid",
            "Tanh", "Softmax", "Concat", "Slice", "Reshape", "Flatten", "Gather", "Cast",
            "LayerNormalization", "BatchNormalization", "Conv", "MaxPool", "AveragePool",
            "GlobalAveragePool", "ArgMax", "LabelEncoder"} <= ops, ops
    covered = {n["op"] for fields, _ in GRAPHS.values() for n in fields["nodes"]}
    assert len(covered) == 22, covered  # every op of core/graph.h


def test_onnx_runtime_predicts_graph_models_as_traind(graphs):
    names = list(graphs)
    answers = run_ort([(graphs[n][3], graphs[n][1]) for n in names])
    for name, got in zip(names, answers):
        model, held_out, want, _ = graphs[name]
        assert len(got["output"]) == len(held_out) == len(want["outputs"])
        for i, (a, b) in enumerate(zip(got["output"], want["outputs"])):
            assert len(a) == len(b)
            for k, (u, v) in enumerate(zip(a, b)):
                assert math.isclose(u, v, rel_tol=REL, abs_tol=ABS), (name, i, k, u, v)
        if model["classes"]:
            assert got["label"] == want["labels"], name
