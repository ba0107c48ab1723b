/* fit.c — stored spec, dataset and weights to core objects (fit.h). */
#include "fit.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "../core/table.h"
#include "keyed_hash.h"
#include "parse_dataset.h"
#include "parse_preprocess.h"
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
  /* a table's features are columns: their width is known once encoded (fit_data_load) */
  if (!d->table && spec->inputs == 0)
    return api_fail(err, API_UNPROCESSABLE, "dataset",
                    "model %lld takes its inputs from a table's columns but dataset %lld is "
                    "numbers; give the model inputs, or train it on a table", mid, did);
  if (!d->table && d->features != spec->inputs)
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

/* nn_table_load's reads from a stored table's bytes. */
typedef struct {
  const uint8_t *buf;
  size_t at, len;
} table_reader;

static int table_read(void *ud, void *buf, size_t len) {
  table_reader *r = ud;
  if (len > r->len - r->at) return NN_EFORMAT;
  memcpy(buf, r->buf + r->at, len);
  r->at += len;
  return NN_OK;
}

/* The stored table of dataset meta (its bytes in data). */
static int load_table(const fit_data *f, nn_table **t, api_error *err) {
  keyed_hash_key key;
  nn_error ne;
  table_reader r = {f->data.table, 0, f->data.table_len};
  if (keyed_hash_key_new(&key) != 0)
    return api_fail(err, API_INTERNAL, NULL, "no random source for a table's hash key");
  if (nn_table_load(f->data.table_len, table_read, &r, key.bytes, t, &ne) != NN_OK)
    return api_fail(err, API_INTERNAL, NULL, "the stored table of dataset %lld is unreadable",
                    (long long)f->meta.id);
  return 0;
}

/* The spec's "preprocess" member of model_id, parsed into *root (NULL: none). */
static int load_preprocess(store *st, int64_t model_id, cJSON **root, api_error *err) {
  store_model m;
  *root = NULL;
  int rc = store_model_get(st, model_id, &m);
  if (rc != STORE_OK) rc = api_store_fail(err, rc, "model", "model", model_id);
  else if (parse_json_body(m.spec, strlen(m.spec), root, err) != 0)
    rc = api_fail(err, API_INTERNAL, NULL, "the stored spec of model %lld is unreadable",
                  (long long)model_id);
  store_model_clear(&m);
  return rc;
}

/* Fit the encoding on the training rows of those with a target, and encode
 * these into f->data (x, and y or labels), f->d pointing at them. */
