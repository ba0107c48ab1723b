/* test_graph_ops.c — every op of the graph engine against central finite
 * differences (nn_graph_check, the loss summed in double over float32
 * passes): each parameter tensor and each input, at odd shapes, with
 * broadcasting, in training and evaluation modes where they differ; and the
 * forward values of the ops the layer list does not have, worked by hand. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_graph_util.h"

enum { N = 3 }; /* rows: odd, and more than one for the batch statistics */

/* Check s on inputs filled by gu_fill (spread: gu_spread) of its input shapes. */
static void check(nn_graph_spec *s, int train, int spread, const char *what) {
  float *x[NN_GRAPH_MAX_INPUTS];
  for (int i = 0; i < s->n_inputs; i++) {
    size_t z = N * nn_shape_size(&s->input_shapes[i]);
    x[i] = malloc(z * sizeof(float));
    cr_assert_not_null(x[i]);
    if (spread)
      gu_spread(x[i], z, 20 + (uint64_t)i);
    else
      gu_fill(x[i], z, 10 + (uint64_t)i);
  }
  nn_graph_check_result r = gu_check(s, (const float *const *)x, N, train, 0, what);
  cr_expect_gt(r.checked, 0, "%s: nothing checked", what);
  for (int i = 0; i < s->n_inputs; i++) free(x[i]);
  free(s);
}

Test(graph_ops, dense_every_activation) {
  for (int a = NN_ACT_LINEAR; a <= NN_ACT_SOFTMAX; a++) {
    nn_graph_spec *s = gu_spec();
    gu_input(s, "x", 5, 0, 0, 0);
    nn_node_spec *d = gu_node(s, "d", NN_OP_DENSE, "x", NULL);
    d->units = 3;
    d->activation = (nn_act)a;
    d->slope = 0.1f;
    check(s, 0, 0, nn_name(NN_NAMES_ACT, a));
  }
}

Test(graph_ops, dense_over_leading_axes) {
  nn_graph_spec *s = gu_spec();
  gu_input(s, "x", 2, 5, 0, 0);
  nn_node_spec *d = gu_node(s, "d", NN_OP_DENSE, "x", NULL);
  d->units = 4;
  d->activation = NN_ACT_TANH;
  check(s, 0, 0, "dense [2, 5] -> [2, 4]");
}

Test(graph_ops, activations) {
  nn_op ops[] = {NN_OP_RELU, NN_OP_LEAKY_RELU, NN_OP_SIGMOID, NN_OP_TANH, NN_OP_SOFTMAX};
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
    nn_graph_spec *s = gu_spec();
    gu_input(s, "x", 3, 7, 0, 0);
    gu_node(s, "y", ops[i], "x", NULL)->slope = 0.2f;
    check(s, 0, 0, nn_op_name(ops[i]));
  }
}

/* a op b for shapes a, b (rank-3 dims, 0 = absent) */
static void elementwise(nn_op op, const int *a, const int *b, const char *what) {
  nn_graph_spec *s = gu_spec();
  gu_input(s, "a", a[0], a[1], a[2], 0);
  gu_input(s, "b", b[0], b[1], b[2], 0);
  gu_node(s, "y", op, "a", "b");
  check(s, 0, 0, what);
}

Test(graph_ops, elementwise_broadcasting) {
  nn_op ops[] = {NN_OP_ADD, NN_OP_SUB, NN_OP_MUL};
  for (int i = 0; i < 3; i++) {
    elementwise(ops[i], (int[]){3, 5, 0}, (int[]){3, 5, 0}, "same shapes");
    elementwise(ops[i], (int[]){3, 5, 0}, (int[]){5, 0, 0}, "a bias [5] of [3, 5]");
    elementwise(ops[i], (int[]){3, 2, 5}, (int[]){3, 1, 1}, "a per-channel [3, 1, 1]");
    elementwise(ops[i], (int[]){2, 3, 1}, (int[]){3, 4, 0}, "both broadcast");
    elementwise(ops[i], (int[]){1, 0, 0}, (int[]){2, 3, 0}, "a scalar first");
  }
}

