/*
 * eval_class.c — the metrics of a classifier's scores against its targets
 * (evaluate.h says which sklearn conventions they follow).
 *
 * One pass over the rows gives each row's predicted class, the confusion
 * matrix, the log loss and the top-k ranks; everything else is read off the
 * matrix (accuracy, per-class precision, recall, F1 and support, their
 * averages) or comes from ranking the rows once per class (eval_curve.c):
 * for two classes only class 1's ranking is a curve, class 0's gives its
 * one-vs-rest numbers.
 *
 * Cost: O(n K) for the pass, O(K n log n) for the rankings; besides the
 * result (K^2 counts, K curves of at most NN_EVAL_CURVE_POINTS points),
 * 8 n bytes for a ranking and 24 n while it is measured.
 */
#include <assert.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval_internal.h"
#include "nn_internal.h"

static const char *const one_class =
    "the targets hold one class only: ROC AUC is not defined";
static const char *const class_absent =
    "a class is absent from the targets or is every row: one-vs-rest ROC AUC is not defined";

void nn_eval_class_clear(nn_eval_class *e) {
  for (int c = 0; c < e->n_curves; c++) {
    if (e->roc != NULL) nn__eval_curve_clear(&e->roc[c]);
    if (e->pr != NULL) nn__eval_curve_clear(&e->pr[c]);
  }
  free(e->roc);
  free(e->pr);
  free(e->curve_class);
  free(e->per_class);
  free(e->confusion);
  memset(e, 0, sizeof *e);
}

static int check(const float *scores, size_t n, int outputs, const int32_t *labels, int classes,
                 nn_error *err) {
  if (n == 0) return nn__fail(err, NN_EINVAL, "labels", "there are no rows to evaluate");
  if (classes < 2 || classes > NN_EVAL_MAX_CLASSES)
    return nn__fail(err, classes < 2 ? NN_EINVAL : NN_ERANGE, "labels",
                    "a classification has 2 to %d classes, not %d", NN_EVAL_MAX_CLASSES,
                    classes);
  if (outputs != classes && !(outputs == 1 && classes == 2))
    return nn__fail(err, NN_EINVAL, "scores",
                    "%d scores per row do not fit %d classes (one per class, or 1 for 2)",
                    outputs, classes);
  for (size_t i = 0; i < n; i++) {
    if (labels[i] < 0 || labels[i] >= classes)
      return nn__fail(err, NN_EINVAL, "labels", "row %zu has class %d, not in [0, %d)", i,
                      (int)labels[i], classes);
    for (int k = 0; k < outputs; k++)
      if (!isfinite(scores[i * (size_t)outputs + k]))
        return nn__fail(err, NN_EINVAL, "scores", "row %zu has a score that is not finite", i);
  }
  return NN_OK;
}

/* The class predict names: the first highest score, or p >= 0.5. */
static int predicted(const float *row, int outputs) {
  if (outputs == 1) return row[0] >= 0.5f;
  int best = 0;
  for (int k = 1; k < outputs; k++)
    if (row[k] > row[best]) best = k;
  return best;
}

/* -log of the probability of class y, the row's clipped probabilities
 * renormalized to sum 1 (log_loss). */
static double row_log_loss(const float *row, int outputs, int y) {
  const double eps = DBL_EPSILON, top = 1.0 - DBL_EPSILON;
  if (outputs == 1) {
    double p = fmin(fmax((double)row[0], eps), top);
    double q = 1.0 - p;
    return -log((y ? p : q) / (q + p));
  }
  double sum = 0.0;
  for (int k = 0; k < outputs; k++) sum += fmin(fmax((double)row[k], eps), top);
  return -log(fmin(fmax((double)row[y], eps), top) / sum);
}

/* Where class y ranks among the row's scores, 0 best: classes scoring more,
 * and those scoring the same with a higher index (sklearn sorts with a
 * stable argsort and reverses it). */
static int rank_of(const float *row, int outputs, int y) {
  int r = 0;
  for (int k = 0; k < outputs; k++) r += row[k] > row[y] || (row[k] == row[y] && k > y);
  return r;
}

/* Accuracy, the top-k accuracies and the confusion matrix: one pass. */
static void count_rows(const float *scores, size_t n, int outputs, const int32_t *labels,
                       int classes, nn_eval_class *e) {
  size_t hits[NN_EVAL_MAX_TOP_K] = {0}, correct = 0;
  double loss = 0.0;
  /* top-1 of two classes thresholds class 1's score: at 0.5 when all
   * scores are probabilities, else at 0, and strictly above it */
  int col1 = outputs == 1 ? 0 : 1;
  float lo = INFINITY, hi = -INFINITY;
  for (size_t i = 0; classes == 2 && i < n; i++) {
    lo = fminf(lo, scores[i * (size_t)outputs + col1]);
    hi = fmaxf(hi, scores[i * (size_t)outputs + col1]);
  }
  float cut = lo >= 0.0f && hi <= 1.0f ? 0.5f : 0.0f;
  e->n_top_k = classes == 2 ? 1 : (classes - 1 < NN_EVAL_MAX_TOP_K ? classes - 1
                                                                    : NN_EVAL_MAX_TOP_K);
  for (size_t i = 0; i < n; i++) {
    const float *row = scores + i * (size_t)outputs; /* (outputs,) */
    int y = labels[i], p = predicted(row, outputs);
    e->confusion[(size_t)y * (size_t)classes + (size_t)p]++;
    correct += p == y;
    loss += row_log_loss(row, outputs, y);
    if (classes == 2) {
      hits[0] += (row[col1] > cut) == y;
    } else {
      int r = rank_of(row, outputs, y);
      for (int k = r; k < e->n_top_k; k++) hits[k]++;
    }
  }
  e->accuracy = (double)correct / (double)n;
  e->log_loss = loss / (double)n;
  for (int k = 0; k < e->n_top_k; k++) e->top_k[k] = (double)hits[k] / (double)n;
}

