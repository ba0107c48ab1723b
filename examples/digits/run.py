#!/usr/bin/env python3
"""The 8x8 handwritten digits through the Python client: train on 80% of
digits.csv, predict the other 20% and print the held-out accuracy. Usage:
run.py [DIGITS.csv] (default: digits.csv beside this script, exported by
export.py when missing). The server: $TRAIND_URL."""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import common  # noqa: E402


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "digits.csv")
    if not os.path.exists(path):
        # export.py runs with Debian's python3 (its #!), which has sklearn
        subprocess.run([os.path.join(HERE, "export.py"), path], check=True)
    client = common.connect()
    header, rows = common.read_csv(path)
    train, test = common.split(rows)
    model = common.train(client, HERE, "digits", header, train)
    labels = client.predict(model, common.features(test))["labels"]
    common.print_accuracy("held-out", labels, common.targets(test))


if __name__ == "__main__":
    common.run(main)
