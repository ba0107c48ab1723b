/*
 * onnx_export.c — a model's graph as protobuf-c messages, packed once
 * (onnx_export.h).
 *
 * Every message, string and small array of one export lives in an arena
 * freed at once, so building the graph has one failure check (out of
 * memory) at its end instead of one per allocation: each builder returns
 * NULL once anything failed, and add_node refuses NULL parts. The graph's
 * size is bounded by the spec (at most NN_MAX_LAYERS dense layers) and a
 * table model's columns (a few nodes each), so the node and initializer
 * arrays are sized once, before the graph is built.
 *
 * A table model's columns are encoded in the graph as core/encode_apply.c
 * encodes a record: numbers in double, rounded once to float, so the
 * features ONNX Runtime computes are traind's bit for bit (docs/onnx.md says
 * why this takes Sub and Div in double rather than ai.onnx.ml's float
 * Imputer and Scaler).
 */
#include "onnx_export.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "../core/encode.h"
#include "config.h"
#include "onnx.pb-c.h"

/* standardization 2, a Gemm and an activation per layer, 4 for the label,
 * 3 to unscale a regression, 1 Concat; and at most 6 nodes, 3 initializers
 * a table column */
#define NET_NODES (2 + 2 * NN_MAX_LAYERS + 4 + 3 + 1)
#define NET_INITS (2 + 2 * NN_MAX_LAYERS + 2 + 2 + 1)
#define COLUMN_NODES 6
#define COLUMN_INITS 3
#define DATETIME_NODES 128 /* the calendar in arithmetic: about 100 */
#define DATETIME_INITS 64
#define DATETIME_PIECES 10 /* 9 cyclic outputs and the indicator */
#define MAX_PROPS 10
#define ONNX_FLOAT 1 /* TensorProto.DataType, Cast's "to" */
#define ONNX_DOUBLE 11

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

