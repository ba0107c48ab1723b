"""HTTPS: --tls-cert and --tls-key with a self-signed certificate made here by
the openssl command line, checked by Python's ssl and by trainctl against that
very certificate; bad certificate settings stop traind with exit status 2."""
import http.client
import json
import os
import ssl
import subprocess
import urllib.parse

import pytest

from conftest import TRAIND
from datasets import XOR_INPUTS, XOR_SPEC, XOR_TARGETS
from test_trainctl import trainctl, write
from traind_client import Client

TOKEN = "tls-test-token"


def openssl(*args, cwd):
    r = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


def self_signed(directory, name, subject="/CN=localhost"):
    """A P-256 key and a certificate for localhost and 127.0.0.1 it signs itself."""
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", subject,
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", cwd=directory)
    os.chmod(key, 0o600)
    return str(cert), str(key)


def expired(directory):
    """A certificate valid for one day in 2020, and its key (openssl ca sets the dates)."""
    key, csr, cert = directory / "old.key", directory / "old.csr", directory / "old.crt"
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", str(key), "-out", str(csr), "-subj", "/CN=localhost", cwd=directory)
    (directory / "index.txt").write_text("")
    (directory / "serial").write_text("01\n")
    (directory / "ca.cnf").write_text(
        "[ca]\ndefault_ca = self\n[self]\ndatabase = index.txt\nnew_certs_dir = .\n"
        "serial = serial\ndefault_md = sha256\npolicy = any\n[any]\ncommonName = supplied\n")
    openssl("ca", "-batch", "-config", "ca.cnf", "-selfsign", "-keyfile", str(key), "-in",
            str(csr), "-out", str(cert), "-startdate", "20200101000000Z",
            "-enddate", "20200102000000Z", cwd=directory)
    os.chmod(key, 0o600)
    return str(cert), str(key)


@pytest.fixture
def pki(tmp_path):
    directory = tmp_path / "pki"
    directory.mkdir()
    return directory


@pytest.fixture
def pair(pki):
    return self_signed(pki, "server")


def tls_flags(cert, key):
    return ("--tls-cert", cert, "--tls-key", key)


def host_port(url):
    parts = urllib.parse.urlsplit(url)
    return parts.hostname, parts.port


def test_serves_https_verified_against_its_certificate(spawn, pair):
    cert, key = pair
    d = spawn(extra=tls_flags(cert, key))
    assert d.url.startswith("https://127.0.0.1:"), d.url
    context = ssl.create_default_context(cafile=cert)
    conn = http.client.HTTPSConnection(*host_port(d.url), context=context, timeout=30)
    try:
        conn.request("GET", "/healthz")
        answer = conn.getresponse()
        assert (answer.status, json.loads(answer.read())) == (200, {"status": "ok"})
        with open(cert) as f:
            assert conn.sock.getpeercert(binary_form=True) == ssl.PEM_cert_to_DER_cert(f.read())
        conn.request("GET", "/v1")  # the connection is kept alive over TLS
        assert conn.getresponse().status == 200
    finally:
        conn.close()

    # The whole API works over it: upload, train, predict.
    client = Client(d.url, cafile=cert)
    ds = client.create_dataset("xor", XOR_INPUTS, targets=XOR_TARGETS)
    model = client.create_model(XOR_SPEC)
    job = client.create_job(model["id"], ds["id"], epochs=3, batch_size=4)
    assert client.wait(job["id"], timeout=60)["state"] == "succeeded"
    assert len(client.predict(model["id"], XOR_INPUTS)["outputs"]) == 4


def test_untrusted_and_plain_http_clients_get_nothing(spawn, pki, pair):
    d = spawn(extra=tls_flags(*pair))
    other_cert, _ = self_signed(pki, "other")
    for cafile in (None, other_cert):  # the system's CAs, and another self-signed one
        context = ssl.create_default_context(cafile=cafile)
        conn = http.client.HTTPSConnection(*host_port(d.url), context=context, timeout=30)
        with pytest.raises(ssl.SSLCertVerificationError):
            conn.request("GET", "/healthz")
        conn.close()
    plain = http.client.HTTPConnection(*host_port(d.url), timeout=30)
    with pytest.raises((http.client.HTTPException, ConnectionError)):
        plain.request("GET", "/healthz")
        plain.getresponse()
    plain.close()
    assert Client(d.url, cafile=pair[0]).health() == {"status": "ok"}


def test_tls_from_environment_variables(spawn, pair, monkeypatch):
    monkeypatch.setenv("TRAIND_TLS_CERT", pair[0])
    monkeypatch.setenv("TRAIND_TLS_KEY", pair[1])
    d = spawn()
    assert d.url.startswith("https://"), d.url
    assert Client(d.url, cafile=pair[0]).health() == {"status": "ok"}
    assert "tls=on" in d.log_tail()


def test_trainctl_over_https_with_cacert(spawn, pki, pair):
    cert, key = pair
    d = spawn(extra=tls_flags(cert, key))
    r = trainctl(d.url, "--cacert", cert, "--json", "models", "create",
                 write(pki, "spec.json", json.dumps(XOR_SPEC)))
    assert r.returncode == 0, r.stderr
    model = json.loads(r.stdout)["id"]
    r = trainctl(d.url, "models", "ls", env={"TRAIND_CACERT": cert})
    assert r.returncode == 0, r.stderr
    assert str(model) in r.stdout
    r = trainctl(d.url, "--cacert=" + cert, "models", "show", str(model))
    assert r.returncode == 0, r.stderr

    r = trainctl(d.url, "models", "ls")  # the system's CAs do not know it
    assert r.returncode == 1 and "certificate" in r.stderr, r.stderr
    r = trainctl(d.url, "--cacert", str(pki / "missing.pem"), "models", "ls")
    assert r.returncode == 1 and "cannot reach the server" in r.stderr, r.stderr


