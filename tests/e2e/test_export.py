"""Models leave traind and come back: a weights version downloaded as a model
file (docs/checkpoint-format.md, "Model files"), imported as a new model
whose predictions — /v1 predict and /v2 infer, and for a model trained on a
typed table predictions from raw records through the encoding the file
carries — are bit-identical to the original's; and every kind of damaged
file refused with a 400 that says what is wrong.

The file is taken apart here by this module's own reader of the documented
layout, so a test that damages one field names the offset it changes."""
import json
import struct
import zlib

import pytest

from datasets import IRIS_CLASSES, XOR_INPUTS, XOR_SPEC, XOR_TARGETS, iris_csv, iris_rows, iris_spec
from traind_client import Client, TraindError


@pytest.fixture(scope="module")
def client(shared):
    return shared.client


def train(client, name, spec, dataset, epochs=30, **config):
    model = client.create_model(dict(spec, name=name))
    job = client.create_job(model["id"], dataset, epochs=epochs, batch_size=16,
                            optimizer={"type": "adam", "lr": 0.02}, seed=3, **config)
    assert client.wait(job["id"], timeout=60)["state"] == "succeeded"
    return client.get_model(model["id"])


@pytest.fixture(scope="module")
def iris(client):
    """A trained iris classifier (softmax, standardized inputs): (model, held-out rows)."""
    rows = iris_rows(per_class=40)
    ds = client.upload_csv("export-iris", "species", iris_csv(rows[:90]))
    return train(client, "export-iris", iris_spec(), ds["id"]), [x for x, _ in rows[90:]]


def parse(blob):
    """The model file's sections: {"version", "name", "classes", "ckpt",
    "encoding"} plus the offsets of each, as the format documents them."""
    assert blob[:8] == b"TRAINDMF"
    fmt, = struct.unpack_from("<I", blob, 8)
    version, = struct.unpack_from("<Q", blob, 12)
    n, = struct.unpack_from("<I", blob, 20)
    name = blob[24:24 + n].decode()
    off = 24 + n
    c, = struct.unpack_from("<I", blob, off)
    classes = blob[off + 4:off + 4 + c].decode()
    off += 4 + c
    k, = struct.unpack_from("<Q", blob, off)
    ckpt = blob[off + 8:off + 8 + k]
    ckpt_at = off + 8
    off += 8 + k
    e, = struct.unpack_from("<Q", blob, off) if fmt >= 2 else (0,)
    encoding = blob[off + 8:off + 8 + e] if fmt >= 2 else b""
    assert len(blob) == off + (8 + e if fmt >= 2 else 0) + 4
    assert struct.unpack_from("<I", blob, len(blob) - 4)[0] == zlib.crc32(blob[:-4])
    return {"format": fmt, "version": version, "name": name, "classes": classes,
            "ckpt": ckpt, "ckpt_at": ckpt_at, "encoding": encoding, "encoding_at": off + 8}


def seal(body):
    """body with its CRC-32 appended, as both the file and a checkpoint end."""
    return body + struct.pack("<I", zlib.crc32(body))


def import_error(client, blob):
    with pytest.raises(TraindError) as e:
        client.import_model(blob)
    assert e.value.status == 400 and e.value.code == "invalid_argument"
    return e.value


