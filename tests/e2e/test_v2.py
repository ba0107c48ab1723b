"""The Open Inference Protocol (KServe v2 / Triton REST) under /v2.

The request and response forms checked here are the protocol's REST
specification, kserve/kserve docs/predict-api/v2/required_api.md (the same
text as specification/protocol/inference_rest.md in
kserve/open-inference-protocol), cited by section in each test."""
import http.client
import json
import struct
import urllib.parse

import pytest

from datasets import IRIS_CLASSES, XOR_INPUTS, XOR_SPEC, XOR_TARGETS, iris_csv, iris_rows, iris_spec
from traind_client import Client, TraindError

TOKEN = "v2-full-token"
READ_TOKEN = "v2-read-token"


def v2_error(answer, status, says=""):
    """An error in the protocol's shape: {"error": "<message>"} and nothing else
    ("Inference Response JSON Error Object", "Model Metadata Response JSON
    Error Object")."""
    got_status, _, doc = answer
    assert got_status == status, doc
    assert isinstance(doc, dict) and set(doc) == {"error"}, doc
    assert isinstance(doc["error"], str) and says in doc["error"], doc
    return doc["error"]


def tensor(rows, name="input", datatype="FP32", shape=None, flat=False):
    data = [v for r in rows for v in r] if flat else rows
    return {"name": name, "shape": shape or [len(rows), len(rows[0])], "datatype": datatype,
            "data": data}


def infer(client, model, body, version=None, content_type="application/json"):
    """POST .../infer; body: bytes sent as they are, else JSON."""
    path = f"/v2/models/{model}" + (f"/versions/{version}" if version else "") + "/infer"
    raw = json.dumps(body).encode() if not isinstance(body, bytes) else body
    return client.request("POST", path, raw, content_type)


def get(client, path):
    return client.request("GET", path)


@pytest.fixture(scope="module")
def client(shared):
    return shared.client


@pytest.fixture(scope="module")
def xor(client):
    """A trained XOR regression model: (its row, the v1 predictions of XOR_INPUTS)."""
    ds = client.create_dataset("v2-xor", XOR_INPUTS, targets=XOR_TARGETS)
    model = client.create_model(dict(XOR_SPEC, name="v2-xor"))
    job = client.create_job(model["id"], ds["id"], epochs=200, batch_size=4,
                            optimizer={"type": "adam", "lr": 0.05}, seed=7)
    assert client.wait(job["id"], timeout=60)["state"] == "succeeded"
    return client.get_model(model["id"]), client.predict(model["id"], XOR_INPUTS)


# ---- health and server metadata -------------------------------------------------------


def test_server_health_and_metadata(client):
    # "Health": 200 is true. The newer text gives the bodies {"live": ...}, {"ready": ...}.
    assert get(client, "/v2/health/live")[::2] == (200, {"live": True})
    assert get(client, "/v2/health/ready")[::2] == (200, {"ready": True})
    # "Server Metadata Response JSON Object": name, version, extensions.
    status, headers, doc = get(client, "/v2")
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert doc == {"name": "traind", "version": client.info()["version"], "extensions": []}


# ---- models ------------------------------------------------------------------------------


def test_untrained_model_is_not_ready(client):
    model = client.create_model(dict(XOR_SPEC, name="v2-untrained"))
    # "Model Metadata Response JSON Object", with no version to request yet.
    status, _, doc = get(client, "/v2/models/v2-untrained")
    assert status == 200, doc
    assert doc == {"name": "v2-untrained", "versions": [], "platform": "traind_checkpoint",
                   "inputs": [{"name": "input", "datatype": "FP32", "shape": [-1, 2]}],
                   "outputs": [{"name": "output", "datatype": "FP32", "shape": [-1, 1]}]}
    # "Model Ready": a 4xx status is false.
    status, _, doc = get(client, "/v2/models/v2-untrained/ready")
    assert status == 400, doc
    assert doc["name"] == "v2-untrained" and doc["ready"] is False
    assert "not been trained" in doc["error"]
    v2_error(infer(client, "v2-untrained", {"inputs": [tensor(XOR_INPUTS)]}), 409,
             "model 'v2-untrained' is not ready: it has not been trained yet")
    v2_error(get(client, "/v2/models/v2-untrained/versions/1"), 404, "not been trained")
    v2_error(infer(client, model["id"], {"inputs": [tensor(XOR_INPUTS)]}, version=1), 404,
             "has no version 1")


