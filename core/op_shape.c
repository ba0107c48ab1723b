/*
 * op_shape.c — ops that move values without computing: concat and slice
 * along an axis of the rows' shape, reshape and flatten. Each row of a
 * value is outer blocks of (axis dim x inner) floats, inner the product of
 * the axes after axis: concat and slice copy those blocks, and their
 * backward copies the gradient back the other way.
 */
#include <string.h>

#include "graph.h"

/* geo: [0] axis, [1] outer, [2] inner, [3] start (slice) */
enum { AXIS, OUTER, INNER, START };

static int axis_of(nn__gnode *n, const nn_shape *s, nn_error *err) {
  int axis = n->s.axis < 0 ? s->rank + n->s.axis : n->s.axis;
  if (axis < 0 || axis >= s->rank)
    return nn__graph_fail(err, NN_EINVAL, n, "axis", "must be in %d..%d", -s->rank, s->rank - 1);
  n->geo[AXIS] = axis;
  n->geo[OUTER] = 1;
  n->geo[INNER] = 1;
  for (int d = 0; d < axis; d++) n->geo[OUTER] *= s->dim[d];
  for (int d = axis + 1; d < s->rank; d++) n->geo[INNER] *= s->dim[d];
  return NN_OK;
}

static int concat_infer(nn__gnode *n, nn_error *err) {
  int rc = axis_of(n, &n->in[0], err);
  if (rc != NN_OK) return rc;
  int axis = n->geo[AXIS];
  n->y = n->in[0];
  for (int j = 1; j < n->n_args; j++) {
    nn_shape want = n->in[0];
    want.dim[axis] = n->in[j].rank == want.rank ? n->in[j].dim[axis] : want.dim[axis];
    if (memcmp(&n->in[j], &want, sizeof want) != 0) return nn__graph_mismatch(err, n, j, &want);
    n->y.dim[axis] += n->in[j].dim[axis];
  }
  return NN_OK;
}

/* Blocks of each input into (back = 0) or out of (back = 1) each output row. */
static void concat_copy(nn__opctx *c, int back) {
  const nn__gnode *n = c->node;
  size_t zy = nn_shape_size(&n->y), inner = (size_t)n->geo[INNER];
  size_t ylen = (size_t)n->y.dim[n->geo[AXIS]] * inner;
  size_t at = 0;
  for (int j = 0; j < n->n_args; j++) {
    size_t len = (size_t)n->in[j].dim[n->geo[AXIS]] * inner, zx = nn_shape_size(&n->in[j]);
    if (!back || c->dx[j] != NULL)
      for (size_t r = 0; r < c->n; r++)
        for (size_t o = 0; o < (size_t)n->geo[OUTER]; o++) {
          float *y = (back ? c->dy : c->y) + r * zy + o * ylen + at;
          size_t xo = r * zx + o * len;
          if (back)
            memcpy(c->dx[j] + xo, y, len * sizeof(float));
          else
            memcpy(y, c->x[j] + xo, len * sizeof(float));
        }
    at += len;
  }
}

static int concat_forward(nn__opctx *c) {
  concat_copy(c, 0);
  return NN_OK;
}

static void concat_backward(nn__opctx *c) { concat_copy(c, 1); }

static int slice_infer(nn__gnode *n, nn_error *err) {
  int rc = axis_of(n, &n->in[0], err);
  if (rc != NN_OK) return rc;
  int dim = n->in[0].dim[n->geo[AXIS]], end = n->s.end == 0 ? dim : n->s.end;
  if (n->s.start < 0 || n->s.start >= dim)
    return nn__graph_fail(err, NN_EINVAL, n, "start", "must be in 0..%d", dim - 1);
  if (end <= n->s.start || end > dim)
    return nn__graph_fail(err, NN_EINVAL, n, "end", "must be in %d..%d", n->s.start + 1, dim);
  n->geo[START] = n->s.start;
  n->y = n->in[0];
  n->y.dim[n->geo[AXIS]] = end - n->s.start;
  return NN_OK;
}

static void slice_copy(nn__opctx *c, int back) {
  const nn__gnode *n = c->node;
  size_t zx = nn_shape_size(&n->in[0]), zy = nn_shape_size(&n->y), inner = (size_t)n->geo[INNER];
  size_t xlen = (size_t)n->in[0].dim[n->geo[AXIS]] * inner;
  size_t len = (size_t)n->y.dim[n->geo[AXIS]] * inner, at = (size_t)n->geo[START] * inner;
  if (back) memset(c->dx[0], 0, c->n * zx * sizeof(float)); /* outside the slice: 0 */
  for (size_t r = 0; r < c->n; r++)
    for (size_t o = 0; o < (size_t)n->geo[OUTER]; o++) {
      size_t xo = r * zx + o * xlen + at, yo = r * zy + o * len;
      if (back)
        memcpy(c->dx[0] + xo, c->dy + yo, len * sizeof(float));
      else
        memcpy(c->y + yo, c->x[0] + xo, len * sizeof(float));
    }
}

static int slice_forward(nn__opctx *c) {
  slice_copy(c, 0);
  return NN_OK;
}

static void slice_backward(nn__opctx *c) {
  if (c->dx[0] != NULL) slice_copy(c, 1);
}

static int reshape_infer(nn__gnode *n, nn_error *err) {
  const nn_shape *s = &n->s.shape;
  if (s->rank < 1 || s->rank > NN_GRAPH_MAX_RANK)
    return nn__graph_fail(err, NN_EINVAL, n, "shape", "a shape has 1 to %d dimensions",
                          NN_GRAPH_MAX_RANK);
  size_t z = 1;
  for (int d = 0; d < s->rank; d++) {
    if (s->dim[d] < 1 || s->dim[d] > NN_GRAPH_MAX_VALUE)
      return nn__graph_fail(err, NN_EINVAL, n, "shape", "dimensions must be positive");
    z *= (size_t)s->dim[d]; /* at most 2^48: no overflow */
    if (z > NN_GRAPH_MAX_VALUE) break;
  }
  if (z != nn_shape_size(&n->in[0])) {
    char a[64], b[64];
    nn_shape_format(s, a, sizeof a);
    nn_shape_format(&n->in[0], b, sizeof b);
    return nn__graph_fail(err, NN_ESHAPE, n, "shape", "%s does not hold the %zu values of %s",
                          a, nn_shape_size(&n->in[0]), b);
  }
  n->y = *s;
  return NN_OK;
}

static int flatten_infer(nn__gnode *n, nn_error *err) {
  (void)err;
  n->y = (nn_shape){1, {(int)nn_shape_size(&n->in[0])}};
  return NN_OK;
}

/* The same floats under another shape. */
static int same_forward(nn__opctx *c) {
  memcpy(c->y, c->x[0], c->n * nn_shape_size(&c->node->y) * sizeof(float));
  return NN_OK;
}

static void same_backward(nn__opctx *c) {
  if (c->dx[0] != NULL) memcpy(c->dx[0], c->dy, c->n * nn_shape_size(&c->node->y) * sizeof(float));
}

const nn__op nn__op_concat = {"concat", 2, NN_GRAPH_MAX_ARGS, 0, concat_infer, NULL,
                              concat_forward, concat_backward};
const nn__op nn__op_slice = {"slice", 1, 1, 0, slice_infer, NULL, slice_forward, slice_backward};
const nn__op nn__op_reshape = {"reshape", 1, 1, 0, reshape_infer, NULL, same_forward,
                               same_backward};
const nn__op nn__op_flatten = {"flatten", 1, 1, 0, flatten_infer, NULL, same_forward,
                               same_backward};
