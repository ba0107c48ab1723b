#!/usr/bin/env python3
"""A hyperparameter search through the Python client: ASHA over the learning
rate and the hidden width of an iris net (search.json), on 80% of
../iris/iris.csv; prints the leaderboard, then the held-out accuracy of the
best trial's model on the other 20%. The server: $TRAIND_URL."""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import common  # noqa: E402


def main():
    client = common.connect()
    header, rows = common.read_csv(os.path.join(HERE, "..", "iris", "iris.csv"))
    train, test = common.split(rows)
    ds = client.upload_csv("iris-search", header[-1], common.to_csv(header, train))
    with open(os.path.join(HERE, "search.json")) as f:
        body = json.load(f)
    body["dataset"] = ds["id"]
    search = client.call("POST", "/v1/searches", body)
    print(f"search {search['id']}: {search['config']['trials']} trials on dataset {ds['id']}")
    search = client.wait_search(search["id"])
    if search["state"] != "succeeded" or search["best"] is None:
        sys.exit(f"search {search['id']} {search['state']} without a best trial")
    print("trial  state    epochs  val_loss  params")
    for t in sorted(search["trials"], key=lambda t: (-t["epochs"], t["metric"] or 1e9)):
        metric = "-" if t["metric"] is None else f"{t['metric']:.4f}"
        print(f"{t['trial']:5}  {t['state']:7}  {t['epochs']:6}  {metric:>8}  "
              + json.dumps(t["params"]))
    best = search["best"]
    epochs = sum(t["epochs"] for t in search["trials"])
    full = len(search["trials"]) * search["config"]["job"]["epochs"]
    print(f"best trial {best['trial']} (model {best['model']}): {json.dumps(best['params'])}; "
          f"{epochs} epochs trained, {epochs / full:.0%} of running every trial to the end")
    labels = client.predict(best["model"], common.features(test))["labels"]
    common.print_accuracy("held-out", labels, common.targets(test))


if __name__ == "__main__":
    common.run(main)
