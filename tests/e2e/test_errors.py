"""Every error code on purpose, and hostile inputs: each answered 4xx with the
exact error shape, and the daemon still healthy afterwards."""
import json
import socket
import urllib.parse

import pytest

from datasets import SLOW_SPEC, XOR_INPUTS, XOR_SPEC, XOR_TARGETS, slow_data

LONG = 1_000_000


def check_error(answer, status, code, field=None):
    """answer: (status, headers, json) from Client.request."""
    got_status, _, doc = answer
    assert got_status == status, doc
    assert isinstance(doc, dict) and set(doc) == {"error"}, doc
    err = doc["error"]
    assert set(err) == {"code", "message", "field"}, err
    assert err["code"] == code, err
    assert isinstance(err["message"], str) and err["message"], err
    assert isinstance(err["field"], str), err
    if field is not None:
        assert err["field"] == field, err
    return err


def post(client, path, body, content_type="application/json"):
    if isinstance(body, str):
        body = body.encode()
    return client.request("POST", path, body, content_type)


@pytest.fixture(scope="module")
def client(shared):
    return shared.client


@pytest.fixture(scope="module")
def xor(client):
    """A trained XOR model and its dataset: (model id, dataset id)."""
    ds = client.create_dataset("xor", XOR_INPUTS, targets=XOR_TARGETS)
    model = client.create_model(XOR_SPEC)
    job = client.create_job(model["id"], ds["id"], epochs=5)
    assert client.wait(job["id"])["state"] == "succeeded"
    return model["id"], ds["id"]


def spec(**changes):
    s = json.loads(json.dumps(XOR_SPEC))
    s.update(changes)
    return s


# ---- 400 invalid_argument: hostile model specs ---------------------------------

BAD_SPECS = [
    ("malformed", '{"name":"x","inputs":2,', None),
    ("trailing garbage", json.dumps(XOR_SPEC) + " {}", None),
    ("empty body", "", None),
    ("not an object", "[1, 2]", None),
    ("NaN literal", json.dumps(XOR_SPEC).replace('"seed": 1', '"seed": NaN'), None),
    ("huge number", json.dumps(XOR_SPEC).replace('"inputs": 2', '"inputs": 1e999'), "inputs"),
    ("wrong type", json.dumps(spec(inputs="2")), "inputs"),
    ("fractional size", json.dumps(spec(inputs=2.5)), "inputs"),
    ("unknown field", json.dumps(spec(colour="red")), "colour"),
    ("unknown layer type",
     json.dumps(spec(layers=[{"type": "conv", "units": 2}, XOR_SPEC["layers"][1]])),
     "layers[0].type"),
    ("negative units",
     json.dumps(spec(layers=[XOR_SPEC["layers"][0], {"type": "dense", "units": -3}])),
     "layers[1].units"),
    ("unknown activation",
     json.dumps(spec(layers=[{"type": "dense", "units": 2, "activation": "swish"},
                             XOR_SPEC["layers"][1]])), "layers[0].activation"),
    ("unknown loss", json.dumps(spec(loss="hinge")), "loss"),
    ("bad name", json.dumps(spec(name="no spaces allowed")), "name"),
    ("duplicate keys", '{"name":"a","name":"b","inputs":2,"layers":[],"loss":"mse"}', "name"),
    ("deep nesting", '{"name":' + "[" * 100 + "]" * 100 + "}", None),
    ("invalid utf-8", b'{"name":"\xff\xfe","inputs":2}', None),
]


@pytest.mark.parametrize("body,field", [(b, f) for _, b, f in BAD_SPECS],
                         ids=[name for name, _, _ in BAD_SPECS])
def test_bad_model_spec(client, body, field):
    check_error(post(client, "/v1/models", body), 400, "invalid_argument", field)


# ---- 400 invalid_argument: data sets, jobs, predictions, queries ------------------

BAD_DATASETS = [
    ({"name": "d", "inputs": [[0, 0], [1]], "targets": [[0], [1]]}, "inputs[1]"),
    ({"name": "d", "inputs": [[0, "x"]], "targets": [[0]]}, "inputs[0][1]"),
    ({"name": "d", "inputs": [[0, 0]], "targets": [[0], [1]]}, "targets"),
    ({"name": "d", "inputs": [[0, 0], [1, 1]], "labels": ["a", 1]}, "labels[1]"),
    ({"name": "d", "inputs": []}, None),
    ({"name": "d", "inputs": [[1]], "targets": [[1]], "extra": 1}, "extra"),
]


@pytest.mark.parametrize("body,field", BAD_DATASETS)
def test_bad_json_dataset(client, body, field):
    check_error(client.request("POST", "/v1/datasets", body), 400, "invalid_argument", field)


