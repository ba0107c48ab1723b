/*
 * eval_curve.c — one class against the rest: ROC AUC, average precision and
 * the ROC and precision-recall curves, as scikit-learn 1.2 computes them.
 *
 * Both rest on sklearn's _binary_clf_curve: rows sorted by score, highest
 * first, and one point per distinct score t, holding tps(t) and fps(t), the
 * positives and negatives scoring >= t. Rows of equal score enter together,
 * so ties count the same whichever order the sort left them in (and the
 * area under a tie's diagonal step is half a rectangle).
 *  - ROC: the points where the curve bends (drop_intermediate: a point whose
 *    second differences of fps and tps are both 0 lies on a straight line
 *    and is dropped), behind an origin at threshold max + 1 (sklearn 1.2);
 *    fpr = fps / N, tpr = tps / P; the AUC is the trapezoid rule over them.
 *    Undefined without a positive or a negative (N or P is 0).
 *  - Average precision: sum over points of (R_i - R_{i-1}) P_i, precision
 *    P_i = tps / (tps + fps), recall R_i = tps / P (every recall 1 without
 *    a positive, so the sum is then P_0 = 0). Its curve is sklearn's order:
 *    recall decreasing, ending at (recall 0, precision 1).
 * A curve of more than NN_EVAL_CURVE_POINTS points keeps that many, evenly
 * spaced by index, the first and last always.
 *
 * Cost: the sort, O(n log n); then O(n) time and 3 doubles per distinct
 * score for the points.
 */
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval_internal.h"

static int by_score_desc(const void *a, const void *b) {
  float x = ((const nn__eval_rank *)a)->score, y = ((const nn__eval_rank *)b)->score;
  return (x < y) - (x > y);
}

void nn__eval_curve_clear(nn_eval_curve *c) {
  free(c->x);
  free(c->y);
  free(c->thresholds);
  memset(c, 0, sizeof *c);
}

/* Keep m of a curve's n points (m <= n), evenly spaced by index, both ends:
 * point i of m is i (n - 1) / (m - 1). thresholds: NULL or (nt,), nt the
 * points that have one (the first nt). */
static int curve_keep(const double *x, const double *y, const double *t, size_t n, size_t nt,
                      nn_eval_curve *out) {
  size_t m = n < NN_EVAL_CURVE_POINTS ? n : NN_EVAL_CURVE_POINTS;
  assert(n >= 1 && nt <= n);
  out->x = malloc(m * sizeof(double));
  out->y = malloc(m * sizeof(double));
  out->thresholds = malloc(m * sizeof(double));
  if (out->x == NULL || out->y == NULL || out->thresholds == NULL) {
    nn__eval_curve_clear(out);
    return NN_ENOMEM;
  }
  out->n = m;
  out->n_thresholds = 0;
  for (size_t i = 0; i < m; i++) {
    size_t j = m == 1 ? 0 : i * (n - 1) / (m - 1);
    out->x[i] = x[j];
    out->y[i] = y[j];
    if (j < nt) out->thresholds[out->n_thresholds++] = t[j];
  }
  return NN_OK;
}

/* ROC curve and its area from the points (fps, tps, thr) of m distinct
 * scores; P positives and N negatives, both > 0. The work arrays hold m + 1. */
static int roc(const double *fps, const double *tps, const double *thr, size_t m, double P,
               double N, int curves, double *wx, double *wy, double *wt, nn__eval_binary *out) {
  size_t k = 0;
  wx[k] = 0.0;
  wy[k] = 0.0;
  wt[k++] = thr[0] + 1.0;
  for (size_t i = 0; i < m; i++) {
    int keep = m <= 2 || i == 0 || i == m - 1 ||
               fps[i + 1] - 2.0 * fps[i] + fps[i - 1] != 0.0 ||
               tps[i + 1] - 2.0 * tps[i] + tps[i - 1] != 0.0;
    if (!keep) continue;
    wx[k] = fps[i] / N; /* fpr */
    wy[k] = tps[i] / P; /* tpr */
    wt[k++] = thr[i];
  }
  double area = 0.0; /* trapezoids: sum (x_{i+1} - x_i) (y_i + y_{i+1}) / 2 */
  for (size_t i = 0; i + 1 < k; i++) area += (wx[i + 1] - wx[i]) * (wy[i + 1] + wy[i]) / 2.0;
  out->roc_auc = area;
  return curves ? curve_keep(wx, wy, wt, k, k, &out->roc) : NN_OK;
}

/* Average precision and the precision-recall curve (sklearn's order:
 * reversed, then (0, 1)). The work arrays hold m + 1. */
static int pr(const double *fps, const double *tps, const double *thr, size_t m, double P,
              int curves, double *wx, double *wy, double *wt, nn__eval_binary *out) {
  double ap = 0.0, last_recall = 0.0;
  for (size_t i = 0; i < m; i++) {
    double precision = tps[i] / (tps[i] + fps[i]); /* every point counts at least one row */
    double recall = P > 0 ? tps[i] / P : 1.0;
    ap += (recall - last_recall) * precision; /* (R_i - R_{i-1}) P_i */
    last_recall = recall;
    wx[m - 1 - i] = recall;
    wy[m - 1 - i] = precision;
    wt[m - 1 - i] = thr[i];
  }
  wx[m] = 0.0;
  wy[m] = 1.0;
  out->average_precision = ap;
  return curves ? curve_keep(wx, wy, wt, m + 1, m, &out->pr) : NN_OK;
}

int nn__eval_rank_binary(nn__eval_rank *rows, size_t n, int curves, nn__eval_binary *out) {
  int rc = NN_ENOMEM;
  assert(n >= 1);
  memset(out, 0, sizeof *out);
  qsort(rows, n, sizeof *rows, by_score_desc);
  /* m distinct scores: fps, tps, thr; and room for m + 1 curve points */
  double *fps = malloc(n * sizeof(double)), *tps = malloc(n * sizeof(double));
  double *thr = malloc(n * sizeof(double)), *wx = malloc((n + 1) * sizeof(double));
  double *wy = malloc((n + 1) * sizeof(double)), *wt = malloc((n + 1) * sizeof(double));
  if (fps == NULL || tps == NULL || thr == NULL || wx == NULL || wy == NULL || wt == NULL)
    goto out;
  size_t m = 0;
  double tp = 0.0, fp = 0.0;
  for (size_t i = 0; i < n; i++) {
    if (rows[i].positive)
      tp += 1.0;
    else
      fp += 1.0;
    if (i + 1 < n && rows[i + 1].score == rows[i].score) continue;
    fps[m] = fp;
    tps[m] = tp;
    thr[m++] = rows[i].score;
  }
  out->roc_auc = NAN;
  rc = NN_OK;
  if (tp > 0 && fp > 0) rc = roc(fps, tps, thr, m, tp, fp, curves, wx, wy, wt, out);
  if (rc == NN_OK) rc = pr(fps, tps, thr, m, tp, curves, wx, wy, wt, out);
  if (rc != NN_OK) {
    nn__eval_curve_clear(&out->roc);
    nn__eval_curve_clear(&out->pr);
  }
out:
  free(fps);
  free(tps);
  free(thr);
  free(wx);
  free(wy);
  free(wt);
  return rc;
}
