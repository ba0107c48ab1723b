"""The client: one method per endpoint; every API error raises TraindError."""
from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Iterator, Optional, Sequence, Union

JSON = Any  # a decoded JSON document

FINAL_STATES = frozenset({"succeeded", "failed", "cancelled"})


class TraindError(Exception):
    """An error answer: {"error":{"code","message","field"}} (under /v2 the
    message alone, and code ""), and its HTTP status."""

    def __init__(self, status: int, code: str, message: str, field: str = "") -> None:
        super().__init__(f"{status} {code}: {message}" + (f" (field {field})" if field else ""))
        self.status = status
        self.code = code
        self.message = message
        self.field = field


class Client:
    """A traind server at url ("http://127.0.0.1:8080"); token, when given, is
    sent as "Authorization: Bearer <token>". For an https url, cafile names a
    PEM file of the CA certificates to trust instead of the system's (the
    server's own certificate, when it is self-signed)."""

    def __init__(self, url: str, token: Optional[str] = None, timeout: float = 30.0,
                 cafile: Optional[str] = None) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.ssl_context = ssl.create_default_context(cafile=cafile) if cafile else None

    # ---- transport -------------------------------------------------------------

    def _prepare(self, method: str, path: str, body: Any = None,
                 content_type: Optional[str] = None, query: Optional[dict] = None,
                 headers: Optional[dict] = None) -> urllib.request.Request:
        if query:
            path += "?" + urllib.parse.urlencode(
                {k: v for k, v in query.items() if v is not None})
        data = None
        if body is not None:
            if isinstance(body, (bytes, bytearray)):
                data = bytes(body)
            else:
                data = json.dumps(body, allow_nan=False).encode()
                content_type = content_type or "application/json"
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if content_type is not None:
            req.add_header("Content-Type", content_type)
        if self.token is not None:
            req.add_header("Authorization", f"Bearer {self.token}")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        return req

    def request(self, method: str, path: str, body: Any = None, content_type: Optional[str] = None,
                query: Optional[dict] = None, headers: Optional[dict] = None,
                timeout: Optional[float] = None) -> tuple[int, dict, JSON]:
        """Send one request and return (status, headers, parsed JSON or None).

        body: bytes sent as is, or any other value sent as JSON. Never raises
        for an HTTP status: callers decide (see call()). timeout: seconds to
        wait for the answer, self.timeout by default."""
        req = self._prepare(method, path, body, content_type, query, headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout or self.timeout,
                                        context=self.ssl_context) as resp:
                status, hdrs, raw = resp.status, resp.headers, resp.read()
        except urllib.error.HTTPError as e:
            status, hdrs, raw = e.code, e.headers, e.read()
        return status, hdrs, _json_or_none(raw)

    def call(self, method: str, path: str, body: Any = None, content_type: Optional[str] = None,
             query: Optional[dict] = None, timeout: Optional[float] = None) -> JSON:
        """request(), returning the JSON of a 2xx answer and raising TraindError otherwise."""
        status, _, doc = self.request(method, path, body, content_type, query, timeout=timeout)
        if 200 <= status < 300:
            return doc
        raise _error(status, doc)

    # ---- ops ---------------------------------------------------------------------

    def health(self) -> dict:
        """GET /healthz → {"status":"ok"}."""
        return self.call("GET", "/healthz")

    def info(self) -> dict:
        """GET /v1 → {"name","version","api"}."""
        return self.call("GET", "/v1")

    # ---- datasets ------------------------------------------------------------------

    def create_dataset(self, name: str, inputs: Sequence[Sequence[float]],
                       targets: Optional[Sequence[Sequence[float]]] = None,
                       labels: Optional[Sequence[Union[str, int]]] = None) -> dict:
        """POST /v1/datasets (JSON): targets (regression) or labels (classification)."""
        body = {"name": name, "inputs": inputs}
        if targets is not None:
            body["targets"] = targets
        if labels is not None:
            body["labels"] = labels
        return self.call("POST", "/v1/datasets", body)

    def upload_csv(self, name: str, target: Union[str, Sequence[str]],
                   csv: Union[str, bytes], **options: str) -> dict:
        """POST /v1/datasets?name=&target= (text/csv); target: a column name or a list.
        options: ignore, types, na_values, delimiter (a table's: see docs/api.md)."""
        if not isinstance(target, str):
            target = ",".join(target)
        data = csv.encode() if isinstance(csv, str) else csv
        return self.call("POST", "/v1/datasets", data, "text/csv",
                         {"name": name, "target": target, **options})

    def list_datasets(self) -> list[dict]:
        """GET /v1/datasets: summaries, with class_count instead of the class
        names (get_dataset has them)."""
        return self.call("GET", "/v1/datasets")["datasets"]

    def get_dataset(self, dataset_id: int) -> dict:
        """GET /v1/datasets/{id}."""
        return self.call("GET", f"/v1/datasets/{dataset_id}")

    def delete_dataset(self, dataset_id: int) -> None:
        """DELETE /v1/datasets/{id} (409 while a queued or running job uses it)."""
        self.call("DELETE", f"/v1/datasets/{dataset_id}")

    # ---- models --------------------------------------------------------------------

    def create_model(self, spec: dict) -> dict:
        """POST /v1/models with a spec dict (name, inputs, layers, loss, seed, normalize)."""
        return self.call("POST", "/v1/models", spec)

    def list_models(self) -> list[dict]:
        """GET /v1/models: summaries, with class_count instead of the class
        names (get_model has them)."""
        return self.call("GET", "/v1/models")["models"]

    def get_model(self, model_id: int) -> dict:
        """GET /v1/models/{id}: the spec, weights version, trained, last_job."""
        return self.call("GET", f"/v1/models/{model_id}")

    def delete_model(self, model_id: int) -> None:
        """DELETE /v1/models/{id} (409 while it trains)."""
        self.call("DELETE", f"/v1/models/{model_id}")

    def model_versions(self, model_id: int) -> list[dict]:
        """GET /v1/models/{id}/versions: the weights versions kept, newest first,
        each {"version","job","epoch","bytes","published_at"}."""
        return self.call("GET", f"/v1/models/{model_id}/versions")["versions"]

    def download(self, path: str, query: Optional[dict] = None) -> bytes:
        """GET path and return the body's bytes (a file), raising TraindError
        for an error answer."""
        req = self._prepare("GET", path, query=query)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout,
                                        context=self.ssl_context) as resp:
                return resp.read()
        except urllib.error.HTTPError as e:
            raise _error(e.code, _json_or_none(e.read())) from None

    def export_weights(self, model_id: int, version: int) -> bytes:
        """GET /v1/models/{id}/versions/{v}/weights: the model file (spec,
        weights, standardization, class names; docs/checkpoint-format.md)."""
        return self.download(f"/v1/models/{model_id}/versions/{version}/weights")

    def export_onnx(self, model_id: int, version: Optional[int] = None) -> bytes:
        """GET /v1/models/{id}/onnx: an ONNX ModelProto of the newest weights,
        or of a kept version."""
        query = {"version": version} if version is not None else None
        return self.download(f"/v1/models/{model_id}/onnx", query)

    def import_model(self, data: bytes) -> dict:
        """POST /v1/models/import: a model file (or a bare core checkpoint)
        becomes a new, trained model → the model."""
        return self.call("POST", "/v1/models/import", bytes(data), "application/octet-stream")

    def predict(self, model_id: int, inputs: Sequence[Sequence[float]],
                version: Optional[int] = None) -> dict:
        """POST /v1/models/{id}/predict → {"model","version","outputs"[,"labels"]};
        version pins one of model_versions() (default: the newest)."""
        query = {"version": version} if version is not None else None
        return self.call("POST", f"/v1/models/{model_id}/predict", {"inputs": inputs},
                         query=query)

    def predict_records(self, model_id: int, records: Sequence[dict],
                        version: Optional[int] = None) -> dict:
        """POST /v1/models/{id}/predict with raw records (a model trained on a
        table): one dict of column values per row, columns by name."""
        query = {"version": version} if version is not None else None
        return self.call("POST", f"/v1/models/{model_id}/predict", {"records": list(records)},
                         query=query)

    def gradcheck(self, model_id: int, dataset: int, samples: int = 8,
                  epsilon: Optional[float] = None, seed: Optional[int] = None) -> dict:
        """POST /v1/models/{id}/gradcheck: backprop against finite differences on
        `samples` rows (1..64) of a dataset → {"pass","max_error","threshold",
        "checked","layers":[{"layer","weight_error","bias_error",...}],...}."""
        body: dict = {"dataset": dataset, "samples": samples}
        if epsilon is not None:
            body["epsilon"] = epsilon
        if seed is not None:
            body["seed"] = seed
        return self.call("POST", f"/v1/models/{model_id}/gradcheck", body)

    def evaluate(self, model_id: int, dataset: int, version: Optional[int] = None) -> dict:
        """POST /v1/models/{id}/evaluate: the metrics of a weights version (default:
        the newest) on every row of a stored dataset, stored → {"id","model","version",
        "dataset","task","rows","created_at","metrics"}."""
        body: dict = {"dataset": dataset}
        if version is not None:
            body["version"] = version
        return self.call("POST", f"/v1/models/{model_id}/evaluate", body)

    def evaluations(self, model_id: int) -> list[dict]:
        """GET /v1/models/{id}/evaluations: oldest first, each with a "summary"."""
        return self.call("GET", f"/v1/models/{model_id}/evaluations")["evaluations"]

    def get_evaluation(self, model_id: int, evaluation_id: int) -> dict:
        """GET /v1/models/{id}/evaluations/{eid}: as evaluate() answered it."""
        return self.call("GET", f"/v1/models/{model_id}/evaluations/{evaluation_id}")

    # ---- batch predictions ---------------------------------------------------------

    def create_prediction(self, model: int, dataset: int, version: Optional[int] = None) -> dict:
        """POST /v1/predictions: queue a batch prediction of a weights version
        (default: the newest) over every row of a stored dataset → the
        prediction {"id","state","rows","rows_done","progress",...} (queued)."""
        body: dict = {"model": model, "dataset": dataset}
        if version is not None:
            body["version"] = version
        return self.call("POST", "/v1/predictions", body)

    def list_predictions(self) -> list[dict]:
        """GET /v1/predictions: newest first."""
        return self.call("GET", "/v1/predictions")["predictions"]

    def get_prediction(self, prediction_id: int) -> dict:
        """GET /v1/predictions/{id}."""
        return self.call("GET", f"/v1/predictions/{prediction_id}")

    def cancel_prediction(self, prediction_id: int) -> dict:
        """POST /v1/predictions/{id}/cancel → the prediction (a running one
        stops at its next block: wait for "cancelled")."""
        return self.call("POST", f"/v1/predictions/{prediction_id}/cancel", {})

    def wait_prediction(self, prediction_id: int, timeout: float = 600.0,
                        interval: float = 0.05) -> dict:
        """Poll until the prediction has ended; @return it then."""
        deadline = time.monotonic() + timeout
        while True:
            p = self.get_prediction(prediction_id)
            if p["state"] not in ("queued", "running"):
                return p
            if time.monotonic() > deadline:
                raise TimeoutError(f"prediction {prediction_id} still {p['state']}")
            time.sleep(interval)

    def prediction_output(self, prediction_id: int, out: Any, fmt: str = "csv") -> int:
        """GET /v1/predictions/{id}/output?format=csv|jsonl, copied to the
        binary file object out in chunks (never whole in memory) → bytes written."""
        req = self._prepare("GET", f"/v1/predictions/{prediction_id}/output",
                            query={"format": fmt})
        total = 0
        try:
            with urllib.request.urlopen(req, timeout=self.timeout,
                                        context=self.ssl_context) as resp:
                while chunk := resp.read(1 << 16):
                    out.write(chunk)
                    total += len(chunk)
        except urllib.error.HTTPError as e:
            raise _error(e.code, _json_or_none(e.read())) from None
        return total

    # ---- jobs ----------------------------------------------------------------------

    def create_job(self, model: int, dataset: int, **config: Any) -> dict:
        """POST /v1/jobs: config holds epochs, batch_size, optimizer, seed..."""
        return self.call("POST", "/v1/jobs", {"model": model, "dataset": dataset, **config})

    def list_jobs(self, state: Optional[str] = None, model: Optional[int] = None) -> list[dict]:
        """GET /v1/jobs, optionally filtered by state and model."""
        return self.call("GET", "/v1/jobs", query={"state": state, "model": model})["jobs"]

    def get_job(self, job_id: int, wait: Optional[int] = None,
                after_epoch: Optional[int] = None) -> dict:
        """GET /v1/jobs/{id}. With wait (seconds, 0 to 60) the server holds
        the answer until the job's epoch exceeds after_epoch (default: its
        epoch now), its state changes, or wait seconds pass."""
        timeout = None if wait is None else max(self.timeout, wait + 10.0)
        return self.call("GET", f"/v1/jobs/{job_id}",
                         query={"wait": wait, "after_epoch": after_epoch}, timeout=timeout)

    def metrics(self, job_id: int, after: Optional[int] = None) -> list[dict]:
        """GET /v1/jobs/{id}/metrics: one row per epoch, those after epoch `after`."""
        return self.call("GET", f"/v1/jobs/{job_id}/metrics", query={"after": after})["metrics"]

    def cancel_job(self, job_id: int) -> dict:
        """POST /v1/jobs/{id}/cancel: the job (a running one stops within a batch)."""
        return self.call("POST", f"/v1/jobs/{job_id}/cancel", content_type="application/json")

    def checkpoints(self, job_id: int) -> list[dict]:
        """GET /v1/jobs/{id}/checkpoints: epoch, bytes, created_at of each kept one."""
        return self.call("GET", f"/v1/jobs/{job_id}/checkpoints")["checkpoints"]

    def events(self, job: Optional[int] = None, last_event_id: Optional[int] = None,
               search: Optional[int] = None) -> Iterator[tuple[int, str, JSON]]:
        """Open GET /v1/jobs/{job}/events (or GET /v1/events for every job)
        and return an iterator of (id, event, data) with data decoded: event
        is "state" (data: the job), "epoch" (its metrics row, with "job") or
        "checkpoint", "search" (data: {"search", "type", ...}) or "prediction"
        (data: {"prediction", "state", "rows", "rows_done"}); with search,
        GET /v1/searches/{search}/events, which ends after the search's
        "finished" event. Events after last_event_id come first (without it, a
        job's stream starts at the job's creation and the stream of every
        job with the unfinished jobs' states). A job's stream ends after its
        final state; the other one when the server stops. Closing the
        iterator hangs up. Raises TraindError for an error answer (503 when
        the server has as many streams open as it allows)."""
        path = ("/v1/events" if job is None else f"/v1/jobs/{job}/events") if search is None \
            else f"/v1/searches/{search}/events"
        headers = {"Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        req = self._prepare("GET", path, headers=headers)
        try:
            # The server sends a keepalive at least every 25 s.
            resp = urllib.request.urlopen(req, timeout=max(self.timeout, 30.0))
        except urllib.error.HTTPError as e:
            raise _error(e.code, _json_or_none(e.read())) from None
        return _follow(resp)

    # ---- searches ------------------------------------------------------------------

    def create_search(self, model: Any, dataset: int, job: dict, space: dict,
                      **options: Any) -> dict:
        """POST /v1/searches: model is a spec or a model id; options hold method,
        asha, trials, metric, mode, max_concurrent, seed."""
        return self.call("POST", "/v1/searches", {"model": model, "dataset": dataset, "job": job,
                                                  "space": space, **options})

    def list_searches(self) -> list[dict]:
        """GET /v1/searches, oldest first."""
        return self.call("GET", "/v1/searches")["searches"]

    def get_search(self, search_id: int) -> dict:
        """GET /v1/searches/{id}: its trials and its best trial."""
        return self.call("GET", f"/v1/searches/{search_id}")

    def cancel_search(self, search_id: int) -> dict:
        """POST /v1/searches/{id}/cancel: the search, cancelled with its running trials."""
        return self.call("POST", f"/v1/searches/{search_id}/cancel",
                         content_type="application/json")

    def wait_search(self, search_id: int, timeout: float = 600.0,
                    interval: float = 0.1) -> dict:
        """Poll a search until it is no longer running; return it. Raises
        TimeoutError when it is still running after timeout seconds."""
        deadline = time.monotonic() + timeout
        while True:
            search = self.get_search(search_id)
            if search["state"] != "running":
                return search
            if time.monotonic() >= deadline:
                raise TimeoutError(f"search {search_id} is still running after {timeout}s")
            time.sleep(interval)

    def wait(self, job_id: int, timeout: float = 60.0, interval: float = 0.05) -> dict:
        """Poll a job until it is succeeded, failed or cancelled; return it.
        Raises TimeoutError when it is still going after timeout seconds."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.get_job(job_id)
            if job["state"] in FINAL_STATES:
                return job
            if time.monotonic() >= deadline:
                raise TimeoutError(f"job {job_id} is still {job['state']} after {timeout}s "
                                   f"(epoch {job['epoch']}/{job['epochs']})")
            time.sleep(interval)

    def follow(self, job_id: int, timeout: Optional[float] = None,
               interval: float = 0.25) -> Iterator[dict]:
        """Yield the job's metrics rows as they arrive, in epoch order, each
        once (also those committed before the call), until the job ends.
        Raises TimeoutError when it is still going after timeout seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        after = 0
        while True:
            # The state first: an ended job has committed all of its rows.
            job = self.get_job(job_id)
            for row in self.metrics(job_id, after=after):
                after = row["epoch"]
                yield row
            if job["state"] in FINAL_STATES:
                return
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"job {job_id} is still {job['state']} after {timeout}s")
            time.sleep(interval)


