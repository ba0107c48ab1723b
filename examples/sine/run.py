#!/usr/bin/env python3
"""y = sin(x) through the Python client: train on 80% of sine.csv, predict the
other 20% and print the held-out root mean squared error. The server:
$TRAIND_URL."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import common  # noqa: E402


def main():
    client = common.connect()
    header, rows = common.read_csv(os.path.join(HERE, "sine.csv"))
    train, test = common.split(rows)
    model = common.train(client, HERE, "sine", header, train)
    outputs = client.predict(model, common.features(test))["outputs"]
    common.print_rmse("held-out", [o[0] for o in outputs], [float(t) for t in common.targets(test)])


if __name__ == "__main__":
    common.run(main)
