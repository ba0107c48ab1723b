/* test_graph.c — the graph engine: compile errors with their fields,
 * values shared by branches (their gradients summed), a residual block, an
 * embedding beside numeric inputs, a small conv net, batchnorm's modes,
 * dropout's determinism, and a chain graph computing what nn_model
 * computes, bit for bit. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/nn_internal.h"
#include "nets.h"
#include "test_graph_util.h"

/* ---- compile errors ------------------------------------------------------------- */

static void refused(const nn_graph_spec *s, int status, const char *field, const char *message) {
  nn_graph *g = (nn_graph *)1;
  nn_error err;
  memset(&err, 0, sizeof err);
  cr_expect_eq(nn_graph_compile(s, 4, &g, &err), status, "%s", err.message);
  cr_expect_null(g);
  cr_expect_str_eq(err.field, field);
  cr_expect_str_eq(err.message, message);
}

/* x [32] -> a dense 32, b dense 64, r = add(a, b): a shape mismatch at nodes[2].inputs[1] */
Test(graph, shape_mismatch_names_the_input) {
  nn_graph_spec *s = gu_spec();
  gu_input(s, "x", 8, 0, 0, 0);
  gu_node(s, "a", NN_OP_DENSE, "x", NULL)->units = 32;
  gu_node(s, "b", NN_OP_DENSE, "x", NULL)->units = 64;
  gu_node(s, "t", NN_OP_TANH, "b", NULL);
  gu_node(s, "r", NN_OP_ADD, "a", "t");
  refused(s, NN_ESHAPE, "nodes[3].inputs[1]", "nodes[3].inputs[1]: shape [64] does not match [32]");
  s->nodes[1].units = 32;
  nn_graph *g;
  cr_expect_eq(nn_graph_compile(s, 4, &g, NULL), NN_OK);
  nn_graph_free(g);
  free(s);
}

Test(graph, unknown_names) {
  nn_graph_spec *s = gu_spec();
  gu_input(s, "x", 8, 0, 0, 0);
  gu_node(s, "a", NN_OP_DENSE, "x", NULL)->units = 4;
  gu_node(s, "r", NN_OP_ADD, "a", "zz");
  refused(s, NN_EINVAL, "nodes[1].inputs[1]", "nodes[1].inputs[1]: unknown name \"zz\"");
  snprintf(s->nodes[1].inputs[1], NN_GRAPH_NAME, "a");
  snprintf(s->output, NN_GRAPH_NAME, "y");
  refused(s, NN_EINVAL, "output", "output: unknown name \"y\"");
  free(s);
}

Test(graph, cycles_are_spelled_out) {
  nn_graph_spec *s = gu_spec();
  gu_input(s, "x", 4, 0, 0, 0);
  gu_node(s, "a", NN_OP_ADD, "x", "c");
  gu_node(s, "b", NN_OP_TANH, "a", NULL);
  gu_node(s, "c", NN_OP_RELU, "b", NULL);
  gu_node(s, "y", NN_OP_SIGMOID, "c", NULL);
  refused(s, NN_EINVAL, "nodes[0].inputs[1]", "nodes[0].inputs[1]: cycle: a -> b -> c -> a");
  free(s);

  s = gu_spec(); /* a node reading itself */
  gu_input(s, "x", 4, 0, 0, 0);
  gu_node(s, "a", NN_OP_MUL, "x", "a");
  refused(s, NN_EINVAL, "nodes[0].inputs[1]", "nodes[0].inputs[1]: cycle: a -> a");
  free(s);
}

