/* parse_graph.c — a graph model spec's JSON <-> nn_graph_spec (parse_graph.h). */
#include "parse_graph.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIM_MAX NN_GRAPH_MAX_VALUE /* a dimension, a kernel, a stride... */

/* The attributes each op reads, besides name, op and inputs. */
static const char *const *op_keys(nn_op op) {
  static const char *const none[] = {"name", "op", "inputs", NULL};
  static const char *const dense[] = {"name", "op", "inputs", "units", "activation", "slope",
                                      "init", NULL};
  static const char *const leaky[] = {"name", "op", "inputs", "slope", NULL};
  static const char *const concat[] = {"name", "op", "inputs", "axis", NULL};
  static const char *const slice[] = {"name", "op", "inputs", "axis", "start", "end", NULL};
  static const char *const reshape[] = {"name", "op", "inputs", "shape", NULL};
  static const char *const embedding[] = {"name", "op", "inputs", "categories", "dim", NULL};
  static const char *const layernorm[] = {"name", "op", "inputs", "eps", NULL};
  static const char *const batchnorm[] = {"name", "op", "inputs", "eps", "momentum", NULL};
  static const char *const dropout[] = {"name", "op", "inputs", "rate", NULL};
  static const char *const conv[] = {"name", "op", "inputs", "filters", "kernel", "stride",
                                     "padding", "dilation", "activation", "slope", "init", NULL};
  static const char *const pool[] = {"name", "op", "inputs", "size", "stride", NULL};
  switch (op) {
  case NN_OP_DENSE: return dense;
  case NN_OP_LEAKY_RELU: return leaky;
  case NN_OP_CONCAT: return concat;
  case NN_OP_SLICE: return slice;
  case NN_OP_RESHAPE: return reshape;
  case NN_OP_EMBEDDING: return embedding;
  case NN_OP_LAYERNORM: return layernorm;
  case NN_OP_BATCHNORM: return batchnorm;
  case NN_OP_DROPOUT: return dropout;
  case NN_OP_CONV1D: case NN_OP_CONV2D: return conv;
  case NN_OP_MAXPOOL: case NN_OP_AVGPOOL: return pool;
  default: return none;
  }
}

static int has(nn_op op, const char *key) {
  for (const char *const *k = op_keys(op); *k != NULL; k++)
    if (strcmp(*k, key) == 0) return 1;
  return 0;
}

/* A node or input name: 1..NN_GRAPH_NAME - 1 of [A-Za-z0-9._-]. */
static int check_name(const char *s, const char *field, char *out, api_error *err) {
  if (strlen(s) >= NN_GRAPH_NAME)
    return api_fail(err, API_INVALID_ARGUMENT, field, "%s must have 1 to %d characters", field,
                    NN_GRAPH_NAME - 1);
  int rc = parse_check_name(s, field, err);
  if (rc == 0) snprintf(out, NN_GRAPH_NAME, "%s", s);
  return rc;
}

/* An integer in [lo, hi] at v, named field. */
static int int_at(const cJSON *v, const char *field, int lo, int hi, int *out, api_error *err) {
  double d = cJSON_IsNumber(v) ? v->valuedouble : 0.0;
  /* in range before any cast: a double past long long's is undefined there */
  if (!cJSON_IsNumber(v) || !(d >= lo && d <= hi) || d != floor(d))
    return api_fail(err, API_INVALID_ARGUMENT, field, "%s must be an integer in %d..%d", field,
                    lo, hi);
  *out = (int)d;
  return 0;
}

/* A pair: an integer (both entries) or [h, w]. */
static int parse_pair(const cJSON *node, const char *path, const char *key, int lo, int p[2],
                      api_error *err) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(node, key);
  if (v == NULL) return 0;
  char field[PARSE_PATH_MAX];
  parse_json_path(field, sizeof field, path, key);
  if (!cJSON_IsArray(v)) {
    int rc = int_at(v, field, lo, DIM_MAX, &p[0], err);
    p[1] = p[0];
    return rc;
  }
  if (cJSON_GetArraySize(v) != 2)
    return api_fail(err, API_INVALID_ARGUMENT, field, "%s must be an integer or [h, w]", field);
  int rc = int_at(v->child, field, lo, DIM_MAX, &p[0], err);
  return rc == 0 ? int_at(v->child->next, field, lo, DIM_MAX, &p[1], err) : rc;
}

