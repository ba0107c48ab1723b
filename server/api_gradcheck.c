/* api_gradcheck.c — a finite-difference check of backprop on a model's
 * published weights and a few rows of a dataset (core's nn_gradcheck). */
#include "api_gradcheck.h"

#include <stdlib.h>

#include "api_jobs.h"
#include "json_out.h"
#include "parse_json.h"
#include "store.h"

typedef struct {
  int64_t dataset;
  int64_t samples;
  nn_gradcheck_config config;
} request;

static int parse_request(const http_request *req, request *r, api_error *err) {
  static const char *const keys[] = {"dataset", "samples", "epsilon", "seed", NULL};
  cJSON *root = NULL;
  int64_t seed = 0;
  nn_gradcheck_defaults(&r->config);
  r->samples = API_GRADCHECK_DEFAULT_SAMPLES;
  int rc = parse_json_body(req->body, req->body_len, &root, err);
  if (rc == 0) rc = parse_json_object(root, NULL, err);
  if (rc == 0) rc = parse_json_known_keys(root, NULL, keys, err);
  if (rc == 0)
    rc = parse_json_int(root, NULL, "dataset", PARSE_REQUIRED, 1, PARSE_MAX_SAFE_INT,
                        &r->dataset, err);
  if (rc == 0)
    rc = parse_json_int(root, NULL, "samples", PARSE_OPTIONAL, 1, API_GRADCHECK_MAX_SAMPLES,
                        &r->samples, err);
  if (rc == 0)
    rc = parse_json_number(root, NULL, "epsilon", PARSE_OPTIONAL, 1e-12, 0.1,
                           &r->config.epsilon, err);
  if (rc == 0)
    rc = parse_json_int(root, NULL, "seed", PARSE_OPTIONAL, 0, PARSE_MAX_SAFE_INT, &seed, err);
  r->config.seed = (uint64_t)seed;
  cJSON_Delete(root);
  return rc;
}

/* The model's published weights as a model: 404, or 409 before training. */
static int load_model(store *st, int64_t id, nn_model **m, int64_t *version, api_error *err) {
  store_weights w;
  nn_error ne;
  int rc = store_model_weights(st, id, 0, &w);
  *version = w.version;
  if (rc == STORE_ENOTFOUND)
    rc = api_fail(err, API_NOT_FOUND, "id", "no model with id %lld", (long long)id);
  else if (rc != STORE_OK)
    rc = api_fail(err, store_api_code(rc), NULL, "database error: %s", store_strerror(rc));
  else if (w.buf == NULL)
    rc = api_fail(err, API_CONFLICT, "id",
                  "model %lld has no weights to check yet: train it first", (long long)id);
  else if (nn_checkpoint_load(w.buf, w.len, m, NULL, &ne) != NN_OK)
    rc = api_fail(err, API_INTERNAL, NULL, "the stored weights of model %lld are unreadable",
                  (long long)id);
  store_weights_clear(&w);
  return rc;
}

/* The sampled rows of the dataset, checked to fit the model as a job's are. */
static int load_rows(store *st, const request *r, const nn_model *m, int64_t model_id,
                     store_dataset *meta, store_dataset_data *data, nn_data *d, api_error *err) {
  size_t rows;
  int rc = store_dataset_sample(st, r->dataset, (size_t)r->samples, meta, data, &rows);
  if (rc == STORE_ENOTFOUND)
    return api_fail(err, API_NOT_FOUND, "dataset", "no dataset with id %lld",
                    (long long)r->dataset);
  if (rc != STORE_OK)
    return api_fail(err, store_api_code(rc), NULL, "database error: %s", store_strerror(rc));
  if ((rc = api_jobs_check_fit(meta, nn_model_spec(m), model_id, err)) != 0) return rc;
  *d = (nn_data){.rows = rows, .features = (int)meta->features, .x = data->x};
  if (meta->task == STORE_TASK_CLASSIFICATION) {
    d->labels = data->labels;
    d->classes = (int)meta->outputs;
  } else {
    d->y = data->y;
    d->outputs = (int)meta->outputs;
  }
  return 0;
}