def test_export_delete_import_predicts_the_same(client, iris):
    model, held_out = iris
    version = model["version"]
    blob = client.export_weights(model["id"], version)
    f = parse(blob)
    assert f["format"] == 2 and f["version"] == version and f["name"] == "export-iris"
    assert f["encoding"] == b""  # trained on numbers: an empty encoding section
    assert json.loads(f["classes"]) == IRIS_CLASSES
    assert f["ckpt"][:8] == b"TRAINDCK"

    before = client.predict(model["id"], held_out)
    v2_body = {"inputs": [{"name": "input", "shape": [len(held_out), 4], "datatype": "FP32",
                           "data": held_out}]}
    v2_before = client.request("POST", "/v2/models/export-iris/infer", v2_body)
    assert v2_before[0] == 200
    client.delete_model(model["id"])
    assert client.request("POST", "/v2/models/export-iris/infer", v2_body)[0] == 404

    new = client.import_model(blob)
    assert new["name"] == "export-iris"
    assert new["trained"] is True and new["version"] == version
    assert new["classes"] == IRIS_CLASSES and new["parameters"] == model["parameters"]
    spec = client.get_model(new["id"])["spec"]
    assert spec == model["spec"]
    after = client.predict(new["id"], held_out)
    # bit-identical: the same float32 results print the same shortest text
    assert after["outputs"] == before["outputs"] and after["labels"] == before["labels"]
    assert after["version"] == before["version"]
    assert client.request("POST", "/v2/models/export-iris/infer", v2_body)[::2] == v2_before[::2]
    versions = client.model_versions(new["id"])
    assert [v["version"] for v in versions] == [version] and versions[0]["job"] is None
    # and it exports again to the same bytes
    assert client.export_weights(new["id"], version) == blob


def test_regression_model_and_bare_checkpoints_import(client):
    ds = client.create_dataset("export-xor", XOR_INPUTS, targets=XOR_TARGETS)
    model = train(client, "export-xor", XOR_SPEC, ds["id"], epochs=20)
    blob = client.export_weights(model["id"], model["version"])
    f = parse(blob)
    assert f["classes"] == ""
    before = client.predict(model["id"], XOR_INPUTS)["outputs"]
    # a bare core checkpoint (what a program on core/ saves) imports as "imported"
    bare = client.import_model(f["ckpt"])
    assert bare["name"] == "imported" and bare["version"] == 1 and bare["classes"] is None
    assert client.predict(bare["id"], XOR_INPUTS)["outputs"] == before
    # ... and so does one in the old format version 1 (a weights-only version 2
    # checkpoint differs from version 1 only in its version field)
    v1 = seal(f["ckpt"][:8] + struct.pack("<I", 1) + f["ckpt"][12:-4])
    old = client.import_model(v1)
    assert client.predict(old["id"], XOR_INPUTS)["outputs"] == before
    # a model file of format 1 (before the encoding section) still imports
    fmt1 = seal(blob[:8] + struct.pack("<I", 1) + blob[12:f["encoding_at"] - 8])
    assert parse(fmt1)["format"] == 1
    older = client.import_model(fmt1)
    assert older["name"] == "export-xor"
    assert client.predict(older["id"], XOR_INPUTS)["outputs"] == before


