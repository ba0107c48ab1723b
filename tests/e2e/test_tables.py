"""Real tables (issue 14): a CSV with text, blanks, dates, an id column and rows
without a target goes up raw, trains with the encoding fitted on its training
rows, and predicts from raw records exactly as from the same rows encoded by
hand (in Python, from the encoding GET /v1/models/{id} shows) through the
numeric inputs path."""
import datetime
import json
import random
import struct

import pytest

from test_crash import wait_for_epoch
from test_errors import check_error, post

SPEC_CLASSES = {"name": "penguins", "loss": "cross_entropy", "seed": 3,
                "layers": [{"type": "dense", "units": 8, "activation": "tanh"},
                           {"type": "dense", "units": 2, "activation": "softmax"}]}
SPEC_MASS = {"name": "mass", "loss": "mse", "seed": 5,
             "layers": [{"type": "dense", "units": 8, "activation": "tanh"},
                        {"type": "dense", "units": 1}]}
JOB = {"epochs": 20, "batch_size": 16, "validation_split": 0.25, "seed": 7}


def penguins(n=160, seed=1):
    """Rows as dicts: an id, a category, a number with blanks, a category
    with NA, an ISO date, a number target, and a class target with blanks."""
    rnd = random.Random(seed)
    rows = []
    for i in range(n):
        island = rnd.choice(["Biscoe", "Dream", "Torgersen"])
        mass = rnd.gauss(4200, 400)
        species = "Adelie" if island == "Torgersen" or mass < 4100 else "Gentoo"
        rows.append({
            "id": str(1000 + i),
            "island": island,
            "flipper": "" if rnd.random() < 0.08 else f"{rnd.gauss(200, 12):.1f}",
            "sex": rnd.choice(["male", "female", "NA"]),
            "seen": f"2021-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}",
            "mass": f"{mass:.0f}",
            "species": "" if rnd.random() < 0.06 else species,
        })
    return rows


COLUMNS = ["id", "island", "flipper", "sex", "seen", "mass", "species"]


def as_csv(rows, sep=",", crlf=False, bom=False):
    end = "\r\n" if crlf else "\n"
    text = sep.join(COLUMNS) + end
    for r in rows:
        text += sep.join(r[c] for c in COLUMNS) + end
    return ("\ufeff" if bom else "") + text


def f32(v):
    return struct.unpack("f", struct.pack("f", v))[0]


def encode_by_hand(encoding, record):
    """The encoding docs/api.md describes, applied in Python: float32 values
    exactly as the server's core computes them."""
    x = [0.0] * encoding["width"]
    for col in encoding["columns"]:
        v, o = record.get(col["name"]), col["offset"]
        missing = v is None or v in ("", "NA")
        if col["type"] == "category":
            cats = col["categories"]
            if not missing:
                x[o + (cats.index(v) if v in cats else len(cats))] = 1.0
        elif col["type"] == "datetime":
            assert not col["cyclic"]
            if missing:
                parts = col["fill"]
            else:
                d = datetime.datetime.fromisoformat(v)
                parts = [d.year, d.month, d.weekday(), d.timetuple().tm_yday, d.hour]
            for p in range(5):
                x[o + p] = f32((parts[p] - col["mean"][p]) / col["std"][p])
        else:
            value = col["fill"][0] if missing else float(v)
            x[o] = f32((value - col["mean"][0]) / col["std"][0])
    return x


def train(client, spec, dataset):
    model = client.create_model(spec)
    job = client.create_job(model["id"], dataset, **JOB)
    done = client.wait(job["id"], timeout=120)
    assert done["state"] == "succeeded", done
    return client.get_model(model["id"])


@pytest.fixture(scope="module")
def table(shared):
    client = shared.client
    rows = penguins()
    ds = client.upload_csv("penguins", "species", as_csv(rows), ignore="id,mass")
    return client, rows, ds


