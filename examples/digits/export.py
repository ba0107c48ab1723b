#!/usr/bin/python3
"""Writes digits.csv from the copy of the UCI handwritten digits that
scikit-learn ships (Debian: python3-sklearn): 1797 rows of 8x8 grey levels
0..16, columns r0c0..r7c7 row by row, then the class as the digit's English
name (a class column must not be numeric, or the server would read it as a
regression target). Usage: export.py [OUT.csv] (default: digits.csv beside
this script)."""
import os
import sys

from sklearn.datasets import load_digits

NAMES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else \
        os.path.join(os.path.dirname(os.path.abspath(__file__)), "digits.csv")
    digits = load_digits()
    # Written whole, then renamed: the run scripts export only when the file
    # is missing, so an interrupted export must not leave a part of it.
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        f.write(",".join(f"r{i // 8}c{i % 8}" for i in range(64)) + ",digit\n")
        for pixels, digit in zip(digits.data, digits.target):
            f.write(",".join(str(int(v)) for v in pixels) + "," + NAMES[digit] + "\n")
    os.replace(tmp, out)


if __name__ == "__main__":
    main()
