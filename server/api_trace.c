/*
 * api_trace.c — the chain rule at work on one example (api_trace.h).
 *
 * The weights come from the store as a model (fit.c), the example through
 * the predict paths' readers (numbers, or a raw record through the weights'
 * encoding), the trace itself from core/trace.c. What is left here is
 * reading the target in the user's terms (a class name, a value in the
 * target's units) and writing every node out: tensors of any size become a
 * summary, with their values when they are small.
 */
#include "api_trace.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/trace.h"
#include "fit.h"
#include "json_out.h"
#include "parse_json.h"
#include "predict_records.h"

/* What the backward pass of each op does with the gradient that arrives. */
static const char *rule(const nn_node_spec *n) {
  int act = n->activation != NN_ACT_LINEAR;
  switch (n->op) {
  case NN_OP_DENSE:
    return act ? "y = act(z), z = x W^T + b; dL/dz = dL/dy * act'(z), dL/dx = dL/dz W, "
                 "dL/dW = (dL/dz)^T x, dL/db = dL/dz"
               : "z = x W^T + b; dL/dx = dL/dz W, dL/dW = (dL/dz)^T x, dL/db = dL/dz";
  case NN_OP_CONV1D:
  case NN_OP_CONV2D:
    return act ? "y = act(z), z = W (*) x + b (cross-correlation); dL/dz = dL/dy * act'(z), "
                 "dL/dx = dL/dz correlated with W flipped (a transposed conv), "
                 "dL/dW = x (*) dL/dz, dL/db = sum of dL/dz over positions"
               : "z = W (*) x + b (cross-correlation); dL/dx = dL/dz correlated with W flipped "
                 "(a transposed conv), dL/dW = x (*) dL/dz, dL/db = sum of dL/dz over positions";
  case NN_OP_RELU: return "y = max(x, 0); dL/dx = dL/dy * (x > 0)";
  case NN_OP_LEAKY_RELU: return "y = x > 0 ? x : slope x; dL/dx = dL/dy * (x > 0 ? 1 : slope)";
  case NN_OP_SIGMOID: return "y = 1 / (1 + e^-x); dL/dx = dL/dy * y (1 - y)";
  case NN_OP_TANH: return "y = tanh x; dL/dx = dL/dy * (1 - y^2)";
  case NN_OP_SOFTMAX: return "y = softmax(x); dL/dx = y * (dL/dy - sum(y * dL/dy))";
  case NN_OP_DROPOUT: return "the identity at inference; dL/dx = dL/dy";
  case NN_OP_ADD:
    return "y = a + b; dL/da = dL/dy, dL/db = dL/dy (each summed over the axes it was "
           "broadcast along)";
  case NN_OP_SUB:
    return "y = a - b; dL/da = dL/dy, dL/db = -dL/dy (each summed over the axes it was "
           "broadcast along)";
  case NN_OP_MUL:
    return "y = a * b; the product rule: dL/da = dL/dy * b, dL/db = dL/dy * a (each summed "
           "over the axes it was broadcast along)";
  case NN_OP_CONCAT:
    return "y = the inputs side by side along axis; each input's dL/dx is its part of dL/dy";
  case NN_OP_SLICE:
    return "y = x[start:end] along axis; dL/dx = dL/dy inside [start, end), 0 outside";
  case NN_OP_RESHAPE: return "y = x in a new shape; dL/dx = dL/dy in x's shape";
  case NN_OP_FLATTEN: return "y = x as a vector; dL/dx = dL/dy in x's shape";
  case NN_OP_EMBEDDING:
    return "y = E[code]; dL/dE[code] += dL/dy (a scatter-add: a code read twice sums both); "
           "codes take no gradient";
  case NN_OP_LAYERNORM:
    return "h = (x - mean) / sqrt(var + eps) over the last axis, y = gain h + bias; "
           "dL/dgain = dL/dy h, dL/dbias = dL/dy, dL/dx = (d - mean(d) - h mean(d h)) / "
           "sqrt(var + eps) with d = gain dL/dy";
  case NN_OP_BATCHNORM:
    return "at inference h = (x - running mean) / sqrt(running var + eps) per channel, "
           "y = gain h + bias; dL/dx = dL/dy gain / sqrt(running var + eps), "
           "dL/dgain = sum dL/dy h, dL/dbias = sum dL/dy (over positions)";
  case NN_OP_MAXPOOL:
    return "y = the largest x of each window; dL/dx = dL/dy at that entry, 0 at the others";
  case NN_OP_AVGPOOL:
    return "y = the mean of each window; dL/dx = dL/dy / (window size) at each of its entries";
  case NN_OP_GLOBAL_AVGPOOL:
    return "y_c = the mean of channel c over its positions; dL/dx_c = dL/dy_c / positions";
  case NN_OP_COUNT: break;
  }
  return "";
}

