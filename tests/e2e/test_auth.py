"""Access control: bearer tokens (full and read-only), the open /healthz, and
the refusal to serve a non-loopback address without a token."""
import os
import socket
import subprocess
import urllib.parse

import pytest

from conftest import TRAIND
from datasets import XOR_INPUTS, XOR_SPEC, XOR_TARGETS
from traind_client import Client

TOKEN = "s3cret-full-token"
READ_TOKEN = "r3ad-only-token"


def check_error(answer, status, code):
    got_status, headers, doc = answer
    assert got_status == status, doc
    assert isinstance(doc, dict) and set(doc) == {"error"}, doc
    assert set(doc["error"]) == {"code", "message", "field"}, doc
    assert doc["error"]["code"] == code and doc["error"]["message"], doc
    assert doc["error"]["field"] == "", doc
    return headers


@pytest.fixture
def secured(spawn):
    d = spawn(extra=("--token", TOKEN, "--read-token", READ_TOKEN))
    return d, Client(d.url), Client(d.url, token=TOKEN), Client(d.url, token=READ_TOKEN)


def test_missing_or_wrong_token_is_401(secured):
    d, anon, _, _ = secured
    for client in (anon, Client(d.url, token="wrong"), Client(d.url, token=TOKEN + "x"),
                   Client(d.url, token=TOKEN[:-1])):
        for method, path, body in (("GET", "/v1/models", None), ("GET", "/v1", None),
                                   ("POST", "/v1/models", XOR_SPEC),
                                   ("DELETE", "/v1/datasets/1", None),
                                   ("GET", "/metrics", None)):
            headers = check_error(client.request(method, path, body), 401, "unauthorized")
            assert headers["WWW-Authenticate"].startswith("Bearer"), headers
    other_scheme = anon.request("GET", "/v1/models", headers={"Authorization": f"Basic {TOKEN}"})
    check_error(other_scheme, 401, "unauthorized")


def test_a_token_with_trailing_white_space_is_401_saying_so(secured):
    d, anon, _, _ = secured
    for header, says in ((f"Bearer {TOKEN} ", "ends with white space"),
                         (f"Bearer {READ_TOKEN}  ", "ends with white space"),
                         (f"Bearer {TOKEN}\t", "ends with white space"),
                         ("Bearer ", "no token")):
        answer = anon.request("GET", "/v1/models", headers={"Authorization": header})
        check_error(answer, 401, "unauthorized")
        assert says in answer[2]["error"]["message"], (header, answer)


def test_refused_before_the_body_is_read(secured):
    """A write without a token is answered from its headers alone: the
    promised body is never sent, yet the 401 arrives."""
    d, _, _, _ = secured
    url = urllib.parse.urlsplit(d.url)
    with socket.create_connection((url.hostname, url.port), timeout=10) as s:
        s.sendall(b"POST /v1/datasets HTTP/1.1\r\nHost: localhost\r\n"
                  b"Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n")
        answer = s.recv(4096)
    assert answer.startswith(b"HTTP/1.1 401 "), answer
    assert b"WWW-Authenticate: Bearer" in answer, answer


def test_health_stays_open(secured):
    _, anon, _, _ = secured
    status, _, doc = anon.request("GET", "/healthz")
    assert (status, doc) == (200, {"status": "ok"})


def test_full_token_reads_and_writes(secured):
    _, _, full, _ = secured
    ds = full.create_dataset("xor", XOR_INPUTS, targets=XOR_TARGETS)
    model = full.create_model(XOR_SPEC)
    assert full.get_model(model["id"])["id"] == model["id"]
    full.delete_dataset(ds["id"])
    status, headers, _ = full.request("GET", "/metrics")
    assert status == 200
    # The scheme is case-insensitive.
    anon = Client(full.url)
    status, _, _ = anon.request("GET", "/v1/models", headers={"Authorization": f"bearer {TOKEN}"})
    assert status == 200


def test_read_token_reads_and_predicts_but_cannot_write(secured):
    _, _, full, reader = secured
    ds = full.create_dataset("xor", XOR_INPUTS, targets=XOR_TARGETS)
    model = full.create_model(XOR_SPEC)
    job = full.create_job(model["id"], ds["id"], epochs=5, batch_size=4)
    assert full.wait(job["id"], timeout=60)["state"] == "succeeded"

    assert [m["id"] for m in reader.list_models()] == [model["id"]]
    assert reader.get_job(job["id"])["state"] == "succeeded"
    assert reader.get_dataset(ds["id"])["rows"] == 4
    status, _, _ = reader.request("GET", "/metrics")
    assert status == 200
    out = reader.predict(model["id"], XOR_INPUTS)
    assert len(out["outputs"]) == 4

    for method, path, body in (("POST", "/v1/models", XOR_SPEC),
                               ("POST", "/v1/datasets", {"name": "x", "inputs": [[1]],
                                                         "targets": [[1]]}),
                               ("POST", "/v1/jobs", {"model": model["id"], "dataset": ds["id"]}),
                               ("POST", f"/v1/jobs/{job['id']}/cancel", None),
                               ("DELETE", f"/v1/models/{model['id']}", None),
                               ("DELETE", f"/v1/datasets/{ds['id']}", None)):
        check_error(reader.request(method, path, body, "application/json" if method == "POST"
                                   else None), 403, "forbidden")
    # Nothing changed.
    assert [m["id"] for m in full.list_models()] == [model["id"]]
    assert [d["id"] for d in full.list_datasets()] == [ds["id"]]
    assert len(full.list_jobs()) == 1


def test_token_from_file(spawn, tmp_path):
    path = tmp_path / "token"
    path.write_text(TOKEN + "\n")
    os.chmod(path, 0o600)
    d = spawn(extra=("--token-file", str(path)))
    check_error(Client(d.url).request("GET", "/v1/models"), 401, "unauthorized")
    assert Client(d.url, token=TOKEN).list_models() == []


def run_traind(tmp_path, *args, env=None):
    return subprocess.run([TRAIND, "--db", str(tmp_path / "db.sqlite"), *args],
                          capture_output=True, timeout=30,
                          env=dict(os.environ, **(env or {})))


def test_refuses_non_loopback_without_token(tmp_path):
    for listen in ("0.0.0.0:0", "[::]:0"):
        done = run_traind(tmp_path, "--listen", listen)
        assert done.returncode == 2, done
        assert b"refusing to listen" in done.stderr and b"--insecure" in done.stderr, done.stderr
        assert done.stdout == b""
    # A read-only token alone is not enough: it is refused as a setting.
    done = run_traind(tmp_path, "--listen", "0.0.0.0:0", "--read-token", READ_TOKEN)
    assert done.returncode == 2 and b"full token" in done.stderr, done.stderr
    done = run_traind(tmp_path, "--listen", "0.0.0.0:0", env={"TRAIND_INSECURE": "0"})
    assert done.returncode == 2, done


def test_non_loopback_with_insecure_or_token(spawn):
    d = spawn(extra=("--listen", "0.0.0.0:0", "--insecure"))
    assert d.client.health() is not None
    assert d.client.list_models() == []
    assert "INSECURE" in d.log_tail()
    d = spawn(extra=("--listen", "0.0.0.0:0", "--token", TOKEN))
    check_error(d.client.request("GET", "/v1/models"), 401, "unauthorized")
    assert Client(d.url, token=TOKEN).list_models() == []
    assert "INSECURE" not in d.log_tail()
