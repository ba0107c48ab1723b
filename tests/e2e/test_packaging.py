"""Packaging: the Docker image, compose file and systemd unit use only flags,
variables and files that exist; `make install DESTDIR=...` yields a daemon that
starts from where it was installed; the man pages and the Python package build.
No container is built here: these checks stand in for a Docker engine."""
import configparser
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import zipfile

import pytest

from conftest import ROOT, TRAIND, Daemon
from traind_client import Client

DOCKER = os.path.join(ROOT, "docker")
DOCKERFILE = os.path.join(DOCKER, "Dockerfile")
COMPOSE = os.path.join(DOCKER, "compose.yaml")
UNIT = os.path.join(DOCKER, "traind.service")
ENV_EXAMPLE = os.path.join(DOCKER, "traind.env.example")
MAN = os.path.join(ROOT, "docs", "man")
BUILD_DIR = os.path.dirname(os.path.realpath(TRAIND))
TRAINCTL = os.environ.get("TRAINCTL_BIN", os.path.join(BUILD_DIR, "trainctl"))
TIMEOUT = 60


def run(args, **kw):
    kw.setdefault("timeout", TIMEOUT)
    return subprocess.run(args, capture_output=True, text=True, **kw)


def help_text(binary):
    r = run([binary, "--help"])
    assert r.returncode == 0, r.stderr
    return r.stdout


def help_flags(text):
    """The --options a --help text lists (one per line, indented)."""
    return set(re.findall(r"^\s*(--[a-z][a-z-]*)", text, re.M))


def dockerfile():
    """[(INSTRUCTION, arguments)] with continuation lines joined."""
    instructions, line = [], ""
    with open(DOCKERFILE) as f:
        for raw in f:
            raw = raw.rstrip("\n")
            if not line and (not raw.strip() or raw.lstrip().startswith("#")):
                continue
            if raw.endswith("\\"):
                line += raw[:-1] + " "
                continue
            line += raw
            word, _, rest = line.strip().partition(" ")
            instructions.append((word.upper(), rest.strip()))
            line = ""
    return instructions


def stage(instructions, n):
    """The instructions of build stage n (0 = the first FROM)."""
    starts = [i for i, (word, _) in enumerate(instructions) if word == "FROM"]
    end = starts[n + 1] if n + 1 < len(starts) else len(instructions)
    return instructions[starts[n]:end]


def only(instructions, word):
    found = [rest for w, rest in instructions if w == word]
    assert len(found) == 1, f"{word}: {found}"
    return found[0]


def image_cmd():
    return json.loads(only(dockerfile(), "CMD"))


def unit():
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",),
                                       comment_prefixes=("#", ";"))
    parser.optionxform = str  # systemd keys are case-sensitive
    with open(UNIT) as f:
        parser.read_file(f)
    return parser


def unit_exec_start():
    args = shlex.split(unit()["Service"]["ExecStart"])
    args[0] = args[0].lstrip("-@:+!")  # systemd's command prefixes
    return args


def option(args, flag):
    return args[args.index(flag) + 1]


def deploy_files():
    return [DOCKERFILE, COMPOSE, UNIT, ENV_EXAMPLE]


# ---- flags, variables and files the deployment files use -------------------------

def test_deploy_flags_and_variables_exist_in_traind_help():
    text = help_text(TRAIND)
    known = help_flags(text)
    commands = {"Dockerfile CMD": image_cmd(), "unit ExecStart": unit_exec_start()}
    for where, args in commands.items():
        assert os.path.basename(args[0]) == "traind", f"{where}: {args}"
        flags = [a.split("=")[0] for a in args[1:] if a.startswith("--")]
        assert flags, f"{where} passes no flag: {args}"
        unknown = [f for f in flags if f not in known]
        assert not unknown, f"{where} uses flags traind --help does not list: {unknown}"

    used = set()
    for path in deploy_files():
        with open(path) as f:
            used |= set(re.findall(r"\bTRAIND_[A-Z_]+\b", f.read()))
    assert "TRAIND_TOKEN" in used
    unknown = sorted(v for v in used if not re.search(rf"\b{v}\b", text))
    assert not unknown, f"variables traind --help does not list: {unknown}"