def test_overflowing_number_in_dataset(client):
    body = '{"name":"d","inputs":[[1e999]],"targets":[[0]]}'
    check_error(post(client, "/v1/datasets", body), 400, "invalid_argument", "inputs[0][0]")


@pytest.mark.parametrize("query,csv,field", [
    ({"name": "c", "target": "y"}, "a,b,y\n" + "1,2,3\n" * 20 + "4,oops,5\n", "column b"),
    ({"name": "c"}, "a,y\n1,2\n", "target"),
    ({"target": "y"}, "a,y\n1,2\n", "name"),
    ({"name": "bad name", "target": "y"}, "a,y\n1,2\n", "name"),
    ({"name": "c", "target": "z"}, "a,y\n1,2\n", "target"),
    ({"name": "c", "target": "y"}, "a,y\n", None),
])
def test_bad_csv_dataset(client, query, csv, field):
    path = "/v1/datasets?" + urllib.parse.urlencode(query)
    check_error(post(client, path, csv, "text/csv"), 400, "invalid_argument", field)


@pytest.mark.parametrize("changes,field", [
    ({"epochs": 0}, "epochs"),
    ({"epochs": "ten"}, "epochs"),
    ({"batch_size": -1}, "batch_size"),
    ({"optimizer": {"type": "lbfgs"}}, "optimizer.type"),
    ({"optimizer": {"type": "sgd", "beta1": 0.9}}, "optimizer.beta1"),
    ({"validation_split": 1.5}, "validation_split"),
    ({"surprise": True}, "surprise"),
    ({"model": 0}, "model"),
])
def test_bad_job_config(client, xor, changes, field):
    body = {"model": xor[0], "dataset": xor[1], "epochs": 1, **changes}
    check_error(client.request("POST", "/v1/jobs", body), 400, "invalid_argument", field)


def test_bad_predict_inputs(client, xor):
    model = xor[0]
    path = f"/v1/models/{model}/predict"
    check_error(client.request("POST", path, {"inputs": [[0, 1], [1, 1, 1]]}),
                400, "invalid_argument", "inputs[1]")
    check_error(client.request("POST", path, {"inputs": [[0, 1], [1]]}),
                400, "invalid_argument", "inputs[1]")
    check_error(client.request("POST", path, {"inputs": [[0, "1"]]}),
                400, "invalid_argument", "inputs[0][1]")
    check_error(post(client, path, '{"inputs":[[1e999,0]]}'), 400, "invalid_argument",
                "inputs[0][0]")
    check_error(client.request("POST", path, {"inputs": []}), 400, "invalid_argument", "inputs")
    check_error(client.request("POST", path, {"inputs": [[0, 0]] * 65537}), 400,
                "invalid_argument", "inputs")
    check_error(client.request("POST", path, {"rows": [[0, 0]]}), 400, "invalid_argument",
                "rows")
    check_error(post(client, path, '{"inputs":[[0,1]]'), 400, "invalid_argument")


@pytest.mark.parametrize("path,field", [
    ("/v1/jobs?state=sleeping", "state"),
    ("/v1/jobs?model=abc", "model"),
    ("/v1/jobs?model=0", "model"),
    ("/v1/jobs/1/metrics?after=-1", "after"),
    ("/v1/jobs?state=%zz", None),
])
def test_bad_query(client, xor, path, field):
    check_error(client.request("GET", path), 400, "invalid_argument", field)


# ---- 404, 405, 415 ---------------------------------------------------------------

@pytest.mark.parametrize("method,path,body", [
    ("GET", "/v1/models/999999", None),
    ("GET", "/v1/datasets/999999", None),
    ("GET", "/v1/jobs/999999", None),
    ("GET", "/v1/jobs/999999/metrics", None),
    ("GET", "/v1/jobs/999999/checkpoints", None),
    ("POST", "/v1/jobs/999999/cancel", None),
    ("DELETE", "/v1/models/999999", None),
    ("GET", "/v1/models/999999/versions", None),
    ("DELETE", "/v1/datasets/999999", None),
    ("POST", "/v1/models/999999/predict", {"inputs": [[0, 0]]}),
    ("GET", "/v1/nothing", None),
    ("GET", "/v1/models/abc", None),
    ("GET", "/v1/models/0", None),
    ("GET", "/v1/models/", None),
])
def test_not_found(client, method, path, body):
    ctype = "application/json" if method == "POST" else None
    check_error(client.request(method, path, body, ctype), 404, "not_found")


def test_job_naming_missing_resources(client, xor):
    check_error(client.request("POST", "/v1/jobs", {"model": 999999, "dataset": xor[1]}),
                404, "not_found", "model")
    check_error(client.request("POST", "/v1/jobs", {"model": xor[0], "dataset": 999999}),
                404, "not_found", "dataset")


