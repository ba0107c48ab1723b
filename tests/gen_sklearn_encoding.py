#!/usr/bin/python3
"""Writes tests/fixtures/sklearn_encoding.txt: a small mixed table and what
scikit-learn's preprocessing makes of it, for tests/unit/test_encode_sklearn.c.

The table (a CSV block) has a number column with blanks, an integer column,
and a category column. The reference is fitted on the training rows (the
first TRAIN rows) and applied to all rows:
  number, integer: SimpleImputer(strategy) + StandardScaler()
  category:        OneHotEncoder(handle_unknown="ignore"), categories sorted;
                   traind adds an "other" slot after them, which sklearn has
                   not (an unseen category is all zeros there)
Format, line by line:
  csv <n>            then n lines of CSV (header first)
  train <k>          the first k data rows are the training rows
  case <name> <impute> <rows> <cols>   then rows lines of cols numbers (%.17g)
Run it again to regenerate (needs python3-sklearn and python3-numpy)."""
import io
import sys

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

CSV = """mass,flipper,island
3750.5,181,Torgersen
3800,186,Torgersen
,195,Torgersen
3450.25,193,Biscoe
3650,190,Dream
4675,,Biscoe
3200.75,176,Dream
4250,210,Biscoe
5000,220,Dream
,201,Biscoe
9999,231,Gentoo Island
4100,,Torgersen
"""
TRAIN = 10


def main(path):
    lines = CSV.strip().split("\n")
    header = lines[0].split(",")
    rows = [line.split(",") for line in lines[1:]]
    num = np.array([[float(v) if v else np.nan for v in r[:2]] for r in rows])
    cat = np.array([[r[2]] for r in rows], dtype=object)
    out = io.StringIO()
    out.write("csv %d\n" % len(lines))
    for line in lines:
        out.write(line + "\n")
    out.write("train %d\n" % TRAIN)
    for impute in ("mean", "median"):
        numeric = Pipeline([("impute", SimpleImputer(strategy=impute)),
                            ("scale", StandardScaler())]).fit(num[:TRAIN])
        onehot = OneHotEncoder(handle_unknown="ignore").fit(cat[:TRAIN])
        x = np.hstack([numeric.transform(num), onehot.transform(cat).toarray()])
        out.write("case %s %s %d %d\n" % ("_".join(header), impute, x.shape[0], x.shape[1]))
        for r in x:
            out.write(" ".join("%.17g" % v for v in r) + "\n")
    with open(path, "w") as f:
        f.write(out.getvalue())


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/sklearn_encoding.txt")
