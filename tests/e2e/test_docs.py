"""docs/api.md and docs/openapi.yaml, held to what the daemon does.

docs/api.md's examples run in document order against one fresh daemon (so
each example can use the ids the ones before it created). An example is a
```http block holding a request ("METHOD /path HTTP/1.1", headers, a blank
line, the body sent as written) followed by a ```http block holding the
response ("HTTP/1.1 STATUS Reason", the headers that must match, a blank
line, the body). JSON bodies match loosely where the daemon cannot be
exact: a timestamp stands for any timestamp and a number written with a
fraction or an exponent for any number; everything else (keys, array
lengths, integers, strings, null) must be equal. Text bodies (/metrics)
are excerpts: each line must appear, sample values aside. An event stream
(text/event-stream) is read until it has sent as many events as documented;
each event's id and name must be equal and its data match as JSON does. A line
<!-- test: wait for job N --> (or search N, prediction N) waits for that job (search) to
finish before the next example. Requests without an Authorization header are sent with the full
token. A binary answer (application/octet-stream: a model file, an ONNX
model) is documented as <binary, starting "PREFIX">, PREFIX in Python
escapes, and must begin with those bytes; a request body written as <the
answer of GET /path> sends the bytes that example's answer held (an import).

Then every route of server/routes.c must have an example, every route must
be in docs/openapi.yaml and every path there a route, each example's
response must fit the OpenAPI schema of its status, and the reference must
name every error code and every request field the parsers accept.

Adding an endpoint: its row in server/routes.c, a section with an example
in docs/api.md (where its turn in the story of ids comes), and its path in
docs/openapi.yaml; these tests fail until all three agree.
"""
import http.client
import json
import os
import re
import socket
import time
import urllib.parse

import jsonschema
import pytest
import yaml

from conftest import ROOT

API_MD = os.path.join(ROOT, "docs", "api.md")
OPENAPI = os.path.join(ROOT, "docs", "openapi.yaml")
SERVER = os.path.join(ROOT, "server")
TOKEN = "full-secret"  # the daemon docs/api.md describes runs with these
READ_TOKEN = "read-secret"
FINAL_STATES = ("succeeded", "failed", "cancelled")

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
FENCE = re.compile(r"^```http\n(.*?)^```$", re.M | re.S)
WAIT = re.compile(r"^<!-- test: wait for (job|search|prediction) (\d+) -->$", re.M)
BINARY = re.compile(r'^<binary, starting "(.*)">$')
FROM_ANSWER = re.compile(r"^<the answer of (GET /\S+)>$")
ROUTE_ROW = re.compile(r'\{\.method = "([A-Z]+)", \.pattern = "([^"]+)"(.*?)\},', re.S)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


# ---- the sources' tables, read as text ------------------------------------------------------


def routes():
    """[(method, pattern, media type)] from server/routes.c's table."""
    table = read(os.path.join(SERVER, "routes.c"))
    out = []
    for method, pattern, rest in ROUTE_ROW.findall(table):
        media = re.search(r'\.media_type = "([^"]+)"', rest)
        body = "ROUTE_BODY_JSON" in rest
        out.append((method, pattern, media.group(1) if media else
                    "application/json" if body else None))
    assert len(out) >= 20, "the route table was not understood"
    return out


def error_codes():
    """The JSON names of server/errors.c's codes, "ok" aside (never an error)."""
    names = re.findall(r'\[API_\w+\] = \{"(\w+)", (\d+)\}', read(os.path.join(SERVER, "errors.c")))
    assert len(names) >= 10, "the error table was not understood"
    return [(name, int(status)) for name, status in names if name != "ok"]


def accepted_fields():
    """Every member name a request parser accepts: the *keys[] tables of server/."""
    fields = set()
    for name in sorted(os.listdir(SERVER)):
        if name.endswith(".c"):
            for table in re.findall(r"keys\[\] = \{(.*?)\};", read(os.path.join(SERVER, name)),
                                    re.S):
                fields.update(re.findall(r'"([a-z_0-9]+)"', table))
    assert {"layers", "epochs", "targets", "datatype"} <= fields, "key tables not understood"
    return fields


# ---- the examples ---------------------------------------------------------------------------


class Message:
    """A request or response block: its first line, headers and body."""

    def __init__(self, text):
        head, _, body = text.partition("\n\n")
        lines = [line for line in head.split("\n") if line]
        self.start = lines[0]
        self.headers = [tuple(part.strip() for part in line.split(":", 1)) for line in lines[1:]]
        self.body = body[:-1] if body.endswith("\n") else body

    def header(self, name):
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


