"""Requests that libmicrohttpd answers or drops by itself, before or while
traind's handler runs — query arguments or headers over the connection's
memory (431), a malformed header or chunk (400), a chunk extension over the
memory, a body over the limit (traind's 413 before reading it), clients gone
mid-line, mid-headers and mid-body — leak nothing: the sanitized daemon
(SAN=1) exits 0 after many of each, LeakSanitizer finding nothing, and the
plain daemon's RSS stays put over thousands of oversized queries
(libmicrohttpd 0.9.75 never reports those requests' end: http.c's
connection_ctx)."""
import socket
import time
import urllib.parse

from test_load import rss_bytes, sanitized

JSON_POST = b"Host: localhost\r\nContent-Type: application/json\r\n"
# Query arguments past HTTP_CONNECTION_MEMORY (64 KiB) once split into
# libmicrohttpd's records, while the request line itself still fits.
BIG_QUERY = b"GET /v1/models?" + b"a=1&" * 12000 + b" HTTP/1.1\r\nHost: localhost\r\n\r\n"

# (what, request bytes, half-close after sending?, the status line's start or
# None when any answer, or none, will do)
CASES = [
    ("query arguments over the memory", BIG_QUERY, False, None),
    ("a header over the memory",
     b"GET /v1/models HTTP/1.1\r\nHost: localhost\r\nX-A: " + b"a" * 70000 + b"\r\n\r\n", False,
     b"HTTP/1.1 431 "),
    ("a header line without a colon",
     b"GET /v1/models?x=1 HTTP/1.1\r\nHost: localhost\r\nBad header\r\n\r\n", False, b"HTTP/1.1 400 "),
    ("a malformed chunk size",
     b"POST /v1/models HTTP/1.1\r\n" + JSON_POST + b"Transfer-Encoding: chunked\r\n\r\n"
     b"zz\r\n{}\r\n0\r\n\r\n", False, b"HTTP/1.1 400 "),
    ("a chunk extension over the memory",
     b"POST /v1/models HTTP/1.1\r\n" + JSON_POST + b"Transfer-Encoding: chunked\r\n\r\n2;" +
     b"e" * 70000 + b"\r\n{}\r\n0\r\n\r\n", False, None),
    ("a body over the limit", b"POST /v1/models HTTP/1.1\r\n" + JSON_POST +
     b"Content-Length: 99999999\r\n\r\n{", False, b"HTTP/1.1 413 "),
    ("gone mid-request-line", b"GET /v1/models?x=", True, b""),
    ("gone mid-headers", b"GET /v1/models?x=1 HTTP/1.1\r\nHost: localhost\r\nX-A: b", True, b""),
    ("gone mid-body", b"POST /v1/models HTTP/1.1\r\n" + JSON_POST +
     b"Content-Length: 100\r\n\r\n{\"na", True, b""),
    ("gone mid-chunk", b"POST /v1/models HTTP/1.1\r\n" + JSON_POST +
     b"Transfer-Encoding: chunked\r\n\r\n10\r\n{\"na", True, b""),
]


def address(d):
    url = urllib.parse.urlsplit(d.url)
    return url.hostname, url.port


def exchange(d, data, half_close=False):
    """Send data on a connection of its own; everything answered until the
    daemon closes it."""
    with socket.create_connection(address(d), timeout=30) as s:
        try:
            s.sendall(data)
            if half_close:
                s.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the daemon answered and closed before taking everything
        answer = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            answer += chunk
    return answer


def log(d):
    with open(d.log_path, "rb") as f:
        return f.read()


def test_requests_refused_or_dropped_by_libmicrohttpd_leak_nothing(spawn):
    """Under SAN=1 a single lost request state fails the daemon's exit."""
    d = spawn()
    for _ in range(20):
        for what, data, half_close, status in CASES:
            answer = exchange(d, data, half_close)
            if status is not None:
                assert answer.startswith(status), (what, answer[:200])
    assert d.client.health() == {"status": "ok"}
    # The dropped requests are logged once their connection is reaped.
    deadline = time.monotonic() + 10
    while b"- /v1/models?a=1&a=1&" not in log(d) or b"ended=dropped" not in log(d):
        assert time.monotonic() < deadline, log(d)[-2000:]
        time.sleep(0.05)
    rc = d.stop()
    assert rc == 0, f"traind exited {rc} (LeakSanitizer?)\n{d.log_tail(80)}"


def test_oversized_queries_do_not_grow_the_daemon(spawn):
    """2,000 requests whose query arguments libmicrohttpd refuses: before
    the fix each kept ~50 KB (the state and its URI copy), 100 MB in all.
    A sanitized daemon's RSS is its quarantine's: printed, not held."""
    d = spawn()
    for _ in range(200):  # warm up: thread stacks, allocator arenas
        exchange(d, BIG_QUERY)
    time.sleep(0.5)
    before = rss_bytes(d.proc.pid)
    for _ in range(2000):
        exchange(d, BIG_QUERY)
    time.sleep(0.5)
    after = rss_bytes(d.proc.pid)
    grown = after - before
    print(f"RSS {before >> 10} KiB -> {after >> 10} KiB over 2000 refused queries")
    assert sanitized(d.proc.pid) or grown < 8 << 20, \
        f"RSS grew {grown >> 10} KiB over 2000 refused queries ({before >> 10} -> {after >> 10})"
    assert d.client.health() == {"status": "ok"}
