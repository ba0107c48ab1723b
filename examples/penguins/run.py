#!/usr/bin/python3
"""The Palmer penguins as they come (penguins_raw.csv: text columns, "NA"
cells, dates, id columns) through the Python client, beside scikit-learn:
both learn a penguin's sex from the other columns on the same 80% of the
rows and are scored on the same held-out 20%, in the same run.

traind takes the raw CSV (a typed table; the id columns ignored), fits its
own encoding on the training rows, trains, and scores the held-out rows with
POST /v1/models/{id}/evaluate; scikit-learn runs the textbook pipeline
(SimpleImputer + StandardScaler for numbers and date parts, OneHotEncoder
for text, through a ColumnTransformer, into an MLPClassifier of the same
shape and training). The CSV: $PENGUINS_CSV, else Debian's
r-cran-palmerpenguins. The server: $TRAIND_URL."""
import datetime
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import common  # noqa: E402

CSV = os.environ.get("PENGUINS_CSV",
                     "/usr/lib/R/site-library/palmerpenguins/extdata/penguins_raw.csv")
TARGET = "Sex"
IGNORED = ["studyName", "Sample Number", "Individual ID", "Comments"]  # ids, free text
MISSING = "NA"  # the file's marker of a missing cell, one of traind's defaults
DATES = ["Date Egg"]


def numbers(header, rows):
    """The columns whose every present cell is a number, as traind infers them."""
    def number(v):
        try:
            float(v)
            return True
        except ValueError:
            return False
    return [c for i, c in enumerate(header)
            if all(r[i] == MISSING or number(r[i]) for r in rows)]


def sklearn_score(header, train, test):
    """Held-out accuracy of scikit-learn's pipeline on the same split, over
    the rows whose sex is known: (accuracy, rows)."""
    import warnings

    import numpy as np
    from sklearn.compose import ColumnTransformer
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.impute import SimpleImputer
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    with open(os.path.join(HERE, "job.json")) as f:
        job = json.load(f)
    target = header.index(TARGET)
    features = [c for c in header if c != TARGET and c not in IGNORED]
    numeric = [c for c in numbers(header, train + test) if c in features]
    text = [c for c in features if c not in numeric and c not in DATES]

    def table(rows):
        known = [r for r in rows if r[target] != MISSING]
        x = [[None if r[header.index(c)] == MISSING else r[header.index(c)] for c in features]
             for r in known]
        return np.array(x, dtype=object), [r[target] for r in known]

    def date_parts(x):  # traind's: year, month, day of week, day of year, hour
        days = [datetime.date.fromisoformat(v) for v in x[:, 0]]
        return np.array([[d.year, d.month, d.weekday(), d.timetuple().tm_yday, 0] for d in days],
                        dtype=float)

    idx = {c: i for i, c in enumerate(features)}
    pipeline = make_pipeline(
        ColumnTransformer([
            ("numbers", make_pipeline(SimpleImputer(strategy="mean"), StandardScaler()),
             [idx[c] for c in numeric]),
            ("dates", make_pipeline(FunctionTransformer(date_parts), StandardScaler()),
             [idx[c] for c in DATES]),
            ("text", OneHotEncoder(handle_unknown="ignore"), [idx[c] for c in text]),
        ]),
        MLPClassifier(hidden_layer_sizes=(16,), activation="relu", solver="adam",
                      learning_rate_init=job["optimizer"]["lr"], batch_size=job["batch_size"],
                      max_iter=job["epochs"], random_state=1))
    x_train, y_train = table(train)
    x_test, y_test = table(test)
    for x in (x_train, x_test):  # numbers as floats, missing as NaN, for the imputer
        for c in numeric:
            x[:, idx[c]] = [np.nan if v is None else float(v) for v in x[:, idx[c]]]
    with warnings.catch_warnings():  # it trains as many epochs as traind's job, no more
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipeline.fit(x_train, y_train)
    right = int(sum(p == e for p, e in zip(pipeline.predict(x_test), y_test)))
    return right / len(y_test), len(y_test)


def main():
    header, rows = common.read_csv(CSV)
    train, test = common.split(rows)
    client = common.connect()
    options = {"ignore": ",".join(IGNORED)}
    ds = client.upload_csv("penguins-train", TARGET, common.to_csv(header, train), **options)
    held = client.upload_csv("penguins-test", TARGET, common.to_csv(header, test), **options)
    types = ", ".join(f"{c['name']} {c['type']}" for c in ds["columns"])
    print(f"dataset {ds['id']}: {ds['rows']} rows ({ds['rows_without_target']} without a "
          f"{TARGET}), {len(ds['columns'])} columns: {types}")
    print(f"dataset {held['id']}: {held['rows']} held-out rows")
    model = common.train_on(client, HERE, ds["id"])

    ev = client.evaluate(model, held["id"])
    ours = ev["metrics"]["accuracy"]
    records = [{c: (None if v == MISSING else v) for c, v in zip(header, r)} for r in test[:4]]
    got = client.predict_records(model, records)
    print(f"{len(records)} raw records predicted:")
    for rec, label, out in zip(records, got["labels"], got["outputs"]):
        print(f"  {rec['Individual ID']:6} {rec['Species'].split()[0]:9} {rec['Island']:9} "
              f"{rec['Body Mass (g)'] or '?':>4} g: {label:6} p={max(out):.3f} "
              f"(recorded: {rec[TARGET] or 'not sexed'})")

    theirs, n = sklearn_score(header, train, test)
    print(f"held-out rows with a {TARGET}: {ev['rows']} (traind), {n} (scikit-learn)")
    print(f"{'':17}  {'traind':>6}  scikit-learn")
    print(f"held-out accuracy  {ours:6.3f}  {theirs:12.3f}")

if __name__ == "__main__":
    common.run(main)