def run_traind(tmp_path, *args, env=None):
    return subprocess.run([TRAIND, "--listen", "127.0.0.1:0", "--db", str(tmp_path / "t.db"),
                           *args], capture_output=True, text=True, timeout=30,
                          env=dict(os.environ, **(env or {})))


def test_bad_tls_settings_exit_2_naming_the_fault(tmp_path, pki, pair):
    cert, key = pair
    other_cert, other_key = self_signed(pki, "other")
    garbage = write(pki, "garbage.pem", "-----BEGIN CERTIFICATE-----\nnot base64!\n"
                    "-----END CERTIFICATE-----\n")
    empty = write(pki, "empty.pem", "")
    huge = write(pki, "huge.pem", "#" * ((1 << 20) + 1))
    encrypted = str(pki / "encrypted.key")
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-aes256",
            "-pass", "pass:secret", "-out", encrypted, cwd=pki)
    cases = [
        ((("--tls-cert", cert), {}), "needs its private key"),
        ((("--tls-key", key), {}), "needs its certificate"),
        ((("--tls-cert", cert), {"TRAIND_TLS_KEY": ""}), "needs its private key"),
        ((tls_flags(str(pki / "nope.crt"), key), {}), "cannot open the TLS certificate"),
        ((tls_flags(cert, str(pki / "nope.key")), {}), "cannot open the TLS key"),
        ((tls_flags(str(pki), key), {}), "cannot read the TLS certificate"),
        ((tls_flags(garbage, key), {}), "holds no PEM certificate"),
        ((tls_flags(empty, key), {}), "is empty"),
        ((tls_flags(huge, key), {}), "larger than 1048576 bytes"),
        ((tls_flags(cert, cert), {}), "holds no unencrypted PEM private key"),
        ((tls_flags(cert, encrypted), {}), "holds no unencrypted PEM private key"),
        ((tls_flags(cert, other_key), {}), "cannot serve together"),
        ((tls_flags(other_cert, key), {}), "cannot serve together"),
    ]
    for (args, env), message in cases:
        r = run_traind(tmp_path, *args, env=env)
        assert r.returncode == 2, (args, r.stderr)
        last = r.stderr.splitlines()[-1]  # after any warning
        assert message in last and last.startswith("traind: "), (args, r.stderr)
        assert r.stdout == "", (args, r.stdout)
        assert not (tmp_path / "t.db").exists(), f"{args}: the database was created"


def test_an_expired_certificate_is_served_with_a_warning(spawn, pki):
    d = spawn(extra=tls_flags(*expired(pki)))
    assert d.url.startswith("https://")
    assert "has expired" in d.log_tail()


def test_a_public_address_still_needs_a_token_with_tls(tmp_path, spawn, pair):
    r = run_traind(tmp_path, "--listen", "0.0.0.0:0", *tls_flags(*pair))
    assert r.returncode == 2, r.stderr
    assert "refusing to listen on 0.0.0.0 without a token" in r.stderr

    d = spawn(extra=("--listen", "0.0.0.0:0", "--token", TOKEN, *tls_flags(*pair)))
    url = d.url.replace("0.0.0.0", "127.0.0.1")
    assert url.startswith("https://"), url
    status, _, doc = Client(url, cafile=pair[0]).request("GET", "/v1/models")
    assert status == 401 and doc["error"]["code"] == "unauthorized", doc
    assert Client(url, token=TOKEN, cafile=pair[0]).list_models() == []


def negotiated(url, version):
    """The protocol openssl s_client settles on when offering only version
    ("-tls1_1"...), or None when the handshake fails. SECLEVEL=0 lets the
    client offer what Debian's OpenSSL refuses by default."""
    host, port = host_port(url)
    r = subprocess.run(["openssl", "s_client", "-brief", "-connect", f"{host}:{port}", version,
                        "-cipher", "DEFAULT:@SECLEVEL=0"], input="", capture_output=True,
                       text=True, timeout=30)
    for line in (r.stdout + r.stderr).splitlines():
        if line.startswith("Protocol version:"):
            return line.split(":", 1)[1].strip()
    assert r.returncode != 0, r.stdout + r.stderr
    return None


def test_tls_below_1_2_is_refused_by_default(spawn, pair):
    d = spawn(extra=tls_flags(*pair))
    assert negotiated(d.url, "-tls1_1") is None
    assert negotiated(d.url, "-tls1") is None
    assert negotiated(d.url, "-tls1_2") == "TLSv1.2"
    assert negotiated(d.url, "-tls1_3") == "TLSv1.3"


def test_tls_priorities_are_configurable_and_checked_at_start(spawn, tmp_path, pair):
    d = spawn(extra=(*tls_flags(*pair), "--tls-priorities", "NORMAL:-VERS-ALL:+VERS-TLS1.3"))
    assert negotiated(d.url, "-tls1_2") is None
    assert negotiated(d.url, "-tls1_3") == "TLSv1.3"
    for args, env in ((("--tls-priorities", "NORMAL:+BOGUS"), {}),
                      ((), {"TRAIND_TLS_PRIORITIES": "NOT-A-KEYWORD"})):
        r = run_traind(tmp_path, *tls_flags(*pair), *args, env=env)
        assert r.returncode == 2, r.stderr
        assert "--tls-priorities" in r.stderr and "not a GnuTLS priority string" in r.stderr
        assert not (tmp_path / "t.db").exists()