/* Per-class precision, recall, F1 and support from the confusion matrix,
 * and their averages. */
static void per_class(size_t n, int classes, nn_eval_class *e) {
  size_t K = (size_t)classes;
  int present = 0;
  int with_support = 0;
  double recall_sum = 0.0;
  for (size_t k = 0; k < K; k++) {
    nn_eval_class_stats *s = &e->per_class[k];
    uint64_t tp = e->confusion[k * K + k], support = 0, predicted_k = 0;
    for (size_t j = 0; j < K; j++) {
      support += e->confusion[k * K + j];
      predicted_k += e->confusion[j * K + k];
    }
    s->support = (size_t)support;
    s->precision = predicted_k ? (double)tp / (double)predicted_k : 0.0;
    s->recall = support ? (double)tp / (double)support : 0.0;
    double denom = s->precision + s->recall;
    s->f1 = denom != 0.0 ? 2.0 * s->precision * s->recall / denom : 0.0;
    if (support) {
      with_support++;
      recall_sum += s->recall;
    }
    if (support || predicted_k) {
      present++;
      e->macro_precision += s->precision;
      e->macro_recall += s->recall;
      e->macro_f1 += s->f1;
    }
    e->weighted_precision += s->precision * (double)support;
    e->weighted_recall += s->recall * (double)support;
    e->weighted_f1 += s->f1 * (double)support;
  }
  assert(present > 0 && with_support > 0);
  e->macro_precision /= present;
  e->macro_recall /= present;
  e->macro_f1 /= present;
  e->weighted_precision /= (double)n;
  e->weighted_recall /= (double)n;
  e->weighted_f1 /= (double)n;
  e->balanced_accuracy = recall_sum / with_support;
}

/* Rank the rows for class k by score column col (negated for class 0 of a
 * single output: 1 - p ranks as -p does) and fill its stats; curve: where
 * to put its curves, or NULL. */
static int rank_class(const float *scores, size_t n, int outputs, const int32_t *labels, int k,
                      nn__eval_rank *work, nn_eval_class *e, int curve) {
  int col = outputs == 1 ? 0 : k;
  float sign = outputs == 1 && k == 0 ? -1.0f : 1.0f;
  for (size_t i = 0; i < n; i++) {
    work[i].score = sign * scores[i * (size_t)outputs + col];
    work[i].positive = labels[i] == k;
  }
  nn__eval_binary b;
  int rc = nn__eval_rank_binary(work, n, curve >= 0, &b);
  if (rc != NN_OK) return rc;
  e->per_class[k].roc_auc = b.roc_auc;
  e->per_class[k].average_precision = b.average_precision;
  if (curve >= 0) {
    e->roc[curve] = b.roc;
    e->pr[curve] = b.pr;
  }
  return NN_OK;
}

int nn_eval_classification(const float *scores, size_t n, int outputs, const int32_t *labels,
                           int classes, nn_eval_class *out, nn_error *err) {
  memset(out, 0, sizeof *out);
  int rc = check(scores, n, outputs, labels, classes, err);
  if (rc != NN_OK) return rc;
  size_t K = (size_t)classes;
  nn__eval_rank *work = NULL;
  out->rows = n;
  out->classes = classes;
  out->n_curves = classes == 2 ? 1 : classes;
  out->per_class = calloc(K, sizeof *out->per_class);
  out->confusion = calloc(K * K, sizeof *out->confusion);
  out->curve_class = calloc((size_t)out->n_curves, sizeof *out->curve_class);
  out->roc = calloc((size_t)out->n_curves, sizeof *out->roc);
  out->pr = calloc((size_t)out->n_curves, sizeof *out->pr);
  if (n > SIZE_MAX / sizeof *work || out->per_class == NULL || out->confusion == NULL ||
      out->curve_class == NULL || out->roc == NULL || out->pr == NULL ||
      (work = malloc(n * sizeof *work)) == NULL) {
    rc = nn__fail(err, NN_ENOMEM, NULL, "out of memory evaluating %zu rows", n);
    goto out;
  }
  count_rows(scores, n, outputs, labels, classes, out);
  per_class(n, classes, out);
  /* the rankings: class 1 of two, with its curve; or each class of more */
  for (int k = 0; k < classes; k++) {
    int curve = classes == 2 ? (k == 1 ? 0 : -1) : k;
    if (curve >= 0) out->curve_class[curve] = k;
    if ((rc = rank_class(scores, n, outputs, labels, k, work, out, curve)) != NN_OK) {
      rc = nn__fail(err, rc, NULL, "out of memory evaluating %zu rows", n);
      goto out;
    }
  }
  if (classes == 2) {
    out->roc_auc = out->per_class[1].roc_auc;
    out->average_precision = out->per_class[1].average_precision;
    out->roc_auc_undefined = isnan(out->roc_auc) ? one_class : NULL;
  } else {
    double auc = 0.0, ap = 0.0;
    for (int k = 0; k < classes; k++) {
      auc += out->per_class[k].roc_auc; /* NAN stays NAN */
      ap += out->per_class[k].average_precision;
    }
    out->roc_auc = auc / classes;
    out->average_precision = ap / classes;
    out->roc_auc_undefined = isnan(out->roc_auc) ? class_absent : NULL;
  }
out:
  free(work);
  if (rc != NN_OK) nn_eval_class_clear(out);
  return rc;
}
