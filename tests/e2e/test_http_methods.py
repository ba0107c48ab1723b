"""Methods (RFC 9110): HEAD on every GET route of server/routes.c answers as
GET does — status, Content-Type, Content-Length — without a body; a 304
announces no length of 0 (its 200's, or none); a method HTTP does not define
is 501, a known one a route lacks 405 with Allow (HEAD listed beside GET)."""
import http.client
import re
import urllib.parse

import pytest

from datasets import XOR_INPUTS, XOR_SPEC, XOR_TARGETS
from test_docs import routes


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """A daemon with a model trained on a dataset: (daemon, {name: id})."""
    from conftest import Daemon
    tmp = tmp_path_factory.mktemp("methods")
    d = Daemon(tmp / "db.sqlite", tmp)
    d.start()
    c = d.client
    ds = c.create_dataset("xor", XOR_INPUTS, targets=XOR_TARGETS)
    model = c.create_model(dict(XOR_SPEC, name="head-net"))
    job = c.create_job(model["id"], ds["id"], epochs=2)
    assert c.wait(job["id"])["state"] == "succeeded"
    ev = c.evaluate(model["id"], ds["id"])
    # prediction 1: the {id} of /v1/predictions/{id} is the model's, 1 too
    pred = c.wait_prediction(c.create_prediction(model["id"], ds["id"])["id"])
    assert pred["id"] == model["id"] and pred["state"] == "succeeded", pred
    search = c.create_search(model["id"], ds["id"], {"epochs": 1, "batch_size": 4, "validation_split": 0.5},
                             {"job.batch_size": {"choice": [2, 4]}}, method="grid")
    c.wait_search(search["id"])  # its trials' jobs change /v1/jobs while they run
    yield d, {"id": model["id"], "job": job["id"], "dataset": ds["id"], "name": "head-net",
              "eid": ev["id"], "search": search["id"]}
    rc = d.stop()
    assert rc == 0, f"traind exited {rc}\n{d.log_tail()}"


def ask(d, method, path, headers=None):
    """(status, headers, body) on a connection of its own."""
    u = urllib.parse.urlsplit(d.url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    try:
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        # An event stream's GET stays open: its first bytes will do.
        streaming = resp.getheader("Content-Type") == "text/event-stream" and method == "GET"
        body = resp.read(1) if streaming else resp.read()
        return resp.status, resp.headers, body
    finally:
        conn.close()


def concrete(pattern, ids):
    """A path for a pattern, with the module's resources for its parameters."""
    path = pattern.replace("/jobs/{id}", "/jobs/%d" % ids["job"])
    path = path.replace("/datasets/{id}", "/datasets/%d" % ids["dataset"])
    path = path.replace("/searches/{id}", "/searches/%d" % ids["search"])
    path = path.replace("{id}", str(ids["id"])).replace("{name}", ids["name"])
    path = path.replace("{eid}", str(ids["eid"]))
    path = path.replace("{version}", "1").replace("{...}", "js/app.js")
    assert not re.search(r"\{\w*\}", path), path
    return path


GETS = sorted({p for m, p, _ in routes() if m == "GET"})


@pytest.mark.parametrize("pattern", GETS)
def test_head_answers_as_get_without_the_body(env, pattern):
    d, ids = env
    path = concrete(pattern, ids)
    status, got, body = ask(d, "GET", path)
    head_status, head, head_body = ask(d, "HEAD", path)
    assert head_status == status == 200, (path, status, head_status, body)
    assert head_body == b"", path
    assert head["Content-Type"] == got["Content-Type"], path
    if got["Content-Type"] == "text/event-stream" or pattern.endswith("/output"):
        assert head["Content-Length"] is None  # streamed: chunked, its length unknown
    elif pattern != "/metrics":  # its counters move between the two requests
        assert head["Content-Length"] == got["Content-Length"] == str(len(body)), path


def test_head_of_a_missing_resource_is_its_404_without_the_body(env):
    d, _ = env
    status, headers, body = ask(d, "HEAD", "/v1/models/999999")
    assert (status, body) == (404, b"")
    assert int(headers["Content-Length"]) > 0 and headers["Content-Type"] == "application/json"


def test_not_modified_announces_the_full_length_or_none(env):
    d, _ = env
    for path in ("/", "/ui/js/app.js"):
        status, headers, body = ask(d, "GET", path)
        assert status == 200
        status, again, rest = ask(d, "GET", path, {"If-None-Match": headers["ETag"]})
        assert (status, rest) == (304, b"")
        assert again["Content-Length"] in (None, str(len(body))), again["Content-Length"]
        assert again["Content-Type"] is None


@pytest.mark.parametrize("method", ["BREW", "PROPFIND", "get"])
def test_unknown_methods_are_501(env, method):
    d, _ = env
    for path in ("/v1/models", "/nowhere"):
        status, _, body = ask(d, method, path)
        assert status == 501 and b'"not_implemented"' in body, (method, path, body)


def test_known_methods_a_route_lacks_are_405_with_allow(env):
    d, ids = env
    for method, path, allow in (("PUT", "/v1/models", "POST, GET, HEAD"),
                                ("OPTIONS", "/healthz", "GET, HEAD"),
                                ("HEAD", "/v1/jobs/%d/cancel" % ids["job"], "POST"),
                                ("DELETE", "/v2/models/head-net", "GET, HEAD")):
        status, headers, _ = ask(d, method, path)
        assert (status, headers["Allow"]) == (405, allow), (method, path)
