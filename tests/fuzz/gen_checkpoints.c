/*
 * gen_checkpoints.c — writes the checkpoint seeds of fuzz_checkpoint: real
 * checkpoints saved by core from small trained models, one per feature of
 * the format (statistics, each optimizer's state, a run paused mid-epoch,
 * dropout, diagnostics, the best weights of restore_best, weights only), and
 * two graph models (format 4: a conv net with batchnorm, paused mid-epoch
 * with restore_best; an embedding beside numbers, two inputs). The
 * files named v1_* and v2_* are the same seeds in formats 1 and 2, kept so
 * that their readers stay fuzzed. `make fuzz-seeds` runs it; the output is committed
 * in tests/fuzz/corpus/checkpoint.
 *
 *   gen_checkpoints DIR
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/graph.h"

static const float xor_x[8] = {0, 0, 0, 1, 1, 0, 1, 1};
static const float xor_y[4] = {0, 1, 1, 0};

/* Three separable classes in 2-D, four rows each. */
static const float blob_x[24] = {-2, 0, -2.5f, 0.5f, -1.5f, -0.5f, -2, 1, 2, 0, 2.5f, 0.5f,
                                 1.5f, -0.5f, 2, -1, 0, 3, 0.5f, 3.5f, -0.5f, 2.5f, 0, 4};
static const int32_t blob_labels[12] = {0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2};

typedef struct {
  const char *file;
  int inputs;
  int n_layers;
  nn_layer_spec layers[3];
  nn_loss loss;
  int normalize;
  nn_opt opt;
  int epochs;       /* 0: save the fresh model, weights only */
  int pause_after;  /* > 0: stop that many batches into the last epoch */
  int diagnostics;  /* gather per-layer diagnostics (their sums are saved) */
  const nn_data *data;
  int restore_best; /* keep the best epoch's weights (saved too), on a validation split */
} seed;

/* A batch callback that stops after *ud batches. */
static int stop_after(void *ud, int epoch, size_t batch, size_t n_batches) {
  (void)epoch;
  (void)n_batches;
  return batch + 1 >= *(size_t *)ud;
}

static int write_file(const char *dir, const char *name, const uint8_t *buf, size_t len) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (f == NULL) return -1;
  int rc = fwrite(buf, 1, len, f) == len ? 0 : -1;
  if (fclose(f) != 0) rc = -1;
  return rc;
}

static int make_seed(const seed *s, const char *dir) {
  nn_spec spec;
  nn_model *m = NULL;
  nn_trainer *t = NULL;
  nn_train_config c;
  nn_epoch_metrics em;
  nn_error err = {{0}, {0}};
  uint8_t *buf = NULL;
  size_t len = 0;
  memset(&spec, 0, sizeof spec);
  spec.inputs = s->inputs;
  spec.n_layers = s->n_layers;
  memcpy(spec.layers, s->layers, sizeof s->layers);
  spec.loss = s->loss;
  spec.seed = 7;
  spec.normalize = s->normalize;
  int rc = nn_model_new(&spec, &m, &err);
  if (rc != NN_OK) goto exit;
  if (s->epochs > 0) {
    nn_train_config_defaults(&c);
    c.epochs = s->epochs + 1; /* the run is unfinished, as a job's checkpoint */
    c.batch_size = 2;
    c.seed = 3;
    c.patience = 5;
    c.diagnostics = s->diagnostics;
    c.restore_best = s->restore_best;
    if (s->restore_best) c.validation_split = 0.25f;
    nn_optim_defaults(s->opt, &c.optim);
    if (s->opt == NN_OPT_SGD) c.optim.momentum = 0.9f;
    if ((rc = nn_trainer_new(m, s->data, &c, NULL, &t, &err)) != NN_OK) goto exit;
    for (int e = 0; e < s->epochs && rc == NN_OK; e++) rc = nn_trainer_epoch(t, NULL, NULL, &em);
    if (rc == NN_OK && s->pause_after > 0) {
      size_t after = (size_t)s->pause_after;
      rc = nn_trainer_epoch(t, stop_after, &after, &em);
      if (rc == NN_ESTOPPED) rc = NN_OK;
    }
    if (rc != NN_OK) goto exit;
  }
  if ((rc = nn_checkpoint_save(m, t, &buf, &len)) != NN_OK) goto exit;
  rc = write_file(dir, s->file, buf, len);
exit:
  if (rc != 0) fprintf(stderr, "gen_checkpoints: %s: %s %s\n", s->file, nn_strerror(rc),
                       err.message);
  nn_trainer_free(t);
  nn_model_free(m);
  free(buf);
  return rc;
}

