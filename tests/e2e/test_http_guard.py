"""A request's head before it is routed (server/http_guard.h): framing that
two parties could read differently is refused (RFC 9112), only loopback Host
names (and --allowed-hosts) are answered on a loopback address (DNS
rebinding), a write from another site's page is refused by its Origin, and
every write must be typed JSON or its route's own type (cross-site forms).
Each refusal is a JSON error naming the header, sent before the body is
read, on a connection then closed."""
import json
import socket
import urllib.parse

import pytest

from datasets import XOR_INPUTS, XOR_SPEC, XOR_TARGETS
from test_http_leaks import address, exchange as raw_exchange

TIMEOUT = 10  # seconds: a refusal comes at once; a hang fails the test


def exchange(d, data):
    """Send raw bytes; every answer until the daemon closes the connection,
    as a list of (status, headers dict (lower-case names), body bytes)."""
    raw = raw_exchange(d, data)
    answers = []
    while raw:
        head, _, rest = raw.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        headers = dict((k.strip().lower().decode(), v.strip().decode())
                       for k, _, v in (line.partition(b":") for line in lines[1:]))
        n = int(headers.get("content-length", "0"))
        answers.append((int(lines[0].split(b" ")[1]), headers, rest[:n]))
        raw = rest[n:]
    return answers


def only(answers):
    """The one answer, and its error (status, field, message)."""
    assert len(answers) == 1, answers
    status, headers, body = answers[0]
    doc = json.loads(body)
    assert set(doc) == {"error"} and set(doc["error"]) == {"code", "message", "field"}, doc
    return status, headers, doc["error"]


def request(method, path, host=b"localhost", headers=b"", body=b"", http=b"1.1"):
    head = method + b" " + path + b" HTTP/" + http + b"\r\n"
    if host is not None:
        head += b"Host: " + host + b"\r\n"
    if body:
        head += b"Content-Length: %d\r\n" % len(body)
    return head + headers + b"Connection: close\r\n\r\n" + body


JSON = b"Content-Type: application/json\r\n"
MODEL = json.dumps(XOR_SPEC).encode()


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    from conftest import Daemon
    tmp = tmp_path_factory.mktemp("guard")
    d = Daemon(tmp / "db.sqlite", tmp, extra=("--allowed-hosts", "Trainer.Example,[fd00::1]"))
    d.start()
    yield d
    rc = d.stop()
    assert rc == 0, f"traind exited {rc}\n{d.log_tail()}"


def models(d):
    return len(d.client.list_models())


# ---- Host ------------------------------------------------------------------------

@pytest.mark.parametrize("host", [b"localhost", b"LocalHost:8080", b"127.0.0.1", b"127.0.0.1:1",
                                  b"[::1]", b"[::1]:8080", b"trainer.example",
                                  b"trainer.example:443", b"[fd00::1]:80"])
def test_loopback_and_allowed_hosts_are_answered(env, host):
    [(status, _, body)] = exchange(env, request(b"GET", b"/v1", host))
    assert status == 200, body


@pytest.mark.parametrize("host", [b"evil.example", b"evil.example:8080", b"127.0.0.2",
                                  b"localhost.evil.example", b"localhost:", b"localhost:80x",
                                  b"[::2]", b"trainer.example.evil", b""])
def test_other_hosts_are_refused(env, host):
    """A rebinding page's name, or anything that is not a loopback name."""
    status, headers, err = only(exchange(env, request(b"GET", b"/healthz", host)))
    assert (status, err["code"], err["field"]) == (403, "forbidden", "Host"), err
    assert "--allowed-hosts" in err["message"]
    assert headers["connection"] == "close"


def test_a_public_address_checks_no_host_without_allowed_hosts(spawn):
    d = spawn(extra=("--token", "t0k", "--listen", "0.0.0.0:0"))
    host, port = "127.0.0.1", urllib.parse.urlsplit(d.url).port
    with socket.create_connection((host, port), timeout=TIMEOUT) as s:
        s.sendall(request(b"GET", b"/healthz", b"traind.example"))
        assert s.recv(65536).startswith(b"HTTP/1.1 200 ")


# ---- Origin and media types --------------------------------------------------------

def test_a_write_from_another_origin_is_refused(env):
    host, port = address(env)
    own = f"{host}:{port}".encode()
    before = models(env)
    for origin in (b"http://evil.example", b"null", b"https://" + own, b"http://" + own + b"x",
                   b"http://trainer.example.evil"):
        status, _, err = only(exchange(env, request(
            b"POST", b"/v1/models", own, JSON + b"Origin: " + origin + b"\r\n", MODEL)))
        assert (status, err["code"], err["field"]) == (403, "forbidden", "Origin"), (origin, err)
    assert models(env) == before
    # The daemon's own pages, and those of an allowed host (behind a proxy).
    for origin in (b"http://" + own, b"HTTP://" + own.upper(), b"http://trainer.example:8443"):
        [(status, _, body)] = exchange(env, request(
            b"POST", b"/v1/models", own, JSON + b"Origin: " + origin + b"\r\n", MODEL))
        assert status == 201, (origin, body)
    assert models(env) == before + 3