def test_trained_model_metadata_and_ready(client, xor):
    model, _ = xor
    newest = model["version"]
    # Every epoch published a version; the daemon keeps the newest 10.
    kept = [str(v["version"]) for v in client.model_versions(model["id"])]
    assert kept == [str(v) for v in range(newest, newest - 10, -1)]
    want = {"name": "v2-xor", "versions": kept, "platform": "traind_checkpoint",
            "inputs": [{"name": "input", "datatype": "FP32", "shape": [-1, 2]}],
            "outputs": [{"name": "output", "datatype": "FP32", "shape": [-1, 1]}]}
    for path in ("/v2/models/v2-xor", f"/v2/models/{model['id']}"):
        assert get(client, path)[::2] == (200, want), path
        assert get(client, path + "/ready")[::2] == (200, {"name": "v2-xor", "ready": True}), path
    # A pinned version's metadata lists that version alone.
    for version in (kept[0], kept[-1]):
        path = f"/v2/models/v2-xor/versions/{version}"
        assert get(client, path)[::2] == (200, dict(want, versions=[version])), path
        assert get(client, path + "/ready")[::2] == (200, {"name": "v2-xor", "ready": True}), path
    for other in (newest + 1, newest - 10):
        v2_error(get(client, f"/v2/models/v2-xor/versions/{other}"), 404,
                 f"has no version {other}; it keeps 10, the newest {newest}")
        v2_error(get(client, f"/v2/models/v2-xor/versions/{other}/ready"), 404,
                 f"has no version {other}")
    # A version is a positive integer: anything else names nothing.
    v2_error(get(client, "/v2/models/v2-xor/versions/v1"), 404)


def test_infer_matches_v1_predict(client, xor):
    model, v1 = xor
    flat_v1 = [r[0] for r in v1["outputs"]]
    # "Tensor Data": natural (nested) and flattened data are the same tensor.
    for data in (tensor(XOR_INPUTS), tensor(XOR_INPUTS, flat=True)):
        status, _, doc = infer(client, "v2-xor", {"inputs": [data]})
        assert status == 200, doc
        # "Inference Response JSON Object"; no "id" without one in the request.
        assert doc == {"model_name": "v2-xor", "model_version": str(model["version"]),
                       "outputs": [{"name": "output", "shape": [4, 1], "datatype": "FP32",
                                    "data": flat_v1}]}
    # The predictions are XOR's, through the same weights and path as /v1.
    assert flat_v1[0] < 0.2 and flat_v1[1] > 0.8 and flat_v1[2] > 0.8 and flat_v1[3] < 0.2


def test_infer_echoes_the_id_and_honours_requested_outputs(client, xor):
    model, v1 = xor
    # The specification's example request, with this model's tensor names and
    # datatype: "id" "42", and "outputs" naming the one output.
    body = {"id": "42", "parameters": {"priority": 1},
            "inputs": [dict(tensor(XOR_INPUTS[:2]), parameters={})],
            "outputs": [{"name": "output", "parameters": {"binary_data": False}}]}
    status, _, doc = infer(client, "v2-xor", body)
    assert status == 200, doc
    assert doc["id"] == "42" and doc["outputs"][0]["shape"] == [2, 1]
    assert doc["outputs"][0]["data"] == [r[0] for r in v1["outputs"][:2]]


