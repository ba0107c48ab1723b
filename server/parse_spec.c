/* parse_spec.c — model spec JSON <-> nn_spec. */
#include "parse_spec.h"

#include "parse_graph.h"
#include "parse_preprocess.h"

#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const spec_keys[] = {"name", "inputs", "layers", "loss",
                                        "seed", "normalize", "preprocess", NULL};
static const char *const graph_keys[] = {"name", "inputs", "nodes", "output", "loss",
                                         "seed", "normalize", NULL};
static const char *const layer_keys[] = {"type", "units", "activation", "slope",
                                         "init", "rate", NULL};
static const char *const dense_keys[] = {"type", "units", "activation", "slope", "init", NULL};
static const char *const dense_nonleaky_keys[] = {"type", "units", "activation", "init", NULL};
static const char *const dropout_keys[] = {"type", "rate", NULL};

static int parse_layer(const cJSON *v, const char *path, nn_layer_spec *l, api_error *err) {
  nn_layer_spec_defaults(l);
  int type = l->type, act = l->act, init = l->init;
  int rc = parse_json_object(v, path, err);
  if (rc == 0) rc = parse_json_known_keys(v, path, layer_keys, err);
  if (rc == 0) rc = parse_json_enum(v, path, "type", PARSE_REQUIRED, NN_NAMES_LAYER, &type, err);
  if (rc != 0) return rc;
  l->type = (nn_layer_type)type;
  if (l->type == NN_LAYER_DROPOUT) {
    rc = parse_json_applicable_keys(v, path, dropout_keys, "a dropout layer", err);
    if (rc == 0)
      rc = parse_json_float(v, path, "rate", PARSE_REQUIRED, -FLT_MAX, FLT_MAX, &l->rate, err);
    return rc;
  }
  rc = parse_json_applicable_keys(v, path, dense_keys, "a dense layer", err);
  if (rc == 0)
    rc = parse_json_int32(v, path, "units", PARSE_REQUIRED, 1, NN_MAX_UNITS, &l->units, err);
  if (rc == 0)
    rc = parse_json_enum(v, path, "activation", PARSE_OPTIONAL, NN_NAMES_ACT, &act, err);
  if (rc == 0) rc = parse_json_enum(v, path, "init", PARSE_OPTIONAL, NN_NAMES_INIT, &init, err);
  if (rc != 0) return rc;
  l->act = (nn_act)act;
  l->init = (nn_init)init;
  if (l->act != NN_ACT_LEAKY_RELU) {
    char context[48];
    snprintf(context, sizeof context, "activation %s", nn_name(NN_NAMES_ACT, act));
    return parse_json_applicable_keys(v, path, dense_nonleaky_keys, context, err);
  }
  /* Range checks beyond float's are nn_spec_validate's. */
  return parse_json_float(v, path, "slope", PARSE_OPTIONAL, -FLT_MAX, FLT_MAX, &l->slope, err);
}

static int parse_layers(const cJSON *root, nn_spec *spec, api_error *err) {
  const cJSON *layers = cJSON_GetObjectItemCaseSensitive(root, "layers");
  if (layers == NULL)
    return api_fail(err, API_INVALID_ARGUMENT, "layers", "layers is required");
  int n = cJSON_IsArray(layers) ? cJSON_GetArraySize(layers) : 0;
  if (n < 1 || n > NN_MAX_LAYERS)
    return api_fail(err, API_INVALID_ARGUMENT, "layers",
                    "layers must be an array of 1 to %d layers",
                    NN_MAX_LAYERS);
  spec->n_layers = n;
  int i = 0;
  for (const cJSON *l = layers->child; l != NULL; l = l->next, i++) {
    char path[32];
    snprintf(path, sizeof path, "layers[%d]", i);
    int rc = parse_layer(l, path, &spec->layers[i], err);
    if (rc != 0) return rc;
  }
  return 0;
}

/* loss, seed and normalize, which both forms share. */
static int parse_training(const cJSON *root, nn_spec *spec, api_error *err) {
  int loss = 0;
  int64_t seed = 0;
  int rc = parse_json_enum(root, NULL, "loss", PARSE_REQUIRED, NN_NAMES_LOSS, &loss, err);
  if (rc == 0)
    rc = parse_json_int(root, NULL, "seed", PARSE_OPTIONAL, 0, PARSE_MAX_SAFE_INT, &seed, err);
  if (rc == 0)
    rc = parse_json_bool(root, NULL, "normalize", PARSE_OPTIONAL, &spec->normalize, err);
  spec->loss = (nn_loss)loss;
  spec->seed = (uint64_t)seed;
  return rc;
}

/* The graph form: inputs, nodes and output instead of inputs and layers. */
static int parse_graph_spec(const cJSON *root, nn_spec *spec, api_error *err) {
  nn_graph_spec *g;
  int rc = parse_graph(root, &g, err);
  if (rc != 0) return rc;
  spec->graph = g;
  if ((rc = parse_training(root, spec, err)) != 0) return rc;
  nn_error e = {{0}, {0}};
  int st = nn_spec_validate(spec, &e);
  if (st == NN_OK) return 0;
  parse_graph_field(g, e.field, sizeof e.field);
  return parse_from_nn_error(st, &e, err);
}

