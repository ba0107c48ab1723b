#!/usr/bin/python3
"""Generate tests/fixtures/sklearn_metrics.txt: reference metrics from scikit-learn.

Run from the repository root with Debian's interpreter (python3-sklearn 1.2):
    /usr/bin/python3 tests/gen_sklearn_metrics.py > tests/fixtures/sklearn_metrics.txt
The output is deterministic (fixed seeds), so running it again reproduces the
committed file byte for byte. tests/unit/test_evaluate.c computes every case
with core/evaluate.h and compares every number to 1e-6 relative.

Fixture format: plain text, one item per line, `#` lines are comments.
    case NAME classification N OUTPUTS CLASSES | case NAME regression N OUTPUTS
    tensor NAME COUNT              followed by COUNT whitespace-separated numbers
    end
Inputs are float32 printed with %.9g (they round-trip exactly); expected values
are doubles printed with %.17g, `nan` where sklearn leaves a number undefined.

Tensors of a classification case: scores (N, OUTPUTS), labels (N,), then
accuracy, balanced_accuracy, log_loss, roc_auc, average_precision, top_k,
precision, recall, f1, support (per class), macro (precision, recall, f1),
weighted (the same), confusion (CLASSES, CLASSES), class_roc_auc and
class_average_precision (one-vs-rest per class), and per curve c (the positive
class of two, else each class) roc_fpr.c, roc_tpr.c, roc_thresholds.c, pr_recall.c,
pr_precision.c, pr_thresholds.c, thinned to 200 points as core thins them.
A regression case: pred, target (N, OUTPUTS), then mean (mse, rmse, mae,
median_absolute_error, r2, explained_variance, max_error) and per output c
output.c (the same seven) and quantiles.c.
"""
import warnings

import numpy as np
import sklearn
from sklearn import metrics
from sklearn.preprocessing import label_binarize

warnings.simplefilter("ignore")  # sklearn warns about every undefined number

CURVE_POINTS = 200
QUANTILES = [0.0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1.0]


def tensor(name, values, fmt):
    values = list(np.asarray(values, dtype=np.float64).ravel())
    print(f"tensor {name} {len(values)}")
    for i in range(0, len(values), 8):
        print(" ".join("nan" if np.isnan(v) else fmt % v for v in values[i:i + 8]))


def exp(name, values):
    tensor(name, values, "%.17g")