def examples(text):
    """[("wait", "job" or "search", id) or ("example", request, response, line)] in
    document order."""
    steps = [(m.start(), ("wait", m.group(1), int(m.group(2)))) for m in WAIT.finditer(text)]
    blocks = [(m.start(), Message(m.group(1))) for m in FENCE.finditer(text)]
    assert len(blocks) % 2 == 0, "an http block lacks its pair"
    for (at, request), (_, response) in zip(blocks[::2], blocks[1::2]):
        line = text.count("\n", 0, at) + 1
        assert re.match(r"^[A-Z]+ /\S* HTTP/1\.1$", request.start), f"line {line}: not a request"
        assert re.match(r"^HTTP/1\.1 \d{3} ", response.start), f"line {line}: not a response"
        steps.append((at, ("example", request, response, line)))
    return [step for _, step in sorted(steps, key=lambda s: s[0])]


def send(url, request, events=None, answers=None):
    """Send a request block as written (plus the full token and Content-Length
    unless it has its own); return (status, headers, body bytes). With
    events, a 200 body is read only until that many events have come (an
    event stream may stay open). answers: the binary answers so far, by
    "GET /path", for a body written as <the answer of GET /path>."""
    method, target, _ = request.start.split(" ")
    headers = list(request.headers)
    if request.header("Authorization") is None:
        headers.append(("Authorization", f"Bearer {TOKEN}"))
    body = request.body.encode()
    earlier = FROM_ANSWER.match(request.body)
    if earlier:
        body = answers[earlier.group(1)]
    if request.header("Content-Length") is None and (body or method in ("POST", "PUT")):
        headers.append(("Content-Length", str(len(body))))
    head = f"{method} {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
    u = urllib.parse.urlsplit(url)
    with socket.create_connection((u.hostname, u.port), timeout=30) as s:
        s.sendall(head.encode() + body)
        resp = http.client.HTTPResponse(s)
        resp.begin()
        if events is None or resp.status != 200:
            return resp.status, resp.headers, resp.read()
        body, end, fields = b"", b"\n\n", 0
        while body.count(end) < events:
            line = resp.readline()
            assert line, f"the stream ended after {body.count(end)} of {events} events"
            if line.startswith(b":") or (line == b"\n" and fields == 0):
                continue  # a keepalive comment and the blank line ending it
            fields = 0 if line == b"\n" else fields + 1
            body += line
        return resp.status, resp.headers, body


def match_json(want, got, path="$"):
    """Compare a documented JSON value with the daemon's (the loose rules above)."""
    if isinstance(want, dict):
        assert isinstance(got, dict), f"{path}: {got!r} is not an object"
        assert set(want) == set(got), f"{path}: keys {sorted(got)} != {sorted(want)}"
        for k in want:
            match_json(want[k], got[k], f"{path}.{k}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), f"{path}: {got!r} != {want!r}"
        for i, (w, g) in enumerate(zip(want, got)):
            match_json(w, g, f"{path}[{i}]")
    elif isinstance(want, float):
        assert isinstance(got, (int, float)) and not isinstance(got, bool), f"{path}: {got!r}"
    elif isinstance(want, str) and TIMESTAMP.match(want):
        assert isinstance(got, str) and TIMESTAMP.match(got), f"{path}: {got!r} is no timestamp"
    else:
        assert type(got) is type(want) and got == want, f"{path}: {got!r} != {want!r}"


def match_text(want, got, exact):
    """Each documented line appears; unless exact (a file, not /metrics), a
    sample line's value may differ."""
    lines = got.split("\n")
    for line in want.split("\n"):
        if exact:
            assert line.strip() in (g.strip() for g in lines), f"missing {line!r}"
        elif line.startswith("#"):
            assert line in lines, f"missing {line!r}"
        else:
            series = line.rsplit(" ", 1)[0] + " "
            assert any(g.startswith(series) for g in lines), f"missing {line!r}"


def parse_events(text):
    """[(id, name, data)] of an event stream's text."""
    out = []
    for block in text.strip("\n").split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.split("\n"))
        out.append((fields["id"], fields["event"], json.loads(fields["data"])))
    return out


def match_events(want, got):
    want, got = parse_events(want), parse_events(got)
    assert len(got) == len(want), f"{len(got)} events, not {len(want)}"
    for (wid, wname, wdata), (gid, gname, gdata) in zip(want, got):
        assert (gid, gname) == (wid, wname), f"event {gid} {gname}, not {wid} {wname}"
        match_json(wdata, gdata, f"event {wid}")