def test_a_table_goes_up_raw_with_a_profile(table):
    client, rows, ds = table
    assert ds["kind"] == "table" and ds["task"] == "classification"
    assert ds["classes"] == ["Adelie", "Gentoo"]
    assert ds["rows"] == len(rows) and ds["features"] == 4
    assert ds["rows_without_target"] == sum(r["species"] == "" for r in rows)
    cols = {c["name"]: c for c in ds["columns"]}
    assert list(cols) == ["island", "flipper", "sex", "seen", "species"]  # id, mass ignored
    assert {n: c["type"] for n, c in cols.items()} == {
        "island": "category", "flipper": "number", "sex": "category", "seen": "datetime",
        "species": "category"}
    assert cols["flipper"]["missing"] == sum(r["flipper"] == "" for r in rows)
    assert cols["sex"]["missing"] == sum(r["sex"] == "NA" for r in rows)
    assert sum(t["count"] for t in cols["island"]["top"]) == len(rows)
    assert cols["seen"]["min"].startswith("2021-")
    # flipper's histogram: equal-width bins from min to max, max in the last
    flipper = [float(r["flipper"]) for r in rows if r["flipper"] != ""]
    lo, hi, n_bins = min(flipper), max(flipper), min(20, len(set(flipper)))
    want = [0] * n_bins
    for v in flipper:
        want[min(int((v / 2 - lo / 2) / (hi / 2 - lo / 2) * n_bins), n_bins - 1)] += 1
    assert cols["flipper"]["histogram"] == want and sum(want) == len(flipper)
    assert cols["island"]["histogram"] is None and len(cols["seen"]["histogram"]) >= 1
    assert client.get_dataset(ds["id"]) == ds
    summary = [d for d in client.list_datasets() if d["id"] == ds["id"]][0]
    assert "columns" not in summary and summary["kind"] == "table"


def test_a_numeric_csv_stays_numbers(shared):
    ds = shared.client.upload_csv("nums", "y", "a,b,y\n1,2,3\n4,5,6\n")
    assert ds["kind"] == "numeric" and "columns" not in ds


@pytest.mark.parametrize("sep,crlf,bom", [(";", True, True), ("\t", False, False),
                                          ("|", True, False)])
def test_delimiters_are_sniffed_with_crlf_and_bom(shared, sep, crlf, bom):
    rows = penguins(20)
    ds = shared.client.upload_csv("sniffed", "species", as_csv(rows, sep, crlf, bom),
                                  ignore="id")
    assert [c["name"] for c in ds["columns"]][:2] == ["island", "flipper"]
    assert ds["rows"] == 20


def test_quoted_cells_hold_separators_quotes_and_newlines(shared):
    body = 'note,x,y\n"a, ""b""\nc",1,u\nplain,2,v\n"",3,u\n'
    ds = shared.client.upload_csv("quoted", "y", body)
    note = ds["columns"][0]
    assert note["type"] == "category" and note["missing"] == 1
    assert sorted(t["value"] for t in note["top"]) == ['a, "b"\nc', "plain"]


def test_a_mostly_numeric_column_is_reported_then_kept_as_text(shared):
    body = "x,y\n" + "1.5,a\n" * 30 + "n/a?,b\n" + "2,b\n" * 10
    path = "/v1/datasets?name=bad&target=y"
    err = check_error(post(shared.client, path, body, "text/csv"), 400, "invalid_argument",
                      "column x")
    assert "row 31 (n/a?)" in err["message"] and "types=x:category" in err["message"]
    ds = shared.client.upload_csv("kept", "y", body, types="x:category")
    assert ds["columns"][0]["type"] == "category"


def test_na_values_replace_the_markers(shared):
    ds = shared.client.upload_csv("na", "y", "x,y\n1,a\n-999,b\n3,a\n", na_values="-999")
    assert ds["columns"][0]["missing"] == 1 and ds["columns"][0]["type"] == "integer"


@pytest.mark.parametrize("query,body,field", [
    ({"ignore": "nope"}, "x,y\n1,a\n", "ignore"),
    ({"ignore": "y"}, "x,y\n1,a\n", "ignore"),
    ({"types": "x:text"}, "x,y\n1,a\n", "types"),
    ({"types": "z:number"}, "x,y\n1,a\n", "types"),
    ({"types": "x:number"}, "x,y\nabc,a\n", "column x"),
    ({"delimiter": "#"}, "x,y\n1,a\n", "delimiter"),
    ({}, "x,y\n1,\n2,\n", "target"),  # no row has a target
    ({}, "x,y\n,a\n2," + "b" * 300 + "\n", "target"),  # a class name past 256 bytes
    ({"target": "a,b", "ignore": "x"}, "x,a,b\n1,2,3\n", "target"),
])
def test_bad_table_uploads(shared, query, body, field):
    q = {"name": "t", "target": "y", **query}
    path = "/v1/datasets?" + "&".join(f"{k}={v}" for k, v in q.items())
    check_error(post(shared.client, path, body, "text/csv"), 400, "invalid_argument", field)


@pytest.fixture(scope="module")
def trained(table):
    client, rows, ds = table
    return client, rows, ds, train(client, SPEC_CLASSES, ds["id"])


