"""What the examples' run.py scripts share: the connection, the held-out
split, training from a directory's model.json and job.json, and the scores.

Standard library only. The client is the one in clients/python of this
repository, or an installed traind_client when the examples are elsewhere.
"""
import csv
import io
import json
import math
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.append(os.path.join(ROOT, "clients", "python"))

from traind_client import Client, TraindError  # noqa: E402

HOLDOUT_EVERY = 5  # every 5th data row is a test row: a fixed 20% split
SHOWN = ("loss", "val_loss", "accuracy", "val_accuracy", "lr")  # of a metrics row, in trainctl's order


def connect():
    """A client for $TRAIND_URL (default http://127.0.0.1:8080) that sends
    $TRAIND_TOKEN when it is set, as trainctl does."""
    return Client(os.environ.get("TRAIND_URL", "http://127.0.0.1:8080"),
                  token=os.environ.get("TRAIND_TOKEN"))


def read_csv(path):
    """(header, rows) of a CSV file whose last column is the target."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def split(rows):
    """(train, test): data rows 5, 10, 15, ... (counting from 1) are the
    test rows, the other 80% train; the same rule as lib.sh's prepare."""
    test = [r for i, r in enumerate(rows, 1) if i % HOLDOUT_EVERY == 0]
    train = [r for i, r in enumerate(rows, 1) if i % HOLDOUT_EVERY != 0]
    return train, test


def features(rows):
    """The input columns (all but the last) as numbers."""
    return [[float(v) for v in r[:-1]] for r in rows]


def targets(rows):
    """The last column as it is written (a class name, or a number's text)."""
    return [r[-1] for r in rows]


def to_csv(header, rows):
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return out.getvalue()


def train(client, directory, name, header, rows):
    """Upload rows as the CSV dataset `name` (its target: the last column),
    then train_on it. @return the model id"""
    ds = client.upload_csv(name, header[-1], to_csv(header, rows))
    print(f"dataset {ds['id']}: {ds['rows']} rows, {ds['features']} features, {ds['task']}")
    return train_on(client, directory, ds["id"])


def train_on(client, directory, dataset):
    """Create the model of directory/model.json and train it on the stored
    dataset with directory/job.json, printing about ten of its epochs' metrics.
    Exits when the job does not succeed. @return the model id"""
    with open(os.path.join(directory, "model.json")) as f:
        model = client.create_model(json.load(f))
    with open(os.path.join(directory, "job.json")) as f:
        job = client.create_job(model=model["id"], dataset=dataset, **json.load(f))
    print(f"model {model['id']}, job {job['id']}")
    every = max(1, job["epochs"] // 10)
    for m in client.follow(job["id"]):
        if m["epoch"] % every == 0:
            print(f"epoch {m['epoch']}/{job['epochs']} "
                  + " ".join(f"{k} {m[k]:.6g}" for k in SHOWN if m.get(k) is not None))
    job = client.get_job(job["id"])
    if job["state"] != "succeeded":
        sys.exit(f"job {job['id']} {job['state']}: {job['error']}")
    print(f"job {job['id']} succeeded at epoch {job['epoch']}/{job['epochs']}")
    return model["id"]


def print_accuracy(what, predicted, expected):
    """Prints "<what> accuracy 0.967 (29 of 30 rows)", as lib.sh's score does."""
    right = sum(p == e for p, e in zip(predicted, expected, strict=True))
    print(f"{what} accuracy {right / len(expected):.3f} ({right} of {len(expected)} rows)")


def print_rmse(what, predicted, expected):
    """Prints "<what> RMSE 0.0042 (80 rows)", as lib.sh's score rmse does."""
    se = sum((p - e) ** 2 for p, e in zip(predicted, expected, strict=True))
    print(f"{what} RMSE {math.sqrt(se / len(expected)):.4f} ({len(expected)} rows)")


def run(main):
    """Calls main(); an error answer or a failed connection ends the script
    with status 1 and says why, as trainctl does."""
    try:
        main()
    except (TraindError, OSError) as e:
        sys.exit(f"{os.path.basename(sys.argv[0])}: {e}")
