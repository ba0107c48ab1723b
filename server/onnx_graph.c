/*
 * onnx_graph.c — the builders of an ONNX graph's protobuf-c messages
 * (onnx_graph.h), every allocation in one arena.
 */
#include "onnx_graph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *onnx_alloc(onnx_arena *a, size_t size) {
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

void onnx_arena_free(onnx_arena *a) {
  for (size_t i = 0; i < a->n; i++) free(a->blocks[i]);
  free(a->blocks);
}

char *onnx_str(onnx_arena *a, const char *s) {
  char *p = s != NULL ? onnx_alloc(a, strlen(s) + 1) : NULL;
  if (p != NULL) memcpy(p, s, strlen(s) + 1);
  return p;
}

/* A short name made of a prefix and a number: "dense3". */
char *onnx_fmt(onnx_arena *a, const char *f, const char *s, long long i) {
  char buf[96];
  snprintf(buf, sizeof buf, f, s, i);
  return onnx_str(a, buf);
}

/* ---- tensors, attributes, types ------------------------------------------------- */

/* A float tensor of dims[0..n) (n 0: a scalar) over data, which is not copied. */
Onnx__TensorProto *onnx_tensor_f32n(onnx_arena *a, const char *name, const float *data,
                                    const int64_t *dims, size_t n) {
  Onnx__TensorProto *t = onnx_alloc(a, sizeof *t);
  int64_t *d = onnx_alloc(a, (n > 0 ? n : 1) * sizeof *d);
  char *nm = onnx_str(a, name);
  if (t == NULL || d == NULL || nm == NULL) return NULL;
  onnx__tensor_proto__init(t);
  t->n_float_data = 1;
  for (size_t i = 0; i < n; i++) t->n_float_data *= (size_t)(d[i] = dims[i]);
  t->n_dims = n;
  t->dims = d;
  t->has_data_type = 1;
  t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
  t->float_data = (float *)data; /* packed, never written */
  t->name = nm;
  return t;
}

/* A float tensor of dims (d0) or (d0, d1) over data, which is not copied. */
Onnx__TensorProto *onnx_tensor_f32(onnx_arena *a, const char *name, const float *data, int64_t d0,
                                   int64_t d1) {
  const int64_t dims[2] = {d0, d1};
  return onnx_tensor_f32n(a, name, data, dims, d1 > 0 ? 2 : d0 >= 0 ? 1 : 0); /* d0 < 0: a scalar */
}