def test_the_fitted_encoding_is_shown_with_the_model(trained):
    client, rows, ds, model = trained
    enc = model["encoding"]
    assert enc["target"] == {"name": "species", "kind": "classification"}
    cols = {c["name"]: c for c in enc["columns"]}
    assert cols["island"]["categories"] == ["Biscoe", "Dream", "Torgersen"]
    assert cols["island"]["width"] == 4  # three kept and the other slot
    assert cols["seen"]["width"] == 5
    assert enc["width"] == sum(c["width"] for c in enc["columns"])
    # fitted on the training rows only: the mean of all rows with a flipper differs
    every = [float(r["flipper"]) for r in rows if r["flipper"] and r["species"]]
    assert cols["flipper"]["mean"][0] != pytest.approx(sum(every) / len(every), abs=1e-12)
    # imputed with the mean of the training values, standardized over the imputed ones
    assert cols["flipper"]["fill"][0] == pytest.approx(cols["flipper"]["mean"][0], rel=1e-12)
    assert model["classes"] == ["Adelie", "Gentoo"]


def test_raw_records_predict_as_rows_encoded_by_hand(trained):
    client, rows, ds, model = trained
    records = [{k: v for k, v in r.items() if k != "species"} for r in rows[:40]]
    # raw JSON values: numbers as numbers, blanks as null or left out, keys in any order
    for r in records:
        r["flipper"] = float(r["flipper"]) if r["flipper"] else None
        if r["sex"] == "NA":
            del r["sex"]
        r.update(reversed(list(r.items())))
    records.append({"island": "Atlantis", "seen": "2021-07-04"})  # unseen, mostly missing
    raw = client.predict_records(model["id"], records)
    by_hand = client.predict(model["id"], [encode_by_hand(model["encoding"], r) for r in records])
    assert raw["outputs"] == by_hand["outputs"]  # bit for bit: the same float32 text
    assert raw["labels"] == by_hand["labels"]
    assert set(raw["labels"]) <= {"Adelie", "Gentoo"}


def test_regression_predictions_are_in_the_targets_units(table):
    client, rows, _ = table
    ds = client.upload_csv("masses", "mass", as_csv(rows), ignore="id,species")
    assert ds["task"] == "regression" and ds["outputs"] == 1
    model = train(client, dict(SPEC_MASS, preprocess={"types": {"number": {
        "impute": "median", "missing_indicator": True}}}), ds["id"])
    enc = model["encoding"]
    assert enc["target"]["name"] == "mass" and enc["target"]["std"] > 100
    flipper = [c for c in enc["columns"] if c["name"] == "flipper"][0]
    assert flipper["impute"] == "median" and flipper["missing_indicator"] and flipper["width"] == 2
    records = [{"island": r["island"], "flipper": r["flipper"] or None, "sex": r["sex"],
                "seen": r["seen"]} for r in rows[:30]]
    out = client.predict_records(model["id"], records)["outputs"]
    assert 2500 < sum(o[0] for o in out) / len(out) < 6000  # grams, not z-scores


def test_a_later_job_refits_and_a_pinned_version_keeps_its_encoding(table):
    client, rows, ds = table
    model = train(client, SPEC_CLASSES, ds["id"])
    first = model["version"]
    longer = [dict(r, flipper=f"{float(r['flipper']) + 10:.1f}") if r["flipper"] else r
              for r in rows]
    other = client.upload_csv("longer", "species", as_csv(longer), ignore="id,mass")
    job = client.create_job(model["id"], other["id"], **JOB)
    assert client.wait(job["id"], timeout=120)["state"] == "succeeded"
    again = client.get_model(model["id"])
    assert again["version"] > first
    old = [c for c in model["encoding"]["columns"] if c["name"] == "flipper"][0]
    new = [c for c in again["encoding"]["columns"] if c["name"] == "flipper"][0]
    assert old["mean"] != new["mean"]
    rec = [{"island": "Biscoe", "flipper": 190, "sex": "male", "seen": "2021-01-02"}]
    pinned = client.predict_records(model["id"], rec, version=first)
    assert pinned["version"] == first
    hand = client.predict(model["id"], [encode_by_hand(model["encoding"], rec[0])],
                          version=first)
    assert pinned["outputs"] == hand["outputs"]


def test_the_same_job_twice_trains_the_same_weights(table):
    """The encoding is refitted deterministically from the stored table and
    the job's split: what a job resumed after a crash relies on."""
    client, rows, ds = table
    a, b = (train(client, SPEC_CLASSES, ds["id"]) for _ in range(2))
    rec = [{"island": "Dream", "flipper": 201.5, "seen": "2021-03-03"}]
    assert client.predict_records(a["id"], rec)["outputs"] == \
        client.predict_records(b["id"], rec)["outputs"]
    assert a["encoding"] == b["encoding"]


