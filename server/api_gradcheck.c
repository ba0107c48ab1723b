/* api_gradcheck.c — a finite-difference check of backprop on a model's
 * published weights and a few rows of a dataset (core's nn_gradcheck; a
 * graph model's nn_gradcheck_graph, answered per parameter node). */
#include "api_gradcheck.h"

#include <math.h>
#include <stdlib.h>

#include "../core/graph.h"

#include "fit.h"
#include "json_out.h"
#include "parse_json.h"

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
  r->config.epsilon = NAN; /* the default depends on the model */
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

/* What every answer says: the request, the totals, and the array list
 * (*items) that the layers or nodes go in; NULL when out of memory. */
static cJSON *head(int64_t model_id, int64_t version, const request *r, size_t rows,
                   double loss, double threshold, double max_error, size_t checked, int pass,
                   const char *list, cJSON **items) {
  cJSON *root = cJSON_CreateObject();
  int ok = root != NULL && cJSON_AddNumberToObject(root, "model", (double)model_id) &&
           cJSON_AddNumberToObject(root, "version", (double)version) &&
           cJSON_AddNumberToObject(root, "dataset", (double)r->dataset) &&
           cJSON_AddNumberToObject(root, "samples", (double)rows) &&
           cJSON_AddNumberToObject(root, "epsilon", r->config.epsilon) &&
           cJSON_AddNumberToObject(root, "seed", (double)r->config.seed) &&
           cJSON_AddNumberToObject(root, "loss", loss) &&
           cJSON_AddNumberToObject(root, "threshold", threshold) &&
           (checked ? cJSON_AddNumberToObject(root, "max_error", max_error)
                    : cJSON_AddNullToObject(root, "max_error")) &&
           cJSON_AddNumberToObject(root, "checked", (double)checked) &&
           cJSON_AddBoolToObject(root, "pass", pass) &&
           (*items = cJSON_AddArrayToObject(root, list)) != NULL;
  if (ok) return root;
  cJSON_Delete(root);
  return NULL;
}

/* A graph model's answer: the head, then its parameter nodes. */
static cJSON *graph_answer(int64_t model_id, int64_t version, const request *r, size_t rows,
                           const nn_spec *spec, const nn_gradcheck_graph_result *g) {
  cJSON *nodes = NULL, *root = head(model_id, version, r, rows, g->loss, g->threshold,
                                    g->max_error, g->checked, g->pass, "nodes", &nodes);
  int ok = root != NULL;
  for (int i = 0; ok && i < spec->graph->n_nodes; i++) {
    const nn_node_spec *n = &spec->graph->nodes[i];
    const nn_gradcheck_node *c = &g->nodes[i];
    if (c->checked == 0 && c->skipped == 0) continue; /* no parameters, or none checked */
    cJSON *o = cJSON_CreateObject();
    ok = o != NULL && cJSON_AddItemToArray(nodes, o) &&
         cJSON_AddStringToObject(o, "name", n->name) &&
         cJSON_AddStringToObject(o, "op", nn_op_name(n->op)) &&
         (c->checked ? cJSON_AddNumberToObject(o, "error", c->error)
                     : cJSON_AddNullToObject(o, "error")) &&
         cJSON_AddNumberToObject(o, "checked", (double)c->checked) &&
         cJSON_AddNumberToObject(o, "skipped", (double)c->skipped);
  }
  if (ok) return root;
  cJSON_Delete(root);
  return NULL;
}

static cJSON *answer(int64_t model_id, int64_t version, const request *r, size_t rows,
                     const nn_spec *spec, const nn_gradcheck_result *g) {
  cJSON *layers = NULL, *root = head(model_id, version, r, rows, g->loss, g->threshold,
                                     g->max_error, g->checked, g->pass, "layers", &layers);
  int ok = root != NULL;
  for (int l = 0; ok && l < spec->n_layers; l++)
    ok = cJSON_AddItemToArray(layers, layer_json(spec, l, &g->layers[l]));
  if (ok) return root;
  cJSON_Delete(root);
  return NULL;
}

void api_gradcheck(app *a, const http_request *req, http_response *res) {
  int64_t id = (int64_t)req->ids[0];
  request r;
  api_error err;
  nn_error ne;
  fit_weights w = {0};
  fit_data rows = {0};
  nn_gradcheck_result g;
  if (parse_request(req, &r, &err) != 0) {
    http_error(res, &err);
    return;
  }
  store *st = app_store_or_answer(a, res);
  if (st == NULL) return;
  /* the rows sampled from the dataset, checked to fit the model as a job's are */
  if (fit_weights_load(st, id, 0, &w, &err) != 0 ||
      fit_data_load(st, r.dataset, (size_t)r.samples, nn_model_spec(w.model), id,
                    &(fit_table_how){.encoder = w.encoder}, &rows,
                    &err) != 0) {
    http_error(res, &err);
    goto out;
  }
  const nn_spec *spec = nn_model_spec(w.model);
  nn_gradcheck_graph_result *gg = NULL;
  int rc;
  if (isnan(r.config.epsilon))
    r.config.epsilon = spec->graph != NULL ? NN_GRAPH_GRADCHECK_EPSILON : NN_GRADCHECK_EPSILON;
  if (spec->graph == NULL)
    rc = nn_gradcheck(w.model, &rows.d, &r.config, &g, &ne);
  else
    rc = (gg = malloc(sizeof *gg)) == NULL
             ? NN_ENOMEM
             : nn_gradcheck_graph(w.model, &rows.d, &r.config, gg, &ne);
  if (rc == NN_ENOMEM) {
    http_fail(res, API_INTERNAL, NULL, "out of memory for a gradient check of %zu rows",
              rows.d.rows);
  } else if (rc != NN_OK) { /* rows the dataset's checks let through but core refuses */
    http_fail(res, API_UNPROCESSABLE, "dataset", "dataset %lld cannot be checked: %s",
              (long long)r.dataset, ne.message);
  } else if (gg != NULL) {
    http_json(res, 200, graph_answer(id, w.version, &r, rows.d.rows, spec, gg));
  } else {
    http_json(res, 200, answer(id, w.version, &r, rows.d.rows, spec, &g));
  }
  free(gg);
out:
  fit_weights_clear(&w);
  fit_data_clear(&rows);
}