def test_infer_by_id_and_pinned_version(client, xor):
    model, v1 = xor
    version = model["version"]
    for name, pinned in ((model["id"], None), ("v2-xor", version), (model["id"], version)):
        status, _, doc = infer(client, name, {"inputs": [tensor(XOR_INPUTS)]}, version=pinned)
        assert status == 200, doc
        assert doc["model_name"] == "v2-xor" and doc["model_version"] == str(version)
        assert doc["outputs"][0]["data"] == [r[0] for r in v1["outputs"]]
    v2_error(infer(client, "v2-xor", {"inputs": [tensor(XOR_INPUTS)]}, version=version + 1),
             404, f"has no version {version + 1}")


def test_older_versions_stay_pinned_while_the_model_trains_on(spawn):
    """A client keeps calling the weights it validated: each job's last version
    outlives --keep-versions, and answers exactly as it did when it was new."""
    client = spawn(extra=("--keep-versions", "2")).client
    ds = client.create_dataset("pin-xor", XOR_INPUTS, targets=XOR_TARGETS)
    model = client.create_model(dict(XOR_SPEC, name="pin-xor"))
    first = client.create_job(model["id"], ds["id"], epochs=5, batch_size=4,
                              optimizer={"type": "adam", "lr": 0.05}, seed=7)
    assert client.wait(first["id"], timeout=60)["state"] == "succeeded"
    validated = client.predict(model["id"], XOR_INPUTS)
    pinned = validated["version"]
    assert pinned == 5
    # Fine-tuning publishes versions 6-13; only 12, 13 and the first job's 5 stay.
    second = client.create_job(model["id"], ds["id"], epochs=8, batch_size=4,
                               optimizer={"type": "adam", "lr": 0.05}, seed=8)
    assert client.wait(second["id"], timeout=60)["state"] == "succeeded"
    versions = client.model_versions(model["id"])
    assert [(v["version"], v["job"], v["epoch"]) for v in versions] == \
        [(13, second["id"], 8), (12, second["id"], 7), (5, first["id"], 5)]
    assert all(v["bytes"] > 0 and v["published_at"].endswith("Z") for v in versions)
    newest = client.predict(model["id"], XOR_INPUTS)
    assert newest["version"] == 13 and newest["outputs"] != validated["outputs"]

    # Pinned through v1 and v2 alike, version 5 answers as it did, bit for bit.
    assert client.predict(model["id"], XOR_INPUTS, version=pinned) == validated
    flat = [r[0] for r in validated["outputs"]]
    for name in ("pin-xor", model["id"]):
        status, _, doc = infer(client, name, {"inputs": [tensor(XOR_INPUTS)]}, version=pinned)
        assert status == 200, doc
        assert doc["model_version"] == "5" and doc["outputs"][0]["data"] == flat
    assert get(client, "/v2/models/pin-xor")[2]["versions"] == ["13", "12", "5"]

    # A pruned version is gone from both, with the field named in v1.
    status, _, doc = client.request("POST", f"/v1/models/{model['id']}/predict?version=9",
                                    {"inputs": XOR_INPUTS})
    assert status == 404 and doc["error"]["code"] == "not_found", doc
    assert doc["error"]["field"] == "version" and "has no version 9" in doc["error"]["message"]
    v2_error(infer(client, "pin-xor", {"inputs": [tensor(XOR_INPUTS)]}, version=9), 404,
             "has no version 9")
    for bad in ("0", "-1", "x", "1e3", "99999999999999999999"):
        status, _, doc = client.request("POST", f"/v1/models/{model['id']}/predict?version={bad}",
                                        {"inputs": XOR_INPUTS})
        assert status == 400 and doc["error"]["field"] == "version", (bad, doc)

    # Versions go with their model.
    client.delete_model(model["id"])
    status, _, doc = client.request("GET", f"/v1/models/{model['id']}/versions")
    assert status == 404 and doc["error"]["field"] == "id", doc