Test(graph_ops, elementwise_shapes) {
  nn_graph_spec *s = gu_spec();
  gu_input(s, "a", 2, 3, 1, 0);
  gu_input(s, "b", 3, 4, 0, 0);
  gu_node(s, "y", NN_OP_MUL, "a", "b");
  nn_graph *g;
  cr_assert_eq(nn_graph_compile(s, 1, &g, NULL), NN_OK);
  const nn_shape *y = nn_graph_shape(g, nn_graph_output(g));
  cr_expect(y->rank == 3 && y->dim[0] == 2 && y->dim[1] == 3 && y->dim[2] == 4);
  float a[6] = {1, 2, 3, 4, 5, 6}, b[12];
  for (int i = 0; i < 12; i++) b[i] = (float)i;
  cr_assert_eq(nn_graph_forward(g, (const float *const[]){a, b}, 1, 0, NULL), NN_OK);
  const float *v = nn_graph_value(g, nn_graph_output(g));
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 3; j++)
      for (int k = 0; k < 4; k++)
        cr_expect_eq(v[(i * 3 + j) * 4 + k], a[i * 3 + j] * b[j * 4 + k]);
  nn_graph_free(g);
  free(s);
}

Test(graph_ops, concat_and_slice) {
  nn_graph_spec *s = gu_spec();
  gu_input(s, "a", 3, 0, 0, 0);
  gu_input(s, "b", 5, 0, 0, 0);
  gu_node(s, "y", NN_OP_CONCAT, "a", "b");
  check(s, 0, 0, "concat [3] [5]");

  s = gu_spec();
  gu_input(s, "a", 2, 3, 0, 0);
  gu_input(s, "b", 2, 4, 0, 0);
  gu_input(s, "c", 2, 1, 0, 0);
  nn_node_spec *n = gu_node(s, "y", NN_OP_CONCAT, "a", "b");
  snprintf(n->inputs[n->n_inputs++], NN_GRAPH_NAME, "c");
  n->axis = -1;
  gu_node(s, "t", NN_OP_TANH, "y", NULL); /* a nonlinear reader of every entry */
  check(s, 0, 0, "concat [2, 3] [2, 4] [2, 1] on the last axis");

  s = gu_spec();
  gu_input(s, "a", 2, 7, 0, 0);
  n = gu_node(s, "y", NN_OP_SLICE, "a", NULL);
  n->axis = 1, n->start = 2, n->end = 5;
  check(s, 0, 0, "slice [2, 7] [2:5) of axis 1");
}

Test(graph_ops, reshape_and_flatten) {
  nn_graph_spec *s = gu_spec();
  gu_input(s, "a", 6, 0, 0, 0);
  nn_node_spec *n = gu_node(s, "r", NN_OP_RESHAPE, "a", NULL);
  n->shape = (nn_shape){2, {2, 3}};
  gu_node(s, "y", NN_OP_SOFTMAX, "r", NULL);
  check(s, 0, 0, "reshape [6] -> [2, 3], softmax of its rows");

  s = gu_spec();
  gu_input(s, "a", 2, 3, 2, 0);
  gu_node(s, "f", NN_OP_FLATTEN, "a", NULL);
  gu_node(s, "y", NN_OP_SIGMOID, "f", NULL);
  check(s, 0, 0, "flatten [2, 3, 2]");
}

Test(graph_ops, embedding) {
  nn_graph_spec *s = gu_spec();
  gu_input(s, "codes", 3, 0, 0, 0);
  nn_node_spec *e = gu_node(s, "e", NN_OP_EMBEDDING, "codes", NULL);
  e->categories = 4, e->dim = 5;
  gu_node(s, "y", NN_OP_TANH, "e", NULL);
  float codes[N * 3] = {0, 3, 1, 2, 2, 0, 3, 1, 3}; /* code 3 three times: sums */
  nn_graph_check_result r = gu_check(s, (const float *const[]){codes}, N, 0, 0, "embedding");
  cr_expect_eq(r.checked, 20, "the 4x5 table, no codes: %zu", r.checked);
  free(s);
}

Test(graph_ops, layernorm) {
  nn_graph_spec *s = gu_spec();
  gu_input(s, "a", 2, 7, 0, 0);
  gu_node(s, "n", NN_OP_LAYERNORM, "a", NULL);
  gu_node(s, "y", NN_OP_TANH, "n", NULL); /* gain and bias move away from 1 and 0 */
  check(s, 0, 0, "layernorm [2, 7]");
}

Test(graph_ops, batchnorm_training_and_inference) {
  int shapes[][3] = {{4, 0, 0}, {3, 5, 0}, {2, 3, 3}};
  for (int i = 0; i < 3; i++)
    for (int train = 0; train <= 1; train++) {
      nn_graph_spec *s = gu_spec();
      gu_input(s, "a", shapes[i][0], shapes[i][1], shapes[i][2], 0);
      gu_node(s, "n", NN_OP_BATCHNORM, "a", NULL);
      gu_node(s, "y", NN_OP_TANH, "n", NULL);
      check(s, train, 0, train ? "batchnorm, batch statistics" : "batchnorm, running statistics");
    }
}

