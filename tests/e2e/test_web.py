"""The dashboard served by traind: its page and files come from the binary,
with types, entity tags, revalidation and a strict Content-Security-Policy,
and without a token even when /v1 needs one."""
import json
import re
import urllib.error
import urllib.request

import pytest

TOKEN = "dashboard-token"


def fetch(url, method="GET", headers=None):
    """(status, headers, body bytes) without raising for an HTTP status."""
    req = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def referenced(html):
    """The /ui/ files index.html loads."""
    return re.findall(r'(?:src|href)="(/ui/[^"]+)"', html)


def module_imports(js):
    return re.findall(r"""^import[^'"]*['"]([^'"]+)['"];""", js, re.M)


def test_page_headers(shared):
    status, headers, body = fetch(shared.url + "/")
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert body.startswith(b"<!doctype html>")
    assert re.fullmatch(r'"[0-9a-f]{16}"', headers["ETag"]), headers["ETag"]
    assert headers["Cache-Control"] == "no-cache"
    assert headers["X-Content-Type-Options"] == "nosniff"
    csp = dict(part.strip().split(" ", 1) for part in headers["Content-Security-Policy"].split(";"))
    assert csp["default-src"] == "'self'"
    assert csp["script-src"] == "'self'" and csp["style-src"] == "'self'", csp
    assert csp["object-src"] == "'none'" and csp["frame-ancestors"] == "'none'", csp
    assert "unsafe" not in headers["Content-Security-Policy"]
    assert b"<script>" not in body and b" style=" not in body, "nothing inline"


def test_every_file_the_page_needs_is_served(shared):
    _, _, body = fetch(shared.url + "/")
    files = referenced(body.decode())
    assert "/ui/js/app.js" in files and "/ui/vendor/uplot/uPlot.iife.min.js" in files, files
    types = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
             ".svg": "image/svg+xml"}
    # Follow the module graph from app.js: every import resolves.
    seen = set()
    todo = list(files)
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        status, headers, data = fetch(shared.url + path)
        assert status == 200, path
        ext = path[path.rindex("."):]
        assert headers["Content-Type"] == types[ext], path
        assert headers["Content-Security-Policy"].startswith("default-src 'self'")
        if path.startswith("/ui/js/"):
            base = path.rsplit("/", 1)[0]
            for name in module_imports(data.decode()):
                parts = (base + "/" + name).split("/")
                resolved = []
                for p in parts:
                    if p == "..":
                        resolved.pop()
                    elif p != ".":
                        resolved.append(p)
                todo.append("/".join(resolved))
    assert "/ui/js/pages/job.js" in seen and "/ui/js/events.js" in seen, seen


def test_revalidation_answers_304(shared):
    for path in ("/", "/ui/css/app.css", "/ui/vendor/uplot/uPlot.iife.min.js"):
        _, headers, body = fetch(shared.url + path)
        tag = headers["ETag"]
        status, again, rest = fetch(shared.url + path, headers={"If-None-Match": tag})
        assert status == 304 and rest == b"", path
        assert again["ETag"] == tag
        status, _, _ = fetch(shared.url + path, headers={"If-None-Match": "W/" + tag})
        assert status == 304, "weak comparison"
        status, _, same = fetch(shared.url + path, headers={"If-None-Match": '"0000000000000000"'})
        assert status == 200 and same == body


def test_vendored_chart_library_keeps_its_licence(shared):
    status, headers, body = fetch(shared.url + "/ui/vendor/uplot/LICENSE")
    assert status == 200 and headers["Content-Type"] == "text/plain; charset=utf-8"
    assert b"MIT" in body or b"Permission is hereby granted" in body
    _, _, version = fetch(shared.url + "/ui/vendor/uplot/VERSION")
    assert re.match(rb"uplot \d+\.\d+\.\d+\n", version), version


@pytest.mark.parametrize("path", ["/ui/nothing.js", "/ui/js/nothing.js", "/ui/js",
                                  "/ui/../index.html", "/ui/js%2Fapp.js", "/ui/", "/index.html"])
def test_unknown_files_are_json_404(shared, path):
    status, headers, body = fetch(shared.url + path)
    assert status == 404, path
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body)["error"]["code"] == "not_found"


def test_only_get(shared):
    for method, path in (("POST", "/"), ("DELETE", "/ui/js/app.js")):
        status, headers, _ = fetch(shared.url + path, method=method)
        assert status == 405 and headers["Allow"] == "GET, HEAD"


def test_files_need_no_token_but_the_api_does(spawn):
    d = spawn(extra=("--token", TOKEN))
    assert fetch(d.url + "/")[0] == 200
    assert fetch(d.url + "/ui/js/api.js")[0] == 200
    assert fetch(d.url + "/v1/jobs")[0] == 401
    assert fetch(d.url + "/v1/jobs", headers={"Authorization": f"Bearer {TOKEN}"})[0] == 200
