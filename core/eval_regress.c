/*
 * eval_regress.c — the metrics of a regressor's predictions against its
 * targets, column by column, and their means (evaluate.h says which sklearn
 * conventions they follow).
 *
 * Per column: one pass for the means of the targets and of the residuals
 * r = actual - predicted, a second for the sums of squares around them
 * (two passes, not sum of squares minus square of sums, which cancels
 * catastrophically); then the absolute residuals are sorted for their
 * median and the residuals for their quantiles. All sums in double.
 *
 * Cost: O(n log n) per column for the sorts; n doubles of memory besides
 * the result.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "evaluate.h"
#include "nn_internal.h"

const double nn_eval_quantile_levels[NN_EVAL_QUANTILES] = {0.0,  0.01, 0.05, 0.25, 0.5,
                                                           0.75, 0.95, 0.99, 1.0};

static const char *const too_few = "R2 is not defined for fewer than 2 rows";

void nn_eval_regress_clear(nn_eval_regress *e) {
  free(e->per_output);
  memset(e, 0, sizeof *e);
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* numpy's quantile of sorted v (n,) at level q, method "linear": the
 * virtual index h = n q + (1 - q) - 1 (numpy's alpha = beta = 1) between
 * v[floor h] and the next, interpolated from the nearer end as numpy's
 * _lerp does. */
static double quantile(const double *v, size_t n, double q) {
  double h = (double)n * q + (1.0 - q) - 1.0;
  if (h <= 0.0) return v[0];
  if (h >= (double)(n - 1)) return v[n - 1];
  size_t lo = (size_t)floor(h);
  double t = h - (double)lo, a = v[lo], b = v[lo + 1], d = b - a;
  return t >= 0.5 ? b - d * (1.0 - t) : a + d * t;
}

/* sklearn's force_finite score 1 - num / den: 1 when both are 0 (exact
 * predictions of constant targets), 0 when only den is. */
static double finite_score(double num, double den) {
  if (den != 0.0) return 1.0 - num / den;
  return num == 0.0 ? 1.0 : 0.0;
}

/* Column c of (n, outputs); work (n,) doubles. */
static void column(const float *pred, const float *target, size_t n, int outputs, int c,
                   double *work, nn_eval_output *o) {
  size_t w = (size_t)outputs;
  double sum_t = 0.0, sum_r = 0.0, sq = 0.0, abs_sum = 0.0, max_abs = 0.0;
  for (size_t i = 0; i < n; i++) {
    double t = target[i * w + c], r = t - (double)pred[i * w + c]; /* r = actual - predicted */
    sum_t += t;
    sum_r += r;
    sq += r * r;
    abs_sum += fabs(r);
    max_abs = fmax(max_abs, fabs(r));
  }
  double mean_t = sum_t / (double)n, mean_r = sum_r / (double)n;
  double ss_tot = 0.0, ss_res_c = 0.0; /* sum (t - mean t)^2, sum (r - mean r)^2 */
  for (size_t i = 0; i < n; i++) {
    double t = target[i * w + c], r = t - (double)pred[i * w + c];
    ss_tot += (t - mean_t) * (t - mean_t);
    ss_res_c += (r - mean_r) * (r - mean_r);
  }
  o->mse = sq / (double)n;
  o->rmse = sqrt(o->mse);
  o->mae = abs_sum / (double)n;
  o->max_error = max_abs;
  o->r2 = n < 2 ? NAN : finite_score(sq, ss_tot);
  /* explained variance: 1 - Var(r) / Var(t), both as means */
  o->explained_variance = finite_score(ss_res_c / (double)n, ss_tot / (double)n);
  for (size_t i = 0; i < n; i++) work[i] = fabs((double)target[i * w + c] - pred[i * w + c]);
  qsort(work, n, sizeof *work, by_value);
  o->median_absolute_error = quantile(work, n, 0.5);
  for (size_t i = 0; i < n; i++) work[i] = (double)target[i * w + c] - pred[i * w + c];
  qsort(work, n, sizeof *work, by_value);
  for (int q = 0; q < NN_EVAL_QUANTILES; q++)
    o->quantiles[q] = quantile(work, n, nn_eval_quantile_levels[q]);
}

int nn_eval_regression(const float *pred, const float *target, size_t n, int outputs,
                       nn_eval_regress *out, nn_error *err) {
  memset(out, 0, sizeof *out);
  if (n == 0) return nn__fail(err, NN_EINVAL, "target", "there are no rows to evaluate");
  if (outputs < 1) return nn__fail(err, NN_EINVAL, "target", "outputs must be >= 1");
  if (n > SIZE_MAX / sizeof(double) || n > SIZE_MAX / (size_t)outputs)
    return nn__fail(err, NN_ERANGE, "target", "%zu rows are too many", n);
  for (size_t i = 0; i < n * (size_t)outputs; i++)
    if (!isfinite(pred[i]) || !isfinite(target[i]))
      return nn__fail(err, NN_EINVAL, isfinite(pred[i]) ? "target" : "pred",
                      "row %zu has a value that is not finite", i / (size_t)outputs);
  double *work = malloc(n * sizeof *work);
  out->per_output = calloc((size_t)outputs, sizeof *out->per_output);
  if (work == NULL || out->per_output == NULL) {
    free(work);
    nn_eval_regress_clear(out);
    return nn__fail(err, NN_ENOMEM, NULL, "out of memory evaluating %zu rows", n);
  }
  out->rows = n;
  out->outputs = outputs;
  nn_eval_output *m = &out->mean;
  for (int c = 0; c < outputs; c++) {
    nn_eval_output *o = &out->per_output[c];
    column(pred, target, n, outputs, c, work, o);
    m->mse += o->mse;
    m->rmse += o->rmse;
    m->mae += o->mae;
    m->median_absolute_error += o->median_absolute_error;
    m->r2 += o->r2; /* NAN stays NAN */
    m->explained_variance += o->explained_variance;
    m->max_error = fmax(m->max_error, o->max_error);
  }
  m->mse /= outputs; /* the sums over columns to their means */
  m->rmse /= outputs;
  m->mae /= outputs;
  m->median_absolute_error /= outputs;
  m->r2 /= outputs;
  m->explained_variance /= outputs;
  for (int q = 0; q < NN_EVAL_QUANTILES; q++) m->quantiles[q] = NAN;
  out->r2_undefined = isnan(m->r2) ? too_few : NULL;
  free(work);
  return NN_OK;
}

size_t nn_eval_sample_rows(size_t n, size_t max, size_t *rows) {
  size_t m = n < max ? n : max;
  size_t q = m ? n / m : 0, r = m ? n % m : 0;
  /* floor(i n / m) = i q + floor(i r / m) for n = q m + r; i r < m^2 does not overflow */
  for (size_t i = 0; i < m; i++) rows[i] = i * q + i * r / m;
  return m;
}