def test_reads_from_another_origin_are_answered_but_not_shared(env):
    """CORS stays closed: the browser keeps the answer from the page."""
    [(status, headers, _)] = exchange(env, request(b"GET", b"/v1/models", b"localhost",
                                                   b"Origin: http://evil.example\r\n"))
    assert status == 200
    assert not [k for k in headers if k.startswith("access-control-")], headers


def test_cancel_must_be_typed_json(env):
    """A cross-site form can POST urlencoded, multipart or text/plain."""
    c = env.client
    ds = c.create_dataset("xor", XOR_INPUTS, targets=XOR_TARGETS)
    model = c.create_model(XOR_SPEC)
    job = c.create_job(model["id"], ds["id"], epochs=1)
    path = b"/v1/jobs/%d/cancel" % job["id"]
    for ctype in (b"application/x-www-form-urlencoded", b"text/plain", b"multipart/form-data",
                  None):
        headers = b"Content-Type: " + ctype + b"\r\n" if ctype is not None else b""
        status, _, err = only(exchange(env, request(b"POST", path, headers=headers, body=b"a=1")))
        assert (status, err["code"]) == (415, "unsupported_media_type"), (ctype, err)
    assert not c.get_job(job["id"])["cancel_requested"]
    [(status, _, body)] = exchange(env, request(b"POST", path, headers=JSON))
    assert status == 200, body
    assert c.cancel_job(job["id"])["id"] == job["id"]  # the client types it


# ---- framing (RFC 9112) ----------------------------------------------------------------

def test_whitespace_before_a_colon_is_refused_and_the_body_not_run(env):
    """'Content-Length : 2' was ignored: the body became a second request."""
    before = models(env)
    smuggled = request(b"POST", b"/v1/models", headers=JSON + b"Content-Length : %d\r\n"
                       % len(MODEL)).replace(b"Connection: close\r\n", b"") + MODEL
    status, headers, err = only(exchange(env, smuggled))
    assert (status, err["code"]) == (400, "invalid_argument"), err
    assert "Content-Length " in err["message"] and headers["connection"] == "close"
    assert models(env) == before


def test_two_different_content_lengths_are_refused(env):
    data = request(b"POST", b"/v1/models", headers=JSON + b"Content-Length: 2\r\n"
                   b"Content-Length: 3\r\n", body=b"")[:-2] + b"\r\n{}x"
    status, _, err = only(exchange(env, data))
    assert (status, err["field"]) == (400, "Content-Length"), err


def test_content_length_beside_chunked_is_refused(env):
    data = request(b"POST", b"/v1/models", headers=JSON + b"Content-Length: 7\r\n"
                   b"Transfer-Encoding: chunked\r\n") + b"2\r\n{}\r\n0\r\n\r\n"
    status, _, err = only(exchange(env, data))
    assert (status, err["field"]) == (400, "Content-Length"), err


@pytest.mark.parametrize("host,why", [(None, "needs a Host"), (b"localhost\r\nHost: localhost",
                                                                "more than one Host")])
def test_http11_needs_exactly_one_host(env, host, why):
    status, _, err = only(exchange(env, request(b"GET", b"/v1", host)))
    assert (status, err["field"]) == (400, "Host") and why in err["message"], err


def test_http10_may_omit_host(env):
    [(status, _, _)] = exchange(env, request(b"GET", b"/v1", None, http=b"1.0"))
    assert status == 200


@pytest.mark.parametrize("coding", [b"gzip, chunked", b"gzip", b"chunked, chunked",
                                    b"identity"])
def test_transfer_codings_but_chunked_are_not_implemented(env, coding):
    """'gzip, chunked' hung: libmicrohttpd waited for a body it could not frame."""
    data = request(b"POST", b"/v1/models", headers=JSON + b"Transfer-Encoding: " + coding +
                   b"\r\n") + b"2\r\n{}\r\n0\r\n\r\n"
    status, _, err = only(exchange(env, data))
    assert (status, err["code"], err["field"]) == (501, "not_implemented", "Transfer-Encoding")


def test_a_huge_chunk_extension_is_refused_and_the_daemon_goes_on(env):
    """libmicrohttpd 0.9.75 answers a chunk line over its connection memory
    with its own 500 page before any callback of traind's runs (docs/api.md):
    the request is refused, nothing is stored, and the daemon goes on."""
    before = env.client.list_models()
    data = request(b"POST", b"/v1/models", headers=JSON + b"Transfer-Encoding: chunked\r\n") + \
        b"2;" + b"e" * 70000 + b"\r\n{}\r\n0\r\n\r\n"
    answers = exchange(env, data)
    assert [status for status, _, _ in answers] == [500]
    assert env.client.list_models() == before
    assert env.client.health() == {"status": "ok"}
