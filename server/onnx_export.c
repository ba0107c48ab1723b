/*
 * onnx_export.c — a model's graph as protobuf-c messages, packed once
 * (onnx_export.h): the network's layers, standardization and label here,
 * a graph model's ops in onnx_nodes.c, a table model's columns in
 * onnx_table.c, the builders in onnx_graph.c.
 *
 * The graph's size is bounded by the spec (at most NN_MAX_LAYERS dense
 * layers, or a graph model's nodes and inputs) and a table model's columns,
 * so its arrays are sized before it is built, and one failure check (out of
 * memory) at the end covers it all.
 */
#include "onnx_export.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "onnx_graph.h"

/* standardization 2, a Gemm and an activation per layer, 4 for the label,
 * 3 to unscale a regression */
#define NET_NODES (2 + 2 * NN_MAX_LAYERS + 4 + 3)
#define NET_INITS (2 + 2 * NN_MAX_LAYERS + 2 + 2 + 1)
#define MAX_PROPS 10

/* Standardization, as core's: x' = (x - mean) / std. @return the value name */
static const char *standardize(onnx_graph *g, const nn_model *m, const char *x) {
  const float *mean, *std;
  int inputs = nn_model_spec(m)->inputs;
  if (nn_model_norm(m, &mean, &std) != NN_OK) return x;
  const char *mn = onnx_init(g, onnx_tensor_f32(g->a, "mean", mean, inputs, 0));
  const char *sd = onnx_init(g, onnx_tensor_f32(g->a, "std", std, inputs, 0));
  onnx_node(g, "Sub", NULL, x, mn, NULL, "centered", NULL, NULL);
  onnx_node(g, "Div", NULL, "centered", sd, NULL, "standardized", NULL, NULL);
  return "standardized";
}

/* Dense layer l: Gemm(x, W (out, in) transposed, b), then its activation;
 * the last one's output is named final.
 * @return the name of the layer's output */
static const char *dense(onnx_graph *g, const nn_model *m, int l, const char *x,
                         const char *final) {
  onnx_arena *a = g->a;
  const nn_layer_spec *ls = &nn_model_spec(m)->layers[l];
  const float *p = nn_model_params_const(m);
  size_t w_off, b_off;
  int in = l == 0 ? nn_model_spec(m)->inputs : 0;
  for (int k = l - 1; k >= 0 && in == 0; k--) in = nn_model_spec(m)->layers[k].units;
  if (nn_model_layer_offsets(m, l, &w_off, &b_off) != NN_OK) {
    a->failed = 1;
    return NULL;
  }
  const char *w = onnx_init(
      g, onnx_tensor_f32(a, onnx_fmt(a, "%s%lld.weight", "dense", l), p + w_off, ls->units, in));
  const char *b = onnx_init(
      g, onnx_tensor_f32(a, onnx_fmt(a, "%s%lld.bias", "dense", l), p + b_off, ls->units, 0));
  const char *z =
      final != NULL && ls->act == NN_ACT_LINEAR ? final : onnx_fmt(a, "%s%lld", "dense", l);
  const char *y = final != NULL ? final : onnx_fmt(a, "%s%lld", "act", l);
  /* z = x W^T + b (traind's W is (out, in), PyTorch's layout) */
  onnx_node(g, "Gemm", NULL, x, w, b, z, onnx_attr_int(a, "transB", 1), NULL);
  return onnx_activation(g, ls->act, ls->slope, z, y);
}

/* The class names as strings: @return their count, or -1 when they are
 * not a non-empty JSON array of strings. */
static int class_names(onnx_arena *a, const char *text, ProtobufCBinaryData **out) {
  cJSON *arr = cJSON_Parse(text);
  int n = cJSON_IsArray(arr) ? cJSON_GetArraySize(arr) : -1, i = 0;
  const cJSON *c, *names;
  ProtobufCBinaryData *s = n > 0 ? onnx_alloc(a, (size_t)n * sizeof *s) : NULL;
  if (s == NULL) n = -1;
  names = n > 0 ? arr : NULL;
  cJSON_ArrayForEach(c, names) {
    const char *v = cJSON_GetStringValue(c);
    char *copy = v != NULL ? onnx_str(a, v) : NULL;
    if (copy == NULL) {
      n = -1;
      break;
    }
    s[i].data = (uint8_t *)copy;
    s[i++].len = strlen(copy);
  }
  cJSON_Delete(arr);
  *out = s;
  return n;
}

