"""Malformed requests, one test each: syntax errors, wrong types, values out
of range, NaN and infinities, shapes that overflow, deep nesting, duplicate
keys, wrong media types, path tricks, hostile names, truncated, empty and
oversized bodies. Each is answered with the right 4xx and an error naming the
problem (its code, its field, words of its message); afterwards the daemon
is healthy and its database has not changed by a byte of content."""
import json
import socket
import urllib.parse

import pytest

import dbfile
from conftest import Daemon
from datasets import XOR_INPUTS, XOR_SPEC, XOR_TARGETS

MAX_BODY = 512 * 1024          # --max-body of this module's daemon
MAX_DATASET_BODY = 1024 * 1024  # --max-dataset-body


class Prefix(str):
    """An expected field that the answer's field must start with."""


class Case:
    """One malformed request and the error it must get.

    body: bytes, or any other value sent as JSON; raw: the whole request as
    bytes, sent on a socket of its own (for what urllib will not send). In
    path and bodies, {model} and {dataset} name the module's resources."""

    def __init__(self, id, method, path, body=None, *, ctype="application/json", status=400,
                 code="invalid_argument", field="", says="", raw=None):
        self.id, self.method, self.path, self.body, self.ctype = id, method, path, body, ctype
        self.status, self.code, self.field, self.says, self.raw = status, code, field, says, raw


def spec(**changes):
    s = json.loads(json.dumps(XOR_SPEC))
    s.update(changes)
    return s


def spec_text(old, new):
    """XOR_SPEC as JSON text, with one piece of text replaced."""
    text = json.dumps(XOR_SPEC)
    assert old in text
    return text.replace(old, new).encode()


def dense(units, **more):
    return {"type": "dense", "units": units, **more}


def job(**changes):
    return {"model": "{model}", "dataset": "{dataset}", "epochs": 1, **changes}


def predict(inputs):
    return {"inputs": inputs}


def chunked(head, pieces):
    """A request with head's first lines and a chunked body of pieces."""
    body = b"".join(b"%x\r\n" % len(p) + p + b"\r\n" for p in pieces)
    return head + b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + body + \
        b"0\r\n\r\n"


JSON_POST = b"Host: localhost\r\nContent-Type: application/json\r\n"
CSV_POST = b"Host: localhost\r\nContent-Type: text/csv\r\n"
PREDICT = "/v1/models/{model}/predict"
CSV = "/v1/datasets?name=c&target=y"

