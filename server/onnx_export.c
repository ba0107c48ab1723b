/*
 * onnx_export.c — a model's graph as protobuf-c messages, packed once
 * (onnx_export.h).
 *
 * Every message, string and small array of one export lives in an arena
 * freed at once, so building the graph has one failure check (out of
 * memory) at its end instead of one per allocation: each builder returns
 * NULL once anything failed, and add_node refuses NULL parts. The graph's
 * size is bounded by the spec (at most NN_MAX_LAYERS dense layers), so the
 * node and initializer arrays are fixed.
 */
#include "onnx_export.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "onnx.pb-c.h"

/* standardization 2, a Gemm and an activation per layer, 4 for the label */
#define MAX_NODES (2 + 2 * NN_MAX_LAYERS + 4)
#define MAX_INITS (2 + 2 * NN_MAX_LAYERS + 2)
#define MAX_PROPS 8

typedef struct {
  void **blocks;
  size_t n, cap;
  int failed;
} arena;

static void *alloc(arena *a, size_t size) {
  if (a->failed) return NULL;
  if (a->n == a->cap) {
    size_t cap = a->cap ? 2 * a->cap : 64;
    void **b = realloc(a->blocks, cap * sizeof *b);
    if (b == NULL) goto fail;
    a->blocks = b;
    a->cap = cap;
  }
  void *p = calloc(1, size);
  if (p == NULL) goto fail;
  a->blocks[a->n++] = p;
  return p;
fail:
  a->failed = 1;
  return NULL;
}

static void arena_free(arena *a) {
  for (size_t i = 0; i < a->n; i++) free(a->blocks[i]);
  free(a->blocks);
}

static char *str(arena *a, const char *s) {
  char *p = s != NULL ? alloc(a, strlen(s) + 1) : NULL;
  if (p != NULL) memcpy(p, s, strlen(s) + 1);
  return p;
}

/* A short name made of a prefix and a number: "dense3". */
static char *fmt(arena *a, const char *f, const char *s, long long i) {
  char buf[96];
  snprintf(buf, sizeof buf, f, s, i);
  return str(a, buf);
}

/* ---- tensors, attributes, types ------------------------------------------------- */

/* A float tensor of dims (d0) or (d0, d1) over data, which is not copied. */
static Onnx__TensorProto *tensor_f32(arena *a, const char *name, const float *data, int64_t d0,
                                     int64_t d1) {
  Onnx__TensorProto *t = alloc(a, sizeof *t);
  int64_t *dims = alloc(a, 2 * sizeof *dims);
  char *n = str(a, name);
  if (t == NULL || dims == NULL || n == NULL) return NULL;
  onnx__tensor_proto__init(t);
  dims[0] = d0;
  dims[1] = d1;
  t->n_dims = d1 > 0 ? 2 : d0 >= 0 ? 1 : 0; /* d0 < 0: a scalar */
  t->dims = dims;
  t->has_data_type = 1;
  t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
  t->n_float_data = (size_t)(d0 < 0 ? 1 : d0) * (size_t)(d1 > 0 ? d1 : 1);
  t->float_data = (float *)data; /* packed, never written */
  t->name = n;
  return t;
}

/* A 1-D int64 tensor of n values (copied). */
static Onnx__TensorProto *tensor_i64(arena *a, const char *name, const int64_t *v, size_t n) {
  Onnx__TensorProto *t = alloc(a, sizeof *t);
  int64_t *dims = alloc(a, sizeof *dims), *data = alloc(a, n * sizeof *data);
  char *nm = str(a, name);
  if (t == NULL || dims == NULL || data == NULL || nm == NULL) return NULL;
  onnx__tensor_proto__init(t);
  dims[0] = (int64_t)n;
  memcpy(data, v, n * sizeof *data);
  t->n_dims = 1;
  t->dims = dims;
  t->has_data_type = 1;
  t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
  t->n_int64_data = n;
  t->int64_data = data;
  t->name = nm;
  return t;
}

static Onnx__AttributeProto *attr(arena *a, const char *name,
                                  Onnx__AttributeProto__AttributeType type) {
  Onnx__AttributeProto *at = alloc(a, sizeof *at);
  char *n = str(a, name);
  if (at == NULL || n == NULL) return NULL;
  onnx__attribute_proto__init(at);
  at->name = n;
  at->has_type = 1;
  at->type = type;
  return at;
}