Test(graph_ops, dropout) {
  for (int train = 0; train <= 1; train++) {
    nn_graph_spec *s = gu_spec();
    gu_input(s, "a", 11, 0, 0, 0);
    gu_node(s, "d", NN_OP_DROPOUT, "a", NULL)->rate = 0.3f;
    gu_node(s, "y", NN_OP_TANH, "d", NULL);
    check(s, train, 0, train ? "dropout, training" : "dropout, evaluation");
  }
}

Test(graph_ops, conv1d) {
  nn_graph_spec *s = gu_spec();
  gu_input(s, "a", 2, 9, 0, 0);
  nn_node_spec *c = gu_node(s, "y", NN_OP_CONV1D, "a", NULL);
  c->filters = 3, c->kernel[0] = 3, c->stride[0] = 2, c->padding[0] = 1, c->dilation[0] = 2;
  c->activation = NN_ACT_TANH;
  check(s, 0, 0, "conv1d [2, 9], k 3, stride 2, padding 1, dilation 2");

  s = gu_spec(); /* padding wider than the dilated kernel: outputs of padding alone */
  gu_input(s, "a", 1, 4, 0, 0);
  c = gu_node(s, "y", NN_OP_CONV1D, "a", NULL);
  c->filters = 2, c->kernel[0] = 2, c->padding[0] = 5, c->dilation[0] = 2;
  c->activation = NN_ACT_TANH;
  check(s, 0, 0, "conv1d [1, 4], k 2, padding 5, dilation 2");
}

Test(graph_ops, conv2d) {
  nn_graph_spec *s = gu_spec();
  gu_input(s, "a", 2, 6, 5, 0);
  nn_node_spec *c = gu_node(s, "y", NN_OP_CONV2D, "a", NULL);
  c->filters = 3;
  c->kernel[0] = 3, c->kernel[1] = 2, c->stride[0] = 2, c->stride[1] = 1;
  c->padding[0] = 1, c->padding[1] = 0, c->dilation[0] = 1, c->dilation[1] = 2;
  c->activation = NN_ACT_SIGMOID;
  check(s, 0, 0, "conv2d [2, 6, 5], k [3, 2], stride [2, 1], padding [1, 0], dilation [1, 2]");

  s = gu_spec();
  gu_input(s, "a", 1, 5, 5, 0);
  c = gu_node(s, "y", NN_OP_CONV2D, "a", NULL);
  c->filters = 2, c->kernel[0] = 3, c->padding[0] = 1, c->padding[1] = 1;
  check(s, 0, 0, "conv2d 'same' 3x3, linear");
}

Test(graph_ops, pools) {
  nn_op ops[] = {NN_OP_MAXPOOL, NN_OP_AVGPOOL};
  for (int i = 0; i < 2; i++) {
    nn_graph_spec *s = gu_spec();
    gu_input(s, "a", 2, 7, 5, 0);
    nn_node_spec *p = gu_node(s, "y", ops[i], "a", NULL);
    p->size[0] = 2; /* 2x2, stride 2: the odd last row and column are dropped */
    check(s, 0, 1, nn_op_name(ops[i]));

    s = gu_spec();
    gu_input(s, "a", 3, 7, 0, 0);
    p = gu_node(s, "y", ops[i], "a", NULL);
    p->size[0] = 3, p->stride[0] = 2; /* overlapping windows */
    check(s, 0, 1, "1-D pool");
  }
  nn_graph_spec *s = gu_spec();
  gu_input(s, "a", 3, 4, 5, 0);
  gu_node(s, "y", NN_OP_GLOBAL_AVGPOOL, "a", NULL);
  check(s, 0, 0, "global_avgpool [3, 4, 5]");
}

/* ---- forward values by hand (the check compares backward with forward, so a
 * forward wrong in a way its backward follows would pass it) ------------------ */

/* Compile s for one row, set its parameters to w (NULL: initialised), run x
 * and compare the output with want (count,). */
static void forward_is(nn_graph_spec *s, const float *w, const float *x, const float *want,
                       size_t count, const char *what) {
  nn_graph *g;
  nn_error err;
  cr_assert_eq(nn_graph_compile(s, 1, &g, &err), NN_OK, "%s: %s", what, err.message);
  cr_assert_eq(nn_shape_size(nn_graph_shape(g, nn_graph_output(g))), count, "%s", what);
  if (w != NULL) memcpy(nn_graph_params(g), w, nn_graph_param_count(g) * sizeof(float));
  cr_assert_eq(nn_graph_forward(g, (const float *const[]){x}, 1, 0, NULL), NN_OK);
  const float *y = nn_graph_value(g, nn_graph_output(g));
  for (size_t i = 0; i < count; i++)
    cr_expect_float_eq(y[i], want[i], 1e-5f, "%s [%zu]: %g, not %g", what, i, y[i], want[i]);
  nn_graph_free(g);
  free(s);
}