Test(graph, bad_attributes_and_names) {
  nn_graph_spec *s = gu_spec();
  gu_input(s, "x", 1, 8, 8, 0);
  gu_node(s, "c", NN_OP_CONV2D, "x", NULL)->filters = 4;
  refused(s, NN_EINVAL, "nodes[0].kernel", "nodes[0].kernel: must be positive integers");
  s->nodes[0].kernel[0] = 9;
  refused(s, NN_ESHAPE, "nodes[0].kernel",
          "nodes[0].kernel: the kernel is larger than the padded input");
  s->nodes[0].padding[0] = 1, s->nodes[0].padding[1] = 1;
  nn_graph *g;
  cr_expect_eq(nn_graph_compile(s, 2, &g, NULL), NN_OK); /* 10x10 padded: one 9x9 window */
  cr_expect_eq(nn_graph_shape(g, 1)->dim[1], 2);
  nn_graph_free(g);
  gu_node(s, "d", NN_OP_DROPOUT, "c", NULL)->rate = 1.0f;
  refused(s, NN_EINVAL, "nodes[1].rate", "nodes[1].rate: must be in [0, 1)");
  s->nodes[1].rate = 0.5f;
  gu_node(s, "f", NN_OP_DENSE, "d", NULL);
  refused(s, NN_EINVAL, "nodes[2].units", "nodes[2].units: must be an integer in 1..1048576");
  s->nodes[2].units = 3;
  s->nodes[2].op = NN_OP_COUNT;
  refused(s, NN_EINVAL, "nodes[2].op", "nodes[2].op: not a known op");
  s->nodes[2].op = NN_OP_ADD;
  refused(s, NN_EINVAL, "nodes[2].inputs", "nodes[2].inputs: add takes 2 inputs");
  s->nodes[2].op = NN_OP_DENSE;
  snprintf(s->nodes[2].name, NN_GRAPH_NAME, "x");
  refused(s, NN_EINVAL, "nodes[2].name", "nodes[2].name: the name \"x\" is used twice");
  snprintf(s->nodes[2].name, NN_GRAPH_NAME, "f");
  gu_node(s, "r", NN_OP_RESHAPE, "d", NULL)->shape = (nn_shape){2, {5, 5}};
  refused(s, NN_ESHAPE, "nodes[3].shape",
          "nodes[3].shape: [5, 5] does not hold the 16 values of [4, 2, 2]");
  s->nodes[3].shape = (nn_shape){4, {1 << 16, 1 << 16, 1 << 16, 1 << 16}}; /* 2^64 */
  refused(s, NN_ESHAPE, "nodes[3].shape",
          "nodes[3].shape: [65536, 65536, 65536, 65536] does not hold the 16 values of [4, 2, 2]");
  memset(s->nodes[3].name, 'r', NN_GRAPH_NAME); /* no NUL */
  refused(s, NN_EINVAL, "nodes[3].name", "nodes[3].name: a name has 1 to 31 bytes");
  s->input_shapes[0].rank = 0;
  refused(s, NN_EINVAL, "inputs[0]", "inputs[0]: a shape has 1 to 4 dimensions");
  free(s);
}

Test(graph, op_names_round_trip) {
  for (int i = 0; i < NN_OP_COUNT; i++) {
    nn_op op;
    cr_assert_not_null(nn_op_name((nn_op)i));
    cr_expect_eq(nn_op_parse(nn_op_name((nn_op)i), &op), NN_OK);
    cr_expect_eq(op, (nn_op)i);
  }
  nn_op op;
  cr_expect_eq(nn_op_parse("lstm", &op), NN_EINVAL);
  cr_expect_null(nn_op_name(NN_OP_COUNT));
}

/* ---- order, shapes and layout ---------------------------------------------------- */