def test_method_not_allowed(client):
    status, headers, doc = client.request("DELETE", "/v1/jobs")
    check_error((status, headers, doc), 405, "method_not_allowed")
    assert "GET" in headers["Allow"] and "POST" in headers["Allow"]
    check_error(client.request("PUT", "/v1/models/1"), 405, "method_not_allowed")


def test_unsupported_media_type(client):
    check_error(post(client, "/v1/models", json.dumps(XOR_SPEC), "text/plain"),
                415, "unsupported_media_type")
    check_error(post(client, "/v1/models", json.dumps(XOR_SPEC), None),
                415, "unsupported_media_type")
    check_error(post(client, "/v1/datasets?name=a&target=b", "a,b\n1,2\n", "text/xml"),
                415, "unsupported_media_type")


# ---- 409, 422 -------------------------------------------------------------------------

def test_conflicts(client, xor):
    untrained = client.create_model(spec(name="fresh"))
    err = check_error(client.request("POST", f"/v1/models/{untrained['id']}/predict",
                                     {"inputs": [[0, 0]]}), 409, "conflict", "id")
    assert err["message"] == f"model {untrained['id']} has not been trained yet", err

    x, y = slow_data()
    ds = client.create_dataset("busy", x, targets=y)
    busy = client.create_model(SLOW_SPEC)
    job = client.create_job(busy["id"], ds["id"], epochs=LONG, batch_size=1)
    try:
        check_error(client.request("DELETE", f"/v1/datasets/{ds['id']}"), 409, "conflict")
        check_error(client.request("DELETE", f"/v1/models/{busy['id']}"), 409, "conflict")
    finally:
        client.cancel_job(job["id"])
    assert client.wait(job["id"])["state"] == "cancelled"
    # Once the job ended, both can go; the model's cached weights go with it.
    if client.get_model(busy["id"])["trained"]:
        client.predict(busy["id"], [[0] * 8])  # now in the predict cache
    client.delete_dataset(ds["id"])
    client.delete_model(busy["id"])
    check_error(client.request("GET", f"/v1/jobs/{job['id']}"), 404, "not_found")
    check_error(client.request("POST", f"/v1/models/{busy['id']}/predict",
                               {"inputs": [[0] * 8]}), 404, "not_found")


def test_unprocessable_jobs(client, xor):
    model, _ = xor
    wide = client.create_dataset("wide", [[0, 0, 0]], targets=[[1]])
    two_out = client.create_dataset("two", [[0, 0]], targets=[[1, 0]])
    labelled = client.create_dataset("lab", [[0, 0], [1, 1]], labels=["a", "b"])
    for ds in (wide, two_out, labelled):
        err = check_error(client.request("POST", "/v1/jobs",
                                         {"model": model, "dataset": ds["id"]}),
                          422, "unprocessable", "dataset")
        assert str(ds["id"]) in err["message"]
    ce = client.create_model({"name": "ce", "inputs": 2, "loss": "cross_entropy",
                              "layers": [{"type": "dense", "units": 2,
                                          "activation": "softmax"}]})
    check_error(client.request("POST", "/v1/jobs", {"model": ce["id"], "dataset": xor[1]}),
                422, "unprocessable", "dataset")
    # A sigmoid unit fits two classes under binary cross-entropy.
    bce = client.create_model({"name": "bce", "inputs": 2, "loss": "binary_cross_entropy",
                               "layers": [{"type": "dense", "units": 1,
                                           "activation": "sigmoid"}]})
    job = client.create_job(bce["id"], labelled["id"], epochs=2)
    assert client.wait(job["id"])["state"] == "succeeded"
    out = client.predict(bce["id"], [[0, 0], [1, 1]])
    assert len(out["labels"]) == 2 and set(out["labels"]) <= {"a", "b"}


# ---- 413 --------------------------------------------------------------------------------

def raw_exchange(url, head, body=b""):
    """Send raw request bytes, return (status, parsed JSON body)."""
    host, port = urllib.parse.urlsplit(url).hostname, urllib.parse.urlsplit(url).port
    with socket.create_connection((host, port), timeout=30) as s:
        s.sendall(head + body)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            head_end = data.find(b"\r\n\r\n")
            if head_end >= 0 and b"content-length:" in data[:head_end].lower():
                length = int(data[:head_end].lower().split(b"content-length:")[1]
                             .split(b"\r\n")[0])
                if len(data) >= head_end + 4 + length:
                    break
    head_end = data.find(b"\r\n\r\n")
    status = int(data.split(b" ", 2)[1])
    return status, None, json.loads(data[head_end + 4:])