@pytest.mark.parametrize("records,field", [
    ([{"island": "Biscoe", "flipper": "long"}], "records[0].flipper"),
    ([{"island": "Biscoe"}, {"seen": "yesterday"}], "records[1].seen"),
    ([{"island": ["Biscoe"]}], "records[0].island"),
    ([], "records"),
    (["Biscoe"], "records[0]"),
])
def test_bad_records(trained, records, field):
    client, _, _, model = trained
    check_error(post(client, f"/v1/models/{model['id']}/predict", {"records": records}), 400,
                "invalid_argument", field)


def test_records_need_a_model_trained_on_a_table(shared):
    client = shared.client
    ds = client.create_dataset("xy", [[0.0], [1.0]], targets=[[0.0], [1.0]])
    model = train(client, dict(SPEC_MASS, inputs=1, name="num"), ds["id"])
    check_error(post(client, f"/v1/models/{model['id']}/predict", {"records": [{"a": 1}]}),
                400, "invalid_argument", "records")
    assert "encoding" not in model


def test_a_model_without_inputs_needs_a_table(shared):
    client = shared.client
    ds = client.create_dataset("xy2", [[0.0], [1.0]], targets=[[0.0], [1.0]])
    model = client.create_model(SPEC_MASS)
    check_error(post(client, "/v1/jobs", {"model": model["id"], "dataset": ds["id"]}), 422,
                "unprocessable", "dataset")


def as_records(rows):
    """The rows as JSON records: numbers as numbers, blanks and NA as null."""
    out = []
    for r in rows:
        rec = {}
        for c in COLUMNS:
            v = r[c]
            rec[c] = None if v in ("", "NA") else float(v) if c in ("flipper", "mass") else v
        out.append(rec)
    return out


def test_json_records_make_the_same_table_as_the_csv(table):
    client, rows, ds = table
    recs = [{k: v for k, v in r.items() if k not in ("id", "mass")} for r in as_records(rows)]
    body = {"name": "penguins-json", "records": recs, "target": "species"}
    got = client.call("POST", "/v1/datasets", body)
    assert got["kind"] == "table" and got["rows_without_target"] == ds["rows_without_target"]
    assert got["columns"] == ds["columns"]
    assert got["classes"] == ds["classes"]


@pytest.mark.parametrize("body,field", [
    ({"name": "r", "records": [{"a": 1, "y": "p"}]}, "target"),
    ({"name": "r", "target": "y"}, "target"),
    ({"name": "r", "target": "y", "inputs": [[1]], "targets": [[1]]}, "target"),
    ({"name": "r", "target": "y", "records": []}, "records"),
    ({"name": "r", "target": "y", "records": {"a": 1}}, "records"),
    ({"name": "r", "target": "y", "records": [{"a": 1, "y": "p"}, 7]}, "records[1]"),
    ({"name": "r", "target": "y", "records": [{"a": 1, "y": "p"}, {"a": {}}]}, "records[1].a"),
    ({"name": "r", "target": "y", "records": [{"a": 1, "y": "p"}, {"b": 2}]}, "records[1].b"),
    ({"name": "r", "target": "z", "records": [{"a": 1, "y": "p"}]}, "target"),
    ({"name": "r", "target": "y", "records": [{"a": 1, "y": "p"}], "inputs": [[1]]}, "records"),
    ({"name": "r", "target": "y", "records": [{"y": "p"}]}, "target"),  # no feature
])
def test_bad_json_records(shared, body, field):
    check_error(post(shared.client, "/v1/datasets", body), 400, "invalid_argument", field)


# ---- a job on a table killed mid-way resumes to the weights of an uninterrupted run ----
SLOW_TABLE_JOB = {"epochs": 100, "batch_size": 8, "optimizer": {"type": "adam", "lr": 0.002},
                  "validation_split": 0.1, "shuffle": True, "seed": 11, "checkpoint_every": 4}
SLOW_TABLE_SPEC = {"name": "slow-table", "loss": "mse", "seed": 2,
                   "layers": [{"type": "dense", "units": 64, "activation": "tanh"},
                              {"type": "dense", "units": 1}]}


def slow_table_job(client):
    rows = penguins(2048, seed=4)
    ds = client.upload_csv("slow-table", "mass", as_csv(rows), ignore="id,species")
    model = client.create_model(SLOW_TABLE_SPEC)
    job = client.create_job(model["id"], ds["id"], **SLOW_TABLE_JOB)
    return model["id"], job["id"]