Test(graph, nodes_run_in_dependency_order) {
  nn_graph_spec *s = gu_spec(); /* written output first */
  gu_input(s, "x", 5, 0, 0, 0);
  gu_node(s, "y", NN_OP_SIGMOID, "h", NULL);
  gu_node(s, "h", NN_OP_DENSE, "x", NULL)->units = 3;
  snprintf(s->output, NN_GRAPH_NAME, "y");
  nn_graph *g;
  cr_assert_eq(nn_graph_compile(s, 2, &g, NULL), NN_OK);
  cr_expect_eq(nn_graph_order(g)[0], 1);
  cr_expect_eq(nn_graph_order(g)[1], 0);
  cr_expect_eq(nn_graph_find(g, "h"), 2);
  cr_expect_eq(nn_graph_find(g, "nope"), NN_EINVAL);
  cr_expect_eq(nn_graph_param_count(g), 5 * 3 + 3);
  size_t off, count;
  nn_graph_node_params(g, 1, &off, &count);
  cr_expect(off == 0 && count == 18);
  float x[10];
  gu_fill(x, 10, 1);
  cr_expect_eq(nn_graph_forward(g, (const float *const[]){x}, 3, 0, NULL), NN_ERANGE);
  cr_expect_eq(nn_graph_forward(g, (const float *const[]){x}, 0, 0, NULL), NN_ERANGE);
  float d[6] = {0};
  cr_expect_eq(nn_graph_backward(g, d, 0), NN_EINVAL, "no forward pass yet");
  cr_expect_eq(nn_graph_forward(g, (const float *const[]){x}, 2, 0, NULL), NN_OK);
  cr_expect_eq(nn_graph_backward(g, d, 0), NN_OK);
  nn_graph_free(g);
  free(s);
}

/* ---- gradients meeting --------------------------------------------------------- */

/* y = x + x and y = x * x: one value read twice by one node */
Test(graph, a_value_read_twice_by_one_node) {
  nn_op ops[] = {NN_OP_ADD, NN_OP_MUL};
  for (int k = 0; k < 2; k++) {
    nn_graph_spec *s = gu_spec();
    gu_input(s, "x", 3, 0, 0, 0);
    gu_node(s, "y", ops[k], "x", "x");
    nn_graph *g;
    cr_assert_eq(nn_graph_compile(s, 2, &g, NULL), NN_OK);
    float x[6] = {1, -2, 3, 0.5f, 4, -1}, d[6] = {1, 2, 3, 4, 5, 6};
    cr_assert_eq(nn_graph_forward(g, (const float *const[]){x}, 2, 0, NULL), NN_OK);
    cr_assert_eq(nn_graph_backward(g, d, 1), NN_OK);
    const float *dx = nn_graph_value_grad(g, 0);
    for (int i = 0; i < 6; i++) /* d(x + x) = 2 dy, d(x x) = 2 x dy */
      cr_expect_eq(dx[i], k == 0 ? 2 * d[i] : 2 * x[i] * d[i], "%s [%d]: %g", nn_op_name(ops[k]),
                   i, dx[i]);
    nn_graph_free(g);
    free(s);
  }
}