/* The loss with its head, as training fuses them. */
static const char *loss_rule(nn_loss loss, nn_act head) {
  if (loss == NN_LOSS_CROSS_ENTROPY)
    return "p = softmax(z); L = -sum t log p; dL/dz = p - t";
  if (loss == NN_LOSS_BCE)
    return head == NN_ACT_SIGMOID ? "p = sigmoid(z); L = mean -(t log p + (1 - t) log(1 - p)); "
                                    "dL/dz = (p - t) / k"
                                  : "L = mean -(t log y + (1 - t) log(1 - y))";
  return "L = mean (y - t)^2; dL/dy = 2 (y - t) / k";
}

/* {"shape":[...],"min","max","mean","norm"[,"values":[...]]}; NULL v: null. */
static cJSON *tensor(const float *v, size_t n, const int *dims, int rank) {
  if (v == NULL) return cJSON_CreateNull();
  cJSON *t = cJSON_CreateObject(), *shape = cJSON_AddArrayToObject(t, "shape");
  for (int i = 0; i < rank; i++) cJSON_AddItemToArray(shape, cJSON_CreateNumber(dims[i]));
  double lo = INFINITY, hi = -INFINITY, sum = 0, sq = 0;
  for (size_t i = 0; i < n; i++) {
    lo = fmin(lo, v[i]), hi = fmax(hi, v[i]);
    sum += v[i], sq += (double)v[i] * v[i];
  }
  cJSON_AddItemToObject(t, "min", json_out_float((float)lo));
  cJSON_AddItemToObject(t, "max", json_out_float((float)hi));
  cJSON_AddItemToObject(t, "mean", json_out_float((float)(sum / (double)n)));
  cJSON_AddItemToObject(t, "norm", json_out_float((float)sqrt(sq)));
  if (n <= API_TRACE_FULL) {
    cJSON *values = cJSON_AddArrayToObject(t, "values");
    for (size_t i = 0; i < n; i++) cJSON_AddItemToArray(values, json_out_float(v[i]));
  }
  return t;
}

static cJSON *value_tensor(const nn_graph *g, int v, const float *data) {
  const nn_shape *s = nn_graph_shape(g, v);
  return tensor(data, nn_shape_size(s), s->dim, s->rank);
}

/* {"value": tensor, "grad": tensor} of a parameter tensor at w, dw. */
static void param(cJSON *p, const char *name, const float *w, const float *dw, const int *dims,
                  int rank) {
  size_t k = 1;
  for (int i = 0; i < rank; i++) k *= (size_t)dims[i];
  cJSON *o = cJSON_AddObjectToObject(p, name);
  cJSON_AddItemToObject(o, "value", tensor(w, k, dims, rank));
  cJSON_AddItemToObject(o, "grad", tensor(dw, k, dims, rank));
}

/* A node's parameters in PyTorch's layouts (graph.h): dense and conv weight
 * then bias, an embedding's table, a norm's gain then bias; NULL for none. */
