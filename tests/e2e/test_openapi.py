"""docs/openapi.yaml held to real traffic by tools nobody here wrote.

Prism (@stoplight/prism-cli, tests/tools) runs as a validating proxy in front
of a daemon: every exchange below goes through it, and Prism reports in an
sl-violations header each way the request or the answer departs from the
document. Every endpoint is driven, with its successes and its errors, with
the full token, the read token and none. An answer that departs from the
document fails the test; so does a request the document calls invalid that
traind accepts, or a valid one it refuses. Requests that are invalid on
purpose (bad bodies) must be flagged by Prism, the document being strict
enough to tell them, and answered by traind's documented errors.

Prism runs without --errors: with it, Prism answers an invalid request itself
instead of forwarding it, and traind's error answers would go unchecked.
Redocly's linter checks the document itself (tests/tools/redocly.yaml).
"""
import http.client
import json
import os
import re
import socket
import subprocess
import time
import urllib.parse

import jsonschema
import pytest
import yaml

from conftest import ROOT
from datasets import XOR_INPUTS, XOR_SPEC, XOR_TARGETS, iris_csv, iris_rows, slow_data
from tools import TOOLS, node_tool

OPENAPI = os.path.join(ROOT, "docs", "openapi.yaml")
# A budget small enough that a model and a job below are refused as too_large.
MEMORY_BUDGET = "64M"
TOKEN = "openapi-full-token"
READ_TOKEN = "openapi-read-token"
START_TIMEOUT = 60.0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Prism:
    """`prism proxy docs/openapi.yaml UPSTREAM` on a free loopback port."""

    def __init__(self, upstream, log_path):
        self.port = free_port()
        self.log_path = log_path
        self.log = open(log_path, "wb")
        self.proc = subprocess.Popen(
            [node_tool("node_modules", ".bin", "prism"), "proxy", OPENAPI, upstream,
             "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=TOOLS, stdout=self.log, stderr=subprocess.STDOUT)
        # Its own word, not an open port: the port may have gone to another
        # process between free_port() and Prism's bind.
        listening = f"Prism is listening on http://127.0.0.1:{self.port}".encode()
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            with open(log_path, "rb") as f:
                if listening in f.read():
                    return
            assert self.proc.poll() is None, f"prism exited {self.proc.returncode}"
            assert time.monotonic() < deadline, "prism did not start"
            time.sleep(0.2)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


class Answer:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body
        raw = headers.get("sl-violations")
        self.violations = json.loads(raw) if raw else []

    def json(self):
        return json.loads(self.body)

    def where(self, side):
        return [v for v in self.violations if v["location"][0] == side]


class Via:
    """Requests to one base URL (the proxy, or the daemon itself)."""

    def __init__(self, url):
        u = urllib.parse.urlsplit(url)
        self.host, self.port = u.hostname, u.port
        self.sent = []

    def __call__(self, method, path, body=None, token=TOKEN, headers=None, content_type=None):
        head = {"Connection": "close"}
        if token is not None:
            head["Authorization"] = f"Bearer {token}"
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            content_type = content_type or "application/json"
        if content_type is not None:
            head["Content-Type"] = content_type
        head.update(headers or {})
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            conn.request(method, path, body, head)
            resp = conn.getresponse()
            answer = Answer(resp.status, resp.headers, resp.read())
        finally:
            conn.close()
        self.sent.append((method, path, answer.status))
        return answer


def ok(answer, status):
    """Answered status, the request and the answer both as documented."""
    assert answer.status == status, (answer.status, answer.body[:300])
    assert answer.violations == [], (status, answer.violations, answer.body[:300])
    return answer


def refused(answer, status, request_invalid=False):
    """An error answer as documented; request_invalid: the document calls the
    request invalid too (Prism flags it)."""
    assert answer.status == status, (answer.status, answer.body[:300])
    assert answer.where("response") == [], answer.violations
    assert bool(answer.where("request")) == request_invalid, answer.violations
    return answer


@pytest.fixture(scope="module")
def proxied(tmp_path_factory):
    """A daemon with both tokens behind Prism: (proxy, direct, daemon)."""
    from conftest import Daemon

    tmp = tmp_path_factory.mktemp("openapi")
    d = Daemon(tmp / "db.sqlite", tmp, workers=1,
               extra=("--token", TOKEN, "--read-token", READ_TOKEN,
                      "--memory-budget", MEMORY_BUDGET)).start()
    prism = None
    try:
        prism = Prism(d.url, tmp / "prism.log")
        yield Via(f"http://127.0.0.1:{prism.port}"), Via(d.url), d
    finally:
        if prism is not None:
            prism.stop()
        assert d.stop() == 0, d.log_tail()


def wait_job(via, job_id, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        job = ok(via("GET", f"/v1/jobs/{job_id}?wait=10"), 200).json()
        if job["state"] in ("succeeded", "failed", "cancelled"):
            return job
        assert time.monotonic() < deadline, job


def test_operations_and_their_errors_fit_the_document(proxied):
    via, direct, _ = proxied

    # ---- operations, access ---------------------------------------------------------
    ok(via("GET", "/healthz", token=None), 200)
    ok(via("GET", "/v1"), 200)
    ok(via("GET", "/v1", token=READ_TOKEN), 200)
    for token in (None, "wrong", READ_TOKEN + "x"):
        refused(via("GET", "/v1", token=token), 401)
        refused(via("GET", "/v2/health/ready", token=token), 401)
    refused(via("GET", "/v2/models/nope/ready", token=None), 401)
    ok(via("GET", "/metrics"), 200)
    refused(via("GET", "/metrics", token=None), 401)

    # ---- the dashboard: its files at each depth, 304, 404 ------------------------------
    ok(via("GET", "/", token=None), 200)
    for path in ("/ui/favicon.svg", "/ui/js/app.js", "/ui/js/pages/jobs.js",
                 "/ui/vendor/uplot/uPlot.min.css"):
        first = ok(via("GET", path, token=None), 200)
        ok(via("GET", path, token=None, headers={"If-None-Match": first.headers["ETag"]}), 304)
    refused(via("GET", "/ui/js/nothing.js", token=None), 404)

    # ---- datasets -------------------------------------------------------------------------
    xor = ok(via("POST", "/v1/datasets", {"name": "xor", "inputs": XOR_INPUTS,
                                         "targets": XOR_TARGETS}), 201).json()
    iris = ok(via("POST", "/v1/datasets?name=iris&target=species",
                  iris_csv(iris_rows(per_class=10)).encode(), content_type="text/csv"),
              201).json()
    scratch = ok(via("POST", "/v1/datasets", {"name": "scratch", "inputs": [[1], [2]],
                                             "labels": ["a", "b"]}), 201).json()
    ok(via("GET", "/v1/datasets"), 200)
    ok(via("GET", f"/v1/datasets/{iris['id']}"), 200)
    refused(via("GET", "/v1/datasets/999"), 404)
    refused(via("POST", "/v1/datasets", {"name": "bad", "inputs": []}), 400, request_invalid=True)
    # (Prism leaves a body that is not JSON at all to the server)
    refused(via("POST", "/v1/datasets", b"{", content_type="application/json"), 400)
    refused(via("POST", "/v1/datasets", b"x", content_type="text/plain"), 415,
            request_invalid=True)
    refused(via("POST", "/v1/datasets", {"name": "xor", "inputs": XOR_INPUTS,
                                        "targets": XOR_TARGETS}, token=READ_TOKEN), 403)
    ok(via("DELETE", f"/v1/datasets/{scratch['id']}"), 204)
    refused(via("DELETE", f"/v1/datasets/{scratch['id']}"), 404)

    # ---- models -----------------------------------------------------------------------------
    model = ok(via("POST", "/v1/models", XOR_SPEC), 201).json()
    fresh = ok(via("POST", "/v1/models", dict(XOR_SPEC, name="fresh")), 201).json()
    refused(via("POST", "/v1/models", dict(XOR_SPEC, layers=[])), 400, request_invalid=True)
    ok(via("GET", "/v1/models"), 200)
    ok(via("GET", f"/v1/models/{model['id']}"), 200)
    refused(via("GET", "/v1/models/999"), 404)
    ok(via("GET", f"/v1/models/{fresh['id']}/versions"), 200)
    refused(via("POST", f"/v1/models/{fresh['id']}/predict", {"inputs": [[0, 1]]}), 409)
    # 8 -> 4096 -> 4096 -> 1 is 16.8e6 parameters: over the budget even at batch 1
    wide = {"name": "wide", "inputs": 8, "loss": "mse",
            "layers": [{"type": "dense", "units": 1024, "activation": "relu"},
                       {"type": "dense", "units": 1024, "activation": "relu"},
                       {"type": "dense", "units": 1}]}
    too_large = dict(wide, layers=[dict(wide["layers"][0], units=4096),
                                   dict(wide["layers"][1], units=4096), wide["layers"][2]])
    answer = refused(via("POST", "/v1/models", too_large), 422)
    assert answer.json()["error"]["code"] == "too_large", answer.body
    assert answer.json()["error"]["field"] == "layers", answer.body
    wide = ok(via("POST", "/v1/models", wide), 201).json()

    # ---- jobs ------------------------------------------------------------------------------
    job = ok(via("POST", "/v1/jobs", {"model": model["id"], "dataset": xor["id"], "epochs": 30,
                                      "batch_size": 4, "seed": 7,
                                      "optimizer": {"type": "adam", "lr": 0.05}}), 202).json()
    refused(via("POST", "/v1/jobs", {"model": model["id"], "dataset": xor["id"], "epochs": 0}),
            400, request_invalid=True)
    refused(via("POST", "/v1/jobs", {"model": model["id"], "dataset": xor["id"],
                                     "optimizer": {"type": "adam", "eps": 0}}),
            400, request_invalid=True)
    refused(via("POST", "/v1/jobs", {"model": 999, "dataset": xor["id"]}), 404)
    refused(via("POST", "/v1/jobs", {"model": model["id"], "dataset": iris["id"]}), 422)
    x, y = slow_data(rows=4096)
    rows = ok(via("POST", "/v1/datasets", {"name": "rows", "inputs": x, "targets": y}),
              201).json()
    answer = refused(via("POST", "/v1/jobs", {"model": wide["id"], "dataset": rows["id"],
                                              "batch_size": 4096,
                                              "optimizer": {"type": "adam"}}), 422)
    assert answer.json()["error"]["code"] == "too_large", answer.body
    assert answer.json()["error"]["field"] == "batch_size", answer.body
    job = wait_job(via, job["id"])
    assert job["state"] == "succeeded", job
    ok(via("GET", "/v1/jobs"), 200)
    ok(via("GET", f"/v1/jobs?state=succeeded&model={model['id']}"), 200)
    refused(via("GET", "/v1/jobs?state=bogus"), 400, request_invalid=True)
    ok(via("GET", f"/v1/jobs/{job['id']}"), 200)
    refused(via("GET", "/v1/jobs/999"), 404)
    ok(via("GET", f"/v1/jobs/{job['id']}/metrics?after=25"), 200)
    refused(via("GET", f"/v1/jobs/{job['id']}/metrics?after=-1"), 400, request_invalid=True)
    ok(via("GET", f"/v1/jobs/{job['id']}/checkpoints"), 200)
    ok(via("POST", f"/v1/jobs/{job['id']}/cancel", content_type="application/json"), 200)
    refused(via("POST", "/v1/jobs/999/cancel", content_type="application/json"), 404)
    # a finished job's stream ends, so the proxy can read it whole; resumed after
    # its last event it is 204 (GET /v1/events never ends: its errors only)
    events = ok(via("GET", f"/v1/jobs/{job['id']}/events"), 200)
    last = [line for line in events.body.decode().split("\n") if line.startswith("id: ")][-1]
    ok(via("GET", f"/v1/jobs/{job['id']}/events", headers={"Last-Event-ID": last[4:]}), 204)
    refused(via("GET", "/v1/jobs/999/events"), 404)
    refused(via("GET", "/v1/events?after=x"), 400, request_invalid=True)

    # ---- searches ----------------------------------------------------------------------------
    search_body = {"model": XOR_SPEC, "dataset": xor["id"],
                   "job": {"epochs": 5, "batch_size": 4, "validation_split": 0.25,
                           "optimizer": {"type": "adam", "lr": 0.01}},
                   "space": {"job.optimizer.lr": {"loguniform": [0.001, 0.1]}}, "trials": 2}
    search = ok(via("POST", "/v1/searches", search_body), 202).json()
    refused(via("POST", "/v1/searches", dict(search_body, method="bogus")), 400,
            request_invalid=True)
    refused(via("POST", "/v1/searches", dict(search_body, space={"job.nothing": {"int": [1, 2]}})),
            400)
    refused(via("POST", "/v1/searches", dict(search_body, dataset=999)), 404)
    deadline = time.monotonic() + 60
    while ok(via("GET", f"/v1/searches/{search['id']}"), 200).json()["state"] == "running":
        assert time.monotonic() < deadline, "the search did not end"
        time.sleep(0.1)
    ok(via("GET", "/v1/searches"), 200)
    refused(via("GET", "/v1/searches/999"), 404)
    sevents = ok(via("GET", f"/v1/searches/{search['id']}/events"), 200)
    last = [line for line in sevents.body.decode().split("\n") if line.startswith("id: ")][-1]
    ok(via("GET", f"/v1/searches/{search['id']}/events", headers={"Last-Event-ID": last[4:]}), 204)
    refused(via("GET", "/v1/searches/999/events"), 404)
    long_search = ok(via("POST", "/v1/searches", dict(search_body, job=dict(
        search_body["job"], epochs=1_000_000))), 202).json()
    ok(via("POST", f"/v1/searches/{long_search['id']}/cancel", content_type="application/json"),
       200)
    refused(via("POST", f"/v1/searches/{long_search['id']}/cancel",
                content_type="application/json"), 409)
    refused(via("POST", "/v1/searches/999/cancel", content_type="application/json"), 404)
    # ranked by an evaluation of each rung's weights on a validation dataset
    iris_spec = {"name": "iris-search", "inputs": 4, "loss": "cross_entropy", "seed": 1,
                 "layers": [{"type": "dense", "units": 4, "activation": "tanh"},
                            {"type": "dense", "units": 3, "activation": "softmax"}]}
    eval_search = {"model": iris_spec, "dataset": iris["id"],
                   "job": {"epochs": 3, "batch_size": 8, "validation_dataset": iris["id"],
                           "optimizer": {"type": "adam", "lr": 0.01}},
                   "space": {"job.optimizer.lr": {"loguniform": [0.001, 0.1]}}, "trials": 2,
                   "metric": "evaluation.balanced_accuracy"}
    ranked = ok(via("POST", "/v1/searches", eval_search), 202).json()
    assert ranked["config"]["mode"] == "max", ranked
    refused(via("POST", "/v1/searches", dict(eval_search, metric="evaluation.bogus")), 400,
            request_invalid=True)
    refused(via("POST", "/v1/searches", dict(eval_search, mode="min")), 400)
    refused(via("POST", "/v1/searches", dict(eval_search, metric="evaluation.r2")), 422)
    split = {k: v for k, v in eval_search["job"].items() if k != "validation_dataset"}
    refused(via("POST", "/v1/searches", dict(eval_search, job=dict(split, validation_split=0.25))),
            400)
    deadline = time.monotonic() + 60
    while (ranked := ok(via("GET", f"/v1/searches/{ranked['id']}"), 200).json())["state"] == \
            "running":
        assert time.monotonic() < deadline, "the search did not end"
        time.sleep(0.1)
    assert all(t["metric"] is not None for t in ranked["trials"]), ranked

    # ---- predictions and gradient checks -----------------------------------------------------
    versions = ok(via("GET", f"/v1/models/{model['id']}/versions"), 200).json()["versions"]
    ok(via("POST", f"/v1/models/{model['id']}/predict", {"inputs": XOR_INPUTS}), 200)
    ok(via("POST", f"/v1/models/{model['id']}/predict?version={versions[-1]['version']}",
           {"inputs": XOR_INPUTS}, token=READ_TOKEN), 200)
    refused(via("POST", f"/v1/models/{model['id']}/predict", {"inputs": [[0, 1, 2]]}), 400)
    refused(via("POST", f"/v1/models/{model['id']}/predict", {"inputs": []}), 400,
            request_invalid=True)
    refused(via("POST", "/v1/models/999/predict", {"inputs": [[0, 1]]}), 404)
    ok(via("POST", f"/v1/models/{model['id']}/gradcheck", {"dataset": xor["id"], "samples": 2}),
       200)
    refused(via("POST", f"/v1/models/{model['id']}/gradcheck", {"dataset": xor["id"],
                                                                 "samples": 0}),
            400, request_invalid=True)
    ok(via("POST", f"/v1/models/{model['id']}/trace", {"input": [1, 0], "target": 1},
           token=READ_TOKEN), 200)
    refused(via("POST", f"/v1/models/{model['id']}/trace", {"input": [1, 0]}), 400,
            request_invalid=True)
    refused(via("POST", f"/v1/models/{model['id']}/trace", {"input": [1], "target": 1}), 400)

    # ---- a typed table: raw CSV and records up, a model without inputs, records predicted -------
    csv = "id;island;mass;seen;species\n" + "".join(
        f"{i};{('Biscoe', 'Dream')[i % 2]};{'' if i % 7 == 0 else 3000 + 37 * i};"
        f"2021-0{1 + i % 9}-1{i % 10};{('Adelie', 'Gentoo', '')[i % 3]}\n" for i in range(60))
    birds = ok(via("POST", "/v1/datasets?name=birds&target=species&ignore=id&delimiter=%3B",
                   csv.encode(), content_type="text/csv"), 201).json()
    ok(via("GET", f"/v1/datasets/{birds['id']}"), 200)
    ok(via("POST", "/v1/datasets", {"name": "birds-json", "target": "species", "records": [
        {"island": "Biscoe", "mass": 4200, "species": "Gentoo"},
        {"island": "Dream", "mass": None, "species": "Adelie"}]}), 201)
    refused(via("POST", "/v1/datasets", {"name": "r", "target": "y", "records": []}), 400,
            request_invalid=True)
    refused(via("POST", "/v1/datasets?name=t&target=species&types=mass:text", csv.encode(),
                content_type="text/csv"), 400)
    table_spec = {"name": "birds", "loss": "cross_entropy", "layers": [
        {"type": "dense", "units": 2, "activation": "softmax"}],
        "preprocess": {"types": {"number": {"impute": "median"}}}}
    birds_model = ok(via("POST", "/v1/models", table_spec), 201).json()
    refused(via("POST", "/v1/models", dict(table_spec, preprocess={"types": {"text": {}}})), 400,
            request_invalid=True)
    table_job = ok(via("POST", "/v1/jobs", {"model": birds_model["id"], "dataset": birds["id"],
                                            "epochs": 2}), 202).json()
    assert wait_job(via, table_job["id"])["state"] == "succeeded"
    ok(via("GET", f"/v1/models/{birds_model['id']}"), 200)
    record = {"island": "Biscoe", "mass": 4100, "seen": "2021-05-05"}
    ok(via("POST", f"/v1/models/{birds_model['id']}/predict", {"records": [record, {}]}), 200)
    refused(via("POST", f"/v1/models/{birds_model['id']}/predict",
                {"records": [dict(record, mass="heavy")]}), 400)
    refused(via("POST", f"/v1/models/{model['id']}/predict", {"records": [record]}), 400)
    ok(via("POST", f"/v1/models/{birds_model['id']}/trace", {"record": record,
                                                              "target": "Gentoo"}), 200)
    ok(via("GET", f"/v2/models/{birds_model['id']}"), 200)
    ok(via("POST", f"/v2/models/{birds_model['id']}/infer", {"inputs": [
        {"name": "island", "shape": [2], "datatype": "BYTES", "data": ["Biscoe", None]},
        {"name": "mass", "shape": [2, 1], "datatype": "FP64", "data": [[4100], [None]]}]}), 200)
    refused(via("POST", f"/v2/models/{birds_model['id']}/infer", {"inputs": [
        {"name": "island", "shape": [1], "datatype": "FP64", "data": ["Biscoe"]}]}), 400)

    # ---- evaluations -----------------------------------------------------------------------------
    ev = ok(via("POST", f"/v1/models/{model['id']}/evaluate", {"dataset": xor["id"]}), 201).json()
    refused(via("POST", f"/v1/models/{model['id']}/evaluate", {"dataset": 999}), 404)
    refused(via("POST", f"/v1/models/{fresh['id']}/evaluate", {"dataset": xor["id"]}), 409)
    refused(via("POST", f"/v1/models/{model['id']}/evaluate", {"set": xor["id"]}), 400,
            request_invalid=True)
    ok(via("GET", f"/v1/models/{model['id']}/evaluations", token=READ_TOKEN), 200)
    ok(via("GET", f"/v1/models/{model['id']}/evaluations/{ev['id']}"), 200)
    refused(via("GET", f"/v1/models/{model['id']}/evaluations/999"), 404)

    # ---- batch predictions -------------------------------------------------------------------
    pred = ok(via("POST", "/v1/predictions", {"model": model["id"], "dataset": xor["id"]}),
              202).json()
    refused(via("POST", "/v1/predictions", {"model": 999, "dataset": xor["id"]}), 404)
    refused(via("POST", "/v1/predictions", {"model": fresh["id"], "dataset": xor["id"]}), 409)
    refused(via("POST", "/v1/predictions", {"model": model["id"], "dataset": iris["id"]}), 422)
    refused(via("POST", "/v1/predictions", {"model": model["id"]}), 400, request_invalid=True)
    deadline = time.monotonic() + 60
    while ok(via("GET", f"/v1/predictions/{pred['id']}"), 200).json()["state"] != "succeeded":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    ok(via("GET", "/v1/predictions", token=READ_TOKEN), 200)
    refused(via("GET", "/v1/predictions/999"), 404)
    ok(via("GET", f"/v1/predictions/{pred['id']}/output"), 200)
    ok(via("GET", f"/v1/predictions/{pred['id']}/output?format=jsonl"), 200)
    refused(via("GET", f"/v1/predictions/{pred['id']}/output?format=xml"), 400,
            request_invalid=True)
    refused(via("GET", "/v1/predictions/999/output"), 404)
    refused(via("POST", f"/v1/predictions/{pred['id']}/cancel",
                content_type="application/json"), 409)
    refused(via("POST", "/v1/predictions/999/cancel", content_type="application/json"), 404)

    # ---- models leave traind: model files and ONNX ---------------------------------------------
    weights = f"/v1/models/{model['id']}/versions/{versions[0]['version']}/weights"
    ok(via("GET", weights), 200)
    refused(via("GET", f"/v1/models/{model['id']}/versions/999999/weights"), 404)
    ok(via("GET", f"/v1/models/{model['id']}/onnx?version={versions[-1]['version']}",
           token=READ_TOKEN), 200)
    refused(via("GET", f"/v1/models/{fresh['id']}/onnx"), 409)
    refused(via("POST", "/v1/models/import", b"not a model file",
                content_type="application/octet-stream"), 400)
    refused(via("POST", "/v1/models/import", b"not a model file",
                content_type="application/octet-stream", token=READ_TOKEN), 403)

    # ---- the Open Inference Protocol ------------------------------------------------------------
    ok(via("GET", "/v2/health/live"), 200)
    ok(via("GET", "/v2/health/ready", token=READ_TOKEN), 200)
    ok(via("GET", "/v2"), 200)
    newest = str(versions[0]["version"])
    for base in ("/v2/models/xor-net", f"/v2/models/{model['id']}",
                 f"/v2/models/xor-net/versions/{newest}"):
        ok(via("GET", base), 200)
        ok(via("GET", base + "/ready"), 200)
        tensor = {"name": "input", "shape": [4, 2], "datatype": "FP32", "data": XOR_INPUTS}
        ok(via("POST", base + "/infer", {"id": "1", "model_name": "xor-net",
                                         "inputs": [tensor]}), 200)
    refused(via("GET", "/v2/models/fresh/ready"), 400)
    refused(via("GET", "/v2/models/nope"), 404)
    refused(via("GET", f"/v2/models/xor-net/versions/{int(newest) + 1}"), 404)
    tensor = {"name": "input", "shape": [1, 2], "datatype": "FP32", "data": [0, 1]}
    refused(via("POST", "/v2/models/fresh/infer", {"inputs": [tensor]}), 409)
    refused(via("POST", "/v2/models/nope/infer", {"inputs": [tensor]}), 404)
    refused(via("POST", "/v2/models/xor-net/infer",
                {"model_name": "fresh", "inputs": [tensor]}), 400)
    refused(via("POST", "/v2/models/xor-net/infer",
                {"inputs": [dict(tensor, datatype="INT32")]}), 400, request_invalid=True)
    refused(via("POST", "/v2/models/xor-net/infer", b"{}", content_type="text/csv"), 415,
            request_invalid=True)
    # Triton's binary tensors: a JSON head, then raw bytes (not JSON: left to traind)
    head = json.dumps({"inputs": [{"name": "input", "shape": [1, 2], "datatype": "FP32",
                                   "parameters": {"binary_data_size": 8}}]}).encode()
    refused(via("POST", "/v2/models/xor-net/infer", head + bytes(8),
                content_type="application/json",
                headers={"Inference-Header-Content-Length": str(len(head))}), 400)

    # ---- deletes, and the conflicts of an active job -------------------------------------------
    busy = ok(via("POST", "/v1/jobs", {"model": fresh["id"], "dataset": xor["id"],
                                       "epochs": 1_000_000, "batch_size": 1}), 202).json()
    refused(via("DELETE", f"/v1/models/{fresh['id']}"), 409)
    refused(via("DELETE", f"/v1/datasets/{xor['id']}"), 409)
    ok(via("POST", f"/v1/jobs/{busy['id']}/cancel", content_type="application/json"), 200)
    assert wait_job(via, busy["id"])["state"] == "cancelled"
    ok(via("DELETE", f"/v1/models/{fresh['id']}"), 204)
    refused(via("DELETE", f"/v1/models/{fresh['id']}"), 404)

    # An infer body without Content-Type (Triton's client sends none) cannot go
    # through Prism, which forwards it as text/plain: the answer is checked
    # against the document here.
    untyped = direct("POST", "/v2/models/xor-net/infer",
                     json.dumps({"inputs": [tensor]}).encode())
    assert untyped.status == 200, untyped.body
    with open(OPENAPI, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    schema = {"$ref": "#/components/schemas/V2InferResponse"}
    jsonschema.Draft202012Validator(
        schema, resolver=jsonschema.RefResolver(base_uri="", referrer=doc)).validate(
            untyped.json())

    # Prism re-encodes binary bodies it forwards, both ways, so a model file's
    # import is sent directly and its answer checked against the document here.
    blob = direct("GET", weights).body
    imported = direct("POST", "/v1/models/import", blob, content_type="application/octet-stream")
    assert imported.status == 201, imported.body
    jsonschema.Draft202012Validator(
        {"$ref": "#/components/schemas/Model"},
        resolver=jsonschema.RefResolver(base_uri="", referrer=doc)).validate(imported.json())

    # Every operation of the document was driven.
    driven = {(m, urllib.parse.urlsplit(p).path) for m, p, _ in via.sent}
    for path, item in doc["paths"].items():
        for method in item:
            if method not in ("get", "post", "delete") or path == "/v1/events":
                continue
            template = "^" + re.sub(r"\{\w+\}", "[^/]+", path) + "$"
            assert any(m == method.upper() and re.match(template, p) for m, p in driven), \
                f"{method.upper()} {path} was not driven through the proxy"


def test_the_document_lints_clean():
    """Redocly's recommended rules (tests/tools/redocly.yaml turns off those
    that do not apply, saying why): no error, no warning."""
    # the path as tests/tools/.redocly.lint-ignore.yaml names it
    done = subprocess.run([node_tool("node_modules", ".bin", "redocly"), "lint",
                           "../../docs/openapi.yaml", "--config", "redocly.yaml",
                           "--format", "stylish"],
                          capture_output=True, text=True, timeout=120, cwd=TOOLS)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "warning" not in out.lower().replace("deprecation warning", ""), out