def test_the_documented_example_is_refused_for_its_datatype(client, xor):
    # The specification's example verbatim: two inputs, UINT32 and BOOL.
    body = {"id": "42",
            "inputs": [{"name": "input0", "shape": [2, 2], "datatype": "UINT32",
                        "data": [1, 2, 3, 4]},
                       {"name": "input1", "shape": [3], "datatype": "BOOL", "data": [True]}],
            "outputs": [{"name": "output0"}]}
    v2_error(infer(client, "v2-xor", body), 400, "the model has one input, 'input'")
    body["inputs"] = body["inputs"][:1]
    v2_error(infer(client, "v2-xor", body), 400, "the model's input is named 'input'")
    body["inputs"][0]["name"] = "input"
    v2_error(infer(client, "v2-xor", body), 400, "inputs[0].datatype is 'UINT32'; traind models "
                                                 "take FP32")


def test_classification_outputs_one_column_per_class(client):
    rows = iris_rows(per_class=20)
    ds = client.upload_csv("v2-iris", "species", iris_csv(rows))
    model = client.create_model(dict(iris_spec(), name="v2-iris"))
    job = client.create_job(model["id"], ds["id"], epochs=30, batch_size=16,
                            optimizer={"type": "adam", "lr": 0.01}, seed=1)
    assert client.wait(job["id"], timeout=60)["state"] == "succeeded"
    x = [r for r, _ in rows[:6]]
    status, _, doc = infer(client, "v2-iris", {"inputs": [tensor(x)]})
    assert status == 200, doc
    out = doc["outputs"][0]
    assert out["shape"] == [6, len(IRIS_CLASSES)] and len(out["data"]) == 18
    for i in range(6):
        assert abs(sum(out["data"][3 * i:3 * i + 3]) - 1) < 1e-4  # softmax rows
    meta = get(client, "/v2/models/v2-iris")[2]
    assert meta["inputs"][0]["shape"] == [-1, 4] and meta["outputs"][0]["shape"] == [-1, 3]


def test_a_name_shared_by_models_means_the_newest(client):
    old = client.create_model(dict(XOR_SPEC, name="v2-twice"))
    new = client.create_model(dict(XOR_SPEC, name="v2-twice", inputs=3))
    assert get(client, "/v2/models/v2-twice")[2]["inputs"][0]["shape"] == [-1, 3]
    # The older one stays reachable by its id.
    assert get(client, f"/v2/models/{old['id']}")[2]["inputs"][0]["shape"] == [-1, 2]
    client.delete_model(new["id"])
    assert get(client, "/v2/models/v2-twice")[2]["inputs"][0]["shape"] == [-1, 2]
    client.delete_model(old["id"])


# ---- errors ---------------------------------------------------------------------------------


def test_unknown_models_are_404(client):
    v2_error(get(client, "/v2/models/no-such-model"), 404, "unknown model 'no-such-model'")
    # The Python client reads the protocol's errors too.
    with pytest.raises(TraindError) as e:
        client.call("GET", "/v2/models/no-such-model")
    assert (e.value.status, e.value.code, e.value.message) == (
        404, "", "unknown model 'no-such-model'")
    v2_error(get(client, "/v2/models/no-such-model/ready"), 404, "unknown model")
    v2_error(infer(client, "no-such-model", {"inputs": [tensor(XOR_INPUTS)]}), 404,
             "unknown model")
    v2_error(get(client, "/v2/models/987654/versions/1"), 404, "unknown model '987654'")
    v2_error(get(client, "/v2/repository/index"), 404, "no route")