/* A shape: an array of 1..NN_GRAPH_MAX_RANK positive integers. */
static int parse_shape(const cJSON *v, const char *field, nn_shape *s, api_error *err) {
  int n = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : 0;
  if (n < 1 || n > NN_GRAPH_MAX_RANK)
    return api_fail(err, API_INVALID_ARGUMENT, field,
                    "%s must be a shape: an array of 1 to %d dimensions", field,
                    NN_GRAPH_MAX_RANK);
  s->rank = n;
  int i = 0;
  for (const cJSON *d = v->child; d != NULL; d = d->next, i++) {
    int rc = int_at(d, field, 1, DIM_MAX, &s->dim[i], err);
    if (rc != 0) return rc;
  }
  return 0;
}

static int parse_inputs(const cJSON *root, nn_graph_spec *g, api_error *err) {
  const cJSON *in = cJSON_GetObjectItemCaseSensitive(root, "inputs");
  if (in == NULL) return api_fail(err, API_INVALID_ARGUMENT, "inputs", "inputs is required");
  int n = cJSON_IsObject(in) ? cJSON_GetArraySize(in) : 0;
  if (n < 1 || n > NN_GRAPH_MAX_INPUTS)
    return api_fail(err, API_INVALID_ARGUMENT, "inputs",
                    "inputs of a graph must be an object of 1 to %d named shapes, "
                    "as {\"x\": [1, 8, 8]}", NN_GRAPH_MAX_INPUTS);
  for (const cJSON *v = in->child; v != NULL; v = v->next) {
    char field[PARSE_PATH_MAX];
    parse_json_path(field, sizeof field, "inputs", v->string);
    int i = g->n_inputs++;
    int rc = check_name(v->string, field, g->input_names[i], err);
    if (rc == 0) rc = parse_shape(v, field, &g->input_shapes[i], err);
    if (rc != 0) return rc;
  }
  return 0;
}

