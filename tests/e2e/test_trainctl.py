"""trainctl, the command line client, driven against a real daemon: the
binary is $TRAINCTL_BIN (the Makefile passes its build's), else build/trainctl."""
import csv as csvlib
import io
import json
import os
import pty
import re
import select
import socket
import struct
import subprocess
import time

import onnx
import pytest

from conftest import ROOT
from datasets import IRIS_CLASSES, SLOW_SPEC, XOR_INPUTS, XOR_SPEC, XOR_TARGETS, iris_csv, \
    iris_rows, iris_spec, slow_data

TRAINCTL = os.environ.get("TRAINCTL_BIN", os.path.join(ROOT, "build", "trainctl"))
TIMEOUT = 60


def trainctl(url, *args, env=None):
    """Runs trainctl --server url args...; returns the CompletedProcess (text)."""
    full_env = dict(os.environ, **(env or {}))
    full_env.pop("TRAIND_URL", None)
    full_env.pop("TRAIND_TOKEN", None)
    full_env.update(env or {})
    cmd = [TRAINCTL] + (["--server", url] if url else []) + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT, env=full_env)


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def read_csv_text(text):
    return list(csvlib.reader(io.StringIO(text)))


def f32(v):
    return struct.unpack("f", struct.pack("f", v))[0]


def upload_iris(url, tmp_path):
    csv = write(tmp_path, "iris.csv", iris_csv(iris_rows()))
    r = trainctl(url, "--json", "datasets", "upload", csv, "--target", "species")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def create_model(url, tmp_path, spec):
    r = trainctl(url, "--json", "models", "create", write(tmp_path, "spec.json", json.dumps(spec)))
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)["id"]


def test_upload_train_follow_predict(daemon, tmp_path):
    url = daemon.url
    ds = upload_iris(url, tmp_path)
    assert (ds["name"], ds["rows"], ds["classes"]) == ("iris", 150, IRIS_CLASSES)
    model = create_model(url, tmp_path, iris_spec())

    r = trainctl(url, "train", "--model", str(model), "--dataset", str(ds["id"]), "--epochs", "5",
                 "--batch-size", "16", "--optimizer", "adam", "--lr", "0.05", "--follow")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "\r" not in r.stdout  # not a terminal: plain lines
    assert lines[0].startswith("job ") and lines[0].endswith(" queued")
    job = int(lines[0].split()[1])
    assert [ln.split()[1] for ln in lines[1:6]] == [f"{e}/5" for e in range(1, 6)]
    assert all(ln.startswith("epoch ") and " loss " in ln for ln in lines[1:6])
    assert lines[6].startswith(f"job {job} succeeded at epoch 5/5") and len(lines) == 7

    got = daemon.client.get_job(job)
    assert got["config"]["batch_size"] == 16 and got["config"]["optimizer"]["lr"] == 0.05

    rows = iris_rows()
    r = trainctl(url, "predict", str(model), "--input", json.dumps([rows[0][0], rows[2][0]]))
    assert r.returncode == 0, r.stderr
    out = r.stdout.splitlines()
    assert out[0].split() == ["ROW", "OUTPUTS", "LABEL"] and len(out) == 3
    assert all(ln.split()[-1] in IRIS_CLASSES and len(ln.split()) == 5 for ln in out[1:])

    csv = write(tmp_path, "probe.csv",
                "a,b,c,d\n" + "".join(",".join(map(str, x)) + "\n" for x, _ in rows[:6]))
    r = trainctl(url, "predict", str(model), "--csv", csv)
    assert r.returncode == 0, r.stderr
    expected = daemon.client.predict(model, [x for x, _ in rows[:6]])
    out = read_csv_text(r.stdout)
    assert out[0] == ["row", "output_0", "output_1", "output_2", "label"]
    assert [o[0] for o in out[1:]] == ["1", "2", "3", "4", "5", "6"]
    assert [o[-1] for o in out[1:]] == expected["labels"]
    assert [[f32(float(v)) for v in o[1:4]] for o in out[1:]] == \
        [[f32(v) for v in o] for o in expected["outputs"]]

    # an id column (here the second) is echoed, not sent as an input
    with_id = write(tmp_path, "with_id.csv", "a,ID,b,c,d\n" + "".join(
        f"{x[0]},flower {i}" + "".join(f",{v}" for v in x[1:]) + "\n"
        for i, (x, _) in enumerate(rows[:6])))
    r = trainctl(url, "predict", str(model), "--csv", with_id)
    assert r.returncode == 0, r.stderr
    out = read_csv_text(r.stdout)
    assert out[0][0] == "ID" and [o[0] for o in out[1:]] == [f"flower {i}" for i in range(6)]
    assert [o[-1] for o in out[1:]] == expected["labels"]
    r = trainctl(url, "--json", "predict", str(model), "--csv", csv, "--id", "b")  # 3 inputs left
    assert r.returncode == 1 and r.stdout == "" and "(field inputs" in r.stderr, r.stderr
    r = trainctl(url, "predict", str(model), "--csv", csv, "--id", "nope")
    assert r.returncode == 2 and "no header column nope" in r.stderr and r.stdout == ""

    r = trainctl(url, "--json", "predict", str(model), "--csv", csv)
    assert r.returncode == 0 and json.loads(r.stdout) == expected