BAD_REQUESTS = [
    # (why, body, what the error says)
    ("not an object", [1], "the body must be a JSON object"),
    ("no inputs", {}, "inputs is required"),
    ("two inputs", {"inputs": [tensor(XOR_INPUTS), tensor(XOR_INPUTS)]}, "exactly one tensor"),
    ("unknown member", {"inputs": [tensor(XOR_INPUTS)], "raw_input_contents": []},
     "unknown field raw_input_contents"),
    ("id not a string", {"id": 42, "inputs": [tensor(XOR_INPUTS)]}, "id must be a string"),
    ("FP64", {"inputs": [tensor(XOR_INPUTS, datatype="FP64")]}, "take FP32"),
    ("INT32", {"inputs": [tensor(XOR_INPUTS, datatype="INT32")]}, "take FP32"),
    ("1-D shape", {"inputs": [tensor(XOR_INPUTS, shape=[8], flat=True)]}, "[rows, features]"),
    ("too few numbers", {"inputs": [tensor(XOR_INPUTS, shape=[5, 2])]},
     "holds 8 numbers; shape [5, 2] needs 10"),
    ("too many numbers", {"inputs": [tensor(XOR_INPUTS, shape=[3, 2])]},
     "holds 8 numbers; shape [3, 2] needs 6"),
    ("wrong feature count", {"inputs": [tensor([[1, 2, 3], [4, 5, 6]])]},
     "inputs[0].shape[1] is 3; model 'v2-xor' takes 2 features"),
    # "Tensor Data": flat, or nested as the shape; [[0,1,1],[0]] is neither for [2, 2].
    ("nesting not the shape", {"inputs": [tensor([[0, 1, 1], [0]], shape=[2, 2])]},
     "inputs[0].data[0] must be a row of 2 numbers"),
    ("rows not the shape", {"inputs": [tensor([[0, 1], [1], [0]], shape=[2, 2])]},
     "inputs[0].data has 3 elements where shape [2, 2] has 2 rows"),
    ("a string number", {"inputs": [tensor([[0, "1"]])]}, "inputs[0].data[0][1] must be a number"),
    ("a boolean", {"inputs": [tensor([[0, True]])]}, "inputs[0].data[0][1] must be a number"),
    ("beyond float", {"inputs": [tensor([[0, 1e39]])]}, "within float range"),
    ("no rows", {"inputs": [tensor([[0, 1]], shape=[0, 2])]}, "inputs[0].shape[0] must be"),
    ("unknown output", {"inputs": [tensor(XOR_INPUTS)], "outputs": [{"name": "probs"}]},
     "the model's output is named 'output'"),
    ("another model's name", {"model_name": "v2-other", "inputs": [tensor(XOR_INPUTS)]},
     "model_name is 'v2-other' but the path names model 'v2-xor'"),
    ("model_name not a string", {"model_name": 1, "inputs": [tensor(XOR_INPUTS)]},
     "model_name must be a string"),
]


@pytest.mark.parametrize("why,body,says", BAD_REQUESTS, ids=[b[0] for b in BAD_REQUESTS])
def test_bad_requests_are_400(client, xor, why, body, says):
    v2_error(infer(client, "v2-xor", body), 400, says)


def test_model_name_in_the_body_may_repeat_the_path(client, xor):
    """Some clients repeat the model's name in the request body: accepted when
    it names the path's model (by its name, or as the path names it)."""
    model, v1 = xor
    want = [r[0] for r in v1["outputs"]]
    for path, name in (("v2-xor", "v2-xor"), (model["id"], "v2-xor"),
                       (model["id"], str(model["id"]))):
        status, _, doc = infer(client, path, {"model_name": name, "inputs": [tensor(XOR_INPUTS)]})
        assert status == 200, (path, name, doc)
        assert doc["model_name"] == "v2-xor" and doc["outputs"][0]["data"] == want
    v2_error(infer(client, model["id"], {"model_name": "v2-xo", "inputs": [tensor(XOR_INPUTS)]}),
             400, "model_name is 'v2-xo' but the path names model 'v2-xor'")