static int parse_node(const cJSON *v, const char *path, nn_node_spec *n, api_error *err) {
  const char *s = NULL;
  char field[PARSE_PATH_MAX];
  int act = NN_ACT_LINEAR, init = NN_INIT_AUTO;
  nn_node_spec_defaults(n);
  int rc = parse_json_object(v, path, err);
  if (rc == 0)
    rc = parse_json_string(v, path, "name", PARSE_REQUIRED, NN_GRAPH_NAME - 1, &s, err);
  if (rc == 0) {
    parse_json_path(field, sizeof field, path, "name");
    rc = check_name(s, field, n->name, err);
  }
  if (rc == 0) rc = parse_json_string(v, path, "op", PARSE_REQUIRED, 32, &s, err);
  if (rc != 0) return rc;
  if (nn_op_parse(s, &n->op) != NN_OK) {
    char ops[320];
    size_t at = 0;
    for (int i = 0; i < NN_OP_COUNT && at < sizeof ops; i++)
      at += (size_t)snprintf(ops + at, sizeof ops - at, "%s%s", i ? ", " : "",
                             nn_op_name((nn_op)i));
    parse_json_path(field, sizeof field, path, "op");
    return api_fail(err, API_INVALID_ARGUMENT, field, "%s must be one of %s", field, ops);
  }
  char context[48];
  snprintf(context, sizeof context, "op %s", nn_op_name(n->op));
  rc = parse_json_applicable_keys(v, path, op_keys(n->op), context, err);
  if (rc != 0) return rc;
  const cJSON *ins = cJSON_GetObjectItemCaseSensitive(v, "inputs");
  parse_json_path(field, sizeof field, path, "inputs");
  int k = cJSON_IsArray(ins) ? cJSON_GetArraySize(ins) : 0;
  if (k < 1 || k > NN_GRAPH_MAX_ARGS)
    return api_fail(err, API_INVALID_ARGUMENT, field,
                    "%s must be an array of 1 to %d names of inputs or nodes", field,
                    NN_GRAPH_MAX_ARGS);
  for (const cJSON *a = ins->child; a != NULL; a = a->next) {
    char item[PARSE_PATH_MAX + 16];
    snprintf(item, sizeof item, "%s[%d]", field, n->n_inputs);
    if (!cJSON_IsString(a))
      return api_fail(err, API_INVALID_ARGUMENT, item, "%s must be a name", item);
    if ((rc = check_name(a->valuestring, item, n->inputs[n->n_inputs++], err)) != 0) return rc;
  }
  if (has(n->op, "units"))
    rc = parse_json_int32(v, path, "units", PARSE_REQUIRED, 1, NN_MAX_UNITS, &n->units, err);
  if (rc == 0 && has(n->op, "filters"))
    rc = parse_json_int32(v, path, "filters", PARSE_REQUIRED, 1, NN_MAX_UNITS, &n->filters, err);
  if (rc == 0 && has(n->op, "kernel")) {
    parse_json_path(field, sizeof field, path, "kernel");
    if (cJSON_GetObjectItemCaseSensitive(v, "kernel") == NULL)
      return api_fail(err, API_INVALID_ARGUMENT, field, "%s is required", field);
    rc = parse_pair(v, path, "kernel", 1, n->kernel, err);
  }
  if (rc == 0 && has(n->op, "size")) {
    parse_json_path(field, sizeof field, path, "size");
    if (cJSON_GetObjectItemCaseSensitive(v, "size") == NULL)
      return api_fail(err, API_INVALID_ARGUMENT, field, "%s is required", field);
    rc = parse_pair(v, path, "size", 1, n->size, err);
  }
  if (rc == 0) rc = parse_pair(v, path, "stride", 1, n->stride, err);
  if (rc == 0) rc = parse_pair(v, path, "padding", 0, n->padding, err);
  if (rc == 0) rc = parse_pair(v, path, "dilation", 1, n->dilation, err);
  if (rc == 0 && has(n->op, "categories"))
    rc = parse_json_int32(v, path, "categories", PARSE_REQUIRED, 1, NN_MAX_UNITS, &n->categories,
                          err);
  if (rc == 0 && has(n->op, "dim"))
    rc = parse_json_int32(v, path, "dim", PARSE_REQUIRED, 1, NN_MAX_UNITS, &n->dim, err);
  if (rc == 0)
    rc = parse_json_int32(v, path, "axis", PARSE_OPTIONAL, -NN_GRAPH_MAX_RANK,
                          NN_GRAPH_MAX_RANK - 1, &n->axis, err);
  if (rc == 0) rc = parse_json_int32(v, path, "start", PARSE_OPTIONAL, 0, DIM_MAX, &n->start, err);
  if (rc == 0) rc = parse_json_int32(v, path, "end", PARSE_OPTIONAL, 0, DIM_MAX, &n->end, err);
  if (rc == 0 && has(n->op, "shape")) {
    parse_json_path(field, sizeof field, path, "shape");
    rc = parse_shape(cJSON_GetObjectItemCaseSensitive(v, "shape"), field, &n->shape, err);
  }
  if (rc == 0) rc = parse_json_enum(v, path, "activation", PARSE_OPTIONAL, NN_NAMES_ACT, &act, err);
  if (rc == 0) rc = parse_json_enum(v, path, "init", PARSE_OPTIONAL, NN_NAMES_INIT, &init, err);
  if (rc == 0 && has(n->op, "rate"))
    rc = parse_json_float(v, path, "rate", PARSE_REQUIRED, -FLT_MAX, FLT_MAX, &n->rate, err);
  /* range checks beyond float's are core's */
  if (rc == 0)
    rc = parse_json_float(v, path, "slope", PARSE_OPTIONAL, -FLT_MAX, FLT_MAX, &n->slope, err);
  if (rc == 0) rc = parse_json_float(v, path, "eps", PARSE_OPTIONAL, -FLT_MAX, FLT_MAX, &n->eps, err);
  if (rc == 0)
    rc = parse_json_float(v, path, "momentum", PARSE_OPTIONAL, -FLT_MAX, FLT_MAX, &n->momentum,
                          err);
  n->activation = (nn_act)act;
  n->init = (nn_init)init;
  return rc;
}