/* h feeds two branches; its gradient is the sum of theirs */
Test(graph, a_value_shared_by_two_branches) {
  nn_graph_spec *s = gu_spec();
  gu_input(s, "x", 5, 0, 0, 0);
  nn_node_spec *n = gu_node(s, "h", NN_OP_DENSE, "x", NULL);
  n->units = 6, n->activation = NN_ACT_TANH;
  n = gu_node(s, "a", NN_OP_DENSE, "h", NULL);
  n->units = 4, n->activation = NN_ACT_SIGMOID;
  n = gu_node(s, "b", NN_OP_DENSE, "h", NULL);
  n->units = 4, n->activation = NN_ACT_RELU;
  gu_node(s, "y", NN_OP_MUL, "a", "b");
  float x[4 * 5];
  gu_fill(x, 20, 3);
  gu_check(s, (const float *const[]){x}, 4, 0, 0, "two branches");

  /* dL/dh with both branches = dL/dh through a alone + through b alone */
  nn_graph *g;
  cr_assert_eq(nn_graph_compile(s, 4, &g, NULL), NN_OK);
  float dy[16];
  gu_fill(dy, 16, 4);
  cr_assert_eq(nn_graph_forward(g, (const float *const[]){x}, 4, 0, NULL), NN_OK);
  cr_assert_eq(nn_graph_backward(g, dy, 0), NN_OK);
  float both[24], sum[24];
  memcpy(both, nn_graph_value_grad(g, 1), sizeof both);
  for (int branch = 0; branch < 2; branch++) {
    nn_graph_spec *t = gu_spec();
    *t = *s;
    snprintf(t->output, NN_GRAPH_NAME, "%s", branch ? "b" : "a");
    nn_graph *gb;
    cr_assert_eq(nn_graph_compile(t, 4, &gb, NULL), NN_OK);
    cr_assert_eq(nn_graph_forward(gb, (const float *const[]){x}, 4, 0, NULL), NN_OK);
    /* dL/d(branch) of the product: dy times the other branch */
    const float *other = nn_graph_value(gb, nn_graph_find(gb, branch ? "a" : "b"));
    float d[16];
    for (int i = 0; i < 16; i++) d[i] = dy[i] * other[i];
    cr_assert_eq(nn_graph_backward(gb, d, 0), NN_OK);
    const float *dh = nn_graph_value_grad(gb, 1);
    for (int i = 0; i < 24; i++) sum[i] = branch ? sum[i] + dh[i] : dh[i];
    size_t off, count; /* the other branch is dead: its gradient is 0 */
    nn_graph_node_params(gb, branch ? 1 : 2, &off, &count);
    for (size_t i = 0; i < count; i++) cr_expect_eq(nn_graph_grads(gb)[off + i], 0.0f);
    nn_graph_free(gb);
    free(t);
  }
  for (int i = 0; i < 24; i++)
    cr_expect_float_eq(both[i], sum[i], 1e-6f, "[%d] %g != %g", i, both[i], sum[i]);
  nn_graph_free(g);
  free(s);
}

Test(graph, residual_block) {
  nn_graph_spec *s = gu_spec();
  gu_input(s, "x", 6, 0, 0, 0);
  nn_node_spec *n = gu_node(s, "d1", NN_OP_DENSE, "x", NULL);
  n->units = 6, n->activation = NN_ACT_TANH;
  gu_node(s, "d2", NN_OP_DENSE, "d1", NULL)->units = 6;
  gu_node(s, "r", NN_OP_ADD, "x", "d2"); /* x + F(x) */
  gu_node(s, "ln", NN_OP_LAYERNORM, "r", NULL);
  n = gu_node(s, "y", NN_OP_DENSE, "ln", NULL);
  n->units = 3, n->activation = NN_ACT_SOFTMAX;
  float x[5 * 6];
  gu_fill(x, 30, 5);
  nn_graph_check_result r = gu_check(s, (const float *const[]){x}, 5, 0, 0, "residual block");
  cr_expect_eq(r.checked, 42 + 42 + 12 + 21 + 30,
               "every parameter and input entry: %zu", r.checked);
  free(s);
}

