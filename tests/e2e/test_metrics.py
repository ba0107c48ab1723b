"""GET /metrics: the Prometheus text format (0.0.4) read by its rules, and
counters that follow requests, predictions and training."""
import math
import re
import time
import urllib.error
import urllib.request

from datasets import XOR_INPUTS, XOR_SPEC, XOR_TARGETS
from traind_client import Client

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)')
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def parse_labels(text):
    labels, pos = {}, 0
    while pos < len(text):
        m = LABEL.match(text, pos)
        assert m, f"bad labels: {text!r}"
        assert m.group(1) not in labels, f"label twice: {text!r}"
        labels[m.group(1)] = m.group(2)
        pos = m.end()
    return labels


def parse(text):
    """{(name, frozenset(labels)): value}, checking the format's rules: every
    line a comment or "name{labels} value"; HELP then TYPE once per family,
    before its samples; histogram buckets cumulative, ending with +Inf equal
    to _count."""
    assert text.endswith("\n")
    types, samples, family = {}, {}, None
    for line in text.splitlines():
        if line.startswith("# HELP "):
            family = line.split(" ")[2]
            assert family not in types, f"{family} declared twice"
            types[family] = None
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert name == family and types[name] is None, f"TYPE without HELP: {line}"
            assert kind in ("counter", "gauge", "histogram"), line
            types[name] = kind
            continue
        assert not line.startswith("#"), line
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        name, labels, value = m.group(1), parse_labels(m.group(3) or ""), float(m.group(4))
        kind = types.get(family)
        assert kind is not None, f"sample before its TYPE: {line}"
        if kind == "histogram":
            assert name in (family + s for s in HISTOGRAM_SUFFIXES), line
        else:
            assert name == family, line
        if kind == "counter" or name.endswith(("_bucket", "_count")):
            assert value >= 0 and value == int(value), line
        key = (name, frozenset(labels.items()))
        assert key not in samples, f"duplicate series: {line}"
        samples[key] = value
    check_histograms(types, samples)
    return samples


def check_histograms(types, samples):
    for family, kind in types.items():
        if kind != "histogram":
            continue
        series = {}
        for (name, labels), value in samples.items():
            if name == family + "_bucket":
                rest = frozenset(kv for kv in labels if kv[0] != "le")
                le = dict(labels)["le"]
                series.setdefault(rest, []).append((math.inf if le == "+Inf" else float(le), value))
        for rest, buckets in series.items():
            bounds = [b for b, _ in buckets]
            assert bounds == sorted(bounds) and bounds[-1] == math.inf, buckets
            counts = [v for _, v in buckets]
            assert counts == sorted(counts), f"{family} buckets not cumulative: {buckets}"
            assert samples[(family + "_count", rest)] == counts[-1]
            assert (family + "_sum", rest) in samples


def scrape(client):
    """GET /metrics as a scraper does, parsed and checked."""
    req = urllib.request.Request(client.url + "/metrics")
    if client.token:
        req.add_header("Authorization", f"Bearer {client.token}")
    with urllib.request.urlopen(req, timeout=30) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
        return parse(resp.read().decode())


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0)


def eventually(client, predicate, timeout=10.0):
    """A request is counted once its answer is sent, which the client may see
    first: poll until the counters catch up."""
    deadline = time.monotonic() + timeout
    while True:
        samples = scrape(client)
        if predicate(samples) or time.monotonic() > deadline:
            return samples
        time.sleep(0.02)


def requests(samples, route, method, status):
    return value(samples, "traind_http_requests_total", route=route, method=method,
                 status=str(status))


