"""Slow, idle and greedy clients: a thousand connections that send nothing or
trickle headers do not stop /healthz answering, the connection limits refuse
the surplus without starving other clients, the client timeout ends idle and
trickling connections, and a client that stops reading a long answer holds up
nothing but itself. Threads and descriptors return to their baseline, and the
daemon lifts its open-files limit to the hard one."""
import http.client
import json
import os
import resource
import socket
import threading
import time
import urllib.parse

import pytest

from traind_client import Client

HELD = 1000  # connections held open at once
WAIT = 30.0  # seconds to wait for the daemon to take up or drop connections
# Descriptors the daemon may keep after concurrent requests: up to 16 idle
# database handles (APP_STORE_IDLE_MAX) of two each, the database and its WAL.
POOL_FDS = 16 * 2


def address(d):
    url = urllib.parse.urlsplit(d.url)
    return url.hostname, url.port


def threads(d):
    return len(os.listdir(f"/proc/{d.proc.pid}/task"))


def descriptors(d):
    return len(os.listdir(f"/proc/{d.proc.pid}/fd"))


def wait_until(predicate, what, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(0.05)


def baseline(d):
    """Threads and descriptors once the daemon is idle (the startup /healthz
    connection reaped)."""
    d.client.health()
    time.sleep(0.5)
    return threads(d), descriptors(d)


def settle(d, base):
    """Wait for threads and descriptors to return to base (+2: a connection
    still being reaped; + POOL_FDS)."""
    wait_until(lambda: threads(d) <= base[0] + 2 and descriptors(d) <= base[1] + 2 + POOL_FDS,
               f"threads {threads(d)}, descriptors {descriptors(d)}; baseline {base}")


def timed_health(d):
    """GET /healthz on a fresh connection: (status, seconds)."""
    started = time.monotonic()
    conn = http.client.HTTPConnection(*address(d), timeout=10)
    try:
        conn.request("GET", "/healthz")
        answer = conn.getresponse()
        assert json.loads(answer.read()) == {"status": "ok"}
        return answer.status, time.monotonic() - started
    finally:
        conn.close()


def raw_health(d, source="127.0.0.1"):
    """GET /healthz from the source address: the raw answer, b"" when the
    daemon closed the connection unanswered."""
    with socket.create_connection(address(d), timeout=10, source_address=(source, 0)) as s:
        try:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            answer = b""
            while chunk := s.recv(4096):
                answer += chunk
            return answer
        except (ConnectionResetError, BrokenPipeError):
            return b""


def open_idle(d, n, source="127.0.0.1"):
    return [socket.create_connection(address(d), timeout=10, source_address=(source, 0))
            for _ in range(n)]


@pytest.fixture
def many_files():
    """This process holds HELD sockets too: lift its soft limit (the daemon,
    started after, inherits the hard one and lifts its own soft limit). A hard
    limit below the need is lifted too where that is allowed (as root)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = HELD + 256
    if hard != resource.RLIM_INFINITY and hard < need:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (need, need))
        except (ValueError, OSError):
            pytest.skip(f"the open files hard limit {hard} is below {need}")
    else:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, need), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


class Trickler(threading.Thread):
    """Sends one more header byte a second on each socket until stopped."""

    def __init__(self, socks):
        super().__init__(daemon=True)
        self.socks, self.stopped, self.sent = socks, threading.Event(), 0

    def run(self):
        while not self.stopped.wait(1.0):
            for s in self.socks:
                s.send(b"a")
            self.sent += 1


def test_healthz_answers_under_a_thousand_idle_and_trickling_connections(spawn, many_files):
    d = spawn(extra=("--max-connections", str(HELD + 100),
                     "--max-connections-per-ip", str(HELD + 100)))
    base = baseline(d)
    socks = open_idle(d, HELD)
    trickling = socks[::2]
    for s in trickling:  # half start a request and never finish its headers
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
    trickler = Trickler(trickling)
    trickler.start()
    try:
        # One thread per connection: the daemon has taken them all up.
        wait_until(lambda: threads(d) >= base[0] + HELD, f"{HELD} connections taken up")
        for _ in range(10):
            status, seconds = timed_health(d)
            assert status == 200 and seconds < 1.0, f"/healthz took {seconds:.3f} s"
            time.sleep(0.5)
        assert trickler.sent >= 3, "the headers did not trickle"
        assert Client(d.url).list_models() == []  # real work, not just /healthz
        assert threads(d) >= base[0] + HELD, "connections were dropped"
    finally:
        trickler.stopped.set()
        trickler.join()
        for s in socks:
            s.close()
    settle(d, base)


def kept_alive_health(s):
    """GET /healthz on the open socket s, which stays open: the answer's head."""
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
    answer = b""
    while b'{"status":"ok"}' not in answer:
        chunk = s.recv(4096)
        assert chunk, f"closed after {answer!r}"
        answer += chunk
    return answer.split(b"\r\n")[0]


def test_connection_limits_refuse_the_surplus_but_serve_other_clients(spawn):
    d = spawn(extra=("--max-connections", "40", "--max-connections-per-ip", "30"))
    base = baseline(d)
    held = open_idle(d, 30)
    try:
        wait_until(lambda: threads(d) >= base[0] + 30, "30 connections taken up")
        assert raw_health(d) == b"", "a 31st connection from one address was served"
        # Other addresses (all of 127/8 is this host) are still served...
        others = open_idle(d, 10, "127.0.0.2")
        held += others
        for s in others:
            assert kept_alive_health(s) == b"HTTP/1.1 200 OK"
        # ...up to the total: one thread per connection, no more.
        assert raw_health(d, "127.0.0.3") == b"", "a 41st connection was served"
        assert threads(d) <= base[0] + 41
        # A slot that frees serves the next client.
        held.pop(0).close()
        wait_until(lambda: raw_health(d, "127.0.0.3").startswith(b"HTTP/1.1 200 "),
                   "a client served once a connection ended")
    finally:
        for s in held:
            s.close()
    settle(d, base)
    assert raw_health(d).startswith(b"HTTP/1.1 200 ")


def test_kept_alive_connections_hold_no_database_handle(spawn):
    """Each of 200 connections makes a request that reads the database, then
    idles, kept alive: they share the pooled handles rather than keep one
    (two descriptors) each, during and after."""
    d = spawn()
    base = baseline(d)
    held = open_idle(d, 200)
    try:
        for s in held:
            assert kept_alive_health(s) == b"HTTP/1.1 200 OK"
        in_use = descriptors(d) - base[1]
        assert in_use <= 200 + 2 + POOL_FDS, f"{in_use} descriptors for 200 sockets"
    finally:
        for s in held:
            s.close()
    settle(d, base)


def seconds_until_closed(s, limit):
    """Read from s until the daemon closes it: the seconds it took, or None."""
    started = time.monotonic()
    s.settimeout(0.1)
    while time.monotonic() - started < limit:
        try:
            if s.recv(4096) == b"":
                return time.monotonic() - started
        except socket.timeout:
            continue
        except ConnectionResetError:
            return time.monotonic() - started
    return None


def test_idle_and_trickling_connections_are_closed_after_the_client_timeout(spawn):
    d = spawn(extra=("--client-timeout", "2"))
    base = baseline(d)
    idle, trickling = open_idle(d, 10), open_idle(d, 10)
    for s in trickling:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
    trickler = Trickler(trickling)
    trickler.start()
    try:
        started = time.monotonic()
        waited = [seconds_until_closed(s, 20.0) for s in idle + trickling]
        assert None not in waited, f"open after 20 s: {waited}"
        assert time.monotonic() - started >= 1.5, "closed before the timeout"
    finally:
        trickler.stopped.set()
        trickler.join()
        for s in idle + trickling:
            s.close()
    assert trickler.sent >= 1, "the headers did not trickle"
    assert "no complete request head in 2 s" in d.log_tail(200)
    settle(d, base)


LABEL = 256  # bytes of a class name, the most a dataset takes


def long_label_model(client):
    """A two-class model whose class names are LABEL bytes long: predicting
    many rows answers a long document cheaply."""
    names = ["a" * LABEL, "b" * LABEL]
    ds = client.create_dataset("long-labels", [[0.0], [1.0], [2.0], [3.0]],
                               labels=[names[0], names[1], names[0], names[1]])
    spec = {"name": "long-labels", "inputs": 1, "loss": "binary_cross_entropy", "seed": 1,
            "layers": [{"type": "dense", "units": 1, "activation": "sigmoid"}]}
    model = client.create_model(spec)
    job = client.create_job(model["id"], ds["id"], epochs=1, batch_size=4)
    assert client.wait(job["id"], timeout=60)["state"] == "succeeded"
    return model["id"]


def test_a_client_not_reading_a_long_answer_holds_up_nothing_else(spawn):
    d = spawn(extra=("--client-timeout", "3"))
    model = long_label_model(d.client)
    base = baseline(d)
    # An answer well beyond what the kernel buffers between the two ends, so
    # the daemon's send stalls: each row's label takes LABEL bytes and more.
    with open("/proc/sys/net/ipv4/tcp_wmem") as f:
        send_buffer = int(f.read().split()[2])
    rows = 3 * send_buffer // LABEL + 1
    if rows > 65536:  # the most one predict request takes
        pytest.skip(f"a {send_buffer}-byte send buffer takes in the longest answer")
    body = json.dumps({"inputs": [[0.5]] * rows}).encode()
    stalled = socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.connect(address(d))
    stalled.sendall(b"POST /v1/models/%d/predict HTTP/1.1\r\nHost: localhost\r\n"
                    b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                    % (model, len(body), body))
    try:
        # The answer starts arriving, then stops: the buffers are full.
        stalled.settimeout(30)
        received = stalled.recv(1024)
        assert received.startswith(b"HTTP/1.1 200 "), received
        for _ in range(5):
            status, seconds = timed_health(d)
            assert status == 200 and seconds < 1.0, f"/healthz took {seconds:.3f} s"
            # The same model predicts, and a write goes through, meanwhile.
            assert d.client.predict(model, [[1.0]])["labels"][0] in ("a" * LABEL, "b" * LABEL)
            d.client.create_dataset("meanwhile", [[1.0]], targets=[[1.0]])
        # The daemon gives up on it after 3 s without progress: what arrives
        # then is the start of the answer, cut short.
        time.sleep(5)
        while True:
            try:
                chunk = stalled.recv(1 << 16)
            except ConnectionResetError:
                break
            if not chunk:
                break
            received += chunk
    finally:
        stalled.close()
    head, _, answer = received.partition(b"\r\n\r\n")
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:")))
    assert length > 2 * send_buffer, "the answer fit in the buffers: make it longer"
    assert len(answer) < length, "the stalled answer was sent in full"
    assert "ended=timeout" in d.log_tail(100)
    settle(d, base)


def open_files_limit(pid):
    """The (soft, hard) limit on open files of process pid."""
    with open(f"/proc/{pid}/limits") as f:
        line = next(line for line in f if line.startswith("Max open files"))
    return tuple(int(v) for v in line.split()[3:5])


def test_the_open_files_limit_is_raised_to_the_hard_one(spawn):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))  # inherited by the daemon
    try:
        d = spawn(extra=("--max-connections", "64"))
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert open_files_limit(d.proc.pid) == (hard, hard)
    assert "open files are limited" not in d.log_tail()


def test_a_hard_limit_below_what_the_connections_need_is_warned_about(spawn):
    d = spawn()
    assert d.stop() == 0
    # The default 1024 connections may need some 3000 descriptors.
    d.args = ["/bin/sh", "-c", 'ulimit -n 512 && exec "$@"', "sh", *d.args]
    d.start()
    assert open_files_limit(d.proc.pid) == (512, 512)
    assert "open files are limited to 512; 1024 connections may need" in d.log_tail()
    assert d.client.health() == {"status": "ok"}


def test_sigterm_with_connections_held_exits_promptly(spawn):
    d = spawn()
    held = open_idle(d, 100)
    for s in held[::2]:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
    try:
        wait_until(lambda: threads(d) >= 100, "100 connections taken up")
        started = time.monotonic()
        assert d.stop() == 0
        assert time.monotonic() - started < 5.0, "the held connections delayed the stop"
    finally:
        for s in held:
            s.close()
