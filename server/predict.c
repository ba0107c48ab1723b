/* predict.c — weights from the predict cache, applied to a request's rows. */
#include "predict.h"

#include <stdlib.h>
#include <string.h>

#include "models.h"

int predict_run(app *a, store *st, int64_t model_id, int64_t version, size_t rows,
                predict_fill fill, void *ctx, predict_result *out, api_error *err) {
  nn_weights *w = NULL;
  float *x = NULL, *y = NULL;
  int64_t used = version;
  int rc;
  memset(out, 0, sizeof *out);
  if (version == 0)
    rc = models_acquire(a->models, st, model_id, &w, &used, err);
  else
    rc = models_acquire_version(a->models, st, model_id, version, &w, err);
  if (rc != 0) goto exit;
  const nn_spec *spec = nn_weights_spec(w);
  int width = spec->inputs, outputs = nn_spec_outputs(spec);
  x = malloc(rows * (size_t)width * sizeof *x);   /* (rows, inputs) */
  y = malloc(rows * (size_t)outputs * sizeof *y); /* (rows, outputs) */
  if (x == NULL || y == NULL) {
    rc = api_fail(err, API_INTERNAL, NULL, "out of memory for %zu rows", rows);
    goto exit;
  }
  if ((rc = fill(ctx, width, x, err)) != 0) goto exit;
  if (nn_weights_predict(w, x, rows, y, NULL) != NN_OK) {
    rc = api_fail(err, API_INTERNAL, NULL, "prediction failed (out of memory)");
    goto exit;
  }
  *out = (predict_result){.version = used, .rows = rows, .outputs = outputs, .y = y};
  y = NULL;
exit:
  free(y);
  free(x);
  nn_weights_unref(w);
  return rc;
}

void predict_result_clear(predict_result *r) {
  free(r->y);
  memset(r, 0, sizeof *r);
}