def thin(a):
    """core's thinning: point i of m = min(n, 200) is i (n - 1) / (m - 1)."""
    n = len(a)
    m = min(n, CURVE_POINTS)
    if m == 1:
        return a[:1]
    return np.asarray([a[i * (n - 1) // (m - 1)] for i in range(m)])


def predicted(scores):
    if scores.shape[1] == 1:
        return (scores[:, 0] >= 0.5).astype(int)
    return np.argmax(scores, axis=1)  # the first highest


def safe(f):
    try:
        return f()
    except ValueError:
        return float("nan")


def classification(name, scores, labels, k):
    scores = scores.astype(np.float32)
    n, outputs = scores.shape
    s = scores.astype(np.float64)
    y = np.asarray(labels)
    p = predicted(s)
    print(f"case {name} classification {n} {outputs} {k}")
    tensor("scores", s, "%.9g")
    tensor("labels", y, "%d")
    exp("accuracy", [metrics.accuracy_score(y, p)])
    exp("balanced_accuracy", [metrics.balanced_accuracy_score(y, p)])
    exp("log_loss", [metrics.log_loss(y, s[:, 0] if outputs == 1 else s, labels=range(k))])
    pos = s[:, 0] if outputs == 1 else s[:, 1] if k == 2 else None
    if k == 2:
        exp("roc_auc", [safe(lambda: metrics.roc_auc_score(y, pos))])
        exp("average_precision", [metrics.average_precision_score(y, pos)])
        exp("top_k", [metrics.top_k_accuracy_score(y, pos, k=1, labels=range(2))])
        neg = -s[:, 0] if outputs == 1 else s[:, 0]
        cls = [(y == 0, neg), (y == 1, pos)]
    else:
        exp("roc_auc", [safe(lambda: metrics.roc_auc_score(y, s, multi_class="ovr",
                                                           labels=range(k)))])
        exp("average_precision", [metrics.average_precision_score(
            label_binarize(y, classes=range(k)), s, average="macro")])
        exp("top_k", [metrics.top_k_accuracy_score(y, s, k=j, labels=range(k))
                      for j in range(1, min(k - 1, 5) + 1)])
        cls = [(y == c, s[:, c]) for c in range(k)]
    prf = metrics.precision_recall_fscore_support(y, p, labels=range(k), zero_division=0)
    for name_, v in zip(("precision", "recall", "f1", "support"), prf):
        exp(name_, v)
    for avg in ("macro", "weighted"):
        exp(avg, metrics.precision_recall_fscore_support(y, p, average=avg,
                                                         zero_division=0)[:3])
    exp("confusion", metrics.confusion_matrix(y, p, labels=range(k)))
    exp("class_roc_auc", [safe(lambda: metrics.roc_auc_score(t, sc)) if 0 < t.sum() < n
                          else float("nan") for t, sc in cls])
    exp("class_average_precision", [metrics.average_precision_score(t, sc) for t, sc in cls])
    for c, (t, sc) in enumerate(cls):
        if k == 2 and c == 0:
            continue
        if 0 < t.sum() < n:
            fpr, tpr, thr = metrics.roc_curve(t, sc)
            exp(f"roc_fpr.{c}", thin(fpr))
            exp(f"roc_tpr.{c}", thin(tpr))
            exp(f"roc_thresholds.{c}", thin(thr))
        prec, rec, thr = metrics.precision_recall_curve(t, sc)
        exp(f"pr_recall.{c}", thin(rec))
        exp(f"pr_precision.{c}", thin(prec))
        idx = thin(np.arange(len(rec)))
        exp(f"pr_thresholds.{c}", thr[idx[idx < len(thr)]])
    print("end")


def regression_numbers(t, p):
    return [metrics.mean_squared_error(t, p), metrics.mean_squared_error(t, p, squared=False),
            metrics.mean_absolute_error(t, p), metrics.median_absolute_error(t, p),
            metrics.r2_score(t, p), metrics.explained_variance_score(t, p)]


def regression(name, pred, target):
    pred = pred.astype(np.float32)
    target = target.astype(np.float32)
    n, outputs = pred.shape
    p = pred.astype(np.float64)
    t = target.astype(np.float64)
    print(f"case {name} regression {n} {outputs}")
    tensor("pred", p, "%.9g")
    tensor("target", t, "%.9g")
    maxes = [metrics.max_error(t[:, c], p[:, c]) for c in range(outputs)]
    exp("mean", regression_numbers(t, p) + [max(maxes)])
    for c in range(outputs):
        exp(f"output.{c}", regression_numbers(t[:, c], p[:, c]) + [maxes[c]])
        exp(f"quantiles.{c}", np.quantile(t[:, c] - p[:, c], QUANTILES))
    print("end")


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def main():
    rng = np.random.default_rng(15)
    print(f"# Generated by tests/gen_sklearn_metrics.py (scikit-learn {sklearn.__version__}); "
          "do not edit.")
    # two classes, one sigmoid output, scores rounded to 0.05: ties
    y = rng.integers(0, 2, 300)
    s = np.clip(np.round((0.3 * y + rng.random(300) * 0.7) * 20) / 20, 0, 1)
    classification("binary_sigmoid_ties", s[:, None], y, 2)
    # two classes, two softmax outputs
    y = rng.integers(0, 2, 200)
    z = rng.normal(size=(200, 2)) + np.eye(2)[y] * 1.5
    classification("binary_softmax", softmax(z), y, 2)
    # four classes, probabilities from small integer weights: many ties
    y = rng.integers(0, 4, 500)
    w = rng.integers(1, 4, size=(500, 4)) + np.eye(4, dtype=int)[y] * rng.integers(0, 3, 500)[:, None]
    classification("multiclass_ties", w / w.sum(axis=1, keepdims=True), y, 4)
    # three classes, class 2 never predicted
    y = rng.integers(0, 3, 240)
    z = rng.normal(size=(240, 3)) + np.eye(3)[y] * 2.0
    z[:, 2] -= 10.0
    classification("never_predicted", softmax(z), y, 3)
    # six classes, enough for top-5
    y = rng.integers(0, 6, 1000)
    z = rng.normal(size=(1000, 6)) + np.eye(6)[y] * 1.0
    classification("multiclass_top_k", softmax(z), y, 6)
    # three classes, class 1 absent from the targets: one-vs-rest AUC undefined
    y = rng.choice([0, 2], 150)
    z = rng.normal(size=(150, 3)) + np.eye(3)[y] * 1.0
    classification("class_absent", softmax(z), y, 3)
    # two classes, one only in the targets
    y = np.zeros(50, dtype=int)
    classification("one_class", rng.random((50, 1)), y, 2)
    # two classes, 5000 rows of distinct scores: thinned curves
    y = rng.integers(0, 2, 5000)
    s = 1 / (1 + np.exp(-(rng.normal(size=5000) + y * 1.2)))
    classification("binary_thinned", s[:, None], y, 2)
    # regression: one output; three with a constant target column; a constant
    # column predicted exactly; a single row
    t = rng.normal(size=(257, 1)) * 3
    regression("regress_one", t + rng.normal(size=(257, 1)), t)
    t = rng.normal(size=(100, 3))
    t[:, 1] = 2.5
    regression("regress_constant", t + rng.normal(size=(100, 3)) * 0.5, t)
    t = np.full((40, 1), -1.25)
    regression("regress_exact_constant", t.copy(), t)
    regression("regress_one_row", np.array([[1.5]]), np.array([[2.0]]))


if __name__ == "__main__":
    main()