Test(graph_ops, forward_values) {
  const float nine[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  nn_graph_spec *s = gu_spec();
  gu_input(s, "x", 1, 3, 3, 0);
  nn_node_spec *n = gu_node(s, "y", NN_OP_CONV2D, "x", NULL);
  n->filters = 1, n->kernel[0] = 2;
  /* W = [[1, 0], [0, 1]], b = 0.5: y = x[i][j] + x[i+1][j+1] + 0.5 */
  forward_is(s, (const float[]){1, 0, 0, 1, 0.5f}, nine, (const float[]){6.5f, 8.5f, 12.5f, 14.5f},
             4, "conv2d");

  s = gu_spec();
  gu_input(s, "x", 1, 5, 0, 0);
  n = gu_node(s, "y", NN_OP_CONV1D, "x", NULL);
  n->filters = 1, n->kernel[0] = 2, n->dilation[0] = 2, n->padding[0] = 1;
  /* padded 0 1 2 3 4 5 0, taps 2 apart weighted 1 and 10 */
  forward_is(s, (const float[]){1, 10, 0}, nine, (const float[]){20, 31, 42, 53, 4}, 5,
             "conv1d dilated and padded");

  s = gu_spec();
  gu_input(s, "x", 1, 2, 4, 0);
  gu_node(s, "y", NN_OP_MAXPOOL, "x", NULL)->size[0] = 2;
  const float pool_in[8] = {1, 5, 2, 0, 3, 4, 8, 7};
  forward_is(s, NULL, pool_in, (const float[]){5, 8}, 2, "maxpool");
  s = gu_spec();
  gu_input(s, "x", 1, 2, 4, 0);
  gu_node(s, "y", NN_OP_AVGPOOL, "x", NULL)->size[0] = 2;
  forward_is(s, NULL, pool_in, (const float[]){13.0f / 4, 17.0f / 4}, 2, "avgpool");
  s = gu_spec();
  gu_input(s, "x", 2, 4, 0, 0);
  gu_node(s, "y", NN_OP_GLOBAL_AVGPOOL, "x", NULL);
  forward_is(s, NULL, pool_in, (const float[]){2, 5.5f}, 2, "global_avgpool");

  s = gu_spec();
  gu_input(s, "x", 4, 0, 0, 0);
  gu_node(s, "y", NN_OP_LAYERNORM, "x", NULL);
  float r = 1.0f / sqrtf(1.25f + 1e-5f);
  forward_is(s, NULL, nine, (const float[]){-1.5f * r, -0.5f * r, 0.5f * r, 1.5f * r}, 4,
             "layernorm");

  s = gu_spec();
  gu_input(s, "x", 3, 3, 0, 0);
  n = gu_node(s, "y", NN_OP_SLICE, "x", NULL);
  n->axis = -1, n->start = 1; /* to the end */
  forward_is(s, NULL, nine, (const float[]){2, 3, 5, 6, 8, 9}, 6, "slice");

  s = gu_spec();
  gu_input(s, "x", 3, 3, 0, 0);
  n = gu_node(s, "a", NN_OP_SLICE, "x", NULL);
  n->start = 2; /* the last row of axis 0 */
  gu_node(s, "y", NN_OP_CONCAT, "a", "x"); /* axis 0: [7 8 9] above x */
  forward_is(s, NULL, nine, (const float[]){7, 8, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9}, 12, "concat");

  s = gu_spec();
  gu_input(s, "x", 3, 3, 0, 0);
  n = gu_node(s, "c", NN_OP_SLICE, "x", NULL);
  n->axis = 1, n->end = 1; /* the first column, [3, 1] */
  gu_node(s, "y", NN_OP_SUB, "x", "c"); /* each row minus its first entry */
  forward_is(s, NULL, nine, (const float[]){0, 1, 2, 0, 1, 2, 0, 1, 2}, 9, "sub broadcast");

  s = gu_spec();
  gu_input(s, "x", 2, 0, 0, 0);
  n = gu_node(s, "y", NN_OP_EMBEDDING, "x", NULL);
  n->categories = 3, n->dim = 2;
  forward_is(s, (const float[]){0, 1, 10, 11, 20, 21}, (const float[]){2, 0},
             (const float[]){20, 21, 0, 1}, 4, "embedding");
}