Test(graph, embedding_beside_numeric_columns) {
  nn_graph_spec *s = gu_spec();
  gu_input(s, "num", 4, 0, 0, 0);
  gu_input(s, "cat", 2, 0, 0, 0); /* two categorical columns' codes */
  nn_node_spec *n = gu_node(s, "e", NN_OP_EMBEDDING, "cat", NULL);
  n->categories = 5, n->dim = 3;
  gu_node(s, "f", NN_OP_FLATTEN, "e", NULL);
  gu_node(s, "c", NN_OP_CONCAT, "num", "f");
  n = gu_node(s, "h", NN_OP_DENSE, "c", NULL);
  n->units = 8, n->activation = NN_ACT_TANH;
  n = gu_node(s, "y", NN_OP_DENSE, "h", NULL);
  n->units = 2, n->activation = NN_ACT_SIGMOID;
  float num[3 * 4], cat[3 * 2] = {0, 4, 2, 4, 1, 0};
  gu_fill(num, 12, 6);
  gu_check(s, (const float *const[]){num, cat}, 3, 0, 0, "embedding + numeric");

  nn_graph *g;
  cr_assert_eq(nn_graph_compile(s, 3, &g, NULL), NN_OK);
  cr_expect_eq(nn_graph_shape(g, nn_graph_find(g, "c"))->dim[0], 10);
  cr_expect_eq(nn_graph_forward(g, (const float *const[]){num, cat}, 3, 0, NULL), NN_OK);
  cr_expect_null(nn_graph_value_grad(g, 1), "codes take no gradient");
  cat[5] = 5; /* out of range */
  cr_expect_eq(nn_graph_forward(g, (const float *const[]){num, cat}, 3, 0, NULL), NN_EINVAL);
  cat[5] = 1.5f; /* not a code */
  cr_expect_eq(nn_graph_forward(g, (const float *const[]){num, cat}, 3, 0, NULL), NN_EINVAL);
  cr_expect_eq(nn_graph_backward(g, num, 0), NN_EINVAL, "the failed pass has no backward");
  nn_graph_free(g);
  free(s);
}

/* 8x8 one-channel images: conv, batchnorm, relu, maxpool, conv, global pool, dense */
Test(graph, small_conv_net) {
  nn_graph_spec *s = gu_spec();
  gu_input(s, "x", 1, 8, 8, 0);
  nn_node_spec *n = gu_node(s, "c1", NN_OP_CONV2D, "x", NULL);
  n->filters = 4, n->kernel[0] = 3, n->padding[0] = 1, n->padding[1] = 1;
  gu_node(s, "bn", NN_OP_BATCHNORM, "c1", NULL);
  gu_node(s, "r1", NN_OP_RELU, "bn", NULL);
  gu_node(s, "p1", NN_OP_MAXPOOL, "r1", NULL)->size[0] = 2;
  n = gu_node(s, "c2", NN_OP_CONV2D, "p1", NULL);
  n->filters = 6, n->kernel[0] = 3, n->activation = NN_ACT_TANH;
  gu_node(s, "gap", NN_OP_GLOBAL_AVGPOOL, "c2", NULL);
  n = gu_node(s, "y", NN_OP_DENSE, "gap", NULL);
  n->units = 3, n->activation = NN_ACT_SOFTMAX;
  nn_graph *g;
  cr_assert_eq(nn_graph_compile(s, 4, &g, NULL), NN_OK);
  const nn_shape *c2 = nn_graph_shape(g, nn_graph_find(g, "c2"));
  cr_expect(c2->rank == 3 && c2->dim[0] == 6 && c2->dim[1] == 2 && c2->dim[2] == 2);
  cr_expect_eq(nn_graph_param_count(g), 4 * 9 + 4 + 8 + 6 * 4 * 9 + 6 + 3 * 6 + 3);
  nn_graph_free(g);
  float x[4 * 64];
  gu_spread(x, 4 * 64, 8);
  for (int i = 0; i < 4 * 64; i++) x[i] *= 0.5f;
  /* a first-layer weight moves every relu and max of the net: a step of
   * 1e-2 crosses kinks too small to tell from curvature (errors 0.09 and
   * 0.18), 3e-4 crosses none */
  for (int train = 0; train <= 1; train++)
    gu_check(s, (const float *const[]){x}, 4, train, 3e-4,
             train ? "conv net, training" : "conv net");
  free(s);
}

/* ---- modes ------------------------------------------------------------------------ */