static cJSON *params_json(const nn_graph *g, int node, const nn_node_spec *n) {
  size_t off, count;
  nn_graph_node_params(g, node, &off, &count);
  if (count == 0) return NULL;
  const float *w = nn_graph_params((nn_graph *)g) + off, *dw = nn_graph_grads(g) + off;
  const nn_shape *in = nn_graph_shape(g, nn_graph_find(g, n->inputs[0]));
  cJSON *p = cJSON_CreateObject();
  int half = (int)(count / 2);
  switch (n->op) {
  case NN_OP_DENSE: {
    int units = n->units, k = (int)(count / (size_t)units) - 1;
    param(p, "weight", w, dw, (int[]){units, k}, 2);
    param(p, "bias", w + count - (size_t)units, dw + count - (size_t)units, &units, 1);
    break;
  }
  case NN_OP_CONV1D:
  case NN_OP_CONV2D: {
    int f = n->filters, two = n->op == NN_OP_CONV2D;
    int dims[4] = {f, in->dim[0], n->kernel[0], n->kernel[1]};
    param(p, "weight", w, dw, dims, two ? 4 : 3);
    param(p, "bias", w + count - (size_t)f, dw + count - (size_t)f, &f, 1);
    break;
  }
  case NN_OP_EMBEDDING:
    param(p, "table", w, dw, (int[]){n->categories, n->dim}, 2);
    break;
  default: /* layernorm, batchnorm: gain then bias */
    param(p, "gain", w, dw, &half, 1);
    param(p, "bias", w + half, dw + half, &half, 1);
    break;
  }
  return p;
}

/* A batchnorm node's running statistics, which inference normalizes with:
 * {"running_mean", "running_var"}; NULL for a node without state. */
static cJSON *state_json(const nn_graph *g, int node) {
  size_t off, count;
  nn_graph_node_state(g, node, &off, &count);
  if (count == 0) return NULL;
  const float *st = nn_graph_state((nn_graph *)g) + off;
  int c = (int)(count / 2);
  cJSON *o = cJSON_CreateObject();
  cJSON_AddItemToObject(o, "running_mean", tensor(st, (size_t)c, &c, 1));
  cJSON_AddItemToObject(o, "running_var", tensor(st + c, (size_t)c, &c, 1));
  return o;
}

/* The graph's inputs: the raw example's columns in order, their values and
 * gradients (null for codes, which take none). */
static void inputs_json(const nn_graph *g, const float *raw, cJSON *nodes) {
  size_t col = 0;
  for (int v = 0; v < nn_graph_values(g) - nn_graph_nodes(g); v++) {
    const nn_shape *s = nn_graph_shape(g, v);
    cJSON *x = cJSON_CreateObject();
    cJSON_AddStringToObject(x, "name", nn_graph_input_name(g, v));
    cJSON_AddStringToObject(x, "op", "input");
    cJSON_AddItemToObject(x, "raw", tensor(raw + col, nn_shape_size(s), s->dim, s->rank));
    cJSON_AddItemToObject(x, "value", value_tensor(g, v, nn_graph_value(g, v)));
    cJSON_AddItemToObject(x, "grad", value_tensor(g, v, nn_graph_value_grad(g, v)));
    cJSON_AddItemToArray(nodes, x);
    col += nn_shape_size(s);
  }
}

