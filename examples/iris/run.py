#!/usr/bin/env python3
"""Fisher's iris through the Python client: train on 80% of iris.csv, predict
the other 20% and print the held-out accuracy. The server: $TRAIND_URL."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import common  # noqa: E402


def main():
    client = common.connect()
    header, rows = common.read_csv(os.path.join(HERE, "iris.csv"))
    train, test = common.split(rows)
    model = common.train(client, HERE, "iris", header, train)
    labels = client.predict(model, common.features(test))["labels"]
    common.print_accuracy("held-out", labels, common.targets(test))


if __name__ == "__main__":
    common.run(main)
