"""Batch predictions (POST /v1/predictions): a run over a stored dataset on
the workers whose output equals POST predict on the same rows, followed by
state and progress, cancelled, resumed after kill -9, in csv and jsonl, on
the event stream; and each refusal names its field."""
import csv
import hashlib
import http.client
import io
import json
import os
import pty
import re
import subprocess
import threading
import time
import urllib.parse

import pytest

from datasets import IRIS_CLASSES, SLOW_SPEC, iris_csv, iris_rows, iris_spec, slow_data
from test_load import sanitized
from test_trainctl import TRAINCTL

FEATURES = 4
BIG_ROWS = 1_000_000
PAGE = 16384  # rows a predict request checks (its body stays under --max-body)


def train(client, spec, ds_id, epochs=5):
    model = client.create_model(spec)
    job = client.create_job(model["id"], ds_id, epochs=epochs, batch_size=16, seed=1,
                            optimizer={"type": "adam", "lr": 0.01})
    assert client.wait(job["id"], timeout=120)["state"] == "succeeded"
    return model["id"]


def output(client, pid, fmt="csv"):
    buf = io.BytesIO()
    client.prediction_output(pid, buf, fmt)
    return buf.getvalue().decode()


def predict_lines(answer, first):
    """predict's answer as the csv lines a batch prediction writes."""
    lines = []
    labels = answer.get("labels")
    for i, row in enumerate(answer["outputs"]):
        cells = [str(first + i)] + [repr_float(v) for v in row]
        if labels is not None:
            cells.append('"' + labels[i] + '"')
        lines.append(",".join(cells))
    return lines


def repr_float(v):
    return "%.9g" % v  # as json_buf_float writes it; v parsed from the same text


@pytest.fixture
def iris(client):
    rows = iris_rows()
    ds = client.create_dataset("iris", [x for x, _ in rows], labels=[n for _, n in rows])
    return ds["id"], train(client, iris_spec(), ds["id"]), rows


def test_csv_and_jsonl_equal_predict(client, iris):
    ds, model, rows = iris
    p = client.create_prediction(model, ds)
    assert p["state"] == "queued" and p["rows"] == len(rows) and p["output"] is None
    done = client.wait_prediction(p["id"])
    assert done["state"] == "succeeded" and done["rows_done"] == len(rows), done
    assert done["progress"] == 1 and done["output"] == f"/v1/predictions/{p['id']}/output"
    want = client.predict(model, [x for x, _ in rows])
    text = output(client, p["id"])
    lines = text.splitlines()
    assert lines[0] == "row,output_0,output_1,output_2,label"
    assert lines[1:] == predict_lines(json.loads(json.dumps(want)), 0)
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert [r["label"] for r in parsed] == want["labels"]
    objs = [json.loads(line) for line in output(client, p["id"], "jsonl").splitlines()]
    assert [o["row"] for o in objs] == list(range(len(rows)))
    assert [o["outputs"] for o in objs] == want["outputs"]
    assert [o["label"] for o in objs] == want["labels"]
    assert client.list_predictions()[0]["id"] == p["id"]
    assert client.get_prediction(p["id"]) == done


def test_regression_on_a_table_is_in_the_targets_units(client):
    rows = iris_rows()
    # petal_width from the others: a regression on a typed table
    ds = client.upload_csv("iris-t", "petal_width", iris_csv(rows))
    spec = {"name": "t", "loss": "mse", "seed": 2,
            "layers": [{"type": "dense", "units": 8, "activation": "relu"},
                       {"type": "dense", "units": 1}]}
    model = train(client, spec, ds["id"])
    p = client.wait_prediction(client.create_prediction(model, ds["id"])["id"])
    assert p["state"] == "succeeded", p
    records = [{"sepal_length": x[0], "sepal_width": x[1], "petal_length": x[2],
                "species": n} for x, n in rows]
    want = client.predict_records(model, records)
    lines = output(client, p["id"]).splitlines()
    assert lines[0] == "row,output_0"
    assert lines[1:] == predict_lines(want, 0)
    assert 0 < sum(float(l.split(",")[1]) for l in lines[1:]) / len(rows) < 3  # cm, not z-scores