def test_format_and_request_counters(daemon):
    client = daemon.client
    before = scrape(client)
    assert value(before, "traind_jobs", state="queued") == 0
    assert value(before, "traind_database_bytes") > 0
    for _ in range(3):
        client.list_models()
    client.request("GET", "/v1/models/12345")
    client.request("GET", "/no/such/path")
    client.request("PUT", "/v1/models")

    def caught_up(s):
        return (requests(s, "/v1/models", "GET", 200) == requests(before, "/v1/models", "GET", 200) + 3
                and requests(s, "/v1/models/{id}", "GET", 404) == 1
                and requests(s, "none", "GET", 404) == 1
                and requests(s, "/v1/models", "PUT", 405) == 1)

    after = eventually(client, caught_up)
    assert caught_up(after), sorted(k for k in after if k[0] == "traind_http_requests_total")
    # Raw paths never become labels.
    assert not any("12345" in str(k) for k in after)
    count = value(after, "traind_http_request_duration_seconds_count", route="/v1/models",
                  method="GET")
    assert count >= 3
    assert value(after, "traind_http_request_duration_seconds_sum", route="/v1/models",
                 method="GET") > 0


def test_refusals_and_revalidations_keep_their_route_and_status(daemon):
    """Found by outside testing: a 405 (its path matched a pattern) was counted
    under route="none", a 304 under status="other"."""
    client = daemon.client
    before = scrape(client)
    client.request("DELETE", "/v1/models")
    client.request("POST", "/v1/models", b"{}", "text/plain")
    with urllib.request.urlopen(client.url + "/", timeout=30) as resp:
        tag = resp.headers["ETag"]
    req = urllib.request.Request(client.url + "/", headers={"If-None-Match": tag})
    try:
        urllib.request.urlopen(req, timeout=30)
        assert False, "a matching ETag should answer 304"
    except urllib.error.HTTPError as e:
        assert e.code == 304

    def counted(s, route, method, status):
        return requests(s, route, method, status) - requests(before, route, method, status)

    def caught_up(s):
        return (counted(s, "/v1/models", "DELETE", 405) == 1
                and counted(s, "/v1/models", "POST", 415) == 1
                and counted(s, "/", "GET", 304) == 1)

    after = eventually(client, caught_up)
    assert caught_up(after), sorted(k for k in after if k[0] == "traind_http_requests_total")
    for status in (405, 415, "other"):
        for method in ("DELETE", "POST", "GET"):
            assert counted(after, "none", method, status) == 0
    assert counted(after, "/", "GET", "other") == 0
    assert value(after, "traind_http_request_duration_seconds_count", route="/v1/models",
                 method="DELETE") >= 1


def test_training_and_prediction_counters(spawn):
    client = spawn().client
    ds = client.create_dataset("xor", XOR_INPUTS, targets=XOR_TARGETS)
    model = client.create_model(XOR_SPEC)
    job = client.create_job(model["id"], ds["id"], epochs=20, batch_size=4)
    assert client.wait(job["id"], timeout=60)["state"] == "succeeded"
    s = scrape(client)
    assert value(s, "traind_epochs_completed_total") == 20
    assert value(s, "traind_samples_trained_total") == 20 * 4
    assert value(s, "traind_jobs", state="succeeded") == 1
    assert value(s, "traind_jobs", state="queued") == 0
    assert value(s, "traind_predictions_total") == 0

    client.predict(model["id"], XOR_INPUTS)
    client.predict(model["id"], XOR_INPUTS[:1])
    s = eventually(client, lambda s: value(s, "traind_predict_duration_seconds_count") == 2)
    assert value(s, "traind_predictions_total") == 5
    assert value(s, "traind_predict_duration_seconds_count") == 2
    assert value(s, "traind_predict_duration_seconds_bucket", le="+Inf") == 2
    assert value(s, "traind_database_bytes") > 0


def test_metrics_need_a_token_when_tokens_are_set(spawn):
    d = spawn(extra=("--token", "full", "--read-token", "reader"))
    status, _, doc = Client(d.url).request("GET", "/metrics")
    assert status == 401 and doc["error"]["code"] == "unauthorized"
    assert "traind_jobs" in str(scrape(Client(d.url, token="reader")))