static int encode_table(store *st, fit_data *f, const nn_table *t, size_t rows,
                        const nn_spec *spec, int64_t model_id, const fit_table_how *how,
                        api_error *err) {
  const nn_train_config *split = how != NULL ? how->split : NULL;
  long long did = (long long)f->meta.id, mid = (long long)model_id;
  int target = nn_table_find(t, f->meta.target, strlen(f->meta.target));
  size_t all = nn_table_rows(t), n = 0, n_train;
  uint32_t *kept = NULL, *order = NULL, *train = NULL;
  nn_encode_column *cols = NULL;
  const nn_encode_column **ptrs = NULL;
  nn_encode_options o;
  cJSON *root = NULL;
  nn_error ne;
  int rc = target < 0 ? api_fail(err, API_INTERNAL, NULL, "dataset %lld has no target column", did)
                      : how != NULL && how->encoder != NULL ? 0
                      : load_preprocess(st, model_id, &root, err);
  if (rc != 0) goto out;
  const nn_table_column *tc = nn_table_column_at(t, target);
  kept = malloc(all * sizeof *kept);     /* (all,) rows with a target */
  order = malloc(all * sizeof *order);   /* (n,) their split */
  train = malloc(all * sizeof *train);   /* (n_train,) table rows that train */
  if (kept == NULL || order == NULL || train == NULL) goto nomem;
  for (size_t r = 0; r < all; r++)
    if (!tc->is_missing[r]) kept[n++] = (uint32_t)r;
  assert(n > 0); /* the upload refused a table without one */
  if (split != NULL) {
    n_train = nn_train_split(n, split, order);
  } else {
    n_train = n;
    for (size_t i = 0; i < n; i++) order[i] = (uint32_t)i;
  }
  for (size_t i = 0; i < n_train; i++) train[i] = kept[order[i]];
  const nn_encoder *enc = how != NULL ? how->encoder : NULL;
  if (enc != NULL) goto encode;
  rc = parse_preprocess_options(cJSON_GetObjectItemCaseSensitive(root, "preprocess"), t, target,
                                &o, &cols, &ptrs, err);
  if (rc != 0) goto out;
  keyed_hash_key key;
  if (keyed_hash_key_new(&key) != 0) goto nomem;
  memcpy(o.hash_key, key.bytes, sizeof o.hash_key);
  if ((rc = nn_encoder_fit(t, train, n_train, &o, &f->encoder, &ne)) != NN_OK) {
    rc = rc == NN_ENOMEM ? api_fail(err, API_INTERNAL, NULL, "out of memory")
                         : api_fail(err, API_UNPROCESSABLE, "dataset",
                                    "dataset %lld cannot train model %lld: %s", did, mid,
                                    ne.message);
    goto out;
  }
  enc = f->encoder;
  if (nn_encoder_save(enc, &f->encoding, &f->encoding_len) != NN_OK) goto nomem;
encode:;
  int width = nn_encoder_width(enc);
  if (spec->inputs != 0 && spec->inputs != width) {
    rc = api_fail(err, API_UNPROCESSABLE, "dataset",
                  "dataset %lld encodes to %d inputs but model %lld takes %d", did, width, mid,
                  spec->inputs);
    goto out;
  }
  if (rows != 0 && rows < n) n = rows; /* a sample: the first rows */
  size_t x_bytes = parse_matrix_bytes(n, (size_t)width);
  int classification = f->meta.task == STORE_TASK_CLASSIFICATION;
  if (x_bytes == 0) {
    rc = api_fail(err, API_UNPROCESSABLE, "dataset", "dataset %lld encodes to more than %zu "
                  "values", did, PARSE_DATASET_MAX_VALUES);
    goto out;
  }
  f->data.x = malloc(x_bytes); /* (n, width) */
  if (classification) f->data.labels = malloc(n * sizeof *f->data.labels);
  else f->data.y = malloc(n * sizeof *f->data.y);
  if (f->data.x == NULL || (f->data.labels == NULL && f->data.y == NULL)) goto nomem;
  if ((rc = nn_encoder_apply(enc, t, kept, n, f->data.x, &ne)) != NN_OK ||
      (rc = nn_encoder_apply_target(enc, t, kept, n, f->data.y, f->data.labels, &ne)) != NN_OK) {
    rc = rc == NN_ENOMEM ? api_fail(err, API_INTERNAL, NULL, "out of memory")
                         : api_fail(err, API_UNPROCESSABLE, "dataset", "dataset %lld: %s", did,
                                    ne.message);
    goto out;
  }
  f->d.rows = n;
  f->d.features = width;
  f->d.x = f->data.x;
  f->d.y = f->data.y;
  f->d.labels = f->data.labels;
  if (classification) f->d.classes = (int)f->meta.outputs;
  else f->d.outputs = 1;
  goto out;
nomem:
  rc = api_fail(err, API_INTERNAL, NULL, "out of memory");
out:
  free(kept);
  free(order);
  free(train);
  free(cols);
  free(ptrs);
  cJSON_Delete(root);
  return rc;
}

int fit_data_load(store *st, int64_t id, size_t rows, const nn_spec *spec, int64_t model_id,
                  const fit_table_how *how, fit_data *out, api_error *err) {
  size_t read = 0;
  memset(out, 0, sizeof *out);
  int rc = rows == 0 ? store_dataset_get_data(st, id, &out->meta, &out->data)
                     : store_dataset_sample(st, id, rows, &out->meta, &out->data, &read);
  if (rc == STORE_EINVAL && rows != 0) /* a table, read whole: its sample is its first rows */
    rc = store_dataset_get_data(st, id, &out->meta, &out->data);
  if (rc != STORE_OK) return api_store_fail(err, rc, "dataset", "dataset", id);
  if ((rc = fit_check(&out->meta, spec, model_id, err)) != 0) return rc;
  if (out->meta.table) {
    nn_table *t = NULL;
    rc = load_table(out, &t, err);
    if (rc == 0) rc = encode_table(st, out, t, rows, spec, model_id, how, err);
    nn_table_free(t);
    return rc;
  }
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
  nn_encoder_free(f->encoder);
  free(f->encoding);
  store_dataset_data_clear(&f->data);
  store_dataset_clear(&f->meta);
  memset(f, 0, sizeof *f);
}

static int load_encoding(const store_weights *w, nn_encoder **e) {
  keyed_hash_key key;
  nn_error ne;
  if (keyed_hash_key_new(&key) != 0) return -1;
  return nn_encoder_load(w->encoding, w->encoding_len, key.bytes, e, &ne) == NN_OK ? 0 : -1;
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
  } else if (w.encoding != NULL && load_encoding(&w, &out->encoder) != 0) {
    rc = api_fail(err, API_INTERNAL, NULL, "the stored encoding of model %lld is unreadable",
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
  nn_encoder_free(w->encoder);
  free(w->classes);
  memset(w, 0, sizeof *w);
}
