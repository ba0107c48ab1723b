"""End-to-end fixtures: the real traind on a free port with a temporary database.

The binary is $TRAIND_BIN (the Makefile passes its build's), else build/traind.
Each daemon logs to <tmp>/traind-N.log; a failing test prints the log's tail.
"""
import os
import signal
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "clients", "python"))

from traind_client import Client  # noqa: E402

TRAIND = os.environ.get("TRAIND_BIN", os.path.join(ROOT, "build", "traind"))
START_TIMEOUT = 30.0


class Daemon:
    """One traind process on 127.0.0.1:0 with the database at db."""

    count = 0

    def __init__(self, db, log_dir, workers=2, extra=(), env=None):
        Daemon.count += 1
        self.env = env or {}  # variables added to the daemon's environment
        self.db = str(db)
        self.log_path = os.path.join(str(log_dir), f"traind-{Daemon.count}.log")
        self.args = [TRAIND, "--listen", "127.0.0.1:0", "--db", self.db,
                     "--workers", str(workers), *extra]
        self.proc = None
        self.url = None
        self.client = None

    def start(self):
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", **self.env)
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=self.log, env=env)
        # main.c prints "listening on http://HOST:PORT" on stdout once it serves.
        line = self.proc.stdout.readline().decode()
        if not line.startswith("listening on "):
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError(f"traind did not start: {line!r}\n{self.log_tail()}")
        self.url = line.split()[-1]
        self.client = Client(self.url)
        return self

    def stop(self):
        """SIGTERM and wait: a clean shutdown exits 0 (under ASan: no leaks)."""
        if self.proc is None:
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=START_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self._close()
        return rc

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self._close()

    def _close(self):
        self.proc.stdout.close()
        self.log.close()
        self.proc = None

    def log_tail(self, lines=40):
        with open(self.log_path, "rb") as f:
            return b"".join(f.readlines()[-lines:]).decode(errors="replace")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test, so fixtures can tell a failure."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, "report_" + report.when, report)


@pytest.fixture
def spawn(tmp_path, request):
    """spawn(db=None, **kw) starts a daemon (db defaults to a fresh file);
    every daemon still running at the end is stopped and must exit 0. The
    daemons' logs are printed when the test fails."""
    daemons = []

    def start(db=None, **kw):
        d = Daemon(db or tmp_path / f"db{len(daemons)}.sqlite", tmp_path, **kw).start()
        daemons.append(d)
        return d

    yield start
    report = getattr(request.node, "report_call", None)
    for d in daemons:
        if report is not None and report.failed:
            print(f"---- {d.log_path}\n{d.log_tail()}")
        if d.proc is not None:
            rc = d.stop()
            assert rc == 0, f"traind exited {rc}\n{d.log_tail()}"


@pytest.fixture
def daemon(spawn):
    return spawn()


@pytest.fixture
def client(daemon):
    return daemon.client


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One daemon for a module of tests that do not train for long."""
    tmp = tmp_path_factory.mktemp("shared")
    d = Daemon(tmp / "db.sqlite", tmp).start()
    yield d
    rc = d.stop()
    assert rc == 0, f"traind exited {rc}\n{d.log_tail()}"