def test_list_show_remove(daemon, tmp_path):
    url = daemon.url
    ds = upload_iris(url, tmp_path)
    model = create_model(url, tmp_path, iris_spec())
    job = daemon.client.create_job(model, ds["id"], epochs=3)
    assert daemon.client.wait(job["id"])["state"] == "succeeded"

    r = trainctl(url, "datasets", "ls")
    assert r.returncode == 0, r.stderr
    header, row = r.stdout.splitlines()
    assert header.split() == ["ID", "NAME", "ROWS", "FEATURES", "OUTPUTS", "TASK", "CREATED"]
    assert row.split()[:6] == [str(ds["id"]), "iris", "150", "4", "3", "classification"]
    # Columns line up: every cell starts where its header does.
    assert row.index("iris") == header.index("NAME")

    r = trainctl(url, "models", "show", str(model))
    assert r.returncode == 0
    fields = dict(ln.split(":", 1) for ln in r.stdout.splitlines())
    assert fields["name"].strip() == "iris-net" and fields["trained"].strip() == "true"

    r = trainctl(url, "jobs", "ls", "--state", "succeeded", "--model", str(model))
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 2
    assert r.stdout.splitlines()[1].split()[:4] == [str(job["id"]), str(model), str(ds["id"]),
                                                    "succeeded"]
    assert trainctl(url, "jobs", "ls", "--state", "running").stdout.splitlines()[1:] == []
    r = trainctl(url, "jobs", "metrics", str(job["id"]))
    assert [ln.split()[0] for ln in r.stdout.splitlines()] == ["EPOCH", "1", "2", "3"]
    r = trainctl(url, "jobs", "show", str(job["id"]))
    assert "state:" in r.stdout and "succeeded" in r.stdout

    for args, key in [(("datasets", "ls"), "datasets"), (("models", "ls"), "models"),
                      (("jobs", "ls"), "jobs"), (("jobs", "metrics", str(job["id"])), "metrics")]:
        r = trainctl(url, "--json", *args)
        assert r.returncode == 0 and isinstance(json.loads(r.stdout)[key], list)
    r = trainctl(url, "--json", "jobs", "show", str(job["id"]))
    assert json.loads(r.stdout)["id"] == job["id"]

    # 3 epochs, a checkpoint each: versions 3, 2, 1, newest first.
    r = trainctl(url, "models", "versions", str(model))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["VERSION", "JOB", "EPOCH", "BYTES", "PUBLISHED"]
    assert [ln.split()[:3] for ln in lines[1:]] == \
        [[str(v), str(job["id"]), str(v)] for v in (3, 2, 1)]
    r = trainctl(url, "--json", "models", "versions", str(model))
    assert [v["version"] for v in json.loads(r.stdout)["versions"]] == [3, 2, 1]
    x = [iris_rows()[0][0]]
    r = trainctl(url, "--json", "predict", str(model), "--input", json.dumps(x), "--version", "1")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == daemon.client.predict(model, x, version=1)
    assert json.loads(r.stdout)["version"] == 1
    r = trainctl(url, "predict", str(model), "--input", json.dumps(x), "--version", "7")
    assert r.returncode == 1 and r.stdout == ""
    assert "has no version 7" in r.stderr and "(field version)" in r.stderr, r.stderr
    r = trainctl(url, "predict", str(model), "--input", json.dumps(x), "--version", "0")
    assert r.returncode == 2 and "--version" in r.stderr, r.stderr
    r = trainctl(url, "models", "versions")
    assert r.returncode == 2 and "needs a model ID" in r.stderr, r.stderr

    r = trainctl(url, "models", "rm", str(model))
    assert r.returncode == 0 and r.stdout.strip() == f"deleted model {model}"
    r = trainctl(url, "datasets", "rm", str(ds["id"]))
    assert r.returncode == 0
    r = trainctl(url, "datasets", "show", str(ds["id"]))
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.strip() == f"trainctl: no dataset with id {ds['id']} (field id)"


