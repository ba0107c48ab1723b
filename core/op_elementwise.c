/*
 * op_elementwise.c — add, sub and mul of two values, with numpy's
 * broadcasting of the rows' shapes: aligned on the right, a dimension of 1
 * (or a missing one) repeats to the other operand's, so a [C, 1, 1] operand
 * is a per-channel bias of a [C, H, W] one and a [D] operand one of a
 * [k, D]. Each operand is walked with its own strides, 0 along the axes it
 * repeats on; its gradient sums over them.
 */
#include <string.h>

#include "graph.h"

/* geo: [0..3] y's dims padded to 4 on the left; [4..7] a's strides;
 * [8..11] b's strides (0: repeated); [12] neither operand repeats */
enum { DIMS = 0, SA = 4, SB = 8, FLAT = 12 };

static void strides(const nn_shape *s, const int *dims, int *st) {
  int pad = 4 - s->rank, step = 1;
  for (int d = 3; d >= 0; d--) {
    int size = d < pad ? 1 : s->dim[d - pad];
    st[d] = size == 1 && dims[d] != 1 ? 0 : step;
    step *= size;
  }
}

static int infer(nn__gnode *n, nn_error *err) {
  const nn_shape *a = &n->in[0], *b = &n->in[1];
  int rank = a->rank > b->rank ? a->rank : b->rank;
  n->y.rank = rank;
  for (int d = 0; d < rank; d++) {
    int da = d - (rank - a->rank), db = d - (rank - b->rank);
    int x = da >= 0 ? a->dim[da] : 1, z = db >= 0 ? b->dim[db] : 1;
    if (x != z && x != 1 && z != 1) return nn__graph_mismatch(err, n, 1, a);
    n->y.dim[d] = x > z ? x : z;
  }
  int *dims = n->geo + DIMS;
  for (int d = 0; d < 4; d++) dims[d] = d < 4 - rank ? 1 : n->y.dim[d - (4 - rank)];
  strides(a, dims, n->geo + SA);
  strides(b, dims, n->geo + SB);
  size_t z = nn_shape_size(&n->y);
  n->geo[FLAT] = nn_shape_size(a) == z && nn_shape_size(b) == z;
  return NN_OK;
}

/* y = a op b over one row */
static void row(nn_op op, const int *geo, const float *a, const float *b, float *y) {
  const int *dims = geo + DIMS, *sa = geo + SA, *sb = geo + SB;
  for (int i0 = 0; i0 < dims[0]; i0++)
    for (int i1 = 0; i1 < dims[1]; i1++)
      for (int i2 = 0; i2 < dims[2]; i2++) {
        const float *pa = a + i0 * sa[0] + i1 * sa[1] + i2 * sa[2];
        const float *pb = b + i0 * sb[0] + i1 * sb[1] + i2 * sb[2];
        for (int i3 = 0; i3 < dims[3]; i3++) {
          float u = pa[i3 * sa[3]], v = pb[i3 * sb[3]];
          *y++ = op == NN_OP_ADD ? u + v : op == NN_OP_SUB ? u - v : u * v;
        }
      }
}

/* da += dy * (mul ? b : 1), db += dy * (mul ? a : sub ? -1 : 1) over one row */
static void row_back(nn_op op, const int *geo, const float *a, const float *b, const float *dy,
                     float *da, float *db) {
  const int *dims = geo + DIMS, *sa = geo + SA, *sb = geo + SB;
  for (int i0 = 0; i0 < dims[0]; i0++)
    for (int i1 = 0; i1 < dims[1]; i1++)
      for (int i2 = 0; i2 < dims[2]; i2++) {
        size_t oa = (size_t)(i0 * sa[0] + i1 * sa[1] + i2 * sa[2]);
        size_t ob = (size_t)(i0 * sb[0] + i1 * sb[1] + i2 * sb[2]);
        for (int i3 = 0; i3 < dims[3]; i3++, dy++) {
          size_t ia = oa + (size_t)(i3 * sa[3]), ib = ob + (size_t)(i3 * sb[3]);
          if (da != NULL) da[ia] += op == NN_OP_MUL ? *dy * b[ib] : *dy;
          if (db != NULL) db[ib] += op == NN_OP_MUL ? *dy * a[ia] : op == NN_OP_SUB ? -*dy : *dy;
        }
      }
}

/* The common case of equal shapes: one pass over the batch. */
NN__VECTORIZE
static void flat(nn_op op, const float *a, const float *b, float *y, size_t count) {
  if (op == NN_OP_ADD)
    for (size_t i = 0; i < count; i++) y[i] = a[i] + b[i]; /* y = a + b */
  else if (op == NN_OP_SUB)
    for (size_t i = 0; i < count; i++) y[i] = a[i] - b[i]; /* y = a - b */
  else
    for (size_t i = 0; i < count; i++) y[i] = a[i] * b[i]; /* y = a b */
}

static int forward(nn__opctx *c) {
  const nn__gnode *n = c->node;
  size_t za = nn_shape_size(&n->in[0]), zb = nn_shape_size(&n->in[1]), zy = nn_shape_size(&n->y);
  if (n->geo[FLAT]) {
    flat(n->s.op, c->x[0], c->x[1], c->y, c->n * zy);
    return NN_OK;
  }
  for (size_t r = 0; r < c->n; r++)
    row(n->s.op, n->geo, c->x[0] + r * za, c->x[1] + r * zb, c->y + r * zy);
  return NN_OK;
}

static void backward(nn__opctx *c) {
  const nn__gnode *n = c->node;
  size_t za = nn_shape_size(&n->in[0]), zb = nn_shape_size(&n->in[1]), zy = nn_shape_size(&n->y);
  if (c->dx[0] != NULL) memset(c->dx[0], 0, c->n * za * sizeof(float));
  if (c->dx[1] != NULL) memset(c->dx[1], 0, c->n * zb * sizeof(float));
  for (size_t r = 0; r < c->n; r++)
    row_back(n->s.op, n->geo, c->x[0] + r * za, c->x[1] + r * zb, c->dy + r * zy,
             c->dx[0] != NULL ? c->dx[0] + r * za : NULL,
             c->dx[1] != NULL ? c->dx[1] + r * zb : NULL);
}

const nn__op nn__op_add = {"add", 2, 2, 0, infer, NULL, forward, backward};
const nn__op nn__op_sub = {"sub", 2, 2, 0, infer, NULL, forward, backward};
const nn__op nn__op_mul = {"mul", 2, 2, 0, infer, NULL, forward, backward};