/* A double tensor of dims (1) holding v. */
Onnx__TensorProto *onnx_tensor_f64(onnx_arena *a, const char *name, double v) {
  Onnx__TensorProto *t = onnx_alloc(a, sizeof *t);
  int64_t *dims = onnx_alloc(a, sizeof *dims);
  double *data = onnx_alloc(a, sizeof *data);
  char *n = onnx_str(a, name);
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
Onnx__TensorProto *onnx_tensor_i64(onnx_arena *a, const char *name, const int64_t *v, size_t n) {
  Onnx__TensorProto *t = onnx_alloc(a, sizeof *t);
  int64_t *dims = onnx_alloc(a, sizeof *dims), *data = onnx_alloc(a, n * sizeof *data);
  char *nm = onnx_str(a, name);
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

Onnx__AttributeProto *onnx_attr(onnx_arena *a, const char *name,
                                Onnx__AttributeProto__AttributeType type) {
  Onnx__AttributeProto *at = onnx_alloc(a, sizeof *at);
  char *n = onnx_str(a, name);
  if (at == NULL || n == NULL) return NULL;
  onnx__attribute_proto__init(at);
  at->name = n;
  at->has_type = 1;
  at->type = type;
  return at;
}

Onnx__AttributeProto *onnx_attr_int(onnx_arena *a, const char *name, int64_t v) {
  Onnx__AttributeProto *at = onnx_attr(a, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
  if (at == NULL) return NULL;
  at->has_i = 1;
  at->i = v;
  return at;
}

Onnx__AttributeProto *onnx_attr_float(onnx_arena *a, const char *name, float v) {
  Onnx__AttributeProto *at = onnx_attr(a, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
  if (at == NULL) return NULL;
  at->has_f = 1;
  at->f = v;
  return at;
}

/* An attribute of n ints (copied). */
Onnx__AttributeProto *onnx_attr_ints(onnx_arena *a, const char *name, const int64_t *v, size_t n) {
  Onnx__AttributeProto *at = onnx_attr(a, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
  int64_t *copy = onnx_alloc(a, (n > 0 ? n : 1) * sizeof *copy);
  if (at == NULL || copy == NULL) return NULL;
  memcpy(copy, v, n * sizeof *copy);
  at->n_ints = n;
  at->ints = copy;
  return at;
}

/* A value's type: a tensor of elem_type with dims ("N", d1, d2), ("N", d1)
 * (d2 0) or ("N") (d1 0 too). */
Onnx__ValueInfoProto *onnx_value3(onnx_arena *a, const char *name, int32_t elem_type, int64_t d1,
                                  int64_t d2) {
  Onnx__ValueInfoProto *v = onnx_alloc(a, sizeof *v);
  Onnx__TypeProto *tp = onnx_alloc(a, sizeof *tp);
  Onnx__TypeProto__Tensor *tt = onnx_alloc(a, sizeof *tt);
  Onnx__TensorShapeProto *sh = onnx_alloc(a, sizeof *sh);
  Onnx__TensorShapeProto__Dimension **dims = onnx_alloc(a, 3 * sizeof *dims);
  Onnx__TensorShapeProto__Dimension *d0 = onnx_alloc(a, sizeof *d0),
                                    *d1p = onnx_alloc(a, sizeof *d1p);
  Onnx__TensorShapeProto__Dimension *d2p = onnx_alloc(a, sizeof *d2p);
  char *n = onnx_str(a, name), *rows = onnx_str(a, "N");
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

Onnx__ValueInfoProto *onnx_value(onnx_arena *a, const char *name, int32_t elem_type, int64_t d1) {
  return onnx_value3(a, name, elem_type, d1, 0);
}

/* ---- the graph ---------------------------------------------------------------------- */

const char *onnx_init(onnx_graph *g, Onnx__TensorProto *t) {
  if (t == NULL || g->n_inits == g->cap_inits) {
    g->a->failed = 1;
    return NULL;
  }
  g->inits[g->n_inits++] = t;
  return t->name;
}

/* A node op(in[0..n_in)) -> out with n_at attributes (a NULL one: failed). */
void onnx_node_v(onnx_graph *g, const char *op, const char *domain, const char *const *in,
                 size_t n_in, const char *out, Onnx__AttributeProto *const *at, size_t n_at) {
  onnx_arena *a = g->a;
  Onnx__NodeProto *nd = onnx_alloc(a, sizeof *nd);
  char **ins = onnx_alloc(a, (n_in > 0 ? n_in : 1) * sizeof *ins),
       **outs = onnx_alloc(a, sizeof *outs);
  Onnx__AttributeProto **ats = onnx_alloc(a, (n_at > 0 ? n_at : 1) * sizeof *ats);
  if (nd == NULL || ins == NULL || outs == NULL || ats == NULL || out == NULL || n_in == 0 ||
      g->n_nodes == g->cap_nodes) {
    a->failed = 1; /* every node here has an input */
    return;
  }
  onnx__node_proto__init(nd);
  for (size_t i = 0; i < n_in; i++)
    if (in[i] == NULL || (ins[nd->n_input++] = onnx_str(a, in[i])) == NULL) {
      a->failed = 1;
      return;
    }
  nd->input = ins;
  if ((outs[0] = onnx_str(a, out)) == NULL) return;
  nd->n_output = 1;
  nd->output = outs;
  if ((nd->op_type = onnx_str(a, op)) == NULL) return;
  if (domain != NULL && (nd->domain = onnx_str(a, domain)) == NULL) return;
  if (domain != NULL) g->uses_ml = 1;
  for (size_t i = 0; i < n_at; i++)
    if ((ats[nd->n_attribute++] = at[i]) == NULL) a->failed = 1;
  nd->attribute = ats;
  nd->name = onnx_fmt(a, "%s_%lld", op, (long long)g->n_nodes);
  g->nodes[g->n_nodes++] = nd;
}

/* A node op(in0[, in1[, in2]]) -> out with up to two attributes (NULL: none). */
void onnx_node(onnx_graph *g, const char *op, const char *domain, const char *in0, const char *in1,
               const char *in2, const char *out, Onnx__AttributeProto *at0,
               Onnx__AttributeProto *at1) {
  const char *in[3] = {in0, in1, in2};
  Onnx__AttributeProto *at[2] = {at0, at1};
  size_t n_in = in2 != NULL ? 3 : in1 != NULL ? 2 : 1;
  onnx_node_v(g, op, domain, in, n_in, out, at, at1 != NULL ? 2 : at0 != NULL ? 1 : 0);
}

/* The int64 [1] tensor {1}: Squeeze's axes. */
const char *onnx_axis1(onnx_graph *g) {
  static const int64_t one[1] = {1};
  if (g->axis1 == NULL) g->axis1 = onnx_init(g, onnx_tensor_i64(g->a, "axis1", one, 1));
  return g->axis1;
}