static int parse_nodes(const cJSON *root, nn_graph_spec *g, api_error *err) {
  const cJSON *nodes = cJSON_GetObjectItemCaseSensitive(root, "nodes");
  int n = cJSON_IsArray(nodes) ? cJSON_GetArraySize(nodes) : 0;
  if (n < 1 || n > NN_GRAPH_MAX_NODES)
    return api_fail(err, API_INVALID_ARGUMENT, "nodes",
                    "nodes must be an array of 1 to %d nodes", NN_GRAPH_MAX_NODES);
  for (const cJSON *v = nodes->child; v != NULL; v = v->next) {
    char path[32];
    snprintf(path, sizeof path, "nodes[%d]", g->n_nodes);
    int rc = parse_node(v, path, &g->nodes[g->n_nodes++], err);
    if (rc != 0) return rc;
  }
  return 0;
}

int parse_graph(const cJSON *root, nn_graph_spec **out, api_error *err) {
  const char *s = NULL;
  *out = calloc(1, sizeof **out);
  if (*out == NULL) return api_fail(err, API_INTERNAL, NULL, "out of memory");
  nn_graph_spec *g = *out;
  int rc = parse_inputs(root, g, err);
  if (rc == 0) rc = parse_nodes(root, g, err);
  if (rc == 0)
    rc = parse_json_string(root, NULL, "output", PARSE_REQUIRED, NN_GRAPH_NAME - 1, &s, err);
  if (rc == 0) rc = check_name(s, "output", g->output, err);
  if (rc == 0) return 0;
  free(g);
  *out = NULL;
  return rc;
}

void parse_graph_field(const nn_graph_spec *g, char *field, size_t cap) {
  int i;
  char rest[PARSE_PATH_MAX];
  rest[0] = '\0';
  if (sscanf(field, "inputs[%d]%127s", &i, rest) < 1 || i < 0 || i >= g->n_inputs) return;
  char path[PARSE_PATH_MAX];
  parse_json_path(path, sizeof path, "inputs", g->input_names[i]);
  snprintf(field, cap, "%s%s", path, rest);
}

/* ---- out ------------------------------------------------------------------------ */

/* A pair as an integer when square, else [h, w]. */
static int add_pair(cJSON *o, const char *key, const int p[2]) {
  if (p[0] == p[1]) return cJSON_AddNumberToObject(o, key, p[0]) != NULL ? 0 : -1;
  cJSON *a = cJSON_CreateIntArray(p, 2);
  if (a != NULL && cJSON_AddItemToObject(o, key, a)) return 0;
  cJSON_Delete(a);
  return -1;
}

static cJSON *shape_json(const nn_shape *s) { return cJSON_CreateIntArray(s->dim, s->rank); }