/* "label" (N,) string: the index predict picks, through LabelEncoder. */
static int label(onnx_graph *g, const nn_spec *spec, const char *classes) {
  onnx_arena *a = g->a;
  ProtobufCBinaryData *names;
  int n = class_names(a, classes, &names), outputs = nn_spec_outputs(spec);
  if (n < 0 || !(n == outputs || (outputs == 1 && n == 2))) return -1;
  if (outputs == 1) { /* one sigmoid unit: class 1 when output >= 0.5, as predict */
    static const float half = 0.5f;
    const char *h = onnx_init(g, onnx_tensor_f32(a, "half", &half, -1, 0));
    const char *ax = onnx_axis1(g);
    onnx_node(g, "GreaterOrEqual", NULL, "output", h, NULL, "positive", NULL, NULL);
    onnx_node(g, "Cast", NULL, "positive", NULL, NULL, "positive_index", onnx_attr_int(a, "to", 7),
              NULL);
    onnx_node(g, "Squeeze", NULL, "positive_index", ax, NULL, "index", NULL, NULL);
  } else { /* the first largest output, as predict */
    onnx_node(g, "ArgMax", NULL, "output", NULL, NULL, "index", onnx_attr_int(a, "axis", 1),
              onnx_attr_int(a, "keepdims", 0));
  }
  Onnx__AttributeProto *keys =
      onnx_attr(a, "keys_int64s", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
  Onnx__AttributeProto *vals =
      onnx_attr(a, "values_strings", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS);
  int64_t *k = onnx_alloc(a, (size_t)n * sizeof *k);
  if (keys == NULL || vals == NULL || k == NULL) return 0; /* a->failed tells */
  for (int i = 0; i < n; i++) k[i] = i;
  keys->n_ints = (size_t)n;
  keys->ints = k;
  vals->n_strings = (size_t)n;
  vals->strings = names;
  onnx_node(g, "LabelEncoder", "ai.onnx.ml", "index", NULL, NULL, "label", keys, vals);
  return 0;
}

static Onnx__StringStringEntryProto *prop(onnx_arena *a, const char *key, const char *v) {
  Onnx__StringStringEntryProto *p = onnx_alloc(a, sizeof *p);
  char *k = onnx_str(a, key), *val = v != NULL ? onnx_str(a, v) : NULL;
  if (p == NULL || k == NULL || val == NULL) return NULL;
  onnx__string_string_entry_proto__init(p);
  p->key = k;
  p->value = val;
  return p;
}

static Onnx__OperatorSetIdProto *opset(onnx_arena *a, const char *domain, int64_t version) {
  Onnx__OperatorSetIdProto *o = onnx_alloc(a, sizeof *o);
  char *d = onnx_str(a, domain);
  if (o == NULL || d == NULL) return NULL;
  onnx__operator_set_id_proto__init(o);
  o->domain = d;
  o->has_version = 1;
  o->version = version;
  return o;
}

int onnx_export(const onnx_export_in *in, uint8_t **out, size_t *len, api_error *err) {
  onnx_arena a = {0};
  onnx_graph g = {.a = &a};
  const nn_spec *spec = nn_model_spec(in->model);
  const nn_encoder *e = in->encoder;
  int rc = 0, outputs = nn_spec_outputs(spec), last = spec->n_layers - 1;
  int cols = e != NULL ? nn_encoder_columns(e) : 0;
  nn_target_kind kind = NN_TARGET_AUTO;
  double t_mean = 0, t_scale = 1;
  const char *target = e != NULL ? nn_encoder_target(e, &kind, &t_mean, &t_scale, NULL) : NULL;
  int regression = target != NULL && kind == NN_TARGET_REGRESSION;
  char num[32], *columns = NULL;
  *out = NULL;
  *len = 0;
  /* the weights, and room for the rest of a graph of at most NN_MAX_LAYERS layers */
  if (nn_model_param_count(in->model) > (ONNX_MAX_BYTES - ((size_t)1 << 20)) / sizeof(float))
    return api_fail(err, API_UNPROCESSABLE, "id",
                    "model %lld has %zu parameters, more than an ONNX file holds (2 GiB)",
                    (long long)in->model_id, nn_model_param_count(in->model));
  if (e != NULL) onnx_table_capacity(e, &g.cap_nodes, &g.cap_inits, &g.cap_infos);
  g.cap_nodes += NET_NODES;
  g.cap_inits += NET_INITS;
  if (spec->graph != NULL) onnx_nodes_capacity(in->model, &g.cap_nodes, &g.cap_inits);
  g.nodes = onnx_alloc(&a, g.cap_nodes * sizeof *g.nodes);
  g.inits = onnx_alloc(&a, g.cap_inits * sizeof *g.inits);
  g.infos = g.cap_infos > 0 ? onnx_alloc(&a, g.cap_infos * sizeof *g.infos) : NULL;

  const char *x = e != NULL ? onnx_table_features(&g, e) : "input";
  x = standardize(&g, in->model, x);
  if (spec->graph != NULL)
    x = onnx_nodes(&g, in->model, x, regression ? "scaled_output" : "output");
  for (int l = 0; l <= last; l++)
    if (spec->layers[l].type == NN_LAYER_DENSE)
      x = dense(&g, in->model, l, x, l != last ? NULL : regression ? "scaled_output" : "output");
  if (regression) onnx_table_unscale(&g, "scaled_output", t_mean, t_scale);
  if (in->classes != NULL && label(&g, spec, in->classes) != 0) {
    onnx_arena_free(&a);
    return api_fail(err, API_INTERNAL, NULL, "the class names of model %lld do not fit it",
                    (long long)in->model_id);
  }
  if (e != NULL && !a.failed && (rc = onnx_table_names_distinct(&g, in, err)) != 0) {
    onnx_arena_free(&a);
    return rc;
  }

  /* inputs: "input" (N, inputs) float, or one (N, 1) per table column */
  size_t n_ins = e != NULL ? (size_t)cols : 1;
  Onnx__ValueInfoProto **ins = onnx_alloc(&a, n_ins * sizeof *ins);
  for (size_t i = 0; ins != NULL && i < n_ins; i++) {
    nn_encoder_column_info c = {.name = "input", .type = NN_COL_NUMBER};
    if (e != NULL && nn_encoder_column(e, (int)i, &c) != NN_OK) a.failed = 1;
    ins[i] = e == NULL
                 ? onnx_value(&a, "input", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, spec->inputs)
                 : onnx_value(&a, c.name,
                              c.type == NN_COL_CATEGORY ? ONNX__TENSOR_PROTO__DATA_TYPE__STRING
                                                        : ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE,
                              1);
    a.failed |= ins[i] == NULL;
  }
  Onnx__ValueInfoProto *outs[2] = {
      onnx_value(&a, "output", regression ? ONNX_DOUBLE : ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
                 outputs),
      in->classes != NULL ? onnx_value(&a, "label", ONNX__TENSOR_PROTO__DATA_TYPE__STRING, 0)
                          : NULL};
  int ml = g.uses_ml || in->classes != NULL;
  Onnx__OperatorSetIdProto *ops[2] = {opset(&a, "", ONNX_OPSET),
                                      ml ? opset(&a, "ai.onnx.ml", ONNX_ML_OPSET) : NULL};
  Onnx__StringStringEntryProto *props[MAX_PROPS];
  size_t n_props = 0;
  props[n_props++] = prop(&a, "traind_version", TRAIND_VERSION);
  snprintf(num, sizeof num, "%lld", (long long)in->model_id);
  props[n_props++] = prop(&a, "model_id", num);
  props[n_props++] = prop(&a, "model_name", in->name);
  snprintf(num, sizeof num, "%lld", (long long)in->version);
  props[n_props++] = prop(&a, "version", num);
  snprintf(num, sizeof num, "%d", spec->inputs);
  props[n_props++] = prop(&a, "inputs", num);
  snprintf(num, sizeof num, "%d", outputs);
  props[n_props++] = prop(&a, "outputs", num);
  props[n_props++] = prop(&a, "loss", nn_name(NN_NAMES_LOSS, spec->loss));
  if (in->classes != NULL) props[n_props++] = prop(&a, "classes", in->classes);
  if (e != NULL) {
    props[n_props++] = prop(&a, "columns", columns = onnx_table_columns_json(e));
    if (target != NULL) props[n_props++] = prop(&a, "target", target);
  }
  assert(n_props <= MAX_PROPS);

  Onnx__GraphProto gp;
  onnx__graph_proto__init(&gp);
  gp.name = onnx_str(&a, in->name);
  gp.n_node = g.n_nodes;
  gp.node = g.nodes;
  gp.n_initializer = g.n_inits;
  gp.initializer = g.inits;
  gp.n_input = n_ins;
  gp.input = ins;
  gp.n_output = in->classes != NULL ? 2 : 1;
  gp.output = outs;
  gp.n_value_info = g.n_infos;
  gp.value_info = g.infos;

  Onnx__ModelProto mp;
  onnx__model_proto__init(&mp);
  mp.has_ir_version = 1;
  mp.ir_version = ONNX_IR_VERSION;
  mp.n_opset_import = ml ? 2 : 1;
  mp.opset_import = ops;
  mp.producer_name = onnx_str(&a, "traind");
  mp.producer_version = onnx_str(&a, TRAIND_VERSION);
  mp.has_model_version = 1;
  mp.model_version = in->version;
  mp.graph = &gp;
  mp.n_metadata_props = n_props;
  mp.metadata_props = props;
  for (size_t i = 0; i < n_props; i++) a.failed |= props[i] == NULL;
  for (size_t i = 0; i < mp.n_opset_import; i++) a.failed |= ops[i] == NULL;
  for (size_t i = 0; i < gp.n_output; i++) a.failed |= outs[i] == NULL;
  a.failed |= ins == NULL || gp.name == NULL || mp.producer_name == NULL ||
              mp.producer_version == NULL || x == NULL;

  if (a.failed) {
    rc = api_fail(err, API_INTERNAL, NULL, "out of memory");
    goto exit;
  }
  size_t size = onnx__model_proto__get_packed_size(&mp);
  if ((*out = malloc(size > 0 ? size : 1)) == NULL) {
    rc = api_fail(err, API_INTERNAL, NULL, "out of memory for %zu bytes", size);
    goto exit;
  }
  *len = onnx__model_proto__pack(&mp, *out);
exit:
  free(columns);
  onnx_arena_free(&a);
  return rc;
}