def test_dockerfile_builds_with_deps_sh_and_copies_files_that_exist():
    instructions = dockerfile()
    froms = [rest for word, rest in instructions if word == "FROM"]
    assert [f.split()[0] for f in froms] == ["debian:12-slim", "debian:12-slim"], froms
    build_alias = froms[0].split()[-1]
    build, runtime = stage(instructions, 0), stage(instructions, 1)

    runs = [rest for word, rest in build if word == "RUN"]
    deps = [i for i, r in enumerate(runs) if "scripts/deps.sh" in r]
    make = [i for i, r in enumerate(runs) if re.search(r"\bmake\b", r)]
    assert deps and make and deps[0] < make[0], runs
    assert not any(re.search(r"\bmake\b[^&;]*\b(test|unit|e2e)\b", r) for r in runs), runs

    install = re.search(r"make install DESTDIR=(\S+) PREFIX=(\S+)", " ".join(runs))
    assert install, runs
    staged = install.group(1) + install.group(2)

    for word, rest in instructions:
        if word not in ("COPY", "ADD"):
            continue
        args = shlex.split(rest)
        sources = [a for a in args[:-1] if not a.startswith("--")]
        assert sources, rest
        if f"--from={build_alias}" in args:
            # What the build stage's `make install` staged (checked by the
            # install test below to hold the binaries).
            assert all(s.rstrip("/") == staged for s in sources), (rest, staged)
            continue
        assert word == "COPY", f"ADD fetches and unpacks; use COPY: {rest}"
        for source in sources:
            assert os.path.exists(os.path.join(ROOT, source)), f"COPY {source}: no such file"

    assert not any(w == "RUN" and "deps.sh" in r for w, r in runtime), "runtime stage builds"
    user = only(runtime, "USER")
    assert user not in ("root", "0"), user
    assert only(runtime, "VOLUME") == "/var/lib/traind"
    cmd = image_cmd()
    assert os.path.dirname(option(cmd, "--db")) == "/var/lib/traind"
    port = option(cmd, "--listen").rsplit(":", 1)[1]
    assert only(runtime, "EXPOSE") == port
    assert f"127.0.0.1:{port}/healthz" in only(runtime, "HEALTHCHECK")
    assert "--token" not in cmd and not any(w == "ENV" and "TRAIND_TOKEN" in r
                                            for w, r in instructions), "a token in the image"


def runtime_packages():
    runs = " ".join(rest for word, rest in stage(dockerfile(), 1) if word == "RUN")
    found = re.search(r"apt-get install (.*?)(&&|$)", runs)
    assert found, runs
    return {p for p in found.group(1).split() if not p.startswith("-")}


def package_of(path):
    """The Debian package owning a file (dpkg records some under /lib, some
    under /usr/lib; alternatives symlinks belong to none)."""
    real = os.path.realpath(path)
    for candidate in (path, real, re.sub(r"^/usr(?=/lib)", "", real)):
        r = run(["dpkg", "-S", candidate])
        if r.returncode == 0:
            return r.stdout.split(":")[0]
    raise AssertionError(f"no package owns {path}")