def openapi_paths(pattern):
    """A route's paths in OpenAPI terms. A path parameter cannot hold a "/",
    so a "{...}" tail (one or more segments) is a template per depth the
    dashboard's files use."""
    if not pattern.endswith("{...}"):
        return [pattern]
    return [pattern.replace("{...}", tail) for tail in ("{file}", "{dir}/{file}",
                                                        "{dir}/{sub}/{file}")]


def openapi_path(pattern, target):
    """The template of openapi_paths(pattern) that the request target matches."""
    depth = urllib.parse.urlsplit(target).path.count("/")
    paths = [p for p in openapi_paths(pattern) if p.count("/") == depth]
    assert paths, f"openapi: no template of {pattern} matches {target}"
    return paths[0]


def route_of(method, path, table):
    """The route a request lands on: literal segments before parameters."""
    segments = urllib.parse.urlsplit(path).path.split("/")
    best = None
    for r in table:
        pattern = r[1].split("/")
        if r[0] != method or len(pattern) != len(segments):
            continue
        if all(p == s or p.startswith("{") for p, s in zip(pattern, segments)):
            literal = sum(not p.startswith("{") for p in pattern)
            if best is None or literal > best[0]:
                best = (literal, r)
    return best[1] if best else None


def wait_for(url, kind, id):
    """Until job, search or prediction id has ended."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        path = {"job": "jobs", "search": "searches", "prediction": "predictions"}[kind]
        status, _, body = send(url, Message(f"GET /v1/{path}/{id} HTTP/1.1\n\n"))
        assert status == 200, body
        if json.loads(body)["state"] in FINAL_STATES:
            return
        time.sleep(0.05)
    raise AssertionError(f"{kind} {id} did not finish")


@pytest.fixture(scope="module")
def openapi():
    with open(OPENAPI, encoding="utf-8") as f:
        return yaml.safe_load(f)


def resolve(doc, node):
    """node, or what its $ref points to."""
    if "$ref" not in node:
        return node
    for part in node["$ref"].lstrip("#/").split("/"):
        doc = doc[part]
    return doc


def response_schema(doc, method, pattern, status, content_type):
    """The OpenAPI schema of a response (its status's, else the default's),
    failing when the operation does not describe it; None for no body."""
    responses = doc["paths"][pattern][method.lower()]["responses"]
    resp = responses.get(str(status), responses.get("default"))
    assert resp is not None, f"openapi: {method} {pattern} has no {status} response"
    content = resolve(doc, resp).get("content", {})
    media = (content_type or "").split(";")[0]
    assert media in content or (not media and not content), \
        f"openapi: {method} {pattern} {status} has no {media or 'empty'} content"
    return content[media]["schema"] if media else None


def validate(doc, schema, value, where):
    resolver = jsonschema.RefResolver(base_uri="", referrer=doc)
    validator = jsonschema.Draft202012Validator(schema, resolver=resolver)
    errors = sorted(validator.iter_errors(value), key=lambda e: list(e.path))
    assert not errors, f"{where}: {errors[0].message} at {list(errors[0].path)}"


# ---- the tests ------------------------------------------------------------------------------


def test_every_example_runs_as_documented(spawn, openapi):
    d = spawn(workers=1, extra=("--token", TOKEN, "--read-token", READ_TOKEN, "--threads", "2"))
    table = routes()
    seen = set()
    answers = {}
    for step in examples(read(API_MD)):
        if step[0] == "wait":
            wait_for(d.url, step[1], step[2])
            continue
        _, request, response, line = step
        method, target, _ = request.start.split(" ")
        where = f"docs/api.md line {line}: {method} {target}"
        stream = (response.header("Content-Type") or "").startswith("text/event-stream")
        events = len(parse_events(response.body)) if stream else None
        status, headers, body = send(d.url, request, events, answers)
        want_status = int(response.start.split(" ")[1])
        assert status == want_status, f"{where}: {status} {body!r}"
        for name, value in response.headers:
            assert headers.get(name) == value, f"{where}: {name}: {headers.get(name)!r}"
        content_type = headers.get("Content-Type")
        if not response.body:
            assert body == b"", f"{where}: unexpected body {body!r}"
        elif content_type == "application/json":
            got = json.loads(body)
            try:
                match_json(json.loads(response.body), got)
            except AssertionError as e:
                raise AssertionError(f"{where}: {e}\n{json.dumps(got, indent=2)}") from None
        elif content_type == "application/octet-stream":
            prefix = BINARY.match(response.body)
            assert prefix, f"{where}: document a binary answer as <binary, starting \"...\">"
            want = prefix.group(1).encode("latin-1").decode("unicode_escape").encode("latin-1")
            assert body.startswith(want), f"{where}: {body[:len(want)]!r} is not {want!r}"
            answers[f"{method} {target}"] = body
        elif stream:
            try:
                match_events(response.body, body.decode())
            except AssertionError as e:
                raise AssertionError(f"{where}: {e}\n{body.decode()}") from None
        else:
            match_text(response.body, body.decode(), not content_type.startswith("text/plain"))

        route = route_of(method, target, table)
        if route is None:  # no route for the method: the router's own error
            assert status in (404, 405), f"{where}: no route, yet {status}"
            name = "V2Error" if target.startswith("/v2") else "Error"
            schema = {"$ref": f"#/components/schemas/{name}"}
        else:
            media = request.header("Content-Type")
            seen.add((route[0], route[1], media and media.split(";")[0]))
            schema = response_schema(openapi, method, openapi_path(route[1], target), status,
                                     content_type)
        if schema is not None and content_type == "application/json":
            validate(openapi, schema, json.loads(body), f"{where} (openapi)")

    for method, pattern, media in table:
        assert any(s[0] == method and s[1] == pattern and (media is None or s[2] == media)
                   for s in seen), f"docs/api.md has no example of {method} {pattern} ({media})"


def test_openapi_lists_exactly_the_routes(openapi):
    assert openapi["openapi"].startswith("3.1")
    table = routes()
    documented = {(m.upper(), p) for p, ops in openapi["paths"].items() for m in ops
                  if m in ("get", "post", "put", "delete", "patch")}
    assert documented == {(m, p) for m, route, _ in table for p in openapi_paths(route)}
    for method, route, media in table:
        for pattern in openapi_paths(route):
            item = openapi["paths"][pattern]
            op = item[method.lower()]
            if media is not None:
                body = resolve(openapi, op["requestBody"])
                assert media in body["content"], f"{method} {pattern} lacks {media}"
            params = {resolve(openapi, p)["name"] for p in item.get("parameters", []) +
                      op.get("parameters", []) if resolve(openapi, p)["in"] == "path"}
            assert params == set(re.findall(r"\{(\w+)\}", pattern)), \
                f"{method} {pattern}: {params}"


def contents(node, where=""):
    """Every (where, media type, content) of the document, components included."""
    if isinstance(node, dict):
        for media, content in node.get("content", {}).items():
            yield where, media, content
        for key, child in node.items():
            yield from contents(child, f"{where}/{key}")
    elif isinstance(node, list):
        for i, child in enumerate(node):
            yield from contents(child, f"{where}/{i}")


def test_openapi_examples_fit_their_schemas(openapi):
    count = 0
    for where, media, content in contents(openapi):
        for name, example in content.get("examples", {}).items():
            if media == "application/json":
                validate(openapi, content["schema"], example["value"], f"{where} {name}")
            else:
                assert isinstance(example["value"], str), f"{where} {name}"
            count += 1
    assert count >= 20, f"only {count} examples"
    # The schemas are strict enough to refuse what traind refuses.
    spec = resolve(openapi, {"$ref": "#/components/schemas/ModelSpec"})
    for bad in ({"name": "x", "inputs": 2, "loss": "mse", "layers": []},
                {"name": "x", "inputs": 2, "loss": "mse", "layers": [{"type": "dense"}],
                 "extra": 1},
                {"name": "x y", "inputs": 2, "loss": "mse", "layers": [{"type": "dense"}]}):
        with pytest.raises(AssertionError):
            validate(openapi, spec, bad, "a bad spec")


def test_every_error_code_is_documented():
    text = read(API_MD)
    for name, status in error_codes():
        assert re.search(rf"\|\s*`{name}`\s*\|\s*{status}\s*\|", text), \
            f"docs/api.md's error table lacks {name} ({status})"


def test_every_accepted_field_is_documented():
    """Each name the parsers accept is the last part of a field in a table's first column."""
    documented = set()
    for cell in re.findall(r"^\|\s*`([^`]+)`", read(API_MD), re.M):
        documented.add(re.split(r"[.\[\]]+", cell.strip("[]."))[-1])
    missing = accepted_fields() - documented
    assert not missing, f"docs/api.md documents no field named {sorted(missing)}"