static Onnx__AttributeProto *attr_int(arena *a, const char *name, int64_t v) {
  Onnx__AttributeProto *at = attr(a, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
  if (at == NULL) return NULL;
  at->has_i = 1;
  at->i = v;
  return at;
}

static Onnx__AttributeProto *attr_float(arena *a, const char *name, float v) {
  Onnx__AttributeProto *at = attr(a, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
  if (at == NULL) return NULL;
  at->has_f = 1;
  at->f = v;
  return at;
}

/* A value's type: a tensor of elem_type with dims ("N", d1) or ("N"). */
static Onnx__ValueInfoProto *value(arena *a, const char *name, int32_t elem_type, int64_t d1) {
  Onnx__ValueInfoProto *v = alloc(a, sizeof *v);
  Onnx__TypeProto *tp = alloc(a, sizeof *tp);
  Onnx__TypeProto__Tensor *tt = alloc(a, sizeof *tt);
  Onnx__TensorShapeProto *sh = alloc(a, sizeof *sh);
  Onnx__TensorShapeProto__Dimension **dims = alloc(a, 2 * sizeof *dims);
  Onnx__TensorShapeProto__Dimension *d0 = alloc(a, sizeof *d0), *d1p = alloc(a, sizeof *d1p);
  char *n = str(a, name), *rows = str(a, "N");
  if (v == NULL || tp == NULL || tt == NULL || sh == NULL || dims == NULL || d0 == NULL ||
      d1p == NULL || n == NULL || rows == NULL)
    return NULL;
  onnx__tensor_shape_proto__dimension__init(d0);
  d0->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
  d0->dim_param = rows; /* any number of rows */
  onnx__tensor_shape_proto__dimension__init(d1p);
  d1p->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
  d1p->dim_value = d1;
  dims[0] = d0;
  dims[1] = d1p;
  onnx__tensor_shape_proto__init(sh);
  sh->n_dim = d1 > 0 ? 2 : 1;
  sh->dim = dims;
  onnx__type_proto__tensor__init(tt);
  tt->has_elem_type = 1;
  tt->elem_type = elem_type;
  tt->shape = sh;
  onnx__type_proto__init(tp);
  tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  tp->tensor_type = tt;
  onnx__value_info_proto__init(v);
  v->name = n;
  v->type = tp;
  return v;
}

/* ---- the graph ---------------------------------------------------------------------- */

typedef struct {
  arena *a;
  Onnx__NodeProto *nodes[MAX_NODES];
  size_t n_nodes;
  Onnx__TensorProto *inits[MAX_INITS];
  size_t n_inits;
} graph;

static const char *init(graph *g, Onnx__TensorProto *t) {
  if (t == NULL || g->n_inits == MAX_INITS) {
    g->a->failed = 1;
    return NULL;
  }
  g->inits[g->n_inits++] = t;
  return t->name;
}

/* A node op(in...) -> out with up to two attributes (NULL: none). */
static void node(graph *g, const char *op, const char *domain, const char *in0, const char *in1,
                 const char *in2, const char *out, Onnx__AttributeProto *at0,
                 Onnx__AttributeProto *at1) {
  arena *a = g->a;
  Onnx__NodeProto *nd = alloc(a, sizeof *nd);
  char **ins = alloc(a, 3 * sizeof *ins), **outs = alloc(a, sizeof *outs);
  Onnx__AttributeProto **ats = alloc(a, 2 * sizeof *ats);
  const char *in[3] = {in0, in1, in2};
  if (nd == NULL || ins == NULL || outs == NULL || ats == NULL || out == NULL ||
      g->n_nodes == MAX_NODES) {
    a->failed = 1;
    return;
  }
  onnx__node_proto__init(nd);
  for (int i = 0; i < 3 && in[i] != NULL; i++) {
    if ((ins[i] = str(a, in[i])) == NULL) return;
    nd->n_input++;
  }
  if (in0 == NULL) a->failed = 1; /* every node here has an input */
  nd->input = ins;
  if ((outs[0] = str(a, out)) == NULL) return;
  nd->n_output = 1;
  nd->output = outs;
  if ((nd->op_type = str(a, op)) == NULL) return;
  if (domain != NULL && (nd->domain = str(a, domain)) == NULL) return;
  if (at0 != NULL) ats[nd->n_attribute++] = at0;
  if (at1 != NULL) ats[nd->n_attribute++] = at1;
  nd->attribute = ats;
  nd->name = fmt(a, "%s_%lld", op, (long long)g->n_nodes);
  g->nodes[g->n_nodes++] = nd;
}

/* Standardization, as core's: x' = (x - mean) / std. @return the value name */
static const char *standardize(graph *g, const nn_model *m, const char *x) {
  const float *mean, *std;
  int inputs = nn_model_spec(m)->inputs;
  if (nn_model_norm(m, &mean, &std) != NN_OK) return x;
  const char *mn = init(g, tensor_f32(g->a, "mean", mean, inputs, 0));
  const char *sd = init(g, tensor_f32(g->a, "std", std, inputs, 0));
  node(g, "Sub", NULL, x, mn, NULL, "centered", NULL, NULL);
  node(g, "Div", NULL, "centered", sd, NULL, "standardized", NULL, NULL);
  return "standardized";
}

/* Dense layer l: Gemm(x, W (out, in) transposed, b), then its activation.
 * @return the name of the layer's output */
static const char *dense(graph *g, const nn_model *m, int l, const char *x, int last) {
  arena *a = g->a;
  const nn_layer_spec *ls = &nn_model_spec(m)->layers[l];
  const float *p = nn_model_params_const(m);
  size_t w_off, b_off;
  int in = l == 0 ? nn_model_spec(m)->inputs : 0;
  for (int k = l - 1; k >= 0 && in == 0; k--) in = nn_model_spec(m)->layers[k].units;
  if (nn_model_layer_offsets(m, l, &w_off, &b_off) != NN_OK) {
    a->failed = 1;
    return NULL;
  }
  const char *w = init(g, tensor_f32(a, fmt(a, "%s%lld.weight", "dense", l), p + w_off,
                                     ls->units, in));
  const char *b = init(g, tensor_f32(a, fmt(a, "%s%lld.bias", "dense", l), p + b_off,
                                     ls->units, 0));
  const char *z = last && ls->act == NN_ACT_LINEAR ? "output" : fmt(a, "%s%lld", "dense", l);
  const char *y = last ? "output" : fmt(a, "%s%lld", "act", l);
  /* z = x W^T + b (traind's W is (out, in), PyTorch's layout) */
  node(g, "Gemm", NULL, x, w, b, z, attr_int(a, "transB", 1), NULL);
  switch (ls->act) {
  case NN_ACT_LINEAR:
    return z;
  case NN_ACT_RELU:
    node(g, "Relu", NULL, z, NULL, NULL, y, NULL, NULL);
    break;
  case NN_ACT_LEAKY_RELU: /* y = z < 0 ? alpha z : z, traind's v > 0 ? v : slope v */
    node(g, "LeakyRelu", NULL, z, NULL, NULL, y, attr_float(a, "alpha", ls->slope), NULL);
    break;
  case NN_ACT_SIGMOID:
    node(g, "Sigmoid", NULL, z, NULL, NULL, y, NULL, NULL);
    break;
  case NN_ACT_TANH:
    node(g, "Tanh", NULL, z, NULL, NULL, y, NULL, NULL);
    break;
  case NN_ACT_SOFTMAX: /* over each row, as core's */
    node(g, "Softmax", NULL, z, NULL, NULL, y, attr_int(a, "axis", -1), NULL);
    break;
  }
  return y;
}

/* The class names as strings: @return their count, or -1 when they are
 * not a non-empty JSON array of strings. */
static int class_names(arena *a, const char *text, ProtobufCBinaryData **out) {
  cJSON *arr = cJSON_Parse(text);
  int n = cJSON_IsArray(arr) ? cJSON_GetArraySize(arr) : -1, i = 0;
  const cJSON *c, *names;
  ProtobufCBinaryData *s = n > 0 ? alloc(a, (size_t)n * sizeof *s) : NULL;
  if (s == NULL) n = -1;
  names = n > 0 ? arr : NULL;
  cJSON_ArrayForEach(c, names) {
    const char *v = cJSON_GetStringValue(c);
    char *copy = v != NULL ? str(a, v) : NULL;
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
static int label(graph *g, const nn_spec *spec, const char *classes) {
  arena *a = g->a;
  ProtobufCBinaryData *names;
  int n = class_names(a, classes, &names), outputs = nn_spec_outputs(spec);
  if (n < 0 || !(n == outputs || (outputs == 1 && n == 2))) return -1;
  if (outputs == 1) { /* one sigmoid unit: class 1 when output >= 0.5, as predict */
    static const float half = 0.5f;
    static const int64_t axis1[1] = {1};
    const char *h = init(g, tensor_f32(a, "half", &half, -1, 0));
    const char *ax = init(g, tensor_i64(a, "axis1", axis1, 1));
    node(g, "GreaterOrEqual", NULL, "output", h, NULL, "positive", NULL, NULL);
    node(g, "Cast", NULL, "positive", NULL, NULL, "positive_index", attr_int(a, "to", 7), NULL);
    node(g, "Squeeze", NULL, "positive_index", ax, NULL, "index", NULL, NULL);
  } else { /* the first largest output, as predict */
    node(g, "ArgMax", NULL, "output", NULL, NULL, "index", attr_int(a, "axis", 1),
         attr_int(a, "keepdims", 0));
  }
  Onnx__AttributeProto *keys = attr(a, "keys_int64s", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
  Onnx__AttributeProto *vals =
      attr(a, "values_strings", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS);
  int64_t *k = alloc(a, (size_t)n * sizeof *k);
  if (keys == NULL || vals == NULL || k == NULL) return 0; /* a->failed tells */
  for (int i = 0; i < n; i++) k[i] = i;
  keys->n_ints = (size_t)n;
  keys->ints = k;
  vals->n_strings = (size_t)n;
  vals->strings = names;
  node(g, "LabelEncoder", "ai.onnx.ml", "index", NULL, NULL, "label", keys, vals);
  return 0;
}

static Onnx__StringStringEntryProto *prop(arena *a, const char *key, const char *v) {
  Onnx__StringStringEntryProto *p = alloc(a, sizeof *p);
  char *k = str(a, key), *val = v != NULL ? str(a, v) : NULL;
  if (p == NULL || k == NULL || val == NULL) return NULL;
  onnx__string_string_entry_proto__init(p);
  p->key = k;
  p->value = val;
  return p;
}

static Onnx__OperatorSetIdProto *opset(arena *a, const char *domain, int64_t version) {
  Onnx__OperatorSetIdProto *o = alloc(a, sizeof *o);
  char *d = str(a, domain);
  if (o == NULL || d == NULL) return NULL;
  onnx__operator_set_id_proto__init(o);
  o->domain = d;
  o->has_version = 1;
  o->version = version;
  return o;
}

int onnx_export(const onnx_export_in *in, uint8_t **out, size_t *len, api_error *err) {
  arena a = {0};
  graph g = {.a = &a};
  const nn_spec *spec = nn_model_spec(in->model);
  int rc = 0, outputs = nn_spec_outputs(spec), last = spec->n_layers - 1;
  char num[32];
  *out = NULL;
  *len = 0;
  if (spec->graph != NULL)
    return api_fail(err, API_UNPROCESSABLE, "id",
                    "model %lld is a graph model; its export to ONNX is not available yet",
                    (long long)in->model_id);
  /* the weights, and room for the rest of a graph of at most NN_MAX_LAYERS layers */
  if (nn_model_param_count(in->model) > (ONNX_MAX_BYTES - ((size_t)1 << 20)) / sizeof(float))
    return api_fail(err, API_UNPROCESSABLE, "id",
                    "model %lld has %zu parameters, more than an ONNX file holds (2 GiB)",
                    (long long)in->model_id, nn_model_param_count(in->model));

  const char *x = standardize(&g, in->model, "input");
  for (int l = 0; l <= last; l++)
    if (spec->layers[l].type == NN_LAYER_DENSE) x = dense(&g, in->model, l, x, l == last);
  if (in->classes != NULL && label(&g, spec, in->classes) != 0) {
    arena_free(&a);
    return api_fail(err, API_INTERNAL, NULL, "the class names of model %lld do not fit it",
                    (long long)in->model_id);
  }

  Onnx__ValueInfoProto *ins[1] = {value(&a, "input", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
                                        spec->inputs)};
  Onnx__ValueInfoProto *outs[2] = {
      value(&a, "output", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, outputs),
      in->classes != NULL ? value(&a, "label", ONNX__TENSOR_PROTO__DATA_TYPE__STRING, 0) : NULL};
  Onnx__OperatorSetIdProto *ops[2] = {opset(&a, "", ONNX_OPSET),
                                      in->classes != NULL ? opset(&a, "ai.onnx.ml", ONNX_ML_OPSET)
                                                          : NULL};
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

  Onnx__GraphProto gp;
  onnx__graph_proto__init(&gp);
  gp.name = str(&a, in->name);
  gp.n_node = g.n_nodes;
  gp.node = g.nodes;
  gp.n_initializer = g.n_inits;
  gp.initializer = g.inits;
  gp.n_input = 1;
  gp.input = ins;
  gp.n_output = in->classes != NULL ? 2 : 1;
  gp.output = outs;

  Onnx__ModelProto mp;
  onnx__model_proto__init(&mp);
  mp.has_ir_version = 1;
  mp.ir_version = ONNX_IR_VERSION;
  mp.n_opset_import = in->classes != NULL ? 2 : 1;
  mp.opset_import = ops;
  mp.producer_name = str(&a, "traind");
  mp.producer_version = str(&a, TRAIND_VERSION);
  mp.has_model_version = 1;
  mp.model_version = in->version;
  mp.graph = &gp;
  mp.n_metadata_props = n_props;
  mp.metadata_props = props;
  for (size_t i = 0; i < n_props; i++) a.failed |= props[i] == NULL;
  for (size_t i = 0; i < mp.n_opset_import; i++) a.failed |= ops[i] == NULL;
  for (size_t i = 0; i < gp.n_output; i++) a.failed |= outs[i] == NULL;
  a.failed |= ins[0] == NULL || gp.name == NULL || mp.producer_name == NULL ||
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
  arena_free(&a);
  return rc;
}