PROBE = [{"island": "Dream", "flipper": 195.5, "sex": "male", "seen": "2021-02-03"},
         {"island": "Biscoe", "seen": "2021-09-09"}]


def test_a_table_job_killed_mid_way_resumes_to_identical_weights(spawn, tmp_path):
    ref = spawn(db=tmp_path / "ref.sqlite").client
    ref_model, ref_job = slow_table_job(ref)
    assert ref.wait(ref_job, timeout=120)["state"] == "succeeded"
    expected = ref.predict_records(ref_model, PROBE)["outputs"]

    db = tmp_path / "crash.sqlite"
    d = spawn(db=db)
    model_id, job_id = slow_table_job(d.client)
    job = wait_for_epoch(d.client, job_id, 10)
    d.kill9()
    assert job["state"] == "running" and job["epoch"] < SLOW_TABLE_JOB["epochs"], \
        "the job ended before the kill: make it longer"
    client = spawn(db=db).client
    done = client.wait(job_id, timeout=120)
    assert done["state"] == "succeeded" and done["restarts"] == 1, done
    assert client.predict_records(model_id, PROBE)["outputs"] == expected
    assert client.get_model(model_id)["encoding"] == ref.get_model(ref_model)["encoding"]


def test_trainctl_predicts_a_csv_of_raw_rows(trained, tmp_path):
    """trainctl predict --csv sends a table's rows as records, blanks missing."""
    from test_trainctl import trainctl, write
    client, rows, _, model = trained
    cols = ["id", "island", "flipper", "sex", "seen"]
    text = ",".join(cols) + "\n" + "".join(",".join(r[c] for c in cols) + "\n" for r in rows[:9])
    got = trainctl(client.url, "--json",
                   "predict", str(model["id"]), "--csv", write(tmp_path, "rows.csv", text))
    assert got.returncode == 0, got.stderr
    records = [{c: (None if r[c] == "" else r[c]) for c in cols} for r in rows[:9]]
    assert json.loads(got.stdout)["outputs"] == \
        client.predict_records(model["id"], records)["outputs"]


def test_v2_metadata_shows_a_table_models_encoded_width(trained):
    client, _, _, model = trained
    meta = client.call("GET", f"/v2/models/{model['id']}")
    assert meta["inputs"][0]["name"] == "island"  # its columns, once trained
    fresh = client.create_model(dict(SPEC_CLASSES, name="untrained-table"))
    assert client.call("GET", "/v2/models/untrained-table")["inputs"][0]["shape"] == [-1, -1]
    assert fresh["version"] == 0


def test_v2_takes_one_named_input_per_column(trained):
    client, rows, _, model = trained
    meta = client.call("GET", f"/v2/models/{model['id']}")
    assert [(i["name"], i["datatype"], i["shape"]) for i in meta["inputs"]] == [
        ("island", "BYTES", [-1]), ("flipper", "FP64", [-1]), ("sex", "BYTES", [-1]),
        ("seen", "BYTES", [-1])]
    picked = rows[:5]
    body = {"id": "t1", "inputs": [
        {"name": "seen", "shape": [5, 1], "datatype": "BYTES", "data": [r["seen"] for r in picked]},
        {"name": "island", "shape": [5], "datatype": "BYTES",
         "data": [r["island"] for r in picked]},
        {"name": "flipper", "shape": [5], "datatype": "FP64",
         "data": [float(r["flipper"]) if r["flipper"] else None for r in picked]}]}
    got = client.call("POST", f"/v2/models/{model['id']}/infer", body)
    records = [{"seen": r["seen"], "island": r["island"],
                "flipper": float(r["flipper"]) if r["flipper"] else None} for r in picked]
    want = client.predict_records(model["id"], records)["outputs"]
    assert got["id"] == "t1" and got["outputs"][0]["shape"] == [5, 2]
    assert got["outputs"][0]["data"] == [v for row in want for v in row]
    # the protocol's errors: {"error": message}, here naming the input
    bad = dict(body, inputs=[dict(body["inputs"][2], datatype="BYTES")])
    status, _, doc = post(client, f"/v2/models/{model['id']}/infer", bad)
    assert status == 400 and "is not a value of BYTES" in doc["error"], doc
    unknown = dict(body, inputs=[dict(body["inputs"][0], name="beak")])
    status, _, doc = post(client, f"/v2/models/{model['id']}/infer", unknown)
    assert status == 400 and "no input column beak" in doc["error"], doc
