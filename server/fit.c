/* fit.c — stored spec, dataset and weights to core objects (fit.h). */
#include "fit.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "parse_spec.h"

int fit_spec(const store_model *m, nn_spec *spec, api_error *err) {
  cJSON *root = NULL;
  char name[PARSE_NAME_MAX + 1];
  int rc = parse_json_body(m->spec, strlen(m->spec), &root, err);
  if (rc == 0) rc = parse_spec(root, spec, name, err);
  cJSON_Delete(root);
  if (rc != 0)
    return api_fail(err, API_INTERNAL, NULL, "the stored spec of model %lld is unreadable",
                    (long long)m->id);
  return 0;
}

int fit_model_load(store *st, int64_t id, const char *field, store_model *row, nn_spec *spec,
                   api_error *err) {
  int rc = store_model_get(st, id, row);
  if (rc != STORE_OK) return api_store_fail(err, rc, "model", field, id);
  return fit_spec(row, spec, err);
}

int fit_check(const store_dataset *d, const nn_spec *spec, int64_t model_id, api_error *err) {
  long long did = (long long)d->id, mid = (long long)model_id;
  int units = nn_spec_outputs(spec);
  long long n = (long long)d->outputs;
  const char *loss = nn_name(NN_NAMES_LOSS, spec->loss);
  int classification = d->task == STORE_TASK_CLASSIFICATION;
  if (d->features != spec->inputs)
    return api_fail(err, API_UNPROCESSABLE, "dataset",
                    "dataset %lld has %lld features but model %lld takes %d inputs", did,
                    (long long)d->features, mid, spec->inputs);
  switch (spec->loss) {
    case NN_LOSS_MSE:
      if (classification)
        return api_fail(err, API_UNPROCESSABLE, "dataset",
                        "dataset %lld is a classification dataset but model %lld uses loss mse; "
                        "classification needs cross_entropy (softmax output) or "
                        "binary_cross_entropy (sigmoid output)",
                        did, mid);
      break;
    case NN_LOSS_CROSS_ENTROPY:
      if (!classification)
        return api_fail(err, API_UNPROCESSABLE, "dataset",
                        "dataset %lld is a regression dataset but model %lld uses loss "
                        "cross_entropy, which needs class labels",
                        did, mid);
      break;
    case NN_LOSS_BCE:
      if (classification && n == 2 && units == 1) return 0;
      break;
  }
  const char *need = !classification ? "one unit per target column"
                     : spec->loss == NN_LOSS_BCE ? "one unit per class, or 1 unit for 2 classes"
                                                 : "one unit per class";
  if (n != units)
    return api_fail(err, API_UNPROCESSABLE, "dataset",
                    "dataset %lld has %lld %s but the last layer of model %lld has %d units "
                    "(loss %s needs %s)",
                    did, n, classification ? "classes" : "outputs", mid, units, loss, need);
  return 0;
}

int fit_dataset_load(store *st, int64_t id, const nn_spec *spec, int64_t model_id,
                     store_dataset *meta, api_error *err) {
  int rc = store_dataset_get(st, id, meta);
  if (rc != STORE_OK) return api_store_fail(err, rc, "dataset", "dataset", id);
  return fit_check(meta, spec, model_id, err);
}

int fit_data_load(store *st, int64_t id, size_t rows, const nn_spec *spec, int64_t model_id,
                  fit_data *out, api_error *err) {
  size_t read = 0;
  memset(out, 0, sizeof *out);
  int rc = rows == 0 ? store_dataset_get_data(st, id, &out->meta, &out->data)
                     : store_dataset_sample(st, id, rows, &out->meta, &out->data, &read);
  if (rc != STORE_OK) return api_store_fail(err, rc, "dataset", "dataset", id);
  if ((rc = fit_check(&out->meta, spec, model_id, err)) != 0) return rc;
  nn_data *d = &out->d;
  d->rows = rows == 0 ? (size_t)out->meta.rows : read;
  d->features = (int)out->meta.features;
  d->x = out->data.x;
  if (out->meta.task == STORE_TASK_CLASSIFICATION) {
    d->labels = out->data.labels;
    d->classes = (int)out->meta.outputs;
  } else {
    d->y = out->data.y;
    d->outputs = (int)out->meta.outputs;
  }
  assert(d->x != NULL && (d->labels != NULL) != (d->y != NULL));
  return 0;
}

void fit_data_clear(fit_data *f) {
  store_dataset_data_clear(&f->data);
  store_dataset_clear(&f->meta);
  memset(f, 0, sizeof *f);
}

int fit_weights_load(store *st, int64_t id, int64_t version, fit_weights *out, api_error *err) {
  store_weights w;
  nn_error ne;
  memset(out, 0, sizeof *out);
  int rc = store_model_weights(st, id, version, &w);
  if (rc != STORE_OK) {
    rc = api_store_fail(err, rc, "model", "id", id);
  } else if (w.buf == NULL && version != 0) {
    rc = api_fail(err, API_NOT_FOUND, "version",
                  "model %lld has no version %lld (see GET /v1/models/%lld/versions for the "
                  "versions kept)", (long long)id, (long long)version, (long long)id);
  } else if (w.buf == NULL) {
    rc = api_fail(err, API_CONFLICT, "id", "model %lld has not been trained yet", (long long)id);
  } else if (nn_checkpoint_load(w.buf, w.len, &out->model, NULL, &ne) != NN_OK) {
    rc = api_fail(err, API_INTERNAL, NULL, "the stored weights of model %lld are unreadable",
                  (long long)id);
  } else {
    out->version = w.version;
    out->newest = w.newest;
    out->classes = w.classes;
    w.classes = NULL;
  }
  store_weights_clear(&w);
  return rc;
}

void fit_weights_clear(fit_weights *w) {
  nn_model_free(w->model);
  free(w->classes);
  memset(w, 0, sizeof *w);
}
