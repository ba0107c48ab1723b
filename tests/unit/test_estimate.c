/* test_estimate.c — nn_memory_estimate counts what training allocates: the
 * bytes glibc reports allocated by nn_model_new and nn_trainer_new, for
 * small, mid-sized and huge-page nets, without allocating anything itself. */
#include <criterion/criterion.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "nets.h"
#include "test_graph_util.h"

/* Bytes glibc has handed out and not taken back: the heap's blocks (with
 * their headers) and the mmapped ones. */
static size_t allocated(void) {
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

/* Whether malloc is glibc's, which reports to mallinfo2: not under a
 * sanitizer's allocator or valgrind's, which replace it. */
static bool glibc_counts(void) {
  size_t before = allocated();
  void *probe = malloc((size_t)1 << 20);
  bool counted = probe != NULL && allocated() >= before + ((size_t)1 << 20);
  free(probe);
  return counted;
}

/* glibc's per-thread cache counts its free blocks as allocated, so a block
 * taken from it would go unseen: take every block it holds (7 of each size
 * up to 1032 bytes) before measuring, and give them back after. */
#define CACHE_SIZES 64
#define CACHE_DEPTH 7
static void **drain_cache(void) {
  void **held = calloc(CACHE_SIZES * CACHE_DEPTH, sizeof *held);
  cr_assert(held != NULL);
  for (int i = 0; i < CACHE_SIZES * CACHE_DEPTH; i++)
    held[i] = malloc((size_t)(i / CACHE_DEPTH) * 16 + 8);
  return held;
}

static void refill_cache(void **held) {
  for (int i = 0; i < CACHE_SIZES * CACHE_DEPTH; i++) free(held[i]);
  free(held);
}

static nn_train_config config(nn_opt opt, int batch, float split) {
  nn_train_config c;
  nn_train_config_defaults(&c);
  nn_optim_defaults(opt, &c.optim);
  c.batch_size = batch;
  c.validation_split = split;
  c.diagnostics = 1;
  return c;
}

/* Build the model and trainer for spec on rows rows (x zero, labels 0 or
 * targets 0) and compare what they allocated with the estimate: off by at
 * most slack bytes. */
static void holds(nn_spec spec, const nn_train_config *c, size_t rows, int labels, size_t slack) {
  if (!glibc_counts()) cr_skip("malloc is not glibc's (a sanitizer, valgrind): no mallinfo2");
  int outputs = nn_spec_outputs(&spec);
  float *x = calloc(rows * (size_t)spec.inputs, sizeof(float));
  float *y = labels ? NULL : calloc(rows * (size_t)outputs, sizeof(float));
  int32_t *lab = labels ? calloc(rows, sizeof(int32_t)) : NULL;
  cr_assert(x != NULL && (y != NULL || lab != NULL));
  nn_data d = {.rows = rows, .features = spec.inputs, .x = x};
  if (labels) {
    d.labels = lab;
    d.classes = outputs;
  } else {
    d.y = y;
    d.outputs = outputs;
  }
  nn_memory e;
  cr_assert_eq(nn_memory_estimate(&spec, c, rows, labels, &e, NULL), NN_OK);
  void **held = drain_cache();
  size_t before = allocated();
  nn_model *m;
  nn_trainer *t;
  cr_assert_eq(nn_model_new(&spec, &m, NULL), NN_OK);
  cr_assert_eq(nn_trainer_new(m, &d, c, NULL, &t, NULL), NN_OK);
  size_t used = allocated() - before;
  refill_cache(held);
  /* standardization's scratch was freed already: only the peak holds it */
  size_t expect = e.total - (spec.normalize ? 2 * (size_t)spec.inputs * sizeof(double) : 0);
  cr_assert_eq(e.total, e.model + e.gradients + e.optimizer + e.activations + e.rows + e.other);
  cr_assert(used + slack >= expect && used <= expect + slack,
            "allocated %zu bytes, estimated %zu (slack %zu)", used, expect, slack);
  nn_trainer_free(t);
  nn_model_free(m);
  free(x);
  free(y);
  free(lab);
}

/* Every buffer below glibc's mmap threshold (128 KiB): 11 heap blocks, each
 * off by its header and rounding, at most 24 bytes. Leaving out the
 * smallest buffer counted, a batch's labels (512 bytes), fails. */
Test(estimate, matches_heap_allocations) {
  static const int w[] = {64, 32, 3};
  static const nn_act a[] = {NN_ACT_RELU, NN_ACT_TANH, NN_ACT_SOFTMAX};
  nn_spec s = nets_mlp(20, 3, w, a, NN_LOSS_CROSS_ENTROPY, 1);
  nn_train_config c = config(NN_OPT_ADAM, 128, 0.2f);
  holds(s, &c, 500, 1, 11 * 24);
}

/* Parameters, gradients and moments of 200k floats each are mmapped (page
 * granular); dropout adds its masks, standardization its scratch,
 * restore_best a copy of the parameters (leaving it out is 800 KB off). */
Test(estimate, matches_mmapped_allocations) {
  nn_spec s;
  memset(&s, 0, sizeof s);
  s.inputs = 784;
  s.n_layers = 3;
  for (int i = 0; i < 3; i++) nn_layer_spec_defaults(&s.layers[i]);
  s.layers[0].units = 256;
  s.layers[0].act = NN_ACT_RELU;
  s.layers[1].type = NN_LAYER_DROPOUT;
  s.layers[1].units = 256;
  s.layers[1].rate = 0.5f;
  s.layers[2].units = 10;
  s.layers[2].act = NN_ACT_SOFTMAX;
  s.loss = NN_LOSS_CROSS_ENTROPY;
  s.normalize = 1;
  nn_train_config c = config(NN_OPT_SGD, 64, 0.0f);
  c.restore_best = 1;
  holds(s, &c, 1000, 1, 12 * 4096);
}

/* Buffers from 4 MiB on are whole 2 MiB pages, aligned: glibc maps up to
 * one more page for the alignment. Regression targets this time. */
Test(estimate, matches_huge_page_allocations) {
  static const int w[] = {1024, 1024, 4};
  static const nn_act a[] = {NN_ACT_RELU, NN_ACT_RELU, NN_ACT_LINEAR};
  nn_spec s = nets_mlp(1024, 3, w, a, NN_LOSS_MSE, 1);
  nn_train_config c = config(NN_OPT_ADAMW, 256, 0.1f);
  nn_memory e;
  cr_assert_eq(nn_memory_estimate(&s, &c, 2000, 0, &e, NULL), NN_OK);
  cr_assert_eq(e.optimizer % (2u << 20), 0, "a big buffer is counted in whole huge pages");
  holds(s, &c, 2000, 0, 11 * 4096 + 4 * ((size_t)2 << 20));
}

/* The terms follow the optimizer, the batch and the split. */
Test(estimate, terms) {
  nn_spec s = nets_xor_spec(1);
  nn_train_config c = config(NN_OPT_SGD, 4, 0.0f);
  nn_memory sgd, adam, big_batch, split;
  cr_assert_eq(nn_memory_estimate(&s, &c, 100, 0, &sgd, NULL), NN_OK);
  size_t P = 2 * 8 + 8 + 8 + 1;
  cr_assert_eq(sgd.gradients, P * sizeof(float));
  cr_assert_eq(sgd.optimizer, P * sizeof(float), "sgd keeps one moment");
  cr_assert_eq(sgd.rows, 100 * 8);
  nn_memory best;
  c.restore_best = 1;
  cr_assert_eq(nn_memory_estimate(&s, &c, 100, 0, &best, NULL), NN_OK);
  cr_assert_eq(best.gradients, 2 * P * sizeof(float), "restore_best keeps the best weights");
  c.restore_best = 0;
  c.optim.type = NN_OPT_ADAM;
  cr_assert_eq(nn_memory_estimate(&s, &c, 100, 0, &adam, NULL), NN_OK);
  cr_assert_eq(adam.optimizer, 2 * P * sizeof(float), "adam keeps two");
  /* (batch, 2 + 8 + 1) inputs and outputs, (batch, 8) twice for gradients */
  cr_assert_eq(adam.activations, 4 * (2 + 8 + 1 + 2 * 8) * sizeof(float));
  c.batch_size = 50;
  cr_assert_eq(nn_memory_estimate(&s, &c, 100, 0, &big_batch, NULL), NN_OK);
  cr_assert_eq(big_batch.activations, 50 * (2 + 8 + 1 + 2 * 8) * sizeof(float));
  /* a batch never exceeds the training rows: 100 - 75 held out */
  c.validation_split = 0.75f;
  cr_assert_eq(nn_memory_estimate(&s, &c, 100, 0, &split, NULL), NN_OK);
  cr_assert_eq(split.activations, 25 * (2 + 8 + 1 + 2 * 8) * sizeof(float));
}

/* The model of issue 20: 1,048,576 inputs -> 1023 -> 1, 1.07e9 parameters,
 * estimated (not allocated) at four copies of them and more with adam. */
Test(estimate, huge_model_without_allocating) {
  static const int w[] = {1023, 1};
  static const nn_act a[] = {NN_ACT_RELU, NN_ACT_LINEAR};
  nn_spec s = nets_mlp(1 << 20, 2, w, a, NN_LOSS_MSE, 1);
  nn_train_config c = config(NN_OPT_ADAM, 1, 0.0f);
  nn_memory e;
  cr_assert_eq(nn_memory_estimate(&s, &c, 1, 0, &e, NULL), NN_OK);
  size_t P = nn_spec_param_count(&s);
  cr_assert_eq(P, (size_t)1048576 * 1023 + 1023 + 1023 + 1);
  cr_assert_geq(e.total, 4 * P * sizeof(float));
  cr_assert_lt(e.total, 4 * P * sizeof(float) + ((size_t)64 << 20));
}

Test(estimate, refuses_bad_arguments) {
  nn_spec s = nets_xor_spec(1);
  nn_train_config c = config(NN_OPT_SGD, 4, 0.0f);
  nn_memory e;
  nn_error err;
  c.batch_size = 0;
  cr_assert_eq(nn_memory_estimate(&s, &c, 4, 0, &e, &err), NN_EINVAL);
  cr_assert_str_eq(err.field, "batch_size");
  c.batch_size = 4;
  cr_assert_eq(nn_memory_estimate(&s, &c, 0, 0, &e, &err), NN_EINVAL);
  cr_assert_str_eq(err.field, "rows");
  s.layers[0].units = 0;
  cr_assert_eq(nn_memory_estimate(&s, &c, 4, 0, &e, &err), NN_EINVAL);
  cr_assert_eq(e.total, 0);
}

/* A graph model: the model's copy of its spec, the compiled graph (its
 * struct, gradients and workspace, bound to the model's parameters and
 * statistics), the trainer's standardized batch and the graph net's
 * buffers. The graph struct is mmapped (page-rounded); a few heap blocks
 * besides. Leaving the graph's workspace out is 1.5 MB off. */
Test(estimate, matches_a_graph_models_allocations) {
  nn_graph_spec *g = gu_spec();
  gu_input(g, "x", 1, 12, 12, 0);
  gu_input(g, "n", 5, 0, 0, 0);
  nn_node_spec *c = gu_node(g, "c", NN_OP_CONV2D, "x", NULL);
  c->filters = 8;
  c->kernel[0] = 3;
  gu_node(g, "bn", NN_OP_BATCHNORM, "c", NULL);
  gu_node(g, "p", NN_OP_GLOBAL_AVGPOOL, "bn", NULL);
  gu_node(g, "cat", NN_OP_CONCAT, "p", "n");
  nn_node_spec *y = gu_node(g, "y", NN_OP_DENSE, "cat", NULL);
  y->units = 3;
  y->activation = NN_ACT_SOFTMAX;
  nn_spec s = {.graph = g, .loss = NN_LOSS_CROSS_ENTROPY, .normalize = 1};
  cr_assert_eq(nn_spec_validate(&s, NULL), NN_OK);
  nn_train_config cfg = config(NN_OPT_ADAM, 64, 0.1f);
  cfg.diagnostics = 0;
  cfg.restore_best = 1;
  holds(s, &cfg, 300, 1, 16 * 24 + 2 * 4096);
  free(g);
}