static cJSON *node_json(const nn_node_spec *n) {
  cJSON *o = cJSON_CreateObject();
  cJSON *ins = cJSON_CreateArray();
  int ok = o != NULL && ins != NULL && cJSON_AddStringToObject(o, "name", n->name) != NULL &&
           cJSON_AddStringToObject(o, "op", nn_op_name(n->op)) != NULL;
  for (int j = 0; ok && j < n->n_inputs; j++) {
    cJSON *s = cJSON_CreateString(n->inputs[j]);
    ok = s != NULL && cJSON_AddItemToArray(ins, s);
    if (!ok) cJSON_Delete(s);
  }
  ok = ok && cJSON_AddItemToObject(o, "inputs", ins);
  if (!ok) cJSON_Delete(ins);
  nn_op op = n->op;
  int leaky = n->activation == NN_ACT_LEAKY_RELU || op == NN_OP_LEAKY_RELU;
  if (ok && has(op, "units")) ok = cJSON_AddNumberToObject(o, "units", n->units) != NULL;
  if (ok && has(op, "filters")) ok = cJSON_AddNumberToObject(o, "filters", n->filters) != NULL;
  if (ok && has(op, "kernel")) ok = add_pair(o, "kernel", n->kernel) == 0;
  if (ok && has(op, "size")) ok = add_pair(o, "size", n->size) == 0;
  if (ok && has(op, "stride")) ok = add_pair(o, "stride", n->stride) == 0;
  if (ok && has(op, "padding")) ok = add_pair(o, "padding", n->padding) == 0;
  if (ok && has(op, "dilation")) ok = add_pair(o, "dilation", n->dilation) == 0;
  if (ok && has(op, "activation"))
    ok = cJSON_AddStringToObject(o, "activation", nn_name(NN_NAMES_ACT, n->activation)) != NULL;
  if (ok && has(op, "slope") && leaky) ok = parse_json_add_float(o, "slope", n->slope) == 0;
  if (ok && has(op, "init"))
    ok = cJSON_AddStringToObject(o, "init", nn_name(NN_NAMES_INIT, n->init)) != NULL;
  if (ok && has(op, "rate")) ok = parse_json_add_float(o, "rate", n->rate) == 0;
  if (ok && has(op, "categories"))
    ok = cJSON_AddNumberToObject(o, "categories", n->categories) != NULL;
  if (ok && has(op, "dim")) ok = cJSON_AddNumberToObject(o, "dim", n->dim) != NULL;
  if (ok && has(op, "axis")) ok = cJSON_AddNumberToObject(o, "axis", n->axis) != NULL;
  if (ok && has(op, "start")) ok = cJSON_AddNumberToObject(o, "start", n->start) != NULL;
  if (ok && has(op, "end")) ok = cJSON_AddNumberToObject(o, "end", n->end) != NULL;
  if (ok && has(op, "shape")) {
    cJSON *s = shape_json(&n->shape);
    ok = s != NULL && cJSON_AddItemToObject(o, "shape", s);
    if (!ok) cJSON_Delete(s);
  }
  if (ok && has(op, "eps")) ok = parse_json_add_float(o, "eps", n->eps) == 0;
  if (ok && has(op, "momentum")) ok = parse_json_add_float(o, "momentum", n->momentum) == 0;
  if (ok) return o;
  cJSON_Delete(o);
  return NULL;
}

int parse_graph_to_json(cJSON *o, const nn_graph_spec *spec) {
  nn_graph_spec *g = malloc(sizeof *g);
  cJSON *inputs = cJSON_CreateObject(), *nodes = cJSON_CreateArray();
  int ok = g != NULL && inputs != NULL && nodes != NULL && nn_graph_resolve(spec, g, NULL) == NN_OK;
  for (int i = 0; ok && i < g->n_inputs; i++) {
    cJSON *s = shape_json(&g->input_shapes[i]);
    ok = s != NULL && cJSON_AddItemToObject(inputs, g->input_names[i], s);
    if (!ok) cJSON_Delete(s);
  }
  for (int i = 0; ok && i < g->n_nodes; i++) {
    cJSON *n = node_json(&g->nodes[i]);
    ok = n != NULL && cJSON_AddItemToArray(nodes, n);
    if (!ok) cJSON_Delete(n);
  }
  ok = ok && cJSON_AddItemToObject(o, "inputs", inputs);
  if (!ok) cJSON_Delete(inputs);
  inputs = NULL;
  ok = ok && cJSON_AddItemToObject(o, "nodes", nodes);
  if (!ok) cJSON_Delete(nodes);
  ok = ok && cJSON_AddStringToObject(o, "output", g->output) != NULL;
  free(g);
  return ok ? 0 : -1;
}
