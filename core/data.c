/*
 * data.c — checking that a data set fits a model, and the per-feature
 * statistics for standardization.
 */
#include <float.h>
#include <math.h>

#include "nn_internal.h"

static int check_values(const float *v, size_t n, const char *field, nn_error *err) {
  for (size_t i = 0; i < n; i++)
    if (!isfinite(v[i]))
      return nn__fail(err, NN_EINVAL, field, "%s holds a non-finite value at element %zu", field, i);
  return NN_OK;
}

static int check_targets(const nn_data *d, const nn_spec *spec, int outputs, nn_error *err) {
  if (d->outputs != outputs)
    return nn__fail(err, NN_ESHAPE, "outputs",
                    "the data set has %d outputs but the model's last layer has %d units",
                    d->outputs, outputs);
  size_t n = d->rows * (size_t)d->outputs;
  int rc = check_values(d->y, n, "targets", err);
  if (rc != NN_OK || spec->loss == NN_LOSS_MSE) return rc;
  for (size_t i = 0; i < n; i++)
    if (d->y[i] < 0.0f || d->y[i] > 1.0f)
      return nn__fail(err, NN_ESHAPE, "targets", "loss %s needs targets in [0, 1]",
                      nn_name(NN_NAMES_LOSS, spec->loss));
  return NN_OK;
}

static int check_labels(const nn_data *d, const nn_spec *spec, int outputs, nn_error *err) {
  if (d->classes < 1)
    return nn__fail(err, NN_EINVAL, "classes", "a labelled data set needs at least one class");
  int fits = d->classes == outputs || (spec->loss == NN_LOSS_BCE && outputs == 1 && d->classes <= 2);
  if (!fits)
    return nn__fail(err, NN_ESHAPE, "outputs",
                    "the data set has %d classes but the model's last layer has %d units",
                    d->classes, outputs);
  for (size_t r = 0; r < d->rows; r++)
    if (d->labels[r] < 0 || d->labels[r] >= d->classes)
      return nn__fail(err, NN_EINVAL, "labels", "label of row %zu is outside [0, %d)", r,
                      d->classes);
  return NN_OK;
}

int nn_data_check(const nn_data *d, const nn_spec *spec, nn_error *err) {
  if (d->rows == 0 || d->x == NULL)
    return nn__fail(err, NN_EINVAL, "inputs", "the data set has no rows");
  if ((d->y == NULL) == (d->labels == NULL))
    return nn__fail(err, NN_EINVAL, "targets", "a data set needs either targets or labels");
  if (d->features != spec->inputs)
    return nn__fail(err, NN_ESHAPE, "features",
                    "the data set has %d features but the model takes %d inputs", d->features,
                    spec->inputs);
  if (d->rows > SIZE_MAX / sizeof(float) / (size_t)d->features)
    return nn__fail(err, NN_ERANGE, "rows", "the data set is too large");
  int rc = check_values(d->x, d->rows * (size_t)d->features, "inputs", err);
  if (rc != NN_OK) return rc;
  int outputs = nn_spec_outputs(spec);
  return d->y != NULL ? check_targets(d, spec, outputs, err) : check_labels(d, spec, outputs, err);
}

/* Mean and (population) std of each feature over the rows listed in idx,
 * row by row for cache-friendly access; acc is (2, features) scratch.
 * Constant features get std 1 so standardization leaves them centred. */
void nn__data_norm(const nn_data *d, const uint32_t *idx, size_t n, float *mean, float *std,
                   double *acc) {
  int f = d->features;
  double *sum = acc, *ss = acc + f;
  for (int j = 0; j < f; j++) sum[j] = ss[j] = 0.0;
  for (size_t i = 0; i < n; i++) {
    const float *x = d->x + (size_t)idx[i] * f;
    for (int j = 0; j < f; j++) sum[j] += x[j];
  }
  for (int j = 0; j < f; j++) sum[j] /= (double)n; /* now the mean */
  for (size_t i = 0; i < n; i++) {
    const float *x = d->x + (size_t)idx[i] * f;
    for (int j = 0; j < f; j++) ss[j] += (x[j] - sum[j]) * (x[j] - sum[j]);
  }
  for (int j = 0; j < f; j++) {
    double sd = sqrt(ss[j] / (double)n);
    mean[j] = (float)sum[j];
    std[j] = sd > 1e-12 ? (float)fmin(sd, FLT_MAX) : 1.0f;
  }
}