def test_damaged_files_are_refused(client, iris):
    assert iris  # trained models to export
    models_before = len(client.list_models())
    # the iris model may be gone (the first test deletes it): export any trained one
    trained = [m for m in client.list_models() if m["trained"]]
    m = trained[0]
    blob = client.export_weights(m["id"], m["version"])
    f = parse(blob)

    e = import_error(client, blob[:-10])
    assert "truncated" in e.message and e.field == "body"
    e = import_error(client, blob[:5])
    assert "truncated" in e.message
    e = import_error(client, b"")
    assert "truncated" in e.message
    damaged = bytearray(blob)
    damaged[f["ckpt_at"] + 200] ^= 0x40
    e = import_error(client, bytes(damaged))
    assert "checksum mismatch" in e.message
    e = import_error(client, blob + b"\0")
    assert "unexpected bytes" in e.message
    future = seal(blob[:8] + struct.pack("<I", 3) + blob[12:-4])
    e = import_error(client, future)
    assert "format version 3 is not supported" in e.message
    e = import_error(client, b"PK\3\4" + blob[4:])
    assert "bad magic" in e.message

    # the checkpoint inside, valid and sealed, with a spec that does not validate
    ck = f["ckpt"]
    at = f["ckpt_at"]

    def with_ckpt(new_ckpt):
        body = (blob[:at - 8] + struct.pack("<Q", len(new_ckpt)) + new_ckpt +
                blob[f["encoding_at"] - 8:-4])
        return seal(body)

    bad_act = seal(ck[:20 + 8] + struct.pack("<I", 99) + ck[20 + 12:-4])  # layers[0].act
    e = import_error(client, with_ckpt(bad_act))
    assert e.field == "layers[0].activation" and "names nothing" in e.message
    zero_units = seal(ck[:20 + 4] + struct.pack("<i", 0) + ck[20 + 8:-4])  # layers[0].units
    e = import_error(client, with_ckpt(zero_units))
    assert e.field.startswith("layers[0]") and "units" in e.message
    future_ckpt = seal(ck[:8] + struct.pack("<I", 9) + ck[12:-4])
    e = import_error(client, with_ckpt(future_ckpt))
    assert "checkpoint format version 9 is not supported" in e.message
    bad_inner_crc = ck[:-1] + bytes([ck[-1] ^ 1])
    e = import_error(client, with_ckpt(bad_inner_crc))
    assert "checksum mismatch" in e.message

    # class names that do not fit the model
    def with_classes(text):
        raw = text.encode()
        body = (blob[:24 + len(f["name"])] + struct.pack("<I", len(raw)) + raw +
                blob[at - 8:-4])
        return seal(body)

    e = import_error(client, with_classes('["a","b"]'))
    assert e.field == "classes"
    e = import_error(client, with_classes('{"a":1}'))
    assert e.field == "classes"
    e = import_error(client, with_classes('[1,2,3]' if f["classes"] else '["x"]'))
    assert e.field == "classes"
    # a name traind would not accept
    bad_name = seal(blob[:20] + struct.pack("<I", 3) + b"a/b" + blob[24 + len(f["name"]):-4])
    e = import_error(client, bad_name)
    assert e.field == "name"
    assert len(client.list_models()) == models_before  # nothing was created


def test_export_errors(client):
    status, _, doc = client.request("GET", "/v1/models/999999/versions/1/weights")
    assert status == 404 and doc["error"]["field"] == "id"
    ds = client.create_dataset("export-untrained", XOR_INPUTS, targets=XOR_TARGETS)
    assert ds["id"] > 0
    model = client.create_model(dict(XOR_SPEC, name="export-untrained"))
    status, _, doc = client.request("GET", f"/v1/models/{model['id']}/versions/1/weights")
    assert status == 404 and doc["error"]["field"] == "version"
    status, _, doc = client.request("POST", "/v1/models/import", b"x", "application/json")
    assert status == 415


def test_import_needs_the_full_token_and_fits_the_body_limit(spawn):
    d = spawn(extra=("--token", "full-t", "--read-token", "read-t", "--max-dataset-body", "1K"))
    full, read = Client(d.url, token="full-t"), Client(d.url, token="read-t")
    ds = full.create_dataset("limit-xor", XOR_INPUTS, targets=XOR_TARGETS)
    model = train(full, "limit-xor", XOR_SPEC, ds["id"], epochs=3)
    blob = read.export_weights(model["id"], model["version"])  # a read, as predict is
    assert len(blob) < 1024 and read.export_onnx(model["id"])[:2] == b"\x08\x08"
    with pytest.raises(TraindError) as e:
        read.import_model(blob)
    assert e.value.status == 403
    with pytest.raises(TraindError) as e:
        full.import_model(blob + bytes(1024))
    assert e.value.status == 413
    status, _, _ = Client(d.url).request("GET", f"/v1/models/{model['id']}/onnx")
    assert status == 401
    assert full.import_model(blob)["version"] == model["version"]


# ---- a model trained on a typed table: its encoding travels with it ---------------------

TABLE_CSV = "id,island,flipper,sex,when,mass\n" + "".join(
    f"{i},{['Biscoe', 'Dream', 'Torgersen'][i % 3]},{'' if i % 7 == 0 else 180 + (i * 37) % 40},"
    f"{['male', 'female', 'NA'][i % 4 % 3]},2021-0{1 + i % 9}-1{i % 10},{3000 + (i * 53) % 2000}\n"
    for i in range(60))