Test(graph, batchnorm_running_statistics) {
  nn_graph_spec *s = gu_spec();
  gu_input(s, "x", 2, 0, 0, 0);
  gu_node(s, "y", NN_OP_BATCHNORM, "x", NULL);
  nn_graph *g;
  cr_assert_eq(nn_graph_compile(s, 4, &g, NULL), NN_OK);
  cr_assert_eq(nn_graph_state_count(g), 4);
  float x[8] = {1, 10, 2, 20, 3, 30, 4, 40};
  float *st = nn_graph_state(g);
  cr_expect(st[0] == 0 && st[1] == 0 && st[2] == 1 && st[3] == 1);
  cr_assert_eq(nn_graph_forward(g, (const float *const[]){x}, 4, 1, NULL), NN_OK);
  /* batch mean 2.5, 25; unbiased variance 5/3, 500/3; momentum 0.1 */
  cr_expect_float_eq(st[0], 0.25f, 1e-6f);
  cr_expect_float_eq(st[1], 2.5f, 1e-6f);
  cr_expect_float_eq(st[2], 0.9f + 0.1f * 5.0f / 3.0f, 1e-6f);
  cr_expect_float_eq(st[3], 0.9f + 0.1f * 500.0f / 3.0f, 1e-4f);
  const float *y = nn_graph_value(g, 1);
  cr_expect_float_eq(y[0], (float)(-1.5 / sqrt(1.25 + 1e-5)), 1e-5f); /* biased, batch */
  float keep[4];
  memcpy(keep, st, sizeof keep);
  cr_assert_eq(nn_graph_forward(g, (const float *const[]){x}, 4, 0, NULL), NN_OK);
  cr_expect_eq(memcmp(keep, st, sizeof keep), 0, "inference leaves the statistics");
  cr_expect_float_eq(y[1], (10.0f - st[1]) / sqrtf(st[3] + 1e-5f), 1e-5f);
  nn_graph_free(g);
  free(s);
}

Test(graph, dropout_is_reproducible_from_the_generator) {
  nn_graph_spec *s = gu_spec();
  gu_input(s, "x", 1000, 0, 0, 0);
  gu_node(s, "y", NN_OP_DROPOUT, "x", NULL)->rate = 0.25f;
  nn_graph *g;
  cr_assert_eq(nn_graph_compile(s, 1, &g, NULL), NN_OK);
  float x[1000], first[1000];
  for (int i = 0; i < 1000; i++) x[i] = 1.0f;
  nn__rng r;
  nn__rng_seed(&r, 42, 1);
  cr_assert_eq(nn_graph_forward(g, (const float *const[]){x}, 1, 1, &r), NN_OK);
  memcpy(first, nn_graph_value(g, 1), sizeof first);
  int dropped = 0;
  for (int i = 0; i < 1000; i++) {
    cr_expect(first[i] == 0.0f || first[i] == 1.0f / 0.75f);
    dropped += first[i] == 0.0f;
  }
  cr_expect(dropped > 200 && dropped < 300, "%d dropped", dropped);
  nn__rng_seed(&r, 42, 1);
  cr_assert_eq(nn_graph_forward(g, (const float *const[]){x}, 1, 1, &r), NN_OK);
  cr_expect_eq(memcmp(first, nn_graph_value(g, 1), sizeof first), 0);
  cr_assert_eq(nn_graph_forward(g, (const float *const[]){x}, 1, 0, &r), NN_OK);
  cr_expect_eq(memcmp(x, nn_graph_value(g, 1), sizeof x), 0, "evaluation: the identity");
  nn_graph_free(g);
  free(s);
}

/* ---- the layer list as a chain ------------------------------------------------------ */

/* inputs -> dense hidden relu -> dense classes -> softmax, against nn_model
 * with the same weights: the forward pass and the gradient, bit for bit */