static cJSON *nodes_json(const nn_trace *t, const float *raw) {
  const nn_graph *g = nn_trace_graph(t);
  cJSON *nodes = cJSON_CreateArray();
  int ni = nn_graph_values(g) - nn_graph_nodes(g);
  inputs_json(g, raw, nodes);
  for (int i = 0; i < nn_graph_nodes(g); i++) {
    const nn_node_spec *n = nn_graph_node(g, i);
    int v = ni + i, layer = nn_trace_layer(t, i);
    cJSON *o = cJSON_CreateObject(), *inputs, *p;
    cJSON_AddStringToObject(o, "name", n->name);
    cJSON_AddStringToObject(o, "op", nn_op_name(n->op));
    if (layer >= 0) cJSON_AddNumberToObject(o, "layer", layer);
    inputs = cJSON_AddArrayToObject(o, "inputs");
    for (int j = 0; j < n->n_inputs; j++)
      cJSON_AddItemToArray(inputs, cJSON_CreateString(n->inputs[j]));
    const nn_shape *s = nn_graph_shape(g, v);
    cJSON *shape = cJSON_AddArrayToObject(o, "shape");
    for (int j = 0; j < s->rank; j++) cJSON_AddItemToArray(shape, cJSON_CreateNumber(s->dim[j]));
    cJSON_AddItemToObject(o, "value", value_tensor(g, v, nn_graph_value(g, v)));
    cJSON_AddItemToObject(o, "grad", value_tensor(g, v, nn_graph_value_grad(g, v)));
    if ((p = params_json(g, i, n)) != NULL) cJSON_AddItemToObject(o, "params", p);
    if ((p = state_json(g, i)) != NULL) cJSON_AddItemToObject(o, "state", p);
    float *local = malloc(nn_shape_size(s) * sizeof *local);
    if (local != NULL && nn_trace_local(t, i, local) == NN_OK)
      cJSON_AddItemToObject(o, "local", value_tensor(g, v, local));
    free(local);
    cJSON_AddStringToObject(o, "rule", rule(n));
    cJSON_AddItemToArray(nodes, o);
  }
  return nodes;
}

/* ---- the request ---------------------------------------------------------------- */

typedef struct {
  cJSON *root;
  const cJSON *input, *record, *target;
  int64_t version; /* 0: the newest */
} request;

static int parse_request(const http_request *req, request *r, api_error *err) {
  static const char *const keys[] = {"input", "record", "target", "version", NULL};
  memset(r, 0, sizeof *r);
  int rc = parse_json_body(req->body, req->body_len, &r->root, err);
  if (rc == 0) rc = parse_json_object(r->root, NULL, err);
  if (rc == 0) rc = parse_json_known_keys(r->root, NULL, keys, err);
  if (rc == 0)
    rc = parse_json_int(r->root, NULL, "version", PARSE_OPTIONAL, 1, PARSE_MAX_SAFE_INT,
                        &r->version, err);
  if (rc != 0) return rc;
  r->input = cJSON_GetObjectItemCaseSensitive(r->root, "input");
  r->record = cJSON_GetObjectItemCaseSensitive(r->root, "record");
  r->target = cJSON_GetObjectItemCaseSensitive(r->root, "target");
  if (r->input != NULL && r->record != NULL)
    return api_fail(err, API_INVALID_ARGUMENT, "record", "send input or record, not both");
  if (r->input == NULL && r->record == NULL)
    return api_fail(err, API_INVALID_ARGUMENT, "input",
                    "input (an array of numbers) or record (for a model trained on a table) "
                    "is required");
  if (r->target == NULL)
    return api_fail(err, API_INVALID_ARGUMENT, "target",
                    "target is required: the class or value the loss compares with");
  return 0;
}

/* n finite numbers of a JSON array (or a lone number when n is 1) into v. */
static int numbers(const cJSON *a, int n, const char *field, float *v, api_error *err) {
  const cJSON *c;
  int k = 0;
  if (n == 1 && cJSON_IsNumber(a)) {
    if (!isfinite(a->valuedouble) || fabs(a->valuedouble) > FLT_MAX) goto bad;
    v[0] = (float)a->valuedouble;
    return 0;
  }
  if (!cJSON_IsArray(a)) goto bad;
  cJSON_ArrayForEach(c, a) {
    double d = cJSON_IsNumber(c) ? c->valuedouble : NAN;
    if (k == n || !isfinite(d) || fabs(d) > FLT_MAX) goto bad;
    v[k++] = (float)d;
  }
  if (k == n) return 0;
bad:
  return api_fail(err, API_INVALID_ARGUMENT, field, "%s must be %s%d finite number%s", field,
                  n == 1 ? "a finite number or an array of " : "an array of ", n,
                  n == 1 ? "" : "s");
}