CASES = [
    # ---- syntax ----------------------------------------------------------------------
    Case("syntax-unclosed-object", "POST", "/v1/models", b'{"name":"m"', says="expected ','"),
    Case("syntax-trailing-comma", "POST", "/v1/models", b'{"name":"m",}', says="member name"),
    Case("syntax-single-quotes", "POST", "/v1/models", b"{'name':'m'}", says="double quotes"),
    Case("syntax-missing-colon", "POST", "/v1/models", b'{"name" "m"}', says="':'"),
    Case("syntax-missing-comma", "POST", "/v1/jobs", b'{"model":1 "dataset":1}',
         says="expected ','"),
    Case("syntax-unclosed-string", "POST", "/v1/models", b'{"name":"m', says="not closed"),
    Case("syntax-bad-literal", "POST", "/v1/models", spec_text('"normalize": false',
                                                             '"normalize": fals'),
         says="true, false and null"),
    Case("syntax-comment", "POST", "/v1/models", b'{"name":"m" /* note */}',
         says="expected ','"),
    Case("syntax-leading-zero", "POST", "/v1/models", spec_text('"inputs": 2', '"inputs": 02'),
         says="leading zeros"),
    Case("syntax-bare-decimal-point", "POST", "/v1/jobs", b'{"model":1.,"dataset":1}',
         says="decimal point"),
    Case("syntax-trailing-garbage", "POST", "/v1/models", json.dumps(XOR_SPEC).encode() + b" x",
         says="after the JSON value"),
    Case("syntax-two-documents", "POST", "/v1/jobs", b"{}{}", says="after the JSON value"),
    Case("syntax-bad-escape", "POST", "/v1/models", b'{"name":"\\q"}', says="unknown escape"),
    Case("syntax-invalid-utf8", "POST", "/v1/models", b'{"name":"\xff\xfe"}',
         says="not UTF-8"),
    Case("syntax-overlong-utf8", "POST", "/v1/datasets",
         b'{"name":"d","inputs":[[1],[2]],"labels":["\xc0\xaf","b"]}', says="not UTF-8"),
    Case("syntax-raw-control-character", "POST", "/v1/models", b'{"name":"a\x01b"}',
         says="control character"),
    Case("syntax-lone-surrogate", "POST", "/v1/models", b'{"name":"\\udc00"}',
         says="surrogate"),
    # ---- wrong types -----------------------------------------------------------------
    Case("type-body-array", "POST", "/v1/models", [XOR_SPEC], says="must be a JSON object"),
    Case("type-body-string", "POST", "/v1/jobs", b'"train it"', says="must be a JSON object"),
    Case("type-inputs-string", "POST", "/v1/models", spec(inputs="2"), field="inputs"),
    Case("type-layers-object", "POST", "/v1/models", spec(layers={}), field="layers"),
    Case("type-layer-not-object", "POST", "/v1/models", spec(layers=[8, dense(1)]),
         field="layers[0]", says="must be an object"),
    Case("type-units-string", "POST", "/v1/models", spec(layers=[dense("8"), dense(1)]),
         field="layers[0].units"),
    Case("type-normalize-string", "POST", "/v1/models", spec(normalize="yes"),
         field="normalize", says="true or false"),
    Case("type-name-null", "POST", "/v1/models", spec(name=None), field="name",
         says="must be a string"),
    Case("type-epochs-string", "POST", "/v1/jobs", job(epochs="10"), field="epochs"),
    Case("type-optimizer-string", "POST", "/v1/jobs", job(optimizer="adam"), field="optimizer",
         says="must be an object"),
    Case("type-shuffle-number", "POST", "/v1/jobs", job(shuffle=1), field="shuffle"),
    Case("type-predict-inputs-object", "POST", PREDICT, predict({"a": [0, 1]}), field="inputs"),
    Case("type-predict-row-number", "POST", PREDICT, predict([0, 1]), field="inputs[0]"),
    Case("type-labels-mixed", "POST", "/v1/datasets",
         {"name": "d", "inputs": [[0], [1]], "labels": ["a", 1]}, field="labels[1]"),
    # ---- out of range ----------------------------------------------------------------
    Case("range-units-zero", "POST", "/v1/models", spec(layers=[dense(0), dense(1)]),
         field="layers[0].units"),
    Case("range-units-over-max", "POST", "/v1/models", spec(layers=[dense(1 << 20 | 1), dense(1)]),
         field="layers[0].units"),
    Case("range-inputs-negative", "POST", "/v1/models", spec(inputs=-2), field="inputs"),
    Case("range-layers-empty", "POST", "/v1/models", spec(layers=[]), field="layers"),
    Case("range-layers-too-many", "POST", "/v1/models", spec(layers=[dense(1)] * 65),
         field="layers", says="1 to 64"),
    Case("range-dropout-rate-one", "POST", "/v1/models",
         spec(layers=[{"type": "dropout", "rate": 1.0}, dense(1)]), field="layers[0].rate"),
    Case("range-epochs-zero", "POST", "/v1/jobs", job(epochs=0), field="epochs"),
    Case("range-epochs-past-int", "POST", "/v1/jobs", job(epochs=2 ** 31), field="epochs"),
    Case("range-batch-size-huge", "POST", "/v1/jobs", job(batch_size=(1 << 20) + 1),
         field="batch_size"),
    Case("range-lr-negative", "POST", "/v1/jobs", job(optimizer={"type": "sgd", "lr": -0.1}),
         field="optimizer.lr"),
    Case("range-momentum-one", "POST", "/v1/jobs",
         job(optimizer={"type": "sgd", "momentum": 1.0}), field="optimizer.momentum"),
    Case("range-validation-split", "POST", "/v1/jobs", job(validation_split=1.5),
         field="validation_split"),
    Case("range-seed-past-2-53", "POST", "/v1/models", spec(seed=2 ** 53 + 2), field="seed"),
    # 2^53 + 1 reads as the double 2^53: refused, not trained as another seed.
    Case("range-seed-rounded-by-json", "POST", "/v1/models", spec(seed=2 ** 53 + 1), field="seed",
         says="at most 9007199254740991"),
    Case("range-job-seed-rounded-by-json", "POST", "/v1/jobs", job(seed=2 ** 53 + 1),
         field="seed", says="at most 9007199254740991"),
    Case("range-model-id-zero", "POST", "/v1/jobs", job(model=0), field="model"),
    Case("range-model-id-fraction", "POST", "/v1/jobs", job(model=1.5), field="model"),
    Case("range-after-negative", "GET", "/v1/jobs/1/metrics?after=-1", field="after"),
    # ---- NaN and infinities ----------------------------------------------------------
    Case("nan-token", "POST", "/v1/models", spec_text('"seed": 1', '"seed": NaN'),
         says="NaN and Infinity are not JSON"),
    Case("infinity-token", "POST", "/v1/jobs", b'{"model":1,"dataset":1,"clip_norm":Infinity}',
         says="NaN and Infinity are not JSON"),
    Case("minus-infinity-token", "POST", PREDICT, b'{"inputs":[[-Infinity,0]]}',
         says="-Infinity is not JSON"),
    Case("nan-string-lr", "POST", "/v1/jobs", job(optimizer={"type": "adam", "lr": "NaN"}),
         field="optimizer.lr", says="finite number"),
    Case("infinity-string-predict", "POST", PREDICT, predict([["Infinity", 0]]),
         field="inputs[0][0]", says="finite number"),
    Case("nan-string-target", "POST", "/v1/datasets",
         {"name": "d", "inputs": [[1]], "targets": [["nan"]]}, field="targets[0][0]"),
    Case("overflow-to-infinity-lr", "POST", "/v1/jobs", b'{"model":1,"dataset":1,"optimizer":'
         b'{"type":"adam","lr":1e999}}', field="optimizer.lr", says="finite number"),
    Case("past-float-range-input", "POST", "/v1/datasets",
         b'{"name":"d","inputs":[[1e39]],"targets":[[0]]}', field="inputs[0][0]"),
    # a column of numbers but for a few cells is reported, not turned into text (issue 14)
    Case("infinity-csv-cell", "POST", CSV, b"x,y\n" + b"1,1\n" * 30 + b"inf,1\n",
         ctype="text/csv", field="column x", says="row 31 (inf)"),
    Case("hex-csv-cell", "POST", CSV, b"x,y\n" + b"1,1\n" * 30 + b"0x10,1\n", ctype="text/csv",
         field="column x", says="row 31 (0x10)"),
    Case("second-bom-csv", "POST", CSV, b"\xef\xbb\xbf\xef\xbb\xbfx,y\n1,2\n", ctype="text/csv",
         field="header", says="column 1 (x) starts with a byte order mark"),
    # ---- shapes that overflow --------------------------------------------------------
    Case("shape-parameters-overflow", "POST", "/v1/models",
         spec(inputs=1 << 20, layers=[dense(1 << 20), dense(1)]), field="layers[0].units",
         says="exceed"),
    Case("shape-product-past-2-30", "POST", "/v1/models",
         spec(inputs=1, layers=[dense(1 << 20)] * 64), field="layers[1].units", says="exceed"),
    Case("shape-units-2-53", "POST", "/v1/models", spec(layers=[dense(2 ** 53), dense(1)]),
         field="layers[0].units"),
    Case("shape-ragged-inputs", "POST", "/v1/datasets",
         {"name": "d", "inputs": [[1, 2], [3]], "targets": [[1], [2]]}, field="inputs[1]"),
    Case("shape-predict-too-many-rows", "POST", PREDICT, predict([[0, 0]] * 65537),
         field="inputs", says="1 to 65536 rows"),
    Case("shape-csv-too-many-columns", "POST", CSV,
         (",".join(f"c{i}" for i in range(65537)) + ",y\n").encode(), ctype="text/csv",
         field="header", says="more than 65536 columns"),
    Case("shape-misfit-dataset", "POST", "/v1/jobs", b'{"model":{model},"dataset":{wide}}',
         status=422, code="unprocessable", field="dataset", says="features"),
    # ---- deep nesting ----------------------------------------------------------------
    Case("deep-arrays-10000", "POST", "/v1/models", b"[" * 10000,
         field=Prefix("[0][0][0]"), says="deeper than 64"),
    Case("deep-objects-10000", "POST", "/v1/jobs", b'{"a":' * 10000, field=Prefix("a.a.a"),
         says="deeper than 64"),
    Case("deep-in-a-member", "POST", "/v1/models",
         b'{"name":"m","layers":' + b"[" * 100 + b"]" * 100 + b"}", field=Prefix("layers[0][0]"),
         says="deeper than 64"),
    # ---- duplicate keys --------------------------------------------------------------
    Case("duplicate-top-level", "POST", "/v1/models",
         b'{"name":"a","name":"b","inputs":2,"layers":[],"loss":"mse"}', field="name",
         says="more than once"),
    Case("duplicate-nested", "POST", "/v1/models",
         spec_text('"units": 1,', '"units": 1, "units": 2,'), field="layers[1].units"),
    Case("duplicate-by-escape", "POST", "/v1/jobs", b'{"model":1,"mod\\u0065l":2,"dataset":1}',
         field="model", says="more than once"),
    # ---- media types -----------------------------------------------------------------
    Case("media-text-plain", "POST", "/v1/models", XOR_SPEC, ctype="text/plain", status=415,
         code="unsupported_media_type", says="application/json"),
    Case("media-missing", "", "", raw=b"POST /v1/jobs HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n"
         b"Connection: close\r\n\r\n{}", status=415, code="unsupported_media_type",
         says="Content-Type header is required"),
    Case("media-form-urlencoded", "POST", "/v1/models", b"name=m",
         ctype="application/x-www-form-urlencoded", status=415, code="unsupported_media_type"),
    Case("media-latin1-charset", "POST", "/v1/models", XOR_SPEC,
         ctype="application/json; charset=latin1", status=415, code="unsupported_media_type"),
    Case("media-csv-for-models", "POST", "/v1/models", b"a,b\n1,2\n", ctype="text/csv",
         status=415, code="unsupported_media_type"),
    Case("media-json-lookalike", "POST", "/v1/models", XOR_SPEC, ctype="application/jsonx",
         status=415, code="unsupported_media_type"),
    Case("media-multipart-dataset", "POST", "/v1/datasets", b"--b\r\n\r\n--b--",
         ctype="multipart/form-data; boundary=b", status=415, code="unsupported_media_type",
         says="text/csv"),
    # ---- path tricks -----------------------------------------------------------------
    Case("path-dot-dot", "GET", "/v1/models/../datasets", status=404, code="not_found"),
    Case("path-encoded-dot-dot", "GET", "/v1/%2e%2e/v1/models", status=404, code="not_found"),
    Case("path-double-slash", "GET", "//v1/models", status=404, code="not_found"),
    Case("path-trailing-slash", "DELETE", "/v1/models/{model}/", status=404, code="not_found"),
    Case("path-encoded-nul", "GET", "/v1/models/1%00", status=404, code="not_found"),
    Case("path-encoded-slash", "DELETE", "/v1/models%2F{model}", status=404, code="not_found"),
    Case("path-bad-escape", "GET", "/v1/models/%zz", status=404, code="not_found"),
    Case("path-id-leading-zero", "DELETE", "/v1/datasets/0{dataset}", status=404,
         code="not_found", says="not an id"),
    Case("path-id-past-2-53", "GET", "/v1/models/9007199254740993", status=404,
         code="not_found", says="not an id"),
    Case("path-backslash", "GET", "/v1\\models", status=404, code="not_found"),
    Case("path-very-long", "GET", "/v1/models/" + "9" * 10000, status=404, code="not_found"),
    Case("path-raw-bytes", "GET", "", raw=b"GET /v1/models/\xff\xfe HTTP/1.1\r\nHost: localhost\r\n"
         b"Connection: close\r\n\r\n", status=404, code="not_found", says="not an id"),
    Case("method-raw-bytes", "", "", raw=b"P\x1b[31mOST /v1/models HTTP/1.1\r\nHost: localhost\r\n"
         b"Connection: close\r\n\r\n", status=501, code="not_implemented"),
    Case("query-encoded-nul", "GET", "/v1/jobs?state=%00", field="state"),
    Case("query-sql", "GET", "/v1/jobs?state=running%27%20OR%201=1--", field="state"),
    Case("query-too-many", "GET", "/v1/jobs?" + "&".join(f"p{i}=1" for i in range(17)),
         field="query"),
    # ---- hostile names ---------------------------------------------------------------
    Case("name-sql-quote", "POST", "/v1/models", spec(name="x'); DROP TABLE models;--"),
         field="name"),
    Case("name-nul-escape", "POST", "/v1/models", spec_text('"xor-net"', '"xor\\u0000net"'),
         says="\\u0000"),
    Case("name-escaped-newline", "POST", "/v1/models", spec(name="a\nb"), field="name"),
    Case("name-terminal-escape", "POST", "/v1/datasets",
         {"name": "\x1b[2J", "inputs": [[1]], "targets": [[1]]}, field="name"),
    Case("name-very-long", "POST", "/v1/models", spec(name="n" * 100_000), field="name"),
    Case("name-not-ascii", "POST", "/v1/models", spec(name="modèle"), field="name"),
    Case("name-empty", "POST", "/v1/models", spec(name=""), field="name"),
    Case("name-csv-sql", "POST", "/v1/datasets?name=x%27%3B--&target=y", b"x,y\n1,2\n",
         ctype="text/csv", field="name"),
    Case("name-csv-nul", "POST", "/v1/datasets?name=a%00b&target=y", b"x,y\n1,2\n",
         ctype="text/csv", field="name"),
    Case("label-nul-escape", "POST", "/v1/datasets",
         b'{"name":"d","inputs":[[1],[2]],"labels":["a\\u0000b","a\\u0000c"]}', says="\\u0000"),
    Case("label-csv-not-utf8", "POST", CSV, b"x,y\n1,caf\xe9\n", ctype="text/csv",
         field="row 1, column y", says="not UTF-8"),
    Case("label-too-long", "POST", "/v1/datasets",
         {"name": "d", "inputs": [[1], [2]], "labels": ["l" * 300, "b"]}, field="labels[0]"),
    # ---- truncated bodies ------------------------------------------------------------
    Case("truncated-spec", "POST", "/v1/models", json.dumps(XOR_SPEC).encode()[:60],
         says="malformed JSON"),
    Case("truncated-dataset", "POST", "/v1/datasets", b'{"name":"d","inputs":[[1,2],[3',
         says="expected ','"),
    Case("truncated-csv-quote", "POST", CSV, b'x,y\n1,"2', ctype="text/csv",
         field="row 1, column y", says="never closed"),
    Case("truncated-escape", "POST", "/v1/models", b'{"name":"\\u00', says="four hex digits"),
    # ---- empty bodies ----------------------------------------------------------------
    Case("empty-model", "POST", "/v1/models", b"", says="empty"),
    Case("empty-job", "POST", "/v1/jobs", b"", says="empty"),
    Case("empty-predict", "POST", PREDICT, b"", says="empty"),
    Case("empty-dataset", "POST", "/v1/datasets", b"", says="empty"),
    Case("empty-csv", "POST", CSV, b"", ctype="text/csv", says="empty"),
    Case("blank-body", "POST", "/v1/models", b" \r\n\t ", says="empty"),
    Case("empty-object", "POST", "/v1/jobs", {}, field="model", says="required"),
    # ---- oversized bodies ------------------------------------------------------------
    Case("huge-declared-model", "", "", raw=b"POST /v1/models HTTP/1.1\r\n" + JSON_POST +
         b"Content-Length: %d\r\nConnection: close\r\n\r\n" % (MAX_BODY + 1),
         status=413, code="payload_too_large", says="at most %d" % MAX_BODY),
    Case("huge-declared-dataset", "", "", raw=b"POST /v1/datasets HTTP/1.1\r\n" + JSON_POST +
         b"Content-Length: %d\r\nConnection: close\r\n\r\n" % (10 * MAX_DATASET_BODY),
         status=413, code="payload_too_large", says="at most %d" % MAX_DATASET_BODY),
    Case("huge-chunked-job", "", "", raw=chunked(b"POST /v1/jobs HTTP/1.1\r\n" + JSON_POST,
                                                 [b" " * 8192] * (MAX_BODY // 8192 + 1)),
         status=413, code="payload_too_large", says="exceeds %d" % MAX_BODY),
    Case("huge-chunked-csv", "", "",
         raw=chunked(b"POST " + CSV.encode() + b" HTTP/1.1\r\n" + CSV_POST,
                     [b"x,y\n"] + [b"1,2\n" * 4096] * (MAX_DATASET_BODY // 16384 + 1)),
         status=413, code="payload_too_large", says="exceeds %d" % MAX_DATASET_BODY),
]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """A daemon with small body limits, a trained model on a data set and a
    data set of another width: (daemon, ids, the database's dump)."""
    tmp = tmp_path_factory.mktemp("bad-input")
    d = Daemon(tmp / "db.sqlite", tmp,
               extra=("--max-body", str(MAX_BODY), "--max-dataset-body", str(MAX_DATASET_BODY)))
    d.start()
    c = d.client
    ds = c.create_dataset("xor", XOR_INPUTS, targets=XOR_TARGETS)
    wide = c.create_dataset("wide", [[0, 0, 0]], targets=[[1]])
    model = c.create_model(XOR_SPEC)
    job_id = c.create_job(model["id"], ds["id"], epochs=3)["id"]
    assert c.wait(job_id)["state"] == "succeeded"
    ids = {"model": model["id"], "dataset": ds["id"], "wide": wide["id"]}
    yield d, ids, dbfile.dump(d.db)
    rc = d.stop()
    assert rc == 0, f"traind exited {rc}\n{d.log_tail()}"


def fill(value, ids):
    """{model}, {dataset}, {wide} in the path or the body, as ids."""
    if isinstance(value, str):
        for name, v in ids.items():
            value = value.replace("{%s}" % name, str(v))
        return value
    if isinstance(value, bytes):
        return fill(value.decode("latin-1"), ids).encode("latin-1")
    if isinstance(value, dict):
        return {k: ids[v[1:-1]] if isinstance(v, str) and v[1:-1] in ids else v
                for k, v in value.items()}
    return value


def send_raw(url, data):
    """Send request bytes on a connection of our own; (status, JSON body or None)."""
    parts = urllib.parse.urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as s:
        s.sendall(data)
        answer = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body) if body else None


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(env, case):
    d, ids, before = env
    if case.raw is not None:
        status, doc = send_raw(d.url, case.raw)
    else:
        body = fill(case.body, ids)
        if body is not None and not isinstance(body, bytes):
            body = json.dumps(body, separators=(",", ":")).encode()
        status, _, doc = d.client.request(case.method, fill(case.path, ids), body, case.ctype)
    assert status == case.status, doc
    assert isinstance(doc, dict) and set(doc) == {"error"}, doc
    err = doc["error"]
    assert set(err) == {"code", "message", "field"}, err
    assert err["code"] == case.code, err
    if isinstance(case.field, Prefix):
        assert err["field"].startswith(case.field), err
    else:
        assert err["field"] == case.field, err
    assert err["message"] and case.says in err["message"], err
    assert d.client.health() == {"status": "ok"}
    assert dbfile.dump(d.db) == before, "the database changed"


def test_body_cut_off_by_the_client_changes_nothing(env):
    """A body that stops short of its Content-Length, the client hanging up:
    nothing is stored, and the daemon goes on."""
    d, _, before = env
    parts = urllib.parse.urlsplit(d.url)
    head = b"POST /v1/models HTTP/1.1\r\n" + JSON_POST + b"Content-Length: 400\r\n\r\n"
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as s:
        s.sendall(head + json.dumps(XOR_SPEC).encode()[:100])
        s.shutdown(socket.SHUT_WR)
        answer = s.recv(65536)
    assert not answer.startswith(b"HTTP/1.1 2"), answer
    assert d.client.health() == {"status": "ok"}
    assert dbfile.dump(d.db) == before


def test_path_over_the_header_memory_is_refused(env):
    """A request line past HTTP_CONNECTION_MEMORY: libmicrohttpd answers 414
    itself (not JSON, http.h), and the daemon goes on."""
    d, _, before = env
    parts = urllib.parse.urlsplit(d.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as s:
        s.sendall(b"GET /v1/models/" + b"1" * 70000 + b" HTTP/1.1\r\nHost: localhost\r\n"
                  b"Connection: close\r\n\r\n")
        answer = s.recv(65536)
    assert answer.startswith(b"HTTP/1.1 414 "), answer[:100]
    assert d.client.health() == {"status": "ok"}
    assert dbfile.dump(d.db) == before


def test_zz_log_lines_stay_printable(env):
    """Client bytes (paths, methods) reach the log only as printable ASCII:
    no terminal escapes, no bytes that are not text."""
    d, _, _ = env
    with open(d.log_path, "rb") as f:
        for line in f:
            assert all(32 <= b < 127 for b in line.rstrip(b"\n")), line