static void same_as_model(int inputs, int hidden, int classes, size_t n) {
  int widths[] = {hidden, classes};
  nn_act acts[] = {NN_ACT_RELU, NN_ACT_SOFTMAX};
  nn_spec ms = nets_mlp(inputs, 2, widths, acts, NN_LOSS_CROSS_ENTROPY, 5);
  nn_model *m;
  cr_assert_eq(nn_model_new(&ms, &m, NULL), NN_OK);

  nn_graph_spec *s = gu_spec();
  gu_input(s, "x", inputs, 0, 0, 0);
  nn_node_spec *d = gu_node(s, "h", NN_OP_DENSE, "x", NULL);
  d->units = hidden, d->activation = NN_ACT_RELU;
  gu_node(s, "z", NN_OP_DENSE, "h", NULL)->units = classes;
  gu_node(s, "p", NN_OP_SOFTMAX, "z", NULL);
  snprintf(s->output, NN_GRAPH_NAME, "z"); /* the loss is fused at the logits */
  nn_graph *g;
  cr_assert_eq(nn_graph_compile(s, n, &g, NULL), NN_OK);
  cr_assert_eq(nn_graph_param_count(g), nn_model_param_count(m));
  memcpy(nn_graph_params(g), nn_model_params(m), nn_model_param_count(m) * sizeof(float));

  float *x = malloc(n * (size_t)inputs * sizeof(float));
  float *y = malloc(n * (size_t)classes * sizeof(float));
  float *dz = malloc(n * (size_t)classes * sizeof(float));
  float *grad = malloc(nn_model_param_count(m) * sizeof(float));
  int32_t *labels = malloc(n * sizeof(int32_t));
  gu_fill(x, n * (size_t)inputs, 9);
  for (size_t i = 0; i < n; i++) labels[i] = (int32_t)(i % (size_t)classes);
  cr_assert_eq(nn_model_predict(m, x, n, y), NN_OK);
  cr_assert_eq(nn_graph_forward(g, (const float *const[]){x}, n, 1, NULL), NN_OK);
  const float *p = nn_graph_value(g, nn_graph_find(g, "p"));
  cr_expect_eq(memcmp(p, y, n * (size_t)classes * sizeof(float)), 0, "forward, bit for bit");

  double loss;
  cr_assert_eq(nn_model_loss_grad(m, x, NULL, labels, n, grad, NULL, &loss), NN_OK);
  /* dL/dz = (p - onehot) / n, as core/loss.c's fused cross-entropy */
  float inv_n = 1.0f / (float)n;
  for (size_t r = 0; r < n; r++)
    for (int j = 0; j < classes; j++) {
      size_t i = r * (size_t)classes + (size_t)j;
      dz[i] = (p[i] - (labels[r] == j ? 1.0f : 0.0f)) * inv_n;
    }
  cr_assert_eq(nn_graph_backward(g, dz, 0), NN_OK);
  cr_expect_eq(memcmp(nn_graph_grads(g), grad, nn_model_param_count(m) * sizeof(float)), 0,
               "gradient, bit for bit");
  free(x), free(y), free(dz), free(grad), free(labels);
  nn_graph_free(g);
  nn_model_free(m);
  free(s);
}

Test(graph, chain_equals_the_layer_list) {
  same_as_model(4, 8, 3, 5);      /* plain loops */
  same_as_model(20, 64, 10, 50);  /* cblas_sgemm */
}

/* ---- the checker itself ----------------------------------------------------------- */