def test_refusals_name_their_field(client, iris):
    ds, model, _ = iris

    def refused(body, status, field):
        code, _, doc = client.request("POST", "/v1/predictions", body)
        assert code == status and doc["error"]["field"] == field, (body, code, doc)

    refused({"model": 999, "dataset": ds}, 404, "model")
    refused({"model": model, "dataset": 999}, 404, "dataset")
    refused({"model": model, "dataset": ds, "version": 999}, 404, "version")
    refused({"dataset": ds}, 400, "model")
    refused({"model": model}, 400, "dataset")
    refused({"model": model, "dataset": ds, "rows": 1}, 400, "rows")
    untrained = client.create_model(iris_spec())
    refused({"model": untrained["id"], "dataset": ds}, 409, "model")
    narrow = client.create_dataset("narrow", [[1, 2], [3, 4]], targets=[[1], [2]])
    refused({"model": model, "dataset": narrow["id"]}, 422, "dataset")
    for path, status in [("/v1/predictions/999", 404), ("/v1/predictions/999/output", 404)]:
        code, _, doc = client.request("GET", path)
        assert code == status, (path, doc)
    code, _, doc = client.request("POST", "/v1/predictions/999/cancel", {})
    assert code == 404 and doc["error"]["field"] == "id"
    p = client.wait_prediction(client.create_prediction(model, ds)["id"])
    code, _, doc = client.request("GET", f"/v1/predictions/{p['id']}/output?format=xml")
    assert code == 400 and doc["error"]["field"] == "format"
    code, _, doc = client.request("POST", f"/v1/predictions/{p['id']}/cancel", {})
    assert code == 409 and doc["error"]["field"] == "id"


def test_a_queued_prediction_waits_for_a_free_worker_and_cancels_at_once(spawn):
    """Workers take jobs first: with the one worker training, a prediction
    stays queued; its cancel ends it at once, and a later one runs once the
    worker is free."""
    client = spawn(workers=1).client
    x, y = slow_data()
    ds = client.create_dataset("slow", x, targets=y)
    model = train(client, SLOW_SPEC, ds["id"], epochs=1)
    # another model's job: this one's would publish versions, pruning the pinned one
    other = client.create_model(SLOW_SPEC)
    busy = client.create_job(other["id"], ds["id"], epochs=100000, batch_size=8)
    deadline = time.monotonic() + 30
    while client.get_job(busy["id"])["state"] != "running":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    waiting = client.create_prediction(model, ds["id"])
    later = client.create_prediction(model, ds["id"], version=waiting["version"])
    assert later["version"] == waiting["version"] == 1
    time.sleep(0.3)
    assert client.get_prediction(waiting["id"])["state"] == "queued"
    cancelled = client.cancel_prediction(waiting["id"])
    assert cancelled["state"] == "cancelled" and cancelled["cancel_requested"], cancelled
    assert cancelled["finished_at"] is not None and cancelled["output"] is None
    client.cancel_job(busy["id"])
    done = client.wait_prediction(later["id"])
    assert done["state"] == "succeeded" and done["rows_done"] == len(x), done
    assert client.get_prediction(waiting["id"]) == cancelled


def test_events_on_the_stream(client, iris):
    ds, model, rows = iris
    p = client.create_prediction(model, ds)
    seen = []
    for _, event, data in client.events(last_event_id=0):
        if event == "prediction" and data["prediction"] == p["id"]:
            seen.append(data)
            if data["state"] == "succeeded":
                break
    assert [e["state"] for e in seen][:2] == ["queued", "running"]
    assert seen[-1] == {"prediction": p["id"], "state": "succeeded", "rows": len(rows),
                        "rows_done": len(rows)}
    # durable and resumable: the stream replays from any id
    first = next(i for i, e, d in client.events(last_event_id=0) if e == "prediction")
    again = next((e, d) for _, e, d in client.events(last_event_id=first - 1))
    assert again == ("prediction", seen[0])


# ---- a million rows --------------------------------------------------------------------


