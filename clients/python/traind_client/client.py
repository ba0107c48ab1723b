"""The client: one method per endpoint; every API error raises TraindError."""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Iterator, Optional, Sequence, Union

JSON = Any  # a decoded JSON document

FINAL_STATES = frozenset({"succeeded", "failed", "cancelled"})


class TraindError(Exception):
    """An error answer: {"error":{"code","message","field"}} and its HTTP status."""

    def __init__(self, status: int, code: str, message: str, field: str = "") -> None:
        super().__init__(f"{status} {code}: {message}" + (f" (field {field})" if field else ""))
        self.status = status
        self.code = code
        self.message = message
        self.field = field


class Client:
    """A traind server at url ("http://127.0.0.1:8080"); token, when given, is
    sent as "Authorization: Bearer <token>"."""

    def __init__(self, url: str, token: Optional[str] = None, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    # ---- transport -------------------------------------------------------------

    def request(self, method: str, path: str, body: Any = None, content_type: Optional[str] = None,
                query: Optional[dict] = None,
                headers: Optional[dict] = None) -> tuple[int, dict, JSON]:
        """Send one request and return (status, headers, parsed JSON or None).

        body: bytes sent as is, or any other value sent as JSON. Never raises
        for an HTTP status: callers decide (see call())."""
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
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                status, hdrs, raw = resp.status, resp.headers, resp.read()
        except urllib.error.HTTPError as e:
            status, hdrs, raw = e.code, e.headers, e.read()
        try:
            doc = json.loads(raw) if raw else None
        except ValueError:  # not JSON: call() reports the bare status
            doc = None
        return status, hdrs, doc

    def call(self, method: str, path: str, body: Any = None, content_type: Optional[str] = None,
             query: Optional[dict] = None) -> JSON:
        """request(), returning the JSON of a 2xx answer and raising TraindError otherwise."""
        status, _, doc = self.request(method, path, body, content_type, query)
        if 200 <= status < 300:
            return doc
        err = (doc or {}).get("error") if isinstance(doc, dict) else None
        if not isinstance(err, dict):
            raise TraindError(status, "http_error", f"HTTP {status} without an error body")
        raise TraindError(status, err.get("code", ""), err.get("message", ""),
                          err.get("field", ""))

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
                   csv: Union[str, bytes]) -> dict:
        """POST /v1/datasets?name=&target= (text/csv); target: a column name or a list."""
        if not isinstance(target, str):
            target = ",".join(target)
        data = csv.encode() if isinstance(csv, str) else csv
        return self.call("POST", "/v1/datasets", data, "text/csv",
                         {"name": name, "target": target})

    def list_datasets(self) -> list[dict]:
        """GET /v1/datasets."""
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
        """GET /v1/models."""
        return self.call("GET", "/v1/models")["models"]

    def get_model(self, model_id: int) -> dict:
        """GET /v1/models/{id}: the spec, weights version, trained, last_job."""
        return self.call("GET", f"/v1/models/{model_id}")

    def delete_model(self, model_id: int) -> None:
        """DELETE /v1/models/{id} (409 while it trains)."""
        self.call("DELETE", f"/v1/models/{model_id}")

    def predict(self, model_id: int, inputs: Sequence[Sequence[float]]) -> dict:
        """POST /v1/models/{id}/predict → {"model","version","outputs"[,"labels"]}."""
        return self.call("POST", f"/v1/models/{model_id}/predict", {"inputs": inputs})

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

    # ---- jobs ----------------------------------------------------------------------

    def create_job(self, model: int, dataset: int, **config: Any) -> dict:
        """POST /v1/jobs: config holds epochs, batch_size, optimizer, seed..."""
        return self.call("POST", "/v1/jobs", {"model": model, "dataset": dataset, **config})

    def list_jobs(self, state: Optional[str] = None, model: Optional[int] = None) -> list[dict]:
        """GET /v1/jobs, optionally filtered by state and model."""
        return self.call("GET", "/v1/jobs", query={"state": state, "model": model})["jobs"]

    def get_job(self, job_id: int) -> dict:
        """GET /v1/jobs/{id}."""
        return self.call("GET", f"/v1/jobs/{job_id}")

    def metrics(self, job_id: int, after: Optional[int] = None) -> list[dict]:
        """GET /v1/jobs/{id}/metrics: one row per epoch, those after epoch `after`."""
        return self.call("GET", f"/v1/jobs/{job_id}/metrics", query={"after": after})["metrics"]

    def cancel_job(self, job_id: int) -> dict:
        """POST /v1/jobs/{id}/cancel: the job (a running one stops within a batch)."""
        return self.call("POST", f"/v1/jobs/{job_id}/cancel")

    def checkpoints(self, job_id: int) -> list[dict]:
        """GET /v1/jobs/{id}/checkpoints: epoch, bytes, created_at of each kept one."""
        return self.call("GET", f"/v1/jobs/{job_id}/checkpoints")["checkpoints"]

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