/* A gradient wrong in one entry, by 10 %, fails the check at that entry. */
Test(graph, the_check_catches_a_wrong_gradient) {
  nn_graph_spec *s = gu_spec();
  gu_input(s, "x", 4, 0, 0, 0);
  nn_node_spec *n = gu_node(s, "y", NN_OP_DENSE, "x", NULL);
  n->units = 3, n->activation = NN_ACT_TANH;
  nn_graph *g;
  cr_assert_eq(nn_graph_compile(s, 2, &g, NULL), NN_OK);
  float x[8], dy[6];
  gu_fill(x, 8, 12);
  nn_graph_check_config c;
  nn_graph_check_defaults(&c);
  nn_graph_check_result r;
  /* backward's own gradient passes */
  cr_assert_eq(nn_graph_check(g, (const float *const[]){x}, 2, &c, &r), NN_OK);
  cr_expect(r.pass && r.checked == 15 + 8, "%g over %zu", r.max_error, r.checked);
  /* the same, fed by hand: the loss's coefficients are dy */
  nn__rng rng;
  nn__rng_seed(&rng, c.seed, 0x63686b31ull);
  for (int i = 0; i < 6; i++) dy[i] = 2.0f * nn__rng_uniform(&rng) - 1.0f;
  cr_assert_eq(nn_graph_forward(g, (const float *const[]){x}, 2, 0, NULL), NN_OK);
  cr_assert_eq(nn_graph_backward(g, dy, 1), NN_OK);
  float grad[15];
  memcpy(grad, nn_graph_grads(g), sizeof grad);
  cr_assert_eq(nn__graph_check_with(g, (const float *const[]){x}, 2, &c, grad, &r), NN_OK);
  cr_expect(r.pass, "%g", r.max_error);
  for (int i = 0; i < 15; i += 7) {
    memcpy(grad, nn_graph_grads(g), sizeof grad);
    grad[i] = grad[i] * 1.1f + (grad[i] == 0.0f ? 0.1f : 0.0f);
    cr_assert_eq(nn__graph_check_with(g, (const float *const[]){x}, 2, &c, grad, &r), NN_OK);
    cr_expect(!r.pass, "entry %d wrong by 10 %%: error %g", i, r.max_error);
    cr_expect_eq(r.worst_value, -1);
    cr_expect_eq(r.worst_index, (size_t)i);
  }
  nn_graph_free(g);
  free(s);
}

/* Products large enough to be cut into tiles give the same bits on threads. */
Test(graph, threads_do_not_change_the_bits) {
  nn_graph_spec *s = gu_spec();
  gu_input(s, "x", 8, 16, 16, 0);
  nn_node_spec *n = gu_node(s, "c", NN_OP_CONV2D, "x", NULL);
  n->filters = 32, n->kernel[0] = 3, n->padding[0] = n->padding[1] = 1;
  n->activation = NN_ACT_RELU;
  gu_node(s, "f", NN_OP_FLATTEN, "c", NULL);
  n = gu_node(s, "y", NN_OP_DENSE, "f", NULL);
  n->units = 512, n->activation = NN_ACT_TANH;
  enum { ROWS = 64 };
  size_t nx = ROWS * 8 * 256, ny = ROWS * 512;
  float *x = malloc(nx * sizeof(float)), *dy = malloc(ny * sizeof(float));
  float *y0 = malloc(ny * sizeof(float)), *g0 = NULL;
  gu_fill(x, nx, 13);
  gu_fill(dy, ny, 14);
  nn__pool *pool;
  cr_assert_eq(nn__pool_new(2, &pool), NN_OK);
  for (int threads = 0; threads <= 1; threads++) {
    nn_graph *g;
    cr_assert_eq(nn_graph_compile(s, ROWS, &g, NULL), NN_OK);
    nn__graph_set_pool(g, threads ? pool : NULL);
    cr_assert_eq(nn_graph_forward(g, (const float *const[]){x}, ROWS, 1, NULL), NN_OK);
    cr_assert_eq(nn_graph_backward(g, dy, 1), NN_OK);
    size_t P = nn_graph_param_count(g);
    if (!threads) {
      memcpy(y0, nn_graph_value(g, nn_graph_output(g)), ny * sizeof(float));
      g0 = malloc(P * sizeof(float));
      memcpy(g0, nn_graph_grads(g), P * sizeof(float));
    } else {
      cr_expect_eq(memcmp(y0, nn_graph_value(g, nn_graph_output(g)), ny * sizeof(float)), 0);
      cr_expect_eq(memcmp(g0, nn_graph_grads(g), P * sizeof(float)), 0);
    }
    nn_graph_free(g);
  }
  nn__pool_free(pool);
  free(x), free(dy), free(y0), free(g0);
  free(s);
}