void parse_spec_free(nn_spec *spec) {
  free((void *)spec->graph);
  spec->graph = NULL;
}

int parse_spec(const cJSON *root, nn_spec *spec, char name[PARSE_NAME_MAX + 1], api_error *err) {
  memset(spec, 0, sizeof *spec);
  const char *s = NULL;
  int rc = parse_json_object(root, NULL, err);
  int graph = rc == 0 && cJSON_GetObjectItemCaseSensitive(root, "nodes") != NULL;
  if (rc == 0) rc = parse_json_known_keys(root, NULL, graph ? graph_keys : spec_keys, err);
  if (rc == 0) rc = parse_json_string(root, NULL, "name", PARSE_REQUIRED, PARSE_NAME_MAX, &s, err);
  if (rc == 0) rc = parse_check_name(s, "name", err);
  if (rc == 0 && graph) {
    if ((rc = parse_graph_spec(root, spec, err)) != 0) {
      parse_spec_free(spec);
      return rc;
    }
    snprintf(name, PARSE_NAME_MAX + 1, "%s", s);
    return 0;
  }
  /* without inputs, a model takes the columns of the table it first trains on */
  int from_table = rc == 0 && cJSON_GetObjectItemCaseSensitive(root, "inputs") == NULL;
  if (rc == 0 && !from_table)
    rc = parse_json_int32(root, NULL, "inputs", PARSE_REQUIRED, 1, NN_MAX_UNITS, &spec->inputs,
                          err);
  if (rc == 0)
    rc = parse_preprocess_check(cJSON_GetObjectItemCaseSensitive(root, "preprocess"), err);
  if (rc == 0) rc = parse_layers(root, spec, err);
  if (rc == 0) rc = parse_training(root, spec, err);
  if (rc != 0) return rc;
  nn_error e = {{0}, {0}};
  if (from_table) spec->inputs = 1; /* the layers are checked as for one input */
  int st = nn_spec_validate(spec, &e);
  if (from_table) spec->inputs = 0;
  if (st != NN_OK) return parse_from_nn_error(st, &e, err);
  snprintf(name, PARSE_NAME_MAX + 1, "%s", s);
  return 0;
}

static cJSON *layer_to_json(const nn_layer_spec *l) {
  cJSON *o = cJSON_CreateObject();
  if (o == NULL) return NULL;
  int ok = cJSON_AddStringToObject(o, "type", nn_name(NN_NAMES_LAYER, l->type)) != NULL;
  if (l->type == NN_LAYER_DROPOUT) {
    ok = ok && parse_json_add_float(o, "rate", l->rate) == 0;
  } else {
    ok = ok && cJSON_AddNumberToObject(o, "units", l->units) != NULL &&
         cJSON_AddStringToObject(o, "activation", nn_name(NN_NAMES_ACT, l->act)) != NULL &&
         cJSON_AddStringToObject(o, "init", nn_name(NN_NAMES_INIT, l->init)) != NULL;
    if (l->act == NN_ACT_LEAKY_RELU) ok = ok && parse_json_add_float(o, "slope", l->slope) == 0;
  }
  if (ok) return o;
  cJSON_Delete(o);
  return NULL;
}

static cJSON *layers_to_json(const nn_spec *spec) {
  cJSON *layers = cJSON_CreateArray();
  for (int i = 0; layers != NULL && i < spec->n_layers; i++) {
    cJSON *l = layer_to_json(&spec->layers[i]);
    if (l == NULL || !cJSON_AddItemToArray(layers, l)) {
      cJSON_Delete(l);
      cJSON_Delete(layers);
      return NULL;
    }
  }
  return layers;
}

cJSON *parse_spec_to_json(const nn_spec *spec, const char *name) {
  cJSON *o = cJSON_CreateObject();
  int ok = o != NULL && (name == NULL || cJSON_AddStringToObject(o, "name", name) != NULL);
  if (spec->graph != NULL) {
    ok = ok && parse_graph_to_json(o, spec->graph) == 0;
  } else {
    ok = ok && (spec->inputs == 0 || cJSON_AddNumberToObject(o, "inputs", spec->inputs) != NULL);
    cJSON *layers = ok ? layers_to_json(spec) : NULL;
    ok = layers != NULL && cJSON_AddItemToObject(o, "layers", layers);
    if (!ok) cJSON_Delete(layers);
  }
  ok = ok && cJSON_AddStringToObject(o, "loss", nn_name(NN_NAMES_LOSS, spec->loss)) != NULL &&
       parse_json_add_int(o, "seed", (int64_t)spec->seed) == 0 &&
       cJSON_AddBoolToObject(o, "normalize", spec->normalize) != NULL;
  if (ok) return o;
  cJSON_Delete(o);
  return NULL;
}