RECORDS = [{"island": "Biscoe", "flipper": 190, "sex": "male", "when": "2021-03-04"},
           {"island": "Atlantis", "flipper": None, "sex": "NA"},  # unseen, blanks
           {"island": "Dream", "sex": None, "when": "2021-08-19", "flipper": "201.5"},
           {}]


@pytest.fixture(scope="module")
def table_model(client):
    ds = client.upload_csv("export-penguins", "mass", TABLE_CSV, ignore="id")
    spec = {"loss": "mse", "seed": 2, "preprocess": {"types": {"number": {
        "missing_indicator": True}}}, "layers": [{"type": "dense", "units": 6,
                                                   "activation": "tanh"},
                                                  {"type": "dense", "units": 1}]}
    return train(client, "export-penguins", spec, ds["id"], epochs=10)


def test_a_table_model_leaves_and_comes_back_with_its_encoding(client, table_model):
    model = table_model
    blob = client.export_weights(model["id"], model["version"])
    f = parse(blob)
    assert f["encoding"][:8] == b"TRAINDEN"
    before = client.predict_records(model["id"], RECORDS)
    v2_body = {"inputs": [{"name": "island", "shape": [2], "datatype": "BYTES",
                           "data": ["Biscoe", "Atlantis"]},
                          {"name": "flipper", "shape": [2], "datatype": "FP64",
                           "data": [190, 201.5]}]}
    v2_before = client.request("POST", "/v2/models/export-penguins/infer", v2_body)
    assert v2_before[0] == 200, v2_before
    client.delete_model(model["id"])

    new = client.import_model(blob)
    shown = client.get_model(new["id"])
    assert shown["encoding"] == model["encoding"]  # the same fitted encoding, shown
    assert shown["parameters"] == model["parameters"]
    after = client.predict_records(new["id"], RECORDS)
    # bit for bit: the same float64 answers in the target's units, printed the same
    assert after["outputs"] == before["outputs"] and after["version"] == before["version"]
    assert client.request("POST", "/v2/models/export-penguins/infer", v2_body)[::2] == \
        v2_before[::2]
    assert client.export_weights(new["id"], new["version"]) == blob


def test_a_bad_encoding_section_says_what_is_wrong(client, table_model):
    m = [m for m in client.list_models() if m["name"] == "export-penguins"][-1]
    blob = client.export_weights(m["id"], m["version"])
    f = parse(blob)
    at, enc = f["encoding_at"], f["encoding"]

    def with_encoding(new):
        return seal(blob[:at - 8] + struct.pack("<Q", len(new)) + new)

    models_before = len(client.list_models())
    e = import_error(client, with_encoding(enc[:-1] + bytes([enc[-1] ^ 1])))
    assert e.field == "encoding" and "encoding's" not in e.message
    assert e.message == "model file's encoding: checksum mismatch: the encoding is corrupt"
    e = import_error(client, with_encoding(enc[:8] + struct.pack("<I", 7) + enc[12:]))
    assert e.field == "encoding" and "encoding format version 7 is not supported" in e.message
    e = import_error(client, with_encoding(enc[:10]))
    assert e.field == "encoding" and "truncated" in e.message
    # an encoding of another width than the model's inputs (a numeric model's file)
    xor = client.create_dataset("export-xor-enc", XOR_INPUTS, targets=XOR_TARGETS)
    other = train(client, "export-xor-enc", XOR_SPEC, xor["id"], epochs=2)
    ob = client.export_weights(other["id"], other["version"])
    o = parse(ob)
    e = import_error(client, seal(ob[:o["encoding_at"] - 8] + struct.pack("<Q", len(enc)) + enc))
    assert e.field == "encoding"
    assert e.message == (f"model file's encoding makes {m['spec']['inputs']} inputs but its "
                         "model takes 2")
    # the section's length running past the file
    e = import_error(client, seal(blob[:at - 8] + struct.pack("<Q", len(enc) + 5) + enc))
    assert e.field == "body" and "truncated" in e.message
    assert len(client.list_models()) == models_before + 1  # the xor model alone