static cJSON *layer_json(const nn_spec *spec, int l, const nn_gradcheck_layer *g) {
  cJSON *o = json_out_layer_head(spec, l);
  int ok = o != NULL && (g->weights_checked ? cJSON_AddNumberToObject(o, "weight_error",
                                                                      g->weight_error)
                                            : cJSON_AddNullToObject(o, "weight_error")) &&
           (g->biases_checked ? cJSON_AddNumberToObject(o, "bias_error", g->bias_error)
                              : cJSON_AddNullToObject(o, "bias_error")) &&
           cJSON_AddNumberToObject(o, "weights_checked", (double)g->weights_checked) &&
           cJSON_AddNumberToObject(o, "biases_checked", (double)g->biases_checked) &&
           cJSON_AddNumberToObject(o, "skipped", (double)g->skipped);
  if (ok) return o;
  cJSON_Delete(o);
  return NULL;
}

static cJSON *answer(int64_t model_id, int64_t version, const request *r, size_t rows,
                     const nn_spec *spec, const nn_gradcheck_result *g) {
  cJSON *root = cJSON_CreateObject(), *layers = NULL;
  int ok = root != NULL && cJSON_AddNumberToObject(root, "model", (double)model_id) &&
           cJSON_AddNumberToObject(root, "version", (double)version) &&
           cJSON_AddNumberToObject(root, "dataset", (double)r->dataset) &&
           cJSON_AddNumberToObject(root, "samples", (double)rows) &&
           cJSON_AddNumberToObject(root, "epsilon", r->config.epsilon) &&
           cJSON_AddNumberToObject(root, "seed", (double)r->config.seed) &&
           cJSON_AddNumberToObject(root, "loss", g->loss) &&
           cJSON_AddNumberToObject(root, "threshold", g->threshold) &&
           (g->checked ? cJSON_AddNumberToObject(root, "max_error", g->max_error)
                       : cJSON_AddNullToObject(root, "max_error")) &&
           cJSON_AddNumberToObject(root, "checked", (double)g->checked) &&
           cJSON_AddBoolToObject(root, "pass", g->pass) &&
           (layers = cJSON_AddArrayToObject(root, "layers")) != NULL;
  for (int l = 0; ok && l < spec->n_layers; l++)
    ok = cJSON_AddItemToArray(layers, layer_json(spec, l, &g->layers[l]));
  if (ok) return root;
  cJSON_Delete(root);
  return NULL;
}

void api_gradcheck(app *a, const http_request *req, http_response *res) {
  int64_t id = (int64_t)req->ids[0], version = 0;
  request r;
  api_error err;
  nn_error ne;
  nn_model *m = NULL;
  store_dataset meta = {0};
  store_dataset_data data = {0};
  nn_data d;
  nn_gradcheck_result g;
  if (parse_request(req, &r, &err) != 0) {
    http_error(res, &err);
    return;
  }
  store *st = app_store_or_answer(a, res);
  if (st == NULL) return;
  if (load_model(st, id, &m, &version, &err) != 0 ||
      load_rows(st, &r, m, id, &meta, &data, &d, &err) != 0) {
    http_error(res, &err);
    goto out;
  }
  int rc = nn_gradcheck(m, &d, &r.config, &g, &ne);
  if (rc == NN_ENOMEM) {
    http_fail(res, API_INTERNAL, NULL, "out of memory for a gradient check of %zu rows", d.rows);
  } else if (rc != NN_OK) { /* rows the dataset's checks let through but core refuses */
    http_fail(res, API_UNPROCESSABLE, "dataset", "dataset %lld cannot be checked: %s",
              (long long)r.dataset, ne.message);
  } else {
    http_json(res, 200, answer(id, version, &r, d.rows, nn_model_spec(m), &g));
  }
out:
  nn_model_free(m);
  store_dataset_data_clear(&data);
  store_dataset_clear(&meta);
}