/* The example's features (the model's input width) into x. */
static int features(const request *r, const fit_weights *w, int width, float *x,
                    api_error *err) {
  if (r->input != NULL) return numbers(r->input, width, "input", x, err);
  if (w->encoder == NULL)
    return api_fail(err, API_INVALID_ARGUMENT, "record",
                    "this model was trained on numbers: send input, an array of %d numbers",
                    width);
  if (!cJSON_IsObject(r->record))
    return api_fail(err, API_INVALID_ARGUMENT, "record", "record must be an object of column "
                    "values");
  cJSON *one = cJSON_CreateArray();
  if (one == NULL || !cJSON_AddItemReferenceToArray(one, (cJSON *)r->record)) {
    cJSON_Delete(one);
    return api_fail(err, API_INTERNAL, NULL, "out of memory");
  }
  int rc = predict_records_read(one, w->encoder, x, err);
  cJSON_Delete(one);
  /* "records[0].Sex" is the request's "record.Sex" */
  if (rc != 0 && strncmp(err->field, "records[0]", 10) == 0) {
    char field[sizeof err->field];
    snprintf(field, sizeof field, "record%s", err->field + 10);
    memcpy(err->field, field, sizeof field);
  }
  return rc;
}

/* The target: a class (its name, or its index) for a classifier, the
 * outputs' values for a regression, standardized as the training target of
 * a table was. Sets y (outputs,) and *has_y, or *label. */
static int target(const request *r, const fit_weights *w, float *y, int *has_y,
                  int32_t *label, api_error *err) {
  const nn_spec *s = nn_model_spec(w->model);
  int outputs = nn_spec_outputs(s);
  const cJSON *t = r->target;
  *has_y = 0;
  if (w->classes == NULL && s->loss == NN_LOSS_MSE) { /* a regression */
    int rc = numbers(t, outputs, "target", y, err);
    nn_target_kind kind;
    double mean, scale;
    int classes;
    if (rc == 0 && w->encoder != NULL &&
        nn_encoder_target(w->encoder, &kind, &mean, &scale, &classes) != NULL &&
        kind == NN_TARGET_REGRESSION)
      for (int k = 0; k < outputs; k++) y[k] = (float)((y[k] - mean) / scale); /* z */
    *has_y = rc == 0;
    return rc;
  }
  if (s->loss == NN_LOSS_BCE && outputs > 1 && cJSON_IsArray(t)) { /* several 0/1 targets */
    *has_y = 1;
    return numbers(t, outputs, "target", y, err);
  }
  cJSON *names = w->classes != NULL ? cJSON_Parse(w->classes) : NULL;
  int n = names != NULL ? cJSON_GetArraySize(names) : outputs == 1 ? 2 : outputs, rc = 0;
  *label = -1;
  if (cJSON_IsString(t)) {
    for (int k = 0; k < n && names != NULL && *label < 0; k++)
      if (strcmp(cJSON_GetStringValue(cJSON_GetArrayItem(names, k)), t->valuestring) == 0)
        *label = k;
    if (*label < 0)
      rc = api_fail(err, API_INVALID_ARGUMENT, "target", "\"%.64s\" is not a class of "
                    "this model", t->valuestring);
  } else if (cJSON_IsNumber(t) && t->valuedouble == floor(t->valuedouble) &&
             t->valuedouble >= 0 && t->valuedouble < n) {
    *label = (int32_t)t->valuedouble;
  } else {
    rc = api_fail(err, API_INVALID_ARGUMENT, "target", "target must be a class name or a "
                  "class index in 0..%d", n - 1);
  }
  cJSON_Delete(names);
  return rc;
}

