"""Limits on what a client may make the daemon keep: classes per dataset,
bytes per class name, epochs per job, the event log; and lists that carry
summaries, whatever the size of what they list."""
import pytest
from traind_client import TraindError

from datasets import IRIS_CLASSES, iris_csv, iris_rows, iris_spec

MAX_CLASSES = 10_000


def refused(call, status, field, words):
    with pytest.raises(TraindError) as e:
        call()
    assert (e.value.status, e.value.field) == (status, field), e.value
    assert words in e.value.message, e.value.message
    return e.value


def test_classes_are_capped_naming_the_row(client):
    names = [f"class-{i:05d}-" + "x" * 200 for i in range(MAX_CLASSES + 1)]
    inputs = [[i] for i in range(MAX_CLASSES + 1)]
    refused(lambda: client.create_dataset("many", inputs, labels=names), 400,
            f"labels[{MAX_CLASSES}]", "at most 10000 classes")
    csv = "x,y\n" + "".join(f"{i},{n}\n" for i, n in enumerate(names))
    refused(lambda: client.upload_csv("many", "y", csv), 400,
            f"row {MAX_CLASSES + 1}, column y", "at most 10000")
    refused(lambda: client.create_dataset("num", [[0]], labels=[MAX_CLASSES]), 400,
            "labels[0]", "from 0 to 9999")
    refused(lambda: client.create_dataset("long", [[0], [1]], labels=["a", "b" * 257]), 400,
            "labels[1]", "1 to 256 bytes")
    assert client.list_datasets() == []
    # the cap itself is accepted
    ds = client.create_dataset("most", inputs[:-1], labels=names[:-1])
    assert ds["class_count"] == MAX_CLASSES and len(ds["classes"]) == MAX_CLASSES


def test_lists_carry_class_counts_not_class_names(client):
    ds = client.upload_csv("iris", "species", iris_csv(iris_rows(10)))
    assert ds["classes"] == IRIS_CLASSES and ds["class_count"] == 3
    model = client.create_model(iris_spec())
    assert model["class_count"] is None and model["classes"] is None
    job = client.create_job(model["id"], ds["id"], epochs=2, batch_size=8)
    assert client.wait(job["id"])["state"] == "succeeded"
    [listed] = client.list_datasets()
    assert listed["class_count"] == 3 and "classes" not in listed
    assert client.get_dataset(ds["id"])["classes"] == IRIS_CLASSES
    [m] = client.list_models()
    assert m["class_count"] == 3 and "classes" not in m
    assert client.get_model(model["id"])["classes"] == IRIS_CLASSES


def test_epochs_are_bounded(client):
    ds = client.upload_csv("iris", "species", iris_csv(iris_rows(10)))
    model = client.create_model(iris_spec())
    refused(lambda: client.create_job(model["id"], ds["id"], epochs=1_000_001), 400, "epochs",
            "at most 1000000")
    refused(lambda: client.create_job(model["id"], ds["id"], epochs=2**31), 400, "epochs",
            "at most 1000000")
    assert client.list_jobs() == []


def test_the_event_log_keeps_the_newest_events(spawn):
    client = spawn(extra=("--events-keep", "5")).client
    ds = client.upload_csv("iris", "species", iris_csv(iris_rows(10)))
    model = client.create_model(iris_spec())
    job = client.create_job(model["id"], ds["id"], epochs=20, batch_size=8,
                            checkpoint_every=100)
    assert client.wait(job["id"])["state"] == "succeeded"
    # queued, running, 20 epochs, a checkpoint, succeeded: the newest 5 remain
    events = list(client.events(job=job["id"]))
    assert [kind for _, kind, _ in events] == ["epoch", "epoch", "epoch", "checkpoint", "state"]
    assert [d["epoch"] for _, _, d in events[:3]] == [18, 19, 20]
    ids = [i for i, _, _ in events]
    assert ids == list(range(ids[0], ids[0] + 5))
    # resuming from a pruned id goes on at the oldest kept
    assert [i for i, _, _ in client.events(job=job["id"], last_event_id=2)] == ids
    assert [i for i, _, _ in client.events(job=job["id"], last_event_id=ids[1])] == ids[2:]