def big_x(i):
    """Row i's features: a fixed function of i, recomputed for predict; each
    the number its csv text reads back as, so both parse to the same floats."""
    return [float("%g" % v) for v in (((i * 7919) % 1000) / 250.0 + 4,
                                       ((i * 104729) % 997) / 500.0 + 2,
                                       ((i * 31) % 991) / 165.0 + 1, ((i * 17) % 983) / 400.0)]


def big_csv_chunks(rows):
    yield ",".join(f"f{k}" for k in range(FEATURES)).encode() + b",species\n"
    for start in range(0, rows, 50000):
        yield "".join(",".join(repr(v) for v in big_x(i)) + "," + IRIS_CLASSES[i % 3] + "\n"
                      for i in range(start, min(rows, start + 50000))).encode()


def upload_big(url, rows):
    """A classification dataset of `rows` rows streamed as CSV (chunked)."""
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=600)
    conn.request("POST", f"/v1/datasets?name=big&target=species", big_csv_chunks(rows),
                 {"Content-Type": "text/csv"}, encode_chunked=True)
    r = conn.getresponse()
    doc = json.loads(r.read())
    conn.close()
    assert r.status == 201, doc
    return doc["id"]


def vm_rss(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


class RssPeak:
    """The daemon's largest VmRSS, sampled every 2 ms while in the block
    (VmHWM would keep the upload's peak)."""

    def __init__(self, pid):
        self.pid, self.peak, self.stop = pid, 0, threading.Event()

    def _sample(self):
        while not self.stop.is_set():
            self.peak = max(self.peak, vm_rss(self.pid))
            time.sleep(0.002)

    def __enter__(self):
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


def wait_rows_done(client, pid, at_least):
    deadline = time.monotonic() + 120
    while True:
        p = client.get_prediction(pid)
        if p["rows_done"] >= at_least or p["state"] not in ("queued", "running"):
            return p
        assert time.monotonic() < deadline, p
        time.sleep(0.001)


def check_against_predict(client, model, text, rows):
    """The csv's every row equals predict on the same rows, in pages."""
    digest = hashlib.sha256()
    want = hashlib.sha256()
    lines = text.split("\n")
    assert lines[0] == "row,output_0,output_1,output_2,label" and lines[-1] == ""
    assert len(lines) - 2 == rows
    for line in lines[1:-1]:
        digest.update(line.encode() + b"\n")
    for first in range(0, rows, PAGE):
        n = min(PAGE, rows - first)
        answer = client.predict(model, [big_x(i) for i in range(first, first + n)])
        for line in predict_lines(answer, first):
            want.update(line.encode() + b"\n")
    assert digest.hexdigest() == want.hexdigest()


def test_a_million_rows_cancelled_then_run_equal_predict(spawn, tmp_path):
    d = spawn(db=tmp_path / "big.sqlite")
    client = d.client
    rows = iris_rows()
    small = client.create_dataset("iris", [x for x, _ in rows], labels=[n for _, n in rows])
    model = train(client, iris_spec(), small["id"], epochs=2)
    ds = upload_big(d.url, BIG_ROWS)

    p = client.create_prediction(model, ds)
    assert p["rows"] == BIG_ROWS
    wait_rows_done(client, p["id"], 1)
    asked = client.cancel_prediction(p["id"])
    assert asked["cancel_requested"] and asked["state"] in ("running", "cancelled"), asked
    cancelled = client.wait_prediction(p["id"])
    assert cancelled["state"] == "cancelled" and cancelled["rows_done"] < BIG_ROWS, cancelled
    code, _, doc = client.request("GET", f"/v1/predictions/{p['id']}/output")
    assert code == 409 and doc["error"]["field"] == "id"

    # measured from here: the cancelled run has read the dataset once, so the
    # heap holds what a run needs, whatever the upload left behind
    base = vm_rss(d.proc.pid)
    with RssPeak(d.proc.pid) as rss:
        p = client.create_prediction(model, ds)
        done = client.wait_prediction(p["id"])
        assert done["state"] == "succeeded" and done["rows_done"] == BIG_ROWS, done
        text = output(client, p["id"])
    # the dataset read (16 MB of features, 4 MB of labels) and one block at a
    # time (192 KB of outputs, about 1 MB of its csv), never the 12 MB of
    # outputs nor the ~60 MB of csv
    grown = rss.peak - base
    print(f"\nbatch prediction of {BIG_ROWS} rows: daemon RSS {base / 2**20:.1f} MiB before, "
          f"peak {rss.peak / 2**20:.1f} MiB (+{grown / 2**20:.1f} MiB)")
    assert sanitized(d.proc.pid) or grown < 40 * 2**20, grown  # ASan keeps what is freed
    check_against_predict(client, model, text, BIG_ROWS)


@pytest.mark.parametrize("how", ["kill9", "sigterm"])
def test_a_run_cut_short_resumes_after_its_last_block(spawn, tmp_path, how):
    """kill -9 (a crash) or SIGTERM (a stop) mid-run: the next start queues
    it again and it goes on from its last stored block, to predict's output."""
    db = tmp_path / "crash.sqlite"
    d = spawn(db=db)
    rows = iris_rows()
    small = d.client.create_dataset("iris", [x for x, _ in rows], labels=[n for _, n in rows])
    model = train(d.client, iris_spec(), small["id"], epochs=2)
    n = 300_000
    ds = upload_big(d.url, n)
    p = d.client.create_prediction(model, ds)
    at = wait_rows_done(d.client, p["id"], 1)
    if how == "kill9":
        d.kill9()
    else:
        assert d.stop() == 0
    assert at["state"] == "running" and 0 < at["rows_done"] < n, "stopped too late: " + str(at)
    again = spawn(db=db)
    client = again.client
    done = client.wait_prediction(p["id"])
    assert done["state"] == "succeeded" and done["rows_done"] == n, done
    with open(again.log_path) as f:
        log = f.read()
    assert "recovered interrupted predictions: 1 queued to resume" in log, log
    resumed = re.search(rf"prediction {p['id']} running .* from row (\d+) of {n}", log)
    assert resumed and 0 < int(resumed.group(1)) < n, log
    check_against_predict(client, model, output(client, p["id"]), n)


# ---- trainctl ----------------------------------------------------------------------------


def run_trainctl(url, *args):
    return subprocess.run([TRAINCTL, "--server", url, *args], capture_output=True, text=True,
                          timeout=120)


def test_trainctl_predict_dataset_writes_the_output(daemon, iris, tmp_path):
    ds, model, rows = iris
    out = tmp_path / "out.csv"
    r = run_trainctl(daemon.url, "predict", str(model), "--dataset", str(ds), "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert "\r" not in r.stderr  # no progress bar off a terminal
    p = daemon.client.list_predictions()[0]
    assert out.read_text() == output(daemon.client, p["id"])
    r = run_trainctl(daemon.url, "predict", str(model), "--dataset", str(ds), "--format",
                     "jsonl", "-o", "-")
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.splitlines()) == len(rows) and json.loads(r.stdout.splitlines()[0])["row"] == 0
    r = run_trainctl(daemon.url, "predict", str(model), "--dataset", "999", "-o", str(out))
    assert r.returncode == 1 and "dataset" in r.stderr
    r = run_trainctl(daemon.url, "predict", str(model), "--dataset", str(ds))
    assert r.returncode == 2 and "-o" in r.stderr


def test_trainctl_draws_a_progress_bar_on_a_terminal(daemon, iris, tmp_path):
    ds, model, _ = iris
    out = tmp_path / "out.csv"
    primary, secondary = pty.openpty()
    proc = subprocess.Popen([TRAINCTL, "--server", daemon.url, "predict", str(model),
                             "--dataset", str(ds), "-o", str(out)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=secondary)
    os.close(secondary)
    assert proc.wait(timeout=60) == 0
    seen = b""
    while True:
        try:
            chunk = os.read(primary, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    os.close(primary)
    assert b"\rprediction " in seen and b"[" + b"#" * 30 + b"] 150/150 rows" in seen, seen
    assert out.stat().st_size > 0