/* The class the output names, as predict's labels do, or NULL. */
static cJSON *label_of(const fit_weights *w, const float *out, int outputs) {
  cJSON *names = w->classes != NULL ? cJSON_Parse(w->classes) : NULL, *label = NULL;
  int n = cJSON_GetArraySize(names), best = 0;
  if (names != NULL && (n == outputs || (outputs == 1 && n == 2))) {
    if (outputs == 1)
      best = out[0] >= 0.5f;
    else
      for (int k = 1; k < outputs; k++) best = out[k] > out[best] ? k : best;
    label = cJSON_CreateString(cJSON_GetStringValue(cJSON_GetArrayItem(names, best)));
  }
  cJSON_Delete(names);
  return label;
}

static cJSON *answer(int64_t id, const fit_weights *w, const nn_trace *t, const float *x,
                     const cJSON *target) {
  const nn_spec *s = nn_model_spec(w->model);
  int outputs = nn_spec_outputs(s);
  cJSON *o = cJSON_CreateObject(), *loss, *label;
  cJSON_AddNumberToObject(o, "model", (double)id);
  cJSON_AddNumberToObject(o, "version", (double)w->version);
  loss = cJSON_AddObjectToObject(o, "loss");
  cJSON_AddStringToObject(loss, "type", nn_name(NN_NAMES_LOSS, s->loss));
  cJSON_AddNumberToObject(loss, "value", nn_trace_loss(t));
  cJSON_AddStringToObject(loss, "rule", loss_rule(s->loss, nn_trace_head(t)));
  cJSON_AddStringToObject(o, "head", nn_name(NN_NAMES_ACT, nn_trace_head(t)));
  cJSON_AddItemToObject(o, "output", tensor(nn_trace_output(t), (size_t)outputs, &outputs, 1));
  if ((label = label_of(w, nn_trace_output(t), outputs)) != NULL)
    cJSON_AddItemToObject(o, "label", label);
  nn_target_kind kind;
  double mean, scale, v[1];
  int classes;
  if (w->encoder != NULL && nn_encoder_target(w->encoder, &kind, &mean, &scale, &classes) &&
      kind == NN_TARGET_REGRESSION) { /* in the target's units, as predict answers */
    nn_encoder_unscale(w->encoder, nn_trace_output(t), 1, v);
    cJSON_AddItemToObject(o, "prediction", cJSON_CreateDoubleArray(v, 1));
  }
  cJSON_AddItemToObject(o, "target", cJSON_Duplicate(target, 1));
  cJSON_AddItemToObject(o, "nodes", nodes_json(t, x));
  return o;
}

void api_trace(app *a, const http_request *req, http_response *res) {
  int64_t id = (int64_t)req->ids[0];
  request r;
  api_error err;
  fit_weights w = {0};
  nn_trace *t = NULL;
  float *x = NULL, *y = NULL;
  int has_y = 0;
  int32_t label = 0;
  store *st;
  if (parse_request(req, &r, &err) != 0) goto fail;
  if ((st = app_store_or_answer(a, res)) == NULL) goto out;
  if (fit_weights_load(st, id, r.version, &w, &err) != 0) goto fail;
  const nn_spec *s = nn_model_spec(w.model);
  x = malloc((size_t)s->inputs * sizeof *x);
  y = malloc((size_t)nn_spec_outputs(s) * sizeof *y);
  if (x == NULL || y == NULL) {
    api_fail(&err, API_INTERNAL, NULL, "out of memory");
    goto fail;
  }
  if (features(&r, &w, s->inputs, x, &err) != 0 || target(&r, &w, y, &has_y, &label, &err) != 0)
    goto fail;
  nn_error ne = {0};
  int rc = nn_trace_run(w.model, x, has_y ? y : NULL, label, &t, &ne);
  if (rc != NN_OK) {
    parse_from_nn_error(rc, &ne, &err);
    goto fail;
  }
  http_json(res, 200, answer(id, &w, t, x, r.target));
  goto out;
fail:
  http_error(res, &err);
out:
  nn_trace_free(t);
  free(x);
  free(y);
  fit_weights_clear(&w);
  cJSON_Delete(r.root);
}