def _json_or_none(raw: bytes) -> JSON:
    try:
        return json.loads(raw) if raw else None
    except ValueError:  # not JSON: _error() reports the bare status
        return None


def _error(status: int, doc: JSON) -> TraindError:
    """The TraindError of an error answer (its JSON decoded, or None)."""
    err = doc.get("error") if isinstance(doc, dict) else None
    if isinstance(err, str):  # /v2: the Open Inference Protocol's {"error": "..."}
        return TraindError(status, "", err)
    if not isinstance(err, dict):
        return TraindError(status, "http_error", f"HTTP {status} without an error body")
    return TraindError(status, err.get("code", ""), err.get("message", ""), err.get("field", ""))


def _follow(resp: Any) -> Iterator[tuple[int, str, JSON]]:
    with resp:
        yield from _parse_sse(resp)


def _parse_sse(lines: Iterator[bytes]) -> Iterator[tuple[int, str, JSON]]:
    """(id, event, data) of each event in a text/event-stream, its data
    decoded as JSON; comments (keepalives) are skipped."""
    event_id, event, data = None, "message", []
    for raw in lines:
        line = raw.decode("utf-8").rstrip("\r\n")
        if not line:
            if data:
                yield int(event_id), event, json.loads("\n".join(data))
            event, data = "message", []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "id":
            event_id = value
        elif field == "event":
            event = value
        elif field == "data":
            data.append(value)