def test_cancel_under_follow_exits_1(spawn, tmp_path):
    d = spawn(workers=1)
    x, y = slow_data()
    ds = d.client.create_dataset("slow", x, targets=y)["id"]
    model = create_model(d.url, tmp_path, SLOW_SPEC)
    proc = subprocess.Popen([TRAINCTL, "--server", d.url, "train", "--model", str(model),
                             "--dataset", str(ds), "--epochs", "1000000", "--batch-size", "1",
                             "--follow"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()
        assert first.startswith("job ") and first.endswith(" queued\n"), first
        job = int(first.split()[1])
        deadline = time.monotonic() + TIMEOUT
        while d.client.get_job(job)["state"] == "queued":
            assert time.monotonic() < deadline
            time.sleep(0.01)
        r = trainctl(d.url, "jobs", "cancel", str(job))
        assert r.returncode == 0 and re.search(r"^cancel_requested: +true$", r.stdout, re.M)
        rest, err = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 1, err
    assert rest.splitlines()[-1].startswith(f"job {job} cancelled at epoch")
    # Watching a job that already ended prints its end and the same verdict.
    r = trainctl(d.url, "watch", str(job))
    assert r.returncode == 1 and f"job {job} cancelled" in r.stdout


def test_usage_errors_exit_2(daemon):
    url = daemon.url
    cases = [
        (),                                            # no command
        ("frobnicate",),                               # unknown command
        ("models",),                                   # no subcommand
        ("models", "frobnicate"),                      # unknown subcommand
        ("models", "show"),                            # missing ID
        ("models", "show", "abc"),                     # not an ID
        ("datasets", "upload", "x.csv"),               # missing --target
        ("train", "--model", "1"),                     # missing --dataset
        ("train", "--model", "1", "--dataset", "1", "--epochs", "-3"),
        ("train", "--model", "1", "--dataset", "1", "--lr", "fast"),
        ("train", "--model"),                          # option without its value
        ("jobs", "ls", "--bogus"),
        ("predict", "1"),                              # neither --input nor --csv
        ("predict", "1", "--input", "[[1,2]"),         # not JSON
        ("--frobnicate", "jobs", "ls"),
    ]
    for args in cases:
        r = trainctl(url, *args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert r.stderr.startswith("trainctl: ") and "--help" in r.stderr, (args, r.stderr)


def test_help_for_every_command(daemon):
    for args in [("--help",), ("datasets", "--help"), ("models", "--help"), ("jobs", "--help"),
                 ("train", "--help"), ("watch", "--help"), ("predict", "--help"),
                 ("datasets", "upload", "--help"), ("jobs", "ls", "--help")]:
        r = trainctl(None, *args)
        assert r.returncode == 0 and r.stdout.startswith("usage: trainctl"), args
    assert "--follow" in trainctl(None, "train", "--help").stdout


def test_server_errors_exit_1(daemon, tmp_path):
    url = daemon.url
    r = trainctl(url, "models", "show", "99")
    assert r.returncode == 1 and r.stderr == "trainctl: no model with id 99 (field id)\n"
    bad = dict(XOR_SPEC, layers=[{"type": "dense", "units": 0}])
    r = trainctl(url, "models", "create", write(tmp_path, "bad.json", json.dumps(bad)))
    assert r.returncode == 1 and "(field layers[0].units)" in r.stderr
    assert "{" not in r.stderr  # the message, not the raw JSON
    r = trainctl(url, "datasets", "upload", write(tmp_path, "bad.csv", "a,y\n1,2\n3\n"),
                 "--target", "y")
    assert r.returncode == 1 and r.stderr.startswith("trainctl: ")
    r = trainctl(url, "datasets", "upload", str(tmp_path / "missing.csv"), "--target", "y")
    assert r.returncode == 1 and "missing.csv" in r.stderr

    # A dataset that does not fit the model: 422 from POST /v1/jobs.
    ds = daemon.client.create_dataset("xor", XOR_INPUTS, targets=XOR_TARGETS)["id"]
    model = daemon.client.create_model(dict(XOR_SPEC, inputs=3))["id"]
    r = trainctl(url, "train", "--model", str(model), "--dataset", str(ds), "--follow")
    assert r.returncode == 1 and r.stdout == "" and r.stderr.startswith("trainctl: ")


def test_config_file_and_flags(daemon, tmp_path):
    url = daemon.url
    ds = daemon.client.create_dataset("xor", XOR_INPUTS, targets=XOR_TARGETS)["id"]
    model = daemon.client.create_model(XOR_SPEC)["id"]
    config = {"dataset": ds, "epochs": 7, "batch_size": 2, "seed": 3,
              "optimizer": {"type": "sgd", "lr": 0.1, "momentum": 0.5}}
    path = write(tmp_path, "job.json", json.dumps(config))
    r = trainctl(url, "--json", "train", "--config", path, "--model", str(model), "--epochs", "4",
                 "--lr", "0.2")
    assert r.returncode == 0, r.stderr
    job = json.loads(r.stdout)
    assert job["epochs"] == 4 and job["config"]["batch_size"] == 2 and job["config"]["seed"] == 3
    assert job["config"]["optimizer"]["type"] == "sgd"
    assert job["config"]["optimizer"]["lr"] == 0.2 and job["config"]["optimizer"]["momentum"] == 0.5
    r = trainctl(url, "--json", "watch", str(job["id"]))
    assert r.returncode == 0 and json.loads(r.stdout)["state"] == "succeeded"


def test_connection_failure_and_environment(spawn):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = trainctl(f"http://127.0.0.1:{port}", "models", "ls")
    assert r.returncode == 1 and r.stderr.startswith(f"trainctl: cannot reach the server at "
                                                     f"http://127.0.0.1:{port}")

    d = spawn(extra=("--token", "s3cret"))
    r = trainctl(None, "models", "ls", env={"TRAIND_URL": d.url})
    assert r.returncode == 1 and "Bearer" in r.stderr
    r = trainctl(None, "models", "ls", env={"TRAIND_URL": d.url + "/", "TRAIND_TOKEN": "s3cret"})
    assert r.returncode == 0 and r.stdout.split()[0] == "ID"
    r = trainctl(d.url, "--token", "wrong", "models", "ls")
    assert r.returncode == 1 and r.stderr.startswith("trainctl: ")


def run_in_pty(args, timeout=TIMEOUT):
    """Runs args with stdout on a pseudo-terminal; returns (exit code, bytes written)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(args, stdout=slave, stderr=subprocess.PIPE)
    os.close(slave)
    out = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                out += chunk
            elif proc.poll() is not None:
                break
        rc = proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
        os.close(master)
    return rc, out


def test_progress_line_on_a_terminal(daemon):
    ds = daemon.client.create_dataset("xor", XOR_INPUTS, targets=XOR_TARGETS)["id"]
    model = daemon.client.create_model(XOR_SPEC)["id"]
    rc, out = run_in_pty([TRAINCTL, "--server", daemon.url, "train", "--model", str(model),
                          "--dataset", str(ds), "--epochs", "300", "--follow"])
    assert rc == 0, out
    text = out.decode()
    assert "\r" in text.replace("\r\n", "")  # a line redrawn in place
    assert "epoch 300/300" in text and " samples/s" in text
    assert "\nepoch 1/300" not in text  # no per-epoch lines on a terminal
    assert text.rstrip().splitlines()[-1].startswith("job ")
    assert " succeeded at epoch 300/300" in text


def test_models_export_and_import(daemon, tmp_path):
    """export --format traind, rm, import: the same predictions; --format onnx
    writes an ONNX file; errors exit 1 and leave the output file alone."""
    url = daemon.url
    ds = upload_iris(url, tmp_path)
    model = create_model(url, tmp_path, iris_spec())
    r = trainctl(url, "train", "--model", str(model), "--dataset", str(ds["id"]), "--epochs", "3",
                 "--batch-size", "16", "--follow")
    assert r.returncode == 0, r.stderr
    before = daemon.client.predict(model, [x for x, _ in iris_rows(per_class=2)])

    traind_file = tmp_path / "iris.traind"
    r = trainctl(url, "models", "export", str(model), "--format", "traind", "-o", str(traind_file))
    assert r.returncode == 0 and r.stdout == "", r.stderr
    assert traind_file.read_bytes()[:8] == b"TRAINDMF"
    onnx_file = tmp_path / "iris.onnx"
    r = trainctl(url, "models", "export", str(model), "--format=onnx", "--output", str(onnx_file),
                 "--version", str(before["version"]))
    assert r.returncode == 0, r.stderr
    onnx.checker.check_model(onnx.load(str(onnx_file)), full_check=True)

    assert trainctl(url, "models", "rm", str(model)).returncode == 0
    r = trainctl(url, "--json", "models", "import", str(traind_file))
    assert r.returncode == 0, r.stderr
    new = json.loads(r.stdout)
    assert new["name"] == "iris-net" and new["version"] == before["version"]
    after = daemon.client.predict(new["id"], [x for x, _ in iris_rows(per_class=2)])
    assert after["outputs"] == before["outputs"] and after["labels"] == before["labels"]

    # errors: usage (exit 2), the server's (exit 1, its message), the file untouched
    r = trainctl(url, "models", "export", str(new["id"]), "-o", str(onnx_file))
    assert r.returncode == 2 and "--format onnx or --format traind" in r.stderr
    r = trainctl(url, "models", "export", str(new["id"]), "--format", "onnx")
    assert r.returncode == 2 and "-o FILE" in r.stderr
    kept = onnx_file.read_bytes()
    r = trainctl(url, "models", "export", str(new["id"]), "--format", "onnx", "-o",
                 str(onnx_file), "--version", "999")
    assert r.returncode == 1 and "has no version 999 (" in r.stderr
    assert onnx_file.read_bytes() == kept
    untrained = create_model(url, tmp_path, dict(XOR_SPEC, name="never-trained"))
    r = trainctl(url, "models", "export", str(untrained), "--format", "traind", "-o",
                 str(tmp_path / "x"))
    assert r.returncode == 1 and "has not been trained yet" in r.stderr
    assert not (tmp_path / "x").exists()
    damaged = tmp_path / "damaged.traind"
    damaged.write_bytes(traind_file.read_bytes()[:-3])
    r = trainctl(url, "models", "import", str(damaged))
    assert r.returncode == 1 and "truncated" in r.stderr and "(field body)" in r.stderr
    r = trainctl(url, "models", "import", str(tmp_path / "missing"))
    assert r.returncode == 1 and "cannot open" in r.stderr


# ---- predict --csv on a table model: RFC 4180 in, CSV out --------------------------------------

@pytest.fixture(scope="module")
def table_model(shared):
    """A model trained on test_tables' raw penguins (id, island, flipper with
    blanks, sex with NA, seen, mass; species the target), and its rows."""
    from test_tables import SPEC_CLASSES, as_csv, penguins, train
    rows = penguins()
    ds = shared.client.upload_csv("penguins-trainctl", "species", as_csv(rows), ignore="id,mass")
    return shared.client, rows, train(shared.client, SPEC_CLASSES, ds["id"])


def quote(cell):
    return '"' + cell.replace('"', '""') + '"'


@pytest.mark.parametrize("sep", [",", ";"])
def test_predict_csv_reads_rfc_4180_and_prints_csv(table_model, tmp_path, sep):
    """Quoted cells holding the separator, doubled quotes and CRLF line breaks,
    a BOM, CRLF records, blank lines and blank cells: the records sent are the
    cells as written, and the answer is CSV with the input's id column."""
    client, rows, model = table_model
    picked = rows[:9]
    notes = ['one, two', 'say "hi"', 'two\r\nlines', '', 'x', 'a;b', '"', ' ', 'z']
    ids = [f"p{sep}{i}" if i % 2 else f"p{i}" for i in range(9)]  # some hold the separator
    head = sep.join(["id", quote("island"), "flipper", "sex", "note", "seen"])
    lines = [head, ""]  # and a blank line
    for i, r in enumerate(picked):
        cells = [quote(ids[i]), quote(r["island"]) if i % 3 == 0 else r["island"], r["flipper"],
                 "" if r["sex"] == "NA" else r["sex"], quote(notes[i]), r["seen"]]
        lines.append(sep.join(cells))
    path = tmp_path / "rows.csv"
    path.write_bytes(("\ufeff" + "\r\n".join(lines) + "\r\n").encode())
    r = trainctl(client.url, "predict", str(model["id"]), "--csv", str(path))
    assert r.returncode == 0, r.stderr

    records = [{"id": ids[i], "island": p["island"], "flipper": p["flipper"] or None,
                "sex": None if p["sex"] == "NA" else p["sex"], "note": notes[i] or None,
                "seen": p["seen"]} for i, p in enumerate(picked)]
    expected = client.predict_records(model["id"], records)
    out = read_csv_text(r.stdout)
    assert out[0] == ["id", "output_0", "output_1", "label"]
    assert [o[0] for o in out[1:]] == ids  # quoted back where they hold a comma
    assert all((sep == "," and i % 2) == ('"p,' in line)
               for i, line in enumerate(r.stdout.splitlines()[1:]))
    assert [o[3] for o in out[1:]] == expected["labels"]
    assert [[f32(float(v)) for v in o[1:3]] for o in out[1:]] == \
        [[f32(v) for v in o] for o in expected["outputs"]]


def test_predict_csv_a_wrong_type_is_the_servers_400(table_model, tmp_path):
    client, rows, model = table_model
    text = "id,island,flipper\n1,Biscoe,201.5\n2,\"Dream,\nand more\",\n3,Biscoe,long\n"
    r = trainctl(client.url, "predict", str(model["id"]), "--csv",
                 write(tmp_path, "bad.csv", text))
    assert r.returncode == 1 and r.stdout == ""
    assert "record 3: column flipper must be a number (field records[2].flipper)" in r.stderr


@pytest.mark.parametrize("text, line, why", [
    ('a,b\n1,"2\n3,4\n', 2, "a quoted cell is never closed"),
    ('a,b\n1,"2"x\n', 2, "a cell has text after a closing quote"),
    ('a,b\n1,2"\n', 2, "a cell has a quote inside an unquoted cell"),
    ('a,b\n"1\n2",3\n4,5,6\n', 4, "3 cells where the first row has 2"),
    ('a,b\n1,2\x00\n', 2, "a cell holds a NUL byte"),
    ('1,2\n3,x\n', 2, "every cell must be a number, or a header row must name the columns"),
    ('a,b\n\r\n', None, "holds no rows to predict"),
])
def test_predict_csv_says_what_is_wrong_and_where(shared, tmp_path, text, line, why):
    path = tmp_path / "bad.csv"
    path.write_bytes(text.encode())
    r = trainctl(shared.url, "predict", "1", "--csv", str(path))
    assert r.returncode == 1 and r.stdout == ""
    where = f"{path} line {line}: " if line else f"{path} "
    assert r.stderr == f"trainctl: {where}{why}\n"


def xor_search(daemon, tmp_path, **extra):
    """A small ASHA search request file on XOR-like data (64 points, none random)."""
    x = [[i % 2 + ((i * 37) % 11 - 5) / 50.0, (i // 2) % 2 - ((i * 37) % 11 - 5) / 50.0]
         for i in range(64)]
    y = [[float((i % 2) ^ ((i // 2) % 2))] for i in range(64)]
    ds = daemon.client.create_dataset("xor-like", x, targets=y)["id"]
    body = {"model": XOR_SPEC, "dataset": ds,
            "job": {"epochs": 9, "batch_size": 8, "optimizer": {"type": "adam", "lr": 0.05},
                    "validation_split": 0.25, "seed": 3},
            "method": "asha", "asha": {"reduction_factor": 3, "min_epochs": 1},
            "space": {"job.optimizer.lr": {"loguniform": [1e-3, 0.3]}},
            "trials": 4, "max_concurrent": 1, "seed": 5, **extra}
    return write(tmp_path, "search.json", json.dumps(body))


def test_searches_watch_follows_a_search_to_its_best_trial(daemon, tmp_path):
    """searches watch reads the search's event stream: a line per trial
    change, then the leaderboard and the best trial GET /v1/searches/{id}
    names; on a terminal the board is redrawn; exit 0 only on success."""
    r = trainctl(daemon.url, "--json", "searches", "create", xor_search(daemon, tmp_path))
    assert r.returncode == 0, r.stderr
    sid = json.loads(r.stdout)["id"]
    r = trainctl(daemon.url, "searches", "watch", str(sid))
    assert r.returncode == 0, r.stderr
    s = daemon.client.get_search(sid)
    assert s["state"] == "succeeded"
    lines = r.stdout.splitlines()
    by_trial = {t["trial"]: t for t in s["trials"]}
    started = [re.fullmatch(r"trial (\d+) started \(job (\d+)\)", line) for line in lines]
    assert sorted(int(m.group(1)) for m in started if m) == [0, 1, 2, 3], r.stdout
    assert all(by_trial[int(m.group(1))]["job"] == int(m.group(2)) for m in started if m)
    assert any(re.fullmatch(r"trial \d+ paused at rung 0: metric [-+.e\d]+", line)
               for line in lines), r.stdout
    assert any(re.fullmatch(r"trial \d+ promoted to rung 1", line) for line in lines), r.stdout
    stopped = {int(m.group(1)) for m in (re.fullmatch(r"trial (\d+) stopped", line)
                                          for line in lines) if m}
    assert stopped == {t["trial"] for t in s["trials"] if t["state"] == "stopped"}
    head = [line for line in lines if line.startswith(f"search {sid}: ")]
    assert head == [f"search {sid}: succeeded, best trial {s['best']['trial']} metric "
                    f"{head[0].split(' metric ')[1]}"], r.stdout
    assert float(head[0].split(" metric ")[1]) == pytest.approx(s["best"]["metric"], rel=1e-5)
    table = lines[lines.index(head[0]) + 1:]
    assert table[0].split()[0] == "TRIAL" and len(table) == 1 + len(s["trials"])
    # --json: only the finished search, as the API has it
    r = trainctl(daemon.url, "--json", "searches", "watch", str(sid))
    assert r.returncode == 0 and json.loads(r.stdout) == daemon.client.get_search(sid)
    # on a terminal the board is redrawn at each event, then printed once more
    rc, out = run_in_pty([TRAINCTL, "--server", daemon.url, "searches", "watch", str(sid)])
    assert rc == 0, out
    assert out.count(b"\033[H\033[J") >= 4 and out.count(f"search {sid}: ".encode()) >= 5


def test_searches_watch_of_a_cancelled_or_unknown_search_exits_1(daemon, tmp_path):
    r = trainctl(daemon.url, "--json", "searches", "create",
                 xor_search(daemon, tmp_path, trials=3))
    sid = json.loads(r.stdout)["id"]
    assert trainctl(daemon.url, "searches", "cancel", str(sid)).returncode == 0
    r = trainctl(daemon.url, "searches", "watch", str(sid))
    assert r.returncode == 1 and f"search {sid}: cancelled" in r.stdout, (r.stdout, r.stderr)
    r = trainctl(daemon.url, "searches", "watch", "999")
    assert r.returncode == 1 and r.stderr.startswith("trainctl: ") and "999" in r.stderr
    r = trainctl(daemon.url, "searches", "watch")
    assert r.returncode == 2