def test_binary_tensor_data_is_refused_saying_so(client, xor):
    """Triton's binary data extension: the JSON header, its length in
    Inference-Header-Content-Length, then the tensors' raw bytes (as
    tritonclient.http sends them, without a Content-Type)."""
    head = json.dumps({"inputs": [{"name": "input", "shape": [4, 2], "datatype": "FP32",
                                   "parameters": {"binary_data_size": 32}}],
                       "outputs": [{"name": "output", "parameters": {"binary_data": True}}]})
    body = head.encode() + struct.pack("<8f", *[v for r in XOR_INPUTS for v in r])
    url = urllib.parse.urlsplit(client.url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    conn.request("POST", "/v2/models/v2-xor/infer", body,
                 {"Inference-Header-Content-Length": str(len(head))})
    resp = conn.getresponse()
    doc = json.loads(resp.read())
    conn.close()
    error = v2_error((resp.status, resp.headers, doc), 400, "binary tensor data")
    assert "not supported" in error and "malformed" not in error, error


def test_bodies_and_media_types(client, xor):
    v2_error(infer(client, "v2-xor", b'{"inputs": ['), 400, "malformed JSON")
    v2_error(infer(client, "v2-xor", b""), 400, "the body is empty")
    # Triton's own client sends no Content-Type: the body is JSON all the same.
    # (urllib would add one, so http.client sends this request.)
    url = urllib.parse.urlsplit(client.url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    conn.request("POST", "/v2/models/v2-xor/infer", json.dumps({"inputs": [tensor(XOR_INPUTS)]}))
    resp = conn.getresponse()
    doc = json.loads(resp.read())
    conn.close()
    assert resp.status == 200 and doc["outputs"][0]["shape"] == [4, 1], doc
    v2_error(infer(client, "v2-xor", {"inputs": [tensor(XOR_INPUTS)]}, content_type="text/plain"),
             415, "application/json")
    status, headers, doc = client.request("DELETE", "/v2/models/v2-xor")
    v2_error((status, headers, doc), 405, "not allowed")
    assert headers["Allow"] == "GET, HEAD"
    # The v1 API keeps its own error shape.
    status, _, doc = client.request("GET", "/v1/nothing")
    assert status == 404 and set(doc["error"]) == {"code", "message", "field"}


# ---- access -----------------------------------------------------------------------------------


def test_tokens(spawn):
    d = spawn(extra=("--token", TOKEN, "--read-token", READ_TOKEN))
    full, reader, anon = Client(d.url, token=TOKEN), Client(d.url, token=READ_TOKEN), Client(d.url)
    ds = full.create_dataset("xor", XOR_INPUTS, targets=XOR_TARGETS)
    model = full.create_model(XOR_SPEC)
    job = full.create_job(model["id"], ds["id"], epochs=5, batch_size=4)
    assert full.wait(job["id"], timeout=60)["state"] == "succeeded"

    # /healthz is the open probe; every /v2 route needs a token, its health
    # probes too, and the read-only one is enough, infer included.
    assert get(anon, "/healthz")[0] == 200
    body = {"inputs": [tensor(XOR_INPUTS)]}
    for c in (anon, Client(d.url, token="wrong")):
        for answer in (get(c, "/v2/health/live"), get(c, "/v2/health/ready"),
                       get(c, "/v2"), get(c, "/v2/models/xor-net"),
                       get(c, "/v2/models/xor-net/ready"), infer(c, "xor-net", body)):
            v2_error(answer, 401, "token")
            assert answer[1]["WWW-Authenticate"].startswith("Bearer")
    for c in (reader, full):
        assert get(c, "/v2/health/live")[::2] == (200, {"live": True})
        assert get(c, "/v2/health/ready")[::2] == (200, {"ready": True})
        assert get(c, "/v2")[0] == 200
        assert get(c, "/v2/models/xor-net")[0] == 200
        assert get(c, "/v2/models/xor-net/ready")[0] == 200
        status, _, doc = infer(c, "xor-net", body)
        assert status == 200 and doc["outputs"][0]["shape"] == [4, 1], doc
