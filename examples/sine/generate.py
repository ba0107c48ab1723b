#!/usr/bin/env python3
"""Writes sine.csv: y = sin(x) at 400 evenly spaced x from -pi to pi, six
decimals each. Usage: generate.py [OUT.csv] (default: sine.csv beside this
script). The committed sine.csv is its output."""
import math
import os
import sys

ROWS = 400


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else \
        os.path.join(os.path.dirname(os.path.abspath(__file__)), "sine.csv")
    with open(out, "w") as f:
        f.write("x,y\n")
        for i in range(ROWS):
            x = -math.pi + 2 * math.pi * i / (ROWS - 1)
            f.write(f"{x:.6f},{math.sin(x):.6f}\n")


if __name__ == "__main__":
    main()