def test_payload_too_large_declared(shared):
    # Refused from Content-Length alone, before any of the body is sent.
    head = (b"POST /v1/models HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            b"Content-Length: 5000000\r\nConnection: close\r\n\r\n")
    check_error(raw_exchange(shared.url, head), 413, "payload_too_large")


def test_payload_too_large_chunked(shared):
    # Without a length the limit (1 MiB) is counted as the body streams in.
    piece = b"[" * 4096
    chunk = b"%x\r\n" % len(piece) + piece + b"\r\n"
    head = (b"POST /v1/models HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
    body = chunk * 400 + b"0\r\n\r\n"  # 1.6 MiB
    check_error(raw_exchange(shared.url, head, body), 413, "payload_too_large")


# ---- still standing -------------------------------------------------------------------

def test_zz_daemon_still_healthy(client, xor):
    assert client.health() == {"status": "ok"}
    out = client.predict(xor[0], XOR_INPUTS)
    assert len(out["outputs"]) == 4
    assert client.list_jobs(state="running") == []


@pytest.mark.parametrize("blob", [b"\x00\x01\x02\x03", b""], ids=["garbage", "empty"])
def test_internal_error_on_corrupt_stored_weights(spawn, tmp_path, blob):
    """500 internal, on purpose: weights damaged behind the daemon's back are
    reported as such, not served and not crashed on. Empty ones too: SQLite
    hands an empty blob back as NULL, as it does a failed allocation, and
    they are damaged weights, not a lack of memory."""
    import sqlite3

    db = tmp_path / "corrupt.sqlite"
    d = spawn(db=db)
    ds = d.client.create_dataset("xor", XOR_INPUTS, targets=XOR_TARGETS)
    model = d.client.create_model(XOR_SPEC)
    job = d.client.create_job(model["id"], ds["id"], epochs=3)
    assert d.client.wait(job["id"])["state"] == "succeeded"
    assert d.stop() == 0
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE model_versions SET weights = ? WHERE model_id = ?",
                     (blob, model["id"]))
    client = spawn(db=db).client  # a fresh predict cache reads the store
    for query in ("", "?version=1"):
        path = f"/v1/models/{model['id']}/predict{query}"
        err = check_error(post(client, path, json.dumps({"inputs": [[0, 1]]})), 500, "internal")
        assert "weights" in err["message"] and "memory" not in err["message"], err
    assert client.health() == {"status": "ok"}


def test_a_damaged_row_does_not_fail_its_list(spawn, tmp_path):
    """Stored JSON damaged behind the daemon's back (a dataset's class names,
    a model's spec): the list leaves that row out and logs it, the others are
    listed; the row itself is a 500 that says it is damaged."""
    import sqlite3

    db = tmp_path / "rows.sqlite"
    d = spawn(db=db)
    kept = d.client.create_dataset("xor", XOR_INPUTS, targets=XOR_TARGETS)
    damaged = d.client.create_dataset("labels", [[0], [1]], labels=["no", "yes"])
    model = d.client.create_model(XOR_SPEC)
    other = d.client.create_model(dict(XOR_SPEC, name="other"))
    assert d.stop() == 0
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE datasets SET classes = '[\"no\", \"ye' WHERE id = ?",
                     (damaged["id"],))
        conn.execute("UPDATE models SET spec = '{\"name\": ' WHERE id = ?", (other["id"],))
    d = spawn(db=db)
    assert [x["id"] for x in d.client.list_datasets()] == [kept["id"]]
    assert [m["id"] for m in d.client.list_models()] == [model["id"]]
    for path in (f"/v1/datasets/{damaged['id']}", f"/v1/models/{other['id']}"):
        err = check_error(d.client.request("GET", path), 500, "internal")
        assert "damaged" in err["message"], err
    log = d.log_tail(200)
    assert f"dataset {damaged['id']} is damaged" in log and f"model {other['id']} is damaged" in log


def test_a_damaged_database_file_is_named_at_start(tmp_path):
    """A file that is not an SQLite database, or one whose pages are garbage:
    traind exits non-zero saying the database is damaged, naming it."""
    import os
    import subprocess

    from conftest import TRAIND

    noise = bytes(range(256)) * 64
    for name, content in (("garbage.sqlite", noise),
                          ("pages.sqlite", b"SQLite format 3\x00" + noise)):
        db = tmp_path / name
        db.write_bytes(content)
        done = subprocess.run([TRAIND, "--listen", "127.0.0.1:0", "--db", str(db)],
                              capture_output=True, timeout=30,
                              env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
        err = done.stderr.decode()
        assert done.returncode != 0 and done.stdout == b"", (done.returncode, err)
        assert f"cannot open the database {db}" in err and "damaged" in err, err
        assert "recover" not in err, err