/* A double tensor of dims (1) holding v. */
static Onnx__TensorProto *tensor_f64(arena *a, const char *name, double v) {
  Onnx__TensorProto *t = alloc(a, sizeof *t);
  int64_t *dims = alloc(a, sizeof *dims);
  double *data = alloc(a, sizeof *data);
  char *n = str(a, name);
  if (t == NULL || dims == NULL || data == NULL || n == NULL) return NULL;
  onnx__tensor_proto__init(t);
  dims[0] = 1;
  *data = v;
  t->n_dims = 1;
  t->dims = dims;
  t->has_data_type = 1;
  t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE;
  t->n_double_data = 1;
  t->double_data = data;
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

/* An attribute of n ints (copied). */
static Onnx__AttributeProto *attr_ints(arena *a, const char *name, const int64_t *v, size_t n) {
  Onnx__AttributeProto *at = attr(a, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
  int64_t *copy = alloc(a, (n > 0 ? n : 1) * sizeof *copy);
  if (at == NULL || copy == NULL) return NULL;
  memcpy(copy, v, n * sizeof *copy);
  at->n_ints = n;
  at->ints = copy;
  return at;
}

/* A value's type: a tensor of elem_type with dims ("N", d1, d2), ("N", d1)
 * (d2 0) or ("N") (d1 0 too). */
static Onnx__ValueInfoProto *value3(arena *a, const char *name, int32_t elem_type, int64_t d1,
                                    int64_t d2) {
  Onnx__ValueInfoProto *v = alloc(a, sizeof *v);
  Onnx__TypeProto *tp = alloc(a, sizeof *tp);
  Onnx__TypeProto__Tensor *tt = alloc(a, sizeof *tt);
  Onnx__TensorShapeProto *sh = alloc(a, sizeof *sh);
  Onnx__TensorShapeProto__Dimension **dims = alloc(a, 3 * sizeof *dims);
  Onnx__TensorShapeProto__Dimension *d0 = alloc(a, sizeof *d0), *d1p = alloc(a, sizeof *d1p);
  Onnx__TensorShapeProto__Dimension *d2p = alloc(a, sizeof *d2p);
  char *n = str(a, name), *rows = str(a, "N");
  if (v == NULL || tp == NULL || tt == NULL || sh == NULL || dims == NULL || d0 == NULL ||
      d1p == NULL || d2p == NULL || n == NULL || rows == NULL)
    return NULL;
  onnx__tensor_shape_proto__dimension__init(d0);
  d0->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
  d0->dim_param = rows; /* any number of rows */
  onnx__tensor_shape_proto__dimension__init(d1p);
  d1p->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
  d1p->dim_value = d1;
  onnx__tensor_shape_proto__dimension__init(d2p);
  d2p->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
  d2p->dim_value = d2;
  dims[0] = d0;
  dims[1] = d1p;
  dims[2] = d2p;
  onnx__tensor_shape_proto__init(sh);
  sh->n_dim = d2 > 0 ? 3 : d1 > 0 ? 2 : 1;
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

static Onnx__ValueInfoProto *value(arena *a, const char *name, int32_t elem_type, int64_t d1) {
  return value3(a, name, elem_type, d1, 0);
}

/* ---- the graph ---------------------------------------------------------------------- */

typedef struct {
  arena *a;
  Onnx__NodeProto **nodes; /* (cap_nodes,) */
  size_t n_nodes, cap_nodes;
  Onnx__TensorProto **inits; /* (cap_inits,) */
  size_t n_inits, cap_inits;
  Onnx__ValueInfoProto **infos; /* (cap_infos,): types shape inference cannot */
  size_t n_infos, cap_infos;    /* find (OneHotEncoder's outputs) */
  int uses_ml;       /* a node of ai.onnx.ml: the opset is imported */
  const char *axis1; /* the int64 [1] initializer, once made */
} graph;

static const char *init(graph *g, Onnx__TensorProto *t) {
  if (t == NULL || g->n_inits == g->cap_inits) {
    g->a->failed = 1;
    return NULL;
  }
  g->inits[g->n_inits++] = t;
  return t->name;
}

/* A node op(in[0..n_in)) -> out with n_at attributes (a NULL one: failed). */
static void node_v(graph *g, const char *op, const char *domain, const char *const *in,
                   size_t n_in, const char *out, Onnx__AttributeProto *const *at, size_t n_at) {
  arena *a = g->a;
  Onnx__NodeProto *nd = alloc(a, sizeof *nd);
  char **ins = alloc(a, (n_in > 0 ? n_in : 1) * sizeof *ins), **outs = alloc(a, sizeof *outs);
  Onnx__AttributeProto **ats = alloc(a, (n_at > 0 ? n_at : 1) * sizeof *ats);
  if (nd == NULL || ins == NULL || outs == NULL || ats == NULL || out == NULL || n_in == 0 ||
      g->n_nodes == g->cap_nodes) {
    a->failed = 1; /* every node here has an input */
    return;
  }
  onnx__node_proto__init(nd);
  for (size_t i = 0; i < n_in; i++)
    if (in[i] == NULL || (ins[nd->n_input++] = str(a, in[i])) == NULL) {
      a->failed = 1;
      return;
    }
  nd->input = ins;
  if ((outs[0] = str(a, out)) == NULL) return;
  nd->n_output = 1;
  nd->output = outs;
  if ((nd->op_type = str(a, op)) == NULL) return;
  if (domain != NULL && (nd->domain = str(a, domain)) == NULL) return;
  if (domain != NULL) g->uses_ml = 1;
  for (size_t i = 0; i < n_at; i++)
    if ((ats[nd->n_attribute++] = at[i]) == NULL) a->failed = 1;
  nd->attribute = ats;
  nd->name = fmt(a, "%s_%lld", op, (long long)g->n_nodes);
  g->nodes[g->n_nodes++] = nd;
}

/* A node op(in0[, in1[, in2]]) -> out with up to two attributes (NULL: none). */
static void node(graph *g, const char *op, const char *domain, const char *in0, const char *in1,
                 const char *in2, const char *out, Onnx__AttributeProto *at0,
                 Onnx__AttributeProto *at1) {
  const char *in[3] = {in0, in1, in2};
  Onnx__AttributeProto *at[2] = {at0, at1};
  size_t n_in = in2 != NULL ? 3 : in1 != NULL ? 2 : 1;
  node_v(g, op, domain, in, n_in, out, at, at1 != NULL ? 2 : at0 != NULL ? 1 : 0);
}

/* The int64 [1] tensor {1}: Squeeze's axes. */
static const char *axis1(graph *g) {
  static const int64_t one[1] = {1};
  if (g->axis1 == NULL) g->axis1 = init(g, tensor_i64(g->a, "axis1", one, 1));
  return g->axis1;
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

/* Dense layer l: Gemm(x, W (out, in) transposed, b), then its activation;
 * the last one's output is named final.
 * @return the name of the layer's output */
static const char *dense(graph *g, const nn_model *m, int l, const char *x, const char *final) {
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
  const char *z = final != NULL && ls->act == NN_ACT_LINEAR ? final : fmt(a, "%s%lld", "dense", l);
  const char *y = final != NULL ? final : fmt(a, "%s%lld", "act", l);
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
    const char *h = init(g, tensor_f32(a, "half", &half, -1, 0));
    const char *ax = axis1(g);
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

/* ---- a table model's columns ------------------------------------------------------- */

/* "col<i>.<what>": the values of input column i. */
static char *col_value(arena *a, int i, const char *what) {
  char buf[64];
  snprintf(buf, sizeof buf, "col%d.%s", i, what);
  return str(a, buf);
}

/* A number, integer or boolean column: (N, 1) double, NaN where missing;
 * z = (isnan(x) ? fill : x - mean) / scale in double, then Cast to float,
 * as core's put_number; the indicator is isnan(x) as 0/1.
 * @return the number of pieces (float (N, 1) values) written to piece */
static int number_column(graph *g, int i, const nn_encoder_column_info *c, const char **piece) {
  arena *a = g->a;
  const char *x = c->name, *missing = col_value(a, i, "missing");
  const char *fill = init(g, tensor_f64(a, col_value(a, i, "fill"), c->fill[0]));
  const char *mean = init(g, tensor_f64(a, col_value(a, i, "mean"), c->mean[0]));
  const char *scale = init(g, tensor_f64(a, col_value(a, i, "scale"), c->scale[0]));
  const char *imputed = col_value(a, i, "imputed"), *centered = col_value(a, i, "centered");
  const char *scaled = col_value(a, i, "scaled");
  node(g, "IsNaN", NULL, x, NULL, NULL, missing, NULL, NULL);
  node(g, "Where", NULL, missing, fill, x, imputed, NULL, NULL);
  node(g, "Sub", NULL, imputed, mean, NULL, centered, NULL, NULL);   /* x - mean */
  node(g, "Div", NULL, centered, scale, NULL, scaled, NULL, NULL);   /* (x - mean) / scale */
  piece[0] = col_value(a, i, "value");
  node(g, "Cast", NULL, scaled, NULL, NULL, piece[0], attr_int(a, "to", ONNX_FLOAT), NULL);
  if (!c->missing_indicator) return 1;
  piece[1] = col_value(a, i, "indicator");
  node(g, "Cast", NULL, missing, NULL, NULL, piece[1], attr_int(a, "to", ONNX_FLOAT), NULL);
  return 2;
}

/* A category column: (N, 1) string. LabelEncoder maps kept category k to
 * k, the table's missing markers and "" to -1 (missing), any other text to
 * the other slot n; OneHotEncoder over 0..n (zeros = 1: -1 sets nothing)
 * then gives core's put_category, Squeezed from (N, 1, n + 1) to (N, n + 1).
 * @return the number of pieces written to piece */
static int category_column(graph *g, const nn_encoder *e, int i,
                           const nn_encoder_column_info *c, const char **piece) {
  arena *a = g->a;
  int n = c->n_categories, n_keys = 0, markers = 0;
  while (nn_encoder_missing_marker(e, markers) != NULL) markers++;
  size_t cap = (size_t)n + (size_t)markers + 1;
  ProtobufCBinaryData *keys = alloc(a, cap * sizeof *keys);
  int64_t *values = alloc(a, cap * sizeof *values);
  int64_t *slots = alloc(a, ((size_t)n + 1) * sizeof *slots);
  if (keys == NULL || values == NULL || slots == NULL) return 0;
  /* the markers first: a record's cell equal to one is missing before it is
   * looked up, so a category of the same text could never be set */
  for (int k = -1; k < markers + n; k++) {
    const char *text = k < 0 ? "" : k < markers ? nn_encoder_missing_marker(e, k)
                                                : nn_encoder_category(e, i, k - markers);
    int dup = 0;
    for (int j = 0; j < n_keys && !dup; j++)
      dup = keys[j].len == strlen(text) && memcmp(keys[j].data, text, keys[j].len) == 0;
    if (dup) continue;
    keys[n_keys].data = (uint8_t *)text; /* the encoder outlives the export */
    keys[n_keys].len = strlen(text);
    values[n_keys++] = k < markers ? -1 : k - markers;
  }
  for (int k = 0; k <= n; k++) slots[k] = k;
  Onnx__AttributeProto *ks =
      attr(a, "keys_strings", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS);
  if (ks == NULL) return 0;
  ks->n_strings = (size_t)n_keys;
  ks->strings = keys;
  Onnx__AttributeProto *le[3] = {ks, attr_ints(a, "values_int64s", values, (size_t)n_keys),
                                 attr_int(a, "default_int64", n)};
  Onnx__AttributeProto *oh[2] = {attr_ints(a, "cats_int64s", slots, (size_t)n + 1),
                                 attr_int(a, "zeros", 1)};
  const char *x = c->name, *index = col_value(a, i, "index"), *hot = col_value(a, i, "onehot");
  node_v(g, "LabelEncoder", "ai.onnx.ml", &x, 1, index, le, 3);
  node_v(g, "OneHotEncoder", "ai.onnx.ml", &index, 1, hot, oh, 2);
  /* onnx's shape inference has no rule for OneHotEncoder: its type is told */
  Onnx__ValueInfoProto *info = value3(a, hot, ONNX_FLOAT, 1, (int64_t)n + 1);
  if (info == NULL || g->n_infos == g->cap_infos) a->failed = 1;
  else g->infos[g->n_infos++] = info;
  piece[0] = col_value(a, i, "value");
  node(g, "Squeeze", NULL, hot, axis1(g), NULL, piece[0], NULL, NULL);
  if (!c->missing_indicator) return 1;
  static const int64_t minus_one[1] = {-1};
  const char *missing = col_value(a, i, "missing");
  const char *m1 = init(g, tensor_i64(a, col_value(a, i, "missing_code"), minus_one, 1));
  piece[1] = col_value(a, i, "indicator");
  node(g, "Equal", NULL, index, m1, NULL, missing, NULL, NULL);
  node(g, "Cast", NULL, missing, NULL, NULL, piece[1], attr_int(a, "to", ONNX_FLOAT), NULL);
  return 2;
}

/* Arithmetic on the (N, 1) doubles of datetime column col: each result a
 * new value "col<i>.t<k>", each constant a new double initializer. */
typedef struct {
  graph *g;
  int col, k;
} calc;

static const char *calc_name(calc *c, const char *kind) {
  char buf[64];
  snprintf(buf, sizeof buf, "col%d.%s%d", c->col, kind, c->k++);
  return str(c->g->a, buf);
}

static const char *constant(calc *c, double v) {
  return init(c->g, tensor_f64(c->g->a, calc_name(c, "k"), v));
}

/* op(x[, y]) */
static const char *op2(calc *c, const char *op, const char *x, const char *y) {
  const char *out = calc_name(c, "t");
  node(c->g, op, NULL, x, y, NULL, out, NULL, NULL);
  return out;
}

static const char *opk(calc *c, const char *op, const char *x, double v) {
  return op2(c, op, x, constant(c, v));
}

/* floor(x / d): core's integer division of non-negative values, and its
 * floor division of the others; exact on the integers of the years 0-9999 */
static const char *fdiv(calc *c, const char *x, double d) {
  return op2(c, "Floor", opk(c, "Div", x, d), NULL);
}

static const char *to_float(calc *c, const char *x) {
  const char *out = calc_name(c, "f");
  node(c->g, "Cast", NULL, x, NULL, NULL, out, attr_int(c->g->a, "to", ONNX_FLOAT), NULL);
  return out;
}

/* A datetime column: (N, 1) double seconds since 1970-01-01 UTC, NaN where
 * missing. Its parts as core's nn__datetime_parts computes them (Howard
 * Hinnant's civil_from_days and days_from_civil, core/cell.c, in doubles
 * that hold every integer they meet exactly), imputed with the fill of
 * each part where missing, then standardized, or for the cyclic parts sin
 * and cos of 2 pi v / period, as core's put_datetime.
 * @return the number of pieces written to piece */
static int datetime_column(graph *g, int i, const nn_encoder_column_info *c, const char **piece) {
  static const double period[5] = {0, 12, 7, 366, 24};
  calc k = {g, i, 0};
  const char *s = c->name, *missing = col_value(g->a, i, "missing");
  int n = 0;
  node(g, "IsNaN", NULL, s, NULL, NULL, missing, NULL, NULL);
  const char *day = fdiv(&k, s, 86400); /* floor(seconds / 86400) */
  /* civil_from_days(day) */
  const char *z = opk(&k, "Add", day, 719468);
  const char *era = fdiv(&k, z, 146097);
  const char *doe = op2(&k, "Sub", z, opk(&k, "Mul", era, 146097));
  const char *yoe = fdiv(&k, op2(&k, "Sub", op2(&k, "Add", op2(&k, "Sub", doe, fdiv(&k, doe, 1460)),
                                               fdiv(&k, doe, 36524)),
                                 fdiv(&k, doe, 146096)),
                         365);
  const char *doy = op2(&k, "Sub", doe,
                        op2(&k, "Sub", op2(&k, "Add", opk(&k, "Mul", yoe, 365), fdiv(&k, yoe, 4)),
                            fdiv(&k, yoe, 100)));
  const char *mp = fdiv(&k, opk(&k, "Add", opk(&k, "Mul", doy, 5), 2), 153);
  /* m = mp < 10 ? mp + 3 : mp - 9 */
  const char *month = op2(&k, "Sub", opk(&k, "Add", mp, 3), opk(&k, "Mul", fdiv(&k, mp, 10), 12));
  /* y = yoe + era 400 + (m <= 2), m <= 2 being floor((14 - m) / 12) */
  const char *year = op2(&k, "Add", op2(&k, "Add", yoe, opk(&k, "Mul", era, 400)),
                         fdiv(&k, op2(&k, "Sub", constant(&k, 14), month), 12));
  /* day of week: (day + 3) mod 7, 1970-01-01 a Thursday */
  const char *d3 = opk(&k, "Add", day, 3);
  const char *dow = op2(&k, "Sub", d3, opk(&k, "Mul", fdiv(&k, d3, 7), 7));
  /* day of year: day - days_from_civil(y, 1, 1) + 1; January 1 is day 306 of
   * the March-based year y - 1 */
  const char *yb = opk(&k, "Sub", year, 1);
  const char *era1 = fdiv(&k, yb, 400);
  const char *yoe1 = op2(&k, "Sub", yb, opk(&k, "Mul", era1, 400));
  const char *doe1 =
      opk(&k, "Add",
          op2(&k, "Sub", op2(&k, "Add", opk(&k, "Mul", yoe1, 365), fdiv(&k, yoe1, 4)),
              fdiv(&k, yoe1, 100)),
          306);
  const char *jan1 = opk(&k, "Sub", op2(&k, "Add", opk(&k, "Mul", era1, 146097), doe1), 719468);
  const char *yday = opk(&k, "Add", op2(&k, "Sub", day, jan1), 1);
  /* hour: floor((seconds - day 86400) / 3600) */
  const char *hour = fdiv(&k, op2(&k, "Sub", s, opk(&k, "Mul", day, 86400)), 3600);
  const char *parts[5] = {year, month, dow, yday, hour};
  for (int p = 0; p < 5; p++) {
    const char *v = calc_name(&k, "t");
    node(g, "Where", NULL, missing, constant(&k, c->fill[p]), parts[p], v, NULL, NULL);
    if (c->cyclic && p > 0) { /* (sin, cos) of the angle 2 pi v / period */
      const char *angle = opk(&k, "Div", opk(&k, "Mul", v, 6.283185307179586), period[p]);
      piece[n++] = to_float(&k, op2(&k, "Sin", angle, NULL));
      piece[n++] = to_float(&k, op2(&k, "Cos", angle, NULL));
    } else { /* (v - mean) / scale */
      piece[n++] = to_float(&k, opk(&k, "Div", opk(&k, "Sub", v, c->mean[p]), c->scale[p]));
    }
  }
  if (c->missing_indicator) piece[n++] = to_float(&k, missing);
  return n;
}

/* Every column encoded, then Concat along axis 1 into "features" (N, width).
 * @return "features" */
static const char *table_features(graph *g, const nn_encoder *e) {
  arena *a = g->a;
  int cols = nn_encoder_columns(e), n = 0;
  const char **pieces = alloc(a, DATETIME_PIECES * (size_t)cols * sizeof *pieces);
  if (pieces == NULL) return NULL;
  for (int i = 0; i < cols; i++) {
    nn_encoder_column_info c;
    if (nn_encoder_column(e, i, &c) != NN_OK) {
      a->failed = 1;
      return NULL;
    }
    n += c.type == NN_COL_CATEGORY   ? category_column(g, e, i, &c, pieces + n)
         : c.type == NN_COL_DATETIME ? datetime_column(g, i, &c, pieces + n)
                                     : number_column(g, i, &c, pieces + n);
  }
  Onnx__AttributeProto *axis = attr_int(a, "axis", 1);
  node_v(g, "Concat", NULL, pieces, (size_t)n, "features", &axis, 1);
  return "features";
}

/* A regression on a table answers in the target's units: the network's
 * (N, outputs) float as double, times scale plus mean, as
 * nn_encoder_unscale; "output" is double. */
static void unscale(graph *g, const char *scaled, double mean, double scale) {
  const char *m = init(g, tensor_f64(g->a, "target_mean", mean));
  const char *sc = init(g, tensor_f64(g->a, "target_scale", scale));
  node(g, "Cast", NULL, scaled, NULL, NULL, "scaled_output_f64",
       attr_int(g->a, "to", ONNX_DOUBLE), NULL);
  node(g, "Mul", NULL, "scaled_output_f64", sc, NULL, "unscaled_output", NULL, NULL);
  node(g, "Add", NULL, "unscaled_output", m, NULL, "output", NULL, NULL); /* z scale + mean */
}

/* A value of the graph named as an input column would be two values of one
 * name. @return 0 or -API_UNPROCESSABLE naming the column */
static int names_distinct(const graph *g, const onnx_export_in *in, api_error *err) {
  for (size_t i = 0; i < g->n_nodes + g->n_inits; i++) {
    const char *v = i < g->n_nodes ? g->nodes[i]->output[0] : g->inits[i - g->n_nodes]->name;
    if (nn_encoder_find(in->encoder, v, strlen(v)) >= 0)
      return api_fail(err, API_UNPROCESSABLE, "id",
                      "model %lld cannot be exported to ONNX: its input column %s has the name "
                      "of a value of the graph; rename the column", (long long)in->model_id, v);
  }
  return 0;
}

/* Metadata "columns": [{"name","type","input"}] in the graph's input order. */
static char *columns_json(const nn_encoder *e) {
  cJSON *arr = cJSON_CreateArray();
  for (int i = 0; arr != NULL && i < nn_encoder_columns(e); i++) {
    nn_encoder_column_info c;
    cJSON *o = cJSON_CreateObject();
    if (o == NULL || nn_encoder_column(e, i, &c) != NN_OK ||
        !cJSON_AddItemToArray(arr, o) || cJSON_AddStringToObject(o, "name", c.name) == NULL ||
        cJSON_AddStringToObject(o, "type", nn_name(NN_NAMES_COLUMN_TYPE, c.type)) == NULL ||
        cJSON_AddStringToObject(o, "input", c.type == NN_COL_CATEGORY ? "string" : "double") ==
            NULL) {
      cJSON_Delete(arr);
      return NULL;
    }
  }
  char *text = arr != NULL ? cJSON_PrintUnformatted(arr) : NULL;
  cJSON_Delete(arr);
  return text;
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
  g.cap_nodes = NET_NODES;
  g.cap_inits = NET_INITS;
  for (int i = 0; i < cols; i++) {
    nn_encoder_column_info c;
    int dt = nn_encoder_column(e, i, &c) == NN_OK && c.type == NN_COL_DATETIME;
    g.cap_nodes += dt ? DATETIME_NODES : COLUMN_NODES;
    g.cap_inits += dt ? DATETIME_INITS : COLUMN_INITS;
  }
  g.nodes = alloc(&a, g.cap_nodes * sizeof *g.nodes);
  g.inits = alloc(&a, g.cap_inits * sizeof *g.inits);
  g.cap_infos = (size_t)cols;
  g.infos = cols > 0 ? alloc(&a, g.cap_infos * sizeof *g.infos) : NULL;

  const char *x = e != NULL ? table_features(&g, e) : "input";
  x = standardize(&g, in->model, x);
  for (int l = 0; l <= last; l++)
    if (spec->layers[l].type == NN_LAYER_DENSE)
      x = dense(&g, in->model, l, x, l != last ? NULL : regression ? "scaled_output" : "output");
  if (regression) unscale(&g, "scaled_output", t_mean, t_scale);
  if (in->classes != NULL && label(&g, spec, in->classes) != 0) {
    arena_free(&a);
    return api_fail(err, API_INTERNAL, NULL, "the class names of model %lld do not fit it",
                    (long long)in->model_id);
  }
  if (e != NULL && !a.failed && (rc = names_distinct(&g, in, err)) != 0) {
    arena_free(&a);
    return rc;
  }

  /* inputs: "input" (N, inputs) float, or one (N, 1) per table column */
  size_t n_ins = e != NULL ? (size_t)cols : 1;
  Onnx__ValueInfoProto **ins = alloc(&a, n_ins * sizeof *ins);
  for (size_t i = 0; ins != NULL && i < n_ins; i++) {
    nn_encoder_column_info c = {.name = "input", .type = NN_COL_NUMBER};
    if (e != NULL && nn_encoder_column(e, (int)i, &c) != NN_OK) a.failed = 1;
    ins[i] = e == NULL ? value(&a, "input", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, spec->inputs)
             : value(&a, c.name, c.type == NN_COL_CATEGORY ? ONNX__TENSOR_PROTO__DATA_TYPE__STRING
                                                           : ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE,
                     1);
    a.failed |= ins[i] == NULL;
  }
  Onnx__ValueInfoProto *outs[2] = {
      value(&a, "output", regression ? ONNX_DOUBLE : ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
            outputs),
      in->classes != NULL ? value(&a, "label", ONNX__TENSOR_PROTO__DATA_TYPE__STRING, 0) : NULL};
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
    props[n_props++] = prop(&a, "columns", columns = columns_json(e));
    if (target != NULL) props[n_props++] = prop(&a, "target", target);
  }
  assert(n_props <= MAX_PROPS);

  Onnx__GraphProto gp;
  onnx__graph_proto__init(&gp);
  gp.name = str(&a, in->name);
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
  arena_free(&a);
  return rc;
}
