"""Small deterministic data sets and model specs shared by the end-to-end tests."""
import random

XOR_INPUTS = [[0, 0], [0, 1], [1, 0], [1, 1]]
XOR_TARGETS = [[0], [1], [1], [0]]

XOR_SPEC = {
    "name": "xor-net", "inputs": 2, "loss": "mse", "seed": 1, "normalize": False,
    "layers": [{"type": "dense", "units": 8, "activation": "tanh"},
               {"type": "dense", "units": 1, "activation": "sigmoid"}],
}

IRIS_CLASSES = ["setosa", "versicolor", "virginica"]
IRIS_COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
# Per-class feature means, roughly iris's; the spread keeps the classes apart.
IRIS_CENTRES = [[5.0, 3.4, 1.5, 0.2], [5.9, 2.8, 4.3, 1.3], [6.6, 3.0, 5.6, 2.0]]


def iris_rows(per_class=50, seed=3, spread=0.25):
    """(features, class name) rows, classes interleaved, from a fixed seed."""
    rng = random.Random(seed)
    rows = []
    for i in range(per_class):
        for centre, name in zip(IRIS_CENTRES, IRIS_CLASSES):
            rows.append(([round(rng.gauss(c, spread), 2) for c in centre], name))
    return rows


def iris_csv(rows):
    lines = [",".join(IRIS_COLUMNS + ["species"])]
    lines += [",".join([str(v) for v in x] + [name]) for x, name in rows]
    return "\n".join(lines) + "\n"


def iris_spec(hidden=16, seed=5):
    return {
        "name": "iris-net", "inputs": 4, "loss": "cross_entropy", "seed": seed, "normalize": True,
        "layers": [{"type": "dense", "units": hidden, "activation": "relu"},
                   {"type": "dense", "units": 3, "activation": "softmax"}],
    }


# A job on this data spends its time computing, not committing: long jobs that
# must be cancelled train on it, so requests meanwhile are not slowed by it.
SLOW_SPEC = {
    "name": "slow-net", "inputs": 8, "loss": "mse", "seed": 2,
    "layers": [{"type": "dense", "units": 64, "activation": "tanh"},
               {"type": "dense", "units": 1}],
}


def slow_data(rows=2048, seed=8):
    rng = random.Random(seed)
    x = [[round(rng.uniform(-1, 1), 3) for _ in range(8)] for _ in range(rows)]
    return x, [[sum(r) / 8] for r in x]