static nn_node_spec *node(nn_graph_spec *g, const char *name, nn_op op, const char *in0,
                           const char *in1) {
  nn_node_spec *n = &g->nodes[g->n_nodes++];
  nn_node_spec_defaults(n);
  snprintf(n->name, sizeof n->name, "%s", name);
  n->op = op;
  snprintf(n->inputs[n->n_inputs++], NN_GRAPH_NAME, "%s", in0);
  if (in1 != NULL) snprintf(n->inputs[n->n_inputs++], NN_GRAPH_NAME, "%s", in1);
  snprintf(g->output, sizeof g->output, "%s", name);
  return n;
}

/* A graph model trained on rows of 16 columns, checkpointed. */
static int graph_seed(const char *dir, const char *file, int conv) {
  static float x[12 * 16], y[12];
  static int32_t labels[12];
  for (int i = 0; i < 12 * 16; i++) x[i] = (float)((i * 7) % 11) / 11.0f - 0.5f;
  for (int i = 0; i < 12; i++) {
    labels[i] = i % 3;
    y[i] = (float)(i % 3) - 1.0f;
    x[16 * i + 15] = (float)(i % 3); /* the embedding's code */
  }
  nn_graph_spec *g = calloc(1, sizeof *g);
  if (g == NULL) return 1;
  nn_spec spec;
  memset(&spec, 0, sizeof spec);
  spec.graph = g;
  spec.seed = 7;
  nn_train_config c;
  nn_train_config_defaults(&c);
  c.batch_size = 4;
  c.seed = 3;
  g->n_inputs = conv ? 1 : 2;
  snprintf(g->input_names[0], NN_GRAPH_NAME, "x");
  nn_data d = {.rows = 12, .features = 16, .x = x};
  if (conv) { /* x [1, 4, 4] -> conv 2@3x3 pad 1 -> batchnorm -> relu -> pool -> softmax */
    g->input_shapes[0] = (nn_shape){3, {1, 4, 4}};
    nn_node_spec *n = node(g, "c", NN_OP_CONV2D, "x", NULL);
    n->filters = 2, n->kernel[0] = 3, n->padding[0] = n->padding[1] = 1;
    node(g, "bn", NN_OP_BATCHNORM, "c", NULL);
    node(g, "r", NN_OP_RELU, "bn", NULL);
    node(g, "p", NN_OP_MAXPOOL, "r", NULL)->size[0] = 2;
    node(g, "f", NN_OP_FLATTEN, "p", NULL);
    node(g, "drop", NN_OP_DROPOUT, "f", NULL)->rate = 0.25f;
    node(g, "z", NN_OP_DENSE, "drop", NULL)->units = 3;
    node(g, "y", NN_OP_SOFTMAX, "z", NULL);
    spec.loss = NN_LOSS_CROSS_ENTROPY;
    d.labels = labels, d.classes = 3;
    c.restore_best = 1, c.validation_split = 0.25f;
  } else { /* x [15] and code [1]: embedding 3x2 beside the numbers -> dense 1 */
    g->input_shapes[0] = (nn_shape){1, {15}};
    snprintf(g->input_names[1], NN_GRAPH_NAME, "code");
    g->input_shapes[1] = (nn_shape){1, {1}};
    nn_node_spec *e = node(g, "e", NN_OP_EMBEDDING, "code", NULL);
    e->categories = 3, e->dim = 2;
    node(g, "ef", NN_OP_FLATTEN, "e", NULL);
    node(g, "cat", NN_OP_CONCAT, "x", "ef");
    node(g, "h", NN_OP_DENSE, "cat", NULL)->units = 4;
    g->nodes[3].activation = NN_ACT_TANH;
    node(g, "y", NN_OP_DENSE, "h", NULL)->units = 1;
    spec.loss = NN_LOSS_MSE;
    spec.normalize = 1;
    d.y = y, d.outputs = 1;
    nn_optim_defaults(NN_OPT_SGD, &c.optim);
  }
  nn_model *m = NULL;
  nn_trainer *t = NULL;
  nn_epoch_metrics em;
  nn_error err = {{0}, {0}};
  uint8_t *buf = NULL;
  size_t len = 0, after = 1;
  int rc = nn_model_new(&spec, &m, &err);
  if (rc == NN_OK) rc = nn_trainer_new(m, &d, &c, NULL, &t, &err);
  if (rc == NN_OK) rc = nn_trainer_epoch(t, NULL, NULL, &em);
  if (rc == NN_OK && conv && nn_trainer_epoch(t, stop_after, &after, &em) != NN_ESTOPPED)
    rc = NN_EINVAL;
  if (rc == NN_OK) rc = nn_checkpoint_save(m, t, &buf, &len);
  if (rc == NN_OK) rc = write_file(dir, file, buf, len);
  if (rc != 0) fprintf(stderr, "gen_checkpoints: %s: %s %s\n", file, nn_strerror(rc), err.message);
  nn_trainer_free(t);
  nn_model_free(m);
  free(buf);
  free(g);
  return rc;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: gen_checkpoints DIR\n");
    return 2;
  }
  const nn_data xor = {.rows = 4, .features = 2, .x = xor_x, .outputs = 1, .y = xor_y};
  const nn_data blobs = {.rows = 12, .features = 2, .x = blob_x, .labels = blob_labels,
                         .classes = 3};
  const nn_layer_spec tanh8 = {.type = NN_LAYER_DENSE, .units = 8, .act = NN_ACT_TANH};
  const nn_layer_spec sigmoid1 = {.type = NN_LAYER_DENSE, .units = 1, .act = NN_ACT_SIGMOID};
  const nn_layer_spec relu16 = {.type = NN_LAYER_DENSE, .units = 16, .act = NN_ACT_RELU};
  const nn_layer_spec dropout = {.type = NN_LAYER_DROPOUT, .rate = 0.25f};
  const nn_layer_spec softmax3 = {.type = NN_LAYER_DENSE, .units = 3, .act = NN_ACT_SOFTMAX};
  const nn_layer_spec leaky4 = {.type = NN_LAYER_DENSE, .units = 4, .act = NN_ACT_LEAKY_RELU,
                                .slope = 0.2f, .init = NN_INIT_XAVIER};
  const nn_layer_spec linear2 = {.type = NN_LAYER_DENSE, .units = 2, .act = NN_ACT_LINEAR};
  const seed seeds[] = {
      {"xor_adam_norm.ckpt", 2, 2, {tanh8, sigmoid1}, NN_LOSS_MSE, 1, NN_OPT_ADAM, 3, 0, 0, &xor, 0},
      {"xor_sgd_paused.ckpt", 2, 2, {tanh8, sigmoid1}, NN_LOSS_BCE, 0, NN_OPT_SGD, 1, 1, 0, &xor, 0},
      {"xor_adamw.ckpt", 2, 2, {tanh8, sigmoid1}, NN_LOSS_BCE, 1, NN_OPT_ADAMW, 2, 0, 0, &xor, 0},
      {"blobs_rmsprop_dropout.ckpt", 2, 3, {relu16, dropout, softmax3}, NN_LOSS_CROSS_ENTROPY,
       1, NN_OPT_RMSPROP, 2, 0, 0, &blobs, 0},
      {"blobs_diag_paused.ckpt", 2, 3, {relu16, dropout, softmax3}, NN_LOSS_CROSS_ENTROPY, 1,
       NN_OPT_ADAM, 1, 2, 1, &blobs, 0},
      {"blobs_restore_best.ckpt", 2, 3, {relu16, dropout, softmax3}, NN_LOSS_CROSS_ENTROPY, 1,
       NN_OPT_ADAM, 3, 0, 0, &blobs, 1},
      {"leaky_weights_only.ckpt", 3, 2, {leaky4, linear2}, NN_LOSS_MSE, 0, NN_OPT_ADAM, 0, 0, 0,
       NULL, 0},
  };
  for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++)
    if (make_seed(&seeds[i], argv[1]) != 0) return 1;
  if (graph_seed(argv[1], "graph_conv_paused.ckpt", 1) != 0 ||
      graph_seed(argv[1], "graph_embedding.ckpt", 0) != 0)
    return 1;
  return 0;
}