def test_runtime_stage_installs_every_linked_library():
    for tool in ("readelf", "ldd", "dpkg"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    packages = runtime_packages()
    assert "curl" in packages, "the HEALTHCHECK runs curl"
    binaries = [TRAIND] + ([TRAINCTL] if os.access(TRAINCTL, os.X_OK) else [])
    for binary in binaries:
        needed = re.findall(r"\(NEEDED\).*\[(.+)\]", run(["readelf", "-d", binary]).stdout)
        paths = dict(re.findall(r"^\s*(\S+) => (\S+)", run(["ldd", binary]).stdout, re.M))
        assert needed and paths, binary
        for lib in needed:
            owner = package_of(paths[lib])
            # libc6 is in every image; the sanitizer runtimes only in SAN=1 builds.
            if owner == "libc6" or owner.startswith(("libasan", "libubsan")):
                continue
            assert owner in packages, f"{binary} needs {lib} from {owner}, not in the image"


def test_image_command_starts_only_with_a_token(tmp_path, monkeypatch):
    """The image listens on 0.0.0.0: without TRAIND_TOKEN traind must refuse."""
    for name in list(os.environ):
        if name.startswith("TRAIND_") and name != "TRAIND_BIN":
            monkeypatch.delenv(name)
    cmd = image_cmd()
    cmd[0] = TRAIND
    cmd[cmd.index("--listen") + 1] = "0.0.0.0:0"  # any free port, not the image's
    cmd[cmd.index("--db") + 1] = str(tmp_path / "traind.db")

    r = run(cmd)
    assert r.returncode == 2, r.stderr
    assert "refusing to listen on 0.0.0.0 without a token" in r.stderr
    assert not (tmp_path / "traind.db").exists()

    monkeypatch.setenv("TRAIND_TOKEN", "packaging-test-token")
    d = Daemon(tmp_path / "unused.db", tmp_path)
    d.args = cmd
    d.start()
    try:
        url = d.url.replace("0.0.0.0", "127.0.0.1")
        assert Client(url).health() == {"status": "ok"}
        assert Client(url).request("GET", "/v1")[0] == 401
        assert Client(url, token="packaging-test-token").request("GET", "/v1")[0] == 200
    finally:
        rc = d.stop()
    assert rc == 0, d.log_tail()


def test_compose_runs_the_image_with_token_volume_and_healthcheck():
    yaml = pytest.importorskip("yaml", reason="PyYAML (python3-yaml) is not installed")
    with open(COMPOSE) as f:
        doc = yaml.safe_load(f)
    service = doc["services"]["traind"]
    context = os.path.normpath(os.path.join(DOCKER, service["build"]["context"]))
    assert os.path.samefile(os.path.join(context, service["build"]["dockerfile"]), DOCKERFILE)
    assert service["env_file"] == "traind.env"
    with open(ENV_EXAMPLE) as f:
        assert re.search(r"^TRAIND_TOKEN=\S+", f.read(), re.M), "example sets no token"
    port = option(image_cmd(), "--listen").rsplit(":", 1)[1]
    assert service["ports"] == [f"127.0.0.1:{port}:{port}"]
    volume, _, target = service["volumes"][0].partition(":")
    assert target == "/var/lib/traind" and volume in doc["volumes"]
    assert service["restart"] in ("always", "unless-stopped", "on-failure")
    assert any(f"127.0.0.1:{port}/healthz" in str(a) for a in service["healthcheck"]["test"])
    for args in (service.get("command"), service.get("entrypoint")):
        assert args is None, "flags in compose: extend the --help check to them"


def test_systemd_unit_parses_with_its_sandboxing():
    service = unit()["Service"]
    yes = {"yes", "true", "on", "1"}
    for key in ("DynamicUser", "ProtectHome", "PrivateTmp", "PrivateDevices", "NoNewPrivileges",
                "MemoryDenyWriteExecute", "LockPersonality", "RestrictNamespaces"):
        assert service.get(key, "").lower() in yes, key
    expected = {"StateDirectory": "traind", "ProtectSystem": "strict",
                "EnvironmentFile": "-/etc/traind/traind.env",
                "SystemCallFilter": "@system-service", "KillSignal": "SIGTERM",
                "TimeoutStopSec": "30", "Restart": "on-failure"}
    for key, value in expected.items():
        assert service.get(key) == value, key
    assert set(service["RestrictAddressFamilies"].split()) == {"AF_INET", "AF_INET6", "AF_UNIX"}

    args = unit_exec_start()
    assert option(args, "--db") == f"/var/lib/{service['StateDirectory']}/traind.db"
    with open(os.path.join(ROOT, "Makefile")) as f:
        prefix = re.search(r"^PREFIX \?= (\S+)$", f.read(), re.M).group(1)
    assert args[0] == f"{prefix}/bin/traind", "ExecStart is not where make install puts traind"
    assert unit()["Install"]["WantedBy"] == "multi-user.target"


# ---- make install ----------------------------------------------------------------

def make(*args):
    """make from the repository root for the build under test (build/ or build-san/)."""
    builds = {os.path.join(ROOT, "build"): "0", os.path.join(ROOT, "build-san"): "1"}
    san = builds.get(BUILD_DIR)
    if san is None:
        pytest.skip(f"{TRAIND} is not this tree's build/ or build-san/")
    return run(["make", "--no-print-directory", "-C", ROOT, f"SAN={san}", *args])


def test_make_install_yields_a_daemon_that_serves(tmp_path):
    dest = tmp_path / "dest"
    r = make("install", f"DESTDIR={dest}", "PREFIX=/usr")
    assert r.returncode == 0, r.stdout + r.stderr
    installed = dest / "usr" / "bin" / "traind"
    with open(installed, "rb") as a, open(TRAIND, "rb") as b:
        assert a.read() == b.read(), "make install did not install the build under test"
    assert os.access(installed, os.X_OK)
    assert (dest / "usr" / "share" / "man" / "man8" / "traind.8").is_file()

    d = Daemon(tmp_path / "traind.db", tmp_path)
    d.args[0] = str(installed)
    d.start()
    try:
        assert d.client.health() == {"status": "ok"}
    finally:
        rc = d.stop()
    assert rc == 0, d.log_tail()

    r = make("uninstall", f"DESTDIR={dest}", "PREFIX=/usr")
    assert r.returncode == 0, r.stdout + r.stderr
    assert [p for p in dest.rglob("*") if p.is_file()] == []


def test_make_install_trainctl(tmp_path):
    if not os.access(TRAINCTL, os.X_OK):
        pytest.skip(f"trainctl is not built ({TRAINCTL})")
    dest = tmp_path / "dest"
    r = make("install", f"DESTDIR={dest}", "PREFIX=/usr")
    assert r.returncode == 0, r.stdout + r.stderr
    installed = dest / "usr" / "bin" / "trainctl"
    assert (dest / "usr" / "share" / "man" / "man1" / "trainctl.1").is_file()
    r = run([str(installed), "--help"])
    assert r.returncode == 0 and "usage: trainctl" in r.stdout, r.stderr


def test_make_install_never_builds(tmp_path):
    """Without a build, install fails and says what to run; it compiles nothing."""
    empty, dest = tmp_path / "empty-build", tmp_path / "dest"
    empty.mkdir()
    r = make("install", f"BUILD={empty}", f"DESTDIR={dest}", "PREFIX=/usr")
    assert r.returncode != 0
    assert "is not built: run make" in r.stderr
    assert list(empty.iterdir()) == [] and not dest.exists()


# ---- man pages and the Python package ---------------------------------------------

def man_text(path):
    """The page's words: roff escapes for '-' and fonts removed."""
    with open(path) as f:
        return re.sub(r"\\f[BIRP]", "", f.read()).replace("\\-", "-")


@pytest.mark.parametrize("page, title", [("traind.8", "TRAIND 8"), ("trainctl.1", "TRAINCTL 1")])
def test_man_page_is_valid_roff(page, title):
    path = os.path.join(MAN, page)
    with open(path) as f:
        first = next(line for line in f if not line.startswith('.\\"'))
    assert first.startswith(f".TH {title} "), first
    if shutil.which("groff") is None:
        return  # the header check above is all that can be done
    r = run(["groff", "-man", "-Tutf8", "-ww", "-z", path])
    assert r.returncode == 0 and r.stderr == "", r.stderr


def test_traind_man_page_lists_every_option_and_variable():
    text, page = help_text(TRAIND), man_text(os.path.join(MAN, "traind.8"))
    for flag in help_flags(text):
        assert flag in page, f"traind.8 lacks {flag}"
    for var in set(re.findall(r"\bTRAIND_[A-Z_]+\b", text)):
        assert var in page, f"traind.8 lacks {var}"


def test_trainctl_man_page_lists_every_option_and_command():
    if not os.access(TRAINCTL, os.X_OK):
        pytest.skip(f"trainctl is not built ({TRAINCTL})")
    text, page = help_text(TRAINCTL), man_text(os.path.join(MAN, "trainctl.1"))
    for flag in help_flags(text):
        assert flag in page, f"trainctl.1 lacks {flag}"
    commands = re.search(r"^commands:\n((?:  .*\n)+)", text, re.M)
    assert commands, text
    section = re.search(r"^\.SH COMMANDS\n(.*?)^\.SH ", page, re.M | re.S)
    assert section, "trainctl.1 has no COMMANDS section"
    for line in commands.group(1).splitlines():
        name = line.split()[0]
        assert re.search(rf"^\.TP\n\.B[RI]? \"?{name}\b", section.group(1), re.M), \
            f"trainctl.1 does not describe {name}"


def test_python_client_builds_as_a_standard_library_wheel(tmp_path):
    pytest.importorskip("setuptools", minversion="61",
                        reason="setuptools >= 61 (python3-setuptools) is not installed")
    src = tmp_path / "src"
    shutil.copytree(os.path.join(ROOT, "clients", "python"), src,
                    ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
    build = ("import sys; from setuptools import build_meta; "
             "print(build_meta.build_wheel(sys.argv[1]))")
    r = run([sys.executable, "-c", build, str(tmp_path / "dist")], cwd=src)
    assert r.returncode == 0, r.stderr
    wheel = tmp_path / "dist" / r.stdout.split()[-1]
    assert wheel.name == "traind_client-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        metadata = z.read("traind_client-0.1.0.dist-info/METADATA").decode()
        z.extractall(tmp_path / "site")
    assert "traind_client/__init__.py" in names and "traind_client/client.py" in names
    assert "Requires-Dist" not in metadata, metadata

    site = str(tmp_path / "site")
    probe = f"import sys; sys.path.insert(0, {site!r}); import traind_client; print(traind_client.__file__)"
    r = run([sys.executable, "-I", "-c", probe], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().startswith(site), r.stdout
