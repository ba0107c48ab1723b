#!/usr/bin/env python3
"""XOR through the Python client: train on the four rows of xor.csv, predict
them and print how many come out right (the output rounded at 0.5). The
server: $TRAIND_URL."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import common  # noqa: E402


def main():
    client = common.connect()
    header, rows = common.read_csv(os.path.join(HERE, "xor.csv"))
    model = common.train(client, HERE, "xor", header, rows)
    outputs = client.predict(model, common.features(rows))["outputs"]
    common.print_accuracy("training", [int(o[0] >= 0.5) for o in outputs],
                          [int(t) for t in common.targets(rows)])


if __name__ == "__main__":
    common.run(main)
