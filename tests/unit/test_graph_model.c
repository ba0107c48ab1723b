/* test_graph_model.c — models that are graphs (nn_spec.graph): validation,
 * training (loss falls), predict, checkpoints (format 4) and bit-exact
 * resume from a checkpoint taken mid-epoch, on a residual MLP, an
 * embedding beside numbers and a small conv net on 8x8 images. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/graph.h"
#include "nets.h"
#include "test_graph_util.h"

/* ---- the three models, with data that they can learn ---------------------- */

/* x [6] -> h1 dense 16 relu -> h2 dense 16 -> r = h1 + h2 -> layernorm ->
 * dropout -> y dense 3 softmax: cross-entropy on 3 classes. */
static nn_graph_spec *residual_mlp(void) {
  nn_graph_spec *g = gu_spec();
  gu_input(g, "x", 6, 0, 0, 0);
  gu_node(g, "h1", NN_OP_DENSE, "x", NULL)->units = 16;
  g->nodes[0].activation = NN_ACT_RELU;
  gu_node(g, "h2", NN_OP_DENSE, "h1", NULL)->units = 16;
  gu_node(g, "r", NN_OP_ADD, "h1", "h2");
  gu_node(g, "ln", NN_OP_LAYERNORM, "r", NULL);
  gu_node(g, "drop", NN_OP_DROPOUT, "ln", NULL)->rate = 0.1f;
  nn_node_spec *y = gu_node(g, "y", NN_OP_DENSE, "drop", NULL);
  y->units = 3;
  y->activation = NN_ACT_SOFTMAX;
  return g;
}

/* num [3] and code [1] (a category of 5): e = embedding(code) [1, 4] ->
 * flatten [4] -> concat with num [7] -> dense 8 tanh -> y dense 1 (mse). */
static nn_graph_spec *embedding_numbers(void) {
  nn_graph_spec *g = gu_spec();
  gu_input(g, "num", 3, 0, 0, 0);
  gu_input(g, "code", 1, 0, 0, 0);
  nn_node_spec *e = gu_node(g, "e", NN_OP_EMBEDDING, "code", NULL);
  e->categories = 5;
  e->dim = 4;
  gu_node(g, "ef", NN_OP_FLATTEN, "e", NULL);
  gu_node(g, "cat", NN_OP_CONCAT, "num", "ef");
  nn_node_spec *h = gu_node(g, "h", NN_OP_DENSE, "cat", NULL);
  h->units = 8;
  h->activation = NN_ACT_TANH;
  gu_node(g, "y", NN_OP_DENSE, "h", NULL)->units = 1;
  return g;
}

/* x [1, 8, 8] -> conv 4@3x3 pad 1 -> batchnorm -> relu -> maxpool 2 ->
 * flatten [64] -> dense 3 -> softmax (an op: the loss fuses it). */
static nn_graph_spec *conv_net(void) {
  nn_graph_spec *g = gu_spec();
  gu_input(g, "x", 1, 8, 8, 0);
  nn_node_spec *c = gu_node(g, "c1", NN_OP_CONV2D, "x", NULL);
  c->filters = 4;
  c->kernel[0] = 3;
  c->padding[0] = c->padding[1] = 1;
  gu_node(g, "bn", NN_OP_BATCHNORM, "c1", NULL);
  gu_node(g, "act", NN_OP_RELU, "bn", NULL);
  gu_node(g, "pool", NN_OP_MAXPOOL, "act", NULL)->size[0] = 2;
  gu_node(g, "flat", NN_OP_FLATTEN, "pool", NULL);
  gu_node(g, "z", NN_OP_DENSE, "flat", NULL)->units = 3;
  gu_node(g, "y", NN_OP_SOFTMAX, "z", NULL);
  return g;
}

enum { ROWS = 96 };

typedef struct {
  nn_graph_spec *g;
  nn_spec spec;
  float x[ROWS * 64];
  float y[ROWS];
  int32_t labels[ROWS];
  nn_data d;
} problem;

static void residual_problem(problem *p) {
  p->g = residual_mlp();
  memset(&p->spec, 0, sizeof p->spec);
  p->spec.graph = p->g;
  p->spec.loss = NN_LOSS_CROSS_ENTROPY;
  p->spec.seed = 11;
  gu_fill(p->x, ROWS * 6, 1);
  for (int i = 0; i < ROWS; i++) { /* the class of the largest of three sums */
    const float *r = p->x + 6 * i;
    float s[3] = {r[0] + r[1], r[2] + r[3], r[4] + r[5]};
    p->labels[i] = s[0] > s[1] ? (s[0] > s[2] ? 0 : 2) : (s[1] > s[2] ? 1 : 2);
  }
  p->d = (nn_data){.rows = ROWS, .features = 6, .x = p->x, .labels = p->labels, .classes = 3};
}

static void embedding_problem(problem *p) {
  p->g = embedding_numbers();
  memset(&p->spec, 0, sizeof p->spec);
  p->spec.graph = p->g;
  p->spec.loss = NN_LOSS_MSE;
  p->spec.seed = 12;
  p->spec.normalize = 1; /* the code column must stay as it is */
  gu_fill(p->x, ROWS * 4, 2);
  static const float effect[5] = {-2, -1, 0, 1, 2};
  for (int i = 0; i < ROWS; i++) {
    float *r = p->x + 4 * i;
    r[0] = 10.0f + 3.0f * r[0]; /* standardization has work to do */
    r[3] = (float)(i % 5);      /* the code */
    p->y[i] = effect[i % 5] + 0.5f * r[1];
  }
  p->d = (nn_data){.rows = ROWS, .features = 4, .x = p->x, .outputs = 1, .y = p->y};
}

static void conv_problem(problem *p) {
  p->g = conv_net();
  memset(&p->spec, 0, sizeof p->spec);
  p->spec.graph = p->g;
  p->spec.loss = NN_LOSS_CROSS_ENTROPY;
  p->spec.seed = 13;
  gu_fill(p->x, ROWS * 64, 3);
  for (int i = 0; i < ROWS; i++) { /* a bright row, column or diagonal on noise */
    float *img = p->x + 64 * i;
    int k = i % 3, at = (i / 3) % 8;
    for (int j = 0; j < 64; j++) img[j] *= 0.3f;
    for (int j = 0; j < 8; j++) img[k == 0 ? at * 8 + j : k == 1 ? j * 8 + at : j * 9] += 2.0f;
    p->labels[i] = k;
  }
  p->d = (nn_data){.rows = ROWS, .features = 64, .x = p->x, .labels = p->labels, .classes = 3};
}

static void free_problem(problem *p) { free(p->g); }

static nn_train_config config(int epochs) {
  nn_train_config c;
  nn_train_config_defaults(&c);
  c.epochs = epochs;
  c.batch_size = 16;
  c.seed = 5;
  c.validation_split = 0.25f;
  c.optim.lr = 0.01f;
  return c;
}

/* ---- training ------------------------------------------------------------ */

/* Train epochs epochs; the training loss of the last is below half the first's. */
static nn_model *learns(problem *p, int epochs, double factor) {
  nn_model *m;
  nn_error err = {{0}, {0}};
  cr_assert_eq(nn_model_new(&p->spec, &m, &err), NN_OK, "%s", err.message);
  nn_train_config c = config(epochs);
  nn_trainer *t;
  cr_assert_eq(nn_trainer_new(m, &p->d, &c, NULL, &t, &err), NN_OK, "%s", err.message);
  double first = NAN, last = NAN;
  nn_epoch_metrics em;
  while (!nn_trainer_done(t)) {
    cr_assert_eq(nn_trainer_epoch(t, NULL, NULL, &em), NN_OK);
    if (em.epoch == 1) first = em.loss;
    last = em.loss;
    cr_assert(isfinite(em.val_loss));
  }
  cr_assert_lt(last, factor * first, "loss %g after %g", last, first);
  nn_trainer_free(t);
  return m;
}

Test(graph_model, residual_mlp_learns) {
  problem *p = calloc(1, sizeof *p);
  residual_problem(p);
  nn_model *m = learns(p, 30, 0.5);
  /* predictions: probabilities, and mostly right on the training rows */
  float y[ROWS * 3];
  cr_assert_eq(nn_model_predict(m, p->x, ROWS, y), NN_OK);
  int right = 0;
  for (int i = 0; i < ROWS; i++) {
    float *r = y + 3 * i;
    cr_assert_float_eq(r[0] + r[1] + r[2], 1.0f, 1e-5f);
    int k = r[0] > r[1] ? (r[0] > r[2] ? 0 : 2) : (r[1] > r[2] ? 1 : 2);
    right += k == p->labels[i];
  }
  cr_assert_gt(right, ROWS * 8 / 10, "%d of %d right", right, ROWS);
  nn_model_free(m);
  free_problem(p);
  free(p);
}

Test(graph_model, embedding_beside_numbers_learns_and_keeps_codes_raw) {
  problem *p = calloc(1, sizeof *p);
  embedding_problem(p);
  nn_model *m = learns(p, 60, 0.5);
  const float *mean, *std;
  cr_assert_eq(nn_model_norm(m, &mean, &std), NN_OK);
  cr_assert_gt(mean[0], 5.0f); /* the numbers are standardized */
  cr_assert_eq(mean[3], 0.0f); /* the code is not */
  cr_assert_eq(std[3], 1.0f);
  /* a code out of range is refused, not read past the table */
  float bad[4] = {10, 0, 0, 5};
  float y;
  cr_assert_eq(nn_model_predict(m, bad, 1, &y), NN_EINVAL);
  /* statistics that would standardize the codes are kept off them */
  float mu[4] = {1, 1, 1, 1}, sd[4] = {2, 2, 2, 2};
  cr_assert_eq(nn_model_set_norm(m, mu, sd), NN_OK);
  cr_assert_eq(nn_model_norm(m, &mean, &std), NN_OK);
  cr_assert_eq(mean[2], 1.0f);
  cr_assert_eq(mean[3], 0.0f);
  cr_assert_eq(std[3], 1.0f);
  /* and a checkpoint that holds such statistics does not load */
  uint8_t *buf;
  size_t len;
  cr_assert_eq(nn_checkpoint_save(m, NULL, &buf, &len), NN_OK);
  size_t at = len - 4 - 4 - 2 * 4 * 4 + 3 * 4; /* mean[3]: before std, the flag, the CRC */
  cr_assert_eq(memcmp(buf + at, &mean[3], 4), 0);
  memcpy(buf + at, &mu[0], 4);
  uint32_t crc = nn_crc32(0, buf, len - 4);
  for (int k = 0; k < 4; k++) buf[len - 4 + k] = (uint8_t)(crc >> (8 * k));
  nn_model *back = NULL;
  nn_error err = {{0}, {0}};
  cr_assert_eq(nn_checkpoint_load(buf, len, &back, NULL, &err), NN_EFORMAT);
  cr_assert_str_eq(err.field, "mean");
  cr_assert_null(back);
  free(buf);
  nn_model_free(m);
  free_problem(p);
  free(p);
}

Test(graph_model, conv_net_on_8x8_learns) {
  problem *p = calloc(1, sizeof *p);
  conv_problem(p);
  nn_model *m = learns(p, 20, 0.5);
  nn_model_free(m);
  free_problem(p);
  free(p);
}

Test(graph_model, codes_out_of_range_are_refused_before_training) {
  problem *p = calloc(1, sizeof *p);
  embedding_problem(p);
  nn_model *m;
  cr_assert_eq(nn_model_new(&p->spec, &m, NULL), NN_OK);
  nn_train_config c = config(1);
  nn_trainer *t = NULL;
  nn_error err = {{0}, {0}};
  static const float bad[] = {5.0f, -1.0f, 0.5f, 1e9f};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    p->x[4 * 7 + 3] = bad[i];
    cr_assert_eq(nn_trainer_new(m, &p->d, &c, NULL, &t, &err), NN_EINVAL, "%g", (double)bad[i]);
    cr_assert_null(t);
    cr_assert_str_eq(err.field, "x");
    cr_assert_not_null(strstr(err.message, "row 7 column 3"), "%s", err.message);
  }
  p->x[4 * 7 + 3] = 4.0f;
  cr_assert_eq(nn_trainer_new(m, &p->d, &c, NULL, &t, &err), NN_OK, "%s", err.message);
  nn_trainer_free(t);
  nn_model_free(m);
  free_problem(p);
  free(p);
}

/* ---- resume: a checkpoint mid-epoch resumes to the bits of a whole run ---- */

static int stop_at(void *ud, int epoch, size_t batch, size_t n_batches) {
  (void)n_batches;
  const int *at = ud;
  return epoch == at[0] && (int)batch == at[1];
}

/* Train; with pause, stop there, checkpoint, free everything, load and go
 * on; with diag, each epoch's diagnostics into diag[epoch - 1]. */
static nn_model *run_diag(problem *p, const nn_train_config *c, const int *pause,
                          nn_layer_diag (*diag)[NN_DIAG_SLOTS]) {
  nn_model *m;
  nn_trainer *t;
  nn_error err = {{0}, {0}};
  cr_assert_eq(nn_model_new(&p->spec, &m, &err), NN_OK, "%s", err.message);
  cr_assert_eq(nn_trainer_new(m, &p->d, c, NULL, &t, &err), NN_OK, "%s", err.message);
  nn_epoch_metrics em;
  while (!nn_trainer_done(t)) {
    int rc = nn_trainer_epoch(t, pause ? stop_at : NULL, (void *)pause, &em);
    if (rc == NN_OK && diag != NULL)
      cr_assert_eq(nn_trainer_diagnostics(t, diag[em.epoch - 1]), NN_OK);
    if (rc == NN_OK) continue;
    cr_assert_eq(rc, NN_ESTOPPED);
    uint8_t *buf, *again;
    size_t len, len2;
    cr_assert_eq(nn_checkpoint_save(m, t, &buf, &len), NN_OK);
    nn_trainer_free(t);
    nn_model_free(m);
    nn_train_state st;
    cr_assert_eq(nn_checkpoint_load(buf, len, &m, &st, &err), NN_OK, "%s", err.message);
    cr_assert_not_null(nn_model_spec(m)->graph);
    cr_assert_eq(st.has_diag, c->diagnostics, "the epoch's sums so far go with it");
    cr_assert_eq(nn_checkpoint_save(m, NULL, &again, &len2), NN_OK);
    free(again);
    cr_assert_eq(nn_trainer_new(m, &p->d, c, &st, &t, &err), NN_OK, "%s", err.message);
    /* the loaded checkpoint saves back to its own bytes */
    cr_assert_eq(nn_checkpoint_save(m, t, &again, &len2), NN_OK);
    cr_assert_eq(len2, len);
    cr_assert_eq(memcmp(again, buf, len), 0);
    free(again);
    free(buf);
    nn_train_state_free(&st);
    pause = NULL;
  }
  nn_trainer_free(t);
  return m;
}

static nn_model *run(problem *p, const nn_train_config *c, const int *pause) {
  return run_diag(p, c, pause, NULL);
}

/* Parameters and running statistics: P + S floats from nn_model_params. */
static void same_bits(const nn_model *a, const nn_model *b, const char *what) {
  size_t P = nn_model_param_count(a);
  cr_assert_eq(P, nn_model_param_count(b));
  cr_assert_eq(memcmp(nn_model_params_const(a), nn_model_params_const(b), P * sizeof(float)), 0,
               "%s: parameters differ", what);
  uint8_t *ba, *bb;
  size_t la, lb;
  cr_assert_eq(nn_checkpoint_save(a, NULL, &ba, &la), NN_OK);
  cr_assert_eq(nn_checkpoint_save(b, NULL, &bb, &lb), NN_OK);
  cr_assert_eq(la, lb);
  cr_assert_eq(memcmp(ba, bb, la), 0, "%s: statistics differ", what);
  free(ba);
  free(bb);
}

static void resumes_bit_exactly(void (*make)(problem *), nn_opt opt, int restore_best) {
  problem *p = calloc(1, sizeof *p);
  make(p);
  nn_train_config c = config(4);
  nn_optim_defaults(opt, &c.optim);
  c.optim.lr = 0.01f;
  c.clip_norm = 1.0f;
  c.restore_best = restore_best;
  c.sched.type = NN_SCHED_COSINE;
  nn_model *whole = run(p, &c, NULL);
  int pauses[][2] = {{2, 1}, {1, 0}, {4, 4}}; /* mid, first batch, last batch */
  for (size_t i = 0; i < sizeof pauses / sizeof pauses[0]; i++) {
    nn_model *resumed = run(p, &c, pauses[i]);
    same_bits(whole, resumed, "resumed");
    nn_model_free(resumed);
  }
  nn_model_free(whole);
  free_problem(p);
  free(p);
}

Test(graph_model, residual_mlp_resumes_bit_exactly) {
  resumes_bit_exactly(residual_problem, NN_OPT_ADAM, 0);
}
Test(graph_model, embedding_model_resumes_bit_exactly) {
  resumes_bit_exactly(embedding_problem, NN_OPT_SGD, 0);
}
Test(graph_model, conv_net_resumes_bit_exactly) {
  resumes_bit_exactly(conv_problem, NN_OPT_ADAMW, 1);
}

/* The same run twice gives the same bits, whatever the threads. */
Test(graph_model, threads_do_not_change_the_bits) {
  problem *p = calloc(1, sizeof *p);
  conv_problem(p);
  nn_train_config c = config(2);
  nn_model *a = run(p, &c, NULL), *b;
  nn_trainer *t;
  cr_assert_eq(nn_model_new(&p->spec, &b, NULL), NN_OK);
  cr_assert_eq(nn_trainer_new(b, &p->d, &c, NULL, &t, NULL), NN_OK);
  cr_assert_eq(nn_trainer_set_threads(t, 2), NN_OK);
  nn_epoch_metrics em;
  while (!nn_trainer_done(t)) cr_assert_eq(nn_trainer_epoch(t, NULL, NULL, &em), NN_OK);
  nn_trainer_free(t);
  same_bits(a, b, "2 threads");
  nn_model_free(a);
  nn_model_free(b);
  free_problem(p);
  free(p);
}

/* ---- predict ----------------------------------------------------------------- */

Test(graph_model, weights_predict_as_the_model_does) {
  problem *p = calloc(1, sizeof *p);
  conv_problem(p);
  nn_train_config c = config(2);
  nn_model *m = run(p, &c, NULL);
  float *a = malloc(ROWS * 3 * sizeof(float)), *b = malloc(ROWS * 3 * sizeof(float));
  cr_assert_eq(nn_model_predict(m, p->x, ROWS, a), NN_OK);
  nn_weights *w;
  cr_assert_eq(nn_weights_new(m, &w), NN_OK);
  cr_assert_eq(nn_weights_spec(w)->graph == NULL, 0);
  void *scratch = malloc(nn_weights_scratch_bytes(w, ROWS));
  cr_assert_eq(nn_weights_predict(w, p->x, ROWS, b, scratch), NN_OK);
  cr_assert_eq(memcmp(a, b, ROWS * 3 * sizeof(float)), 0);
  /* row by row as in a batch (evaluation mode: running statistics; the
   * products of another shape may round otherwise) */
  for (int i = 0; i < ROWS; i += 17) {
    cr_assert_eq(nn_weights_predict(w, p->x + 64 * i, 1, b, NULL), NN_OK);
    for (int k = 0; k < 3; k++) cr_assert_float_eq(a[3 * i + k], b[k], 1e-5f, "row %d", i);
  }
  /* and after a checkpoint's round trip */
  uint8_t *buf;
  size_t len;
  nn_model *back;
  cr_assert_eq(nn_checkpoint_save(m, NULL, &buf, &len), NN_OK);
  cr_assert_eq(nn_checkpoint_load(buf, len, &back, NULL, NULL), NN_OK);
  cr_assert_eq(nn_model_predict(back, p->x, ROWS, b), NN_OK);
  cr_assert_eq(memcmp(a, b, ROWS * 3 * sizeof(float)), 0);
  free(buf);
  nn_model_free(back);
  free(scratch);
  nn_weights_unref(w);
  free(a);
  free(b);
  nn_model_free(m);
  free_problem(p);
  free(p);
}

/* A dense chain as a graph predicts what the layer list predicts. */
Test(graph_model, a_chain_predicts_as_the_layer_list) {
  nn_graph_spec *g = gu_spec();
  gu_input(g, "x", 3, 0, 0, 0);
  nn_node_spec *h = gu_node(g, "h", NN_OP_DENSE, "x", NULL);
  h->units = 5;
  h->activation = NN_ACT_TANH;
  nn_node_spec *y = gu_node(g, "y", NN_OP_DENSE, "h", NULL);
  y->units = 4;
  y->activation = NN_ACT_SOFTMAX;
  nn_spec gs = {.graph = g, .loss = NN_LOSS_CROSS_ENTROPY, .seed = 3};
  nn_spec ls = {.inputs = 3, .n_layers = 2, .loss = NN_LOSS_CROSS_ENTROPY, .seed = 3};
  nn_layer_spec_defaults(&ls.layers[0]);
  nn_layer_spec_defaults(&ls.layers[1]);
  ls.layers[0].units = 5;
  ls.layers[0].act = NN_ACT_TANH;
  ls.layers[1].units = 4;
  ls.layers[1].act = NN_ACT_SOFTMAX;
  nn_model *mg, *ml;
  cr_assert_eq(nn_model_new(&gs, &mg, NULL), NN_OK);
  cr_assert_eq(nn_model_new(&ls, &ml, NULL), NN_OK);
  cr_assert_eq(nn_model_param_count(mg), nn_model_param_count(ml));
  memcpy(nn_model_params(mg), nn_model_params(ml), nn_model_param_count(ml) * sizeof(float));
  float x[3 * 7], a[4 * 7], b[4 * 7];
  gu_fill(x, 21, 9);
  cr_assert_eq(nn_model_predict(mg, x, 7, a), NN_OK);
  cr_assert_eq(nn_model_predict(ml, x, 7, b), NN_OK);
  cr_assert_eq(memcmp(a, b, sizeof a), 0);
  nn_model_free(mg);
  nn_model_free(ml);
  free(g);
}

/* ---- what is refused ---------------------------------------------------------- */

static void refused(nn_spec *s, int status, const char *field, const char *text) {
  nn_error err = {{0}, {0}};
  nn_model *m = NULL;
  cr_assert_eq(nn_model_new(s, &m, &err), status, "%s", err.message);
  cr_assert_null(m);
  cr_assert_str_eq(err.field, field);
  cr_assert_not_null(strstr(err.message, text), "%s", err.message);
}

Test(graph_model, specs_are_refused_naming_the_field) {
  nn_graph_spec *g = residual_mlp();
  nn_spec s = {.graph = g, .loss = NN_LOSS_BCE};
  refused(&s, NN_EINVAL, "output", "needs a sigmoid output");
  s.loss = NN_LOSS_CROSS_ENTROPY;
  g->nodes[1].units = 8; /* h2 no longer matches h1 */
  refused(&s, NN_ESHAPE, "nodes[2].inputs[1]", "shape [8] does not match [16]");
  g->nodes[1].units = 16;
  strcpy(g->output, "x");
  refused(&s, NN_EINVAL, "output", "is an input");
  strcpy(g->output, "nope");
  refused(&s, NN_EINVAL, "output", "unknown name");
  strcpy(g->output, "y");
  s.n_layers = 1;
  refused(&s, NN_EINVAL, "layers", "nodes, not layers");
  s.n_layers = 0;
  g->nodes[5].units = 1; /* cross-entropy of one output */
  refused(&s, NN_EINVAL, "output", "k >= 2");
  g->nodes[5].units = 3;
  nn_model *m;
  cr_assert_eq(nn_model_new(&s, &m, NULL), NN_OK);
  nn_model_free(m);
  free(g);
  /* an embedding's codes come from the data, not from a node */
  g = residual_mlp();
  nn_spec e = {.graph = g, .loss = NN_LOSS_CROSS_ENTROPY};
  nn_node_spec *emb = gu_node(g, "emb", NN_OP_EMBEDDING, "h1", NULL);
  emb->categories = 3;
  emb->dim = 2;
  strcpy(g->output, "y");
  refused(&e, NN_EINVAL, "nodes[6].inputs[0]", "from one of the graph's inputs");
  free(g);
}

Test(graph_model, shards_and_layer_gradchecks_are_refused_cleanly) {
  problem *p = calloc(1, sizeof *p);
  residual_problem(p);
  nn_model *m;
  cr_assert_eq(nn_model_new(&p->spec, &m, NULL), NN_OK);
  nn_train_config c = config(1);
  nn_trainer *t = NULL;
  nn_error err = {{0}, {0}};
  nn_replicas *rep;
  nn_shard sh;
  cr_assert_eq(nn_replicas_new(1, nn_model_param_count(m), &rep), NN_OK);
  nn_replicas_shard(rep, 0, &sh);
  cr_assert_eq(nn_trainer_new_shard(m, &p->d, &c, NULL, &sh, &t, &err), NN_EINVAL);
  cr_assert_str_eq(err.field, "ranks");
  nn_replicas_free(rep);
  nn_gradcheck_config gc;
  nn_gradcheck_defaults(&gc);
  nn_gradcheck_result gr;
  cr_assert_eq(nn_gradcheck(m, &p->d, &gc, &gr, &err), NN_EINVAL);
  double loss;
  cr_assert_eq(nn_model_loss_grad(m, p->x, NULL, p->labels, 4, NULL, NULL, &loss), NN_EINVAL);
  nn_model_free(m);
  free_problem(p);
  free(p);
}

/* ---- the gradient check of a graph model ------------------------------------------ */

/* dLoss/dparams (P,) of m on d's rows, evaluation mode, as the check's backward. */
static float *graph_grad(nn_model *m, const nn_data *d) {
  nn__gnet *r;
  cr_assert_eq(nn__gnet_new(m, d->rows, 0, &r, NULL), NN_OK);
  size_t n = d->rows, inputs = (size_t)nn_model_spec(m)->inputs, P = nn_model_param_count(m);
  float *x = malloc(n * inputs * sizeof *x), *grad = malloc(P * sizeof *grad);
  const float *out, *logits;
  nn__standardize(NULL, d->x, NULL, n, (int)inputs, m->mean, m->std, x);
  cr_assert_eq(nn__gnet_forward(r, x, n, 0, NULL, NULL, &out, &logits), NN_OK);
  nn__loss_sum s = {0};
  nn__loss(m->spec.loss, out, logits, d->y, d->y != NULL ? NULL : d->labels, n, n,
           m->spec.graph_outputs, nn__gnet_dout(r), &s);
  cr_assert_eq(nn__gnet_backward(r), NN_OK);
  memcpy(grad, nn__gnet_grads(r), P * sizeof *grad);
  nn__gnet_free(r);
  free(x);
  return grad;
}

/* Trained a little, the check passes on every parameter node; with one
 * node's gradient 10 % off (a lost factor), or a term dropped, it fails
 * there and nowhere else. */
static void gradcheck_catches(void (*make)(problem *), const char *wrong) {
  problem *p = calloc(1, sizeof *p);
  make(p);
  nn_train_config c = config(2);
  nn_model *m = run(p, &c, NULL);
  nn_data d = p->d;
  d.rows = 24;
  nn_gradcheck_config gc;
  nn_gradcheck_defaults(&gc);
  gc.epsilon = NN_GRAPH_GRADCHECK_EPSILON;
  nn_gradcheck_graph_result *r = calloc(1, sizeof *r);
  nn_error err = {{0}, {0}};
  cr_assert_eq(nn_gradcheck_graph(m, &d, &gc, r, &err), NN_OK, "%s", err.message);
  cr_assert(r->pass, "max error %g", r->max_error);
  cr_assert(isfinite(r->loss) && r->loss > 0.0);
  const nn_graph_spec *g = nn_model_spec(m)->graph;
  int k = -1;
  for (int i = 0; i < g->n_nodes; i++) {
    nn_node_spec *node = &p->g->nodes[i];
    int params = node->op == NN_OP_DENSE || node->op == NN_OP_CONV2D ||
                 node->op == NN_OP_EMBEDDING || node->op == NN_OP_LAYERNORM ||
                 node->op == NN_OP_BATCHNORM;
    cr_expect_eq(r->nodes[i].checked > 0, params, "%s: %zu checked", node->name,
                 r->nodes[i].checked);
    if (!params) cr_expect(isnan(r->nodes[i].error), "%s", node->name);
    if (strcmp(node->name, wrong) == 0) k = i;
  }
  cr_assert_geq(k, 0);
  /* the same gradient, one node's 10 % off */
  float *grad = graph_grad(m, &d);
  nn_gradcheck_graph_result *again = calloc(1, sizeof *again);
  cr_assert_eq(nn__gradcheck_graph_with(m, &d, grad, &gc, again, &err), NN_OK);
  cr_assert(again->pass && again->max_error == r->max_error, "the check's own gradient");
  size_t off, count;
  nn_model *probe;
  nn__gnet *gn;
  cr_assert_eq(nn_model_clone(m, &probe), NN_OK);
  cr_assert_eq(nn__gnet_new(probe, 1, 0, &gn, NULL), NN_OK);
  nn_graph_node_params(nn__gnet_graph(gn), k, &off, &count);
  nn__gnet_free(gn);
  nn_model_free(probe);
  for (size_t i = off; i < off + count; i++) grad[i] *= 1.1f;
  cr_assert_eq(nn__gradcheck_graph_with(m, &d, grad, &gc, again, &err), NN_OK);
  cr_expect_not(again->pass, "a gradient 10 %% off passes");
  cr_expect_gt(again->nodes[k].error, again->threshold, "%s: %g", wrong, again->nodes[k].error);
  for (int i = 0; i < g->n_nodes; i++)
    if (i != k && again->nodes[i].checked)
      cr_expect_lt(again->nodes[i].error, again->threshold, "%s", p->g->nodes[i].name);
  /* a term dropped: the node's gradient zero */
  for (size_t i = off; i < off + count; i++) grad[i] = 0.0f;
  cr_assert_eq(nn__gradcheck_graph_with(m, &d, grad, &gc, again, &err), NN_OK);
  cr_expect_not(again->pass);
  free(again);
  free(grad);
  free(r);
  nn_model_free(m);
  free_problem(p);
  free(p);
}

Test(graph_model, gradcheck_passes_and_catches_a_wrong_residual_gradient) {
  gradcheck_catches(residual_problem, "h1");
}
Test(graph_model, gradcheck_passes_and_catches_a_wrong_embedding_gradient) {
  gradcheck_catches(embedding_problem, "e");
}
Test(graph_model, gradcheck_passes_and_catches_a_wrong_conv_gradient) {
  gradcheck_catches(conv_problem, "c1");
}

Test(graph_model, gradcheck_refuses_what_it_cannot_check) {
  problem *p = calloc(1, sizeof *p);
  residual_problem(p);
  nn_model *m;
  cr_assert_eq(nn_model_new(&p->spec, &m, NULL), NN_OK);
  nn_gradcheck_config gc;
  nn_gradcheck_defaults(&gc);
  nn_gradcheck_graph_result *r = calloc(1, sizeof *r);
  nn_error err = {{0}, {0}};
  gc.epsilon = 0.5;
  cr_assert_eq(nn_gradcheck_graph(m, &p->d, &gc, r, &err), NN_EINVAL);
  cr_assert_str_eq(err.field, "epsilon");
  gc.epsilon = NN_GRAPH_GRADCHECK_EPSILON;
  nn_data d = p->d;
  d.features = 5;
  cr_assert_neq(nn_gradcheck_graph(m, &d, &gc, r, &err), NN_OK);
  int w[] = {3};
  nn_act a[] = {NN_ACT_SOFTMAX};
  nn_spec ls = nets_mlp(6, 1, w, a, NN_LOSS_CROSS_ENTROPY, 1);
  nn_model *layers;
  cr_assert_eq(nn_model_new(&ls, &layers, NULL), NN_OK);
  cr_assert_eq(nn_gradcheck_graph(layers, &p->d, &gc, r, &err), NN_EINVAL);
  cr_assert_str_eq(err.field, "model");
  nn_model_free(layers);
  nn_model_free(m);
  free(r);
  free_problem(p);
  free(p);
}

/* ---- per-node diagnostics ------------------------------------------------------- */

/* x [2] -> h dense 2 relu -> a relu -> y dense 1 (mse), the weights set by
 * hand: h = relu(x W1^T), W1 = [[1, 0], [0, -1]], so h's second unit is 0
 * for positive inputs; y = h0 + h1. Rows (1, 1) and (2, 1) with targets 0,
 * one batch: dL/dy = 2 (y - t) / 2 = (1, 2), dW2 = sum dy h = (5, 0), db2
 * = 3; dz1 = dy * W2 * relu'(z) = ((1, 0), (2, 0)), dW1 = ((5, 3), (0, 0)),
 * db1 = (3, 0). */
Test(graph_model, diagnostics_per_node_by_hand) {
  nn_graph_spec *g = gu_spec();
  gu_input(g, "x", 2, 0, 0, 0);
  nn_node_spec *h = gu_node(g, "h", NN_OP_DENSE, "x", NULL);
  h->units = 2;
  h->activation = NN_ACT_RELU;
  gu_node(g, "a", NN_OP_RELU, "h", NULL);
  gu_node(g, "y", NN_OP_DENSE, "a", NULL)->units = 1;
  nn_spec spec = {0};
  spec.graph = g;
  spec.loss = NN_LOSS_MSE;
  spec.seed = 1;
  nn_model *m;
  nn_error err = {{0}, {0}};
  cr_assert_eq(nn_model_new(&spec, &m, &err), NN_OK, "%s", err.message);
  float *w = nn_model_params(m);
  const float set[] = {1, 0, 0, -1, 0, 0, /* h: W1, b1 */ 1, 1, 0 /* y: W2, b2 */};
  cr_assert_eq(nn_model_param_count(m), 9);
  memcpy(w, set, sizeof set);
  float x[] = {1, 1, 2, 1}, y[] = {0, 0};
  nn_data d = {.rows = 2, .features = 2, .x = x, .outputs = 1, .y = y};
  nn_train_config c;
  nn_train_config_defaults(&c);
  c.epochs = 1;
  c.batch_size = 2;
  c.validation_split = 0.0f;
  c.optim.type = NN_OPT_SGD;
  c.optim.lr = 0.01f;
  c.optim.momentum = 0.0f;
  c.diagnostics = 1;
  nn_trainer *t;
  cr_assert_eq(nn_trainer_new(m, &d, &c, NULL, &t, &err), NN_OK, "%s", err.message);
  nn_layer_diag diag[NN_DIAG_SLOTS];
  cr_assert_eq(nn_trainer_diagnostics(t, diag), NN_EINVAL, "no epoch yet");
  nn_epoch_metrics em;
  cr_assert_eq(nn_trainer_epoch(t, NULL, NULL, &em), NN_OK);
  cr_assert_eq(nn_trainer_diagnostics(t, diag), NN_OK);
  cr_expect_float_eq(diag[0].grad_norm, sqrt(43.0), 1e-5, "h: |(5, 3, 0, 0, 3, 0)| = %g",
                     diag[0].grad_norm);
  cr_expect_float_eq(diag[2].grad_norm, sqrt(34.0), 1e-5, "y: |(5, 0, 3)| = %g",
                     diag[2].grad_norm);
  cr_expect(isnan(diag[1].grad_norm) && isnan(diag[1].weight_norm), "a has no parameters");
  /* the weights after the step: w - lr grad */
  double wh = 0, wy = 0;
  const float gh[] = {5, 3, 0, 0, 3, 0}, gy[] = {5, 0, 3};
  for (int i = 0; i < 6; i++) wh += pow(set[i] - 0.01 * gh[i], 2);
  for (int i = 0; i < 3; i++) wy += pow(set[6 + i] - 0.01 * gy[i], 2);
  cr_expect_float_eq(diag[0].weight_norm, sqrt(wh), 1e-5, "%g", diag[0].weight_norm);
  cr_expect_float_eq(diag[2].weight_norm, sqrt(wy), 1e-5, "%g", diag[2].weight_norm);
  /* h's second unit never fired; a reads h, all >= 0: its second entry too */
  cr_expect_eq(diag[0].dead_fraction, 0.5);
  cr_expect_eq(diag[1].dead_fraction, 0.5);
  cr_expect(isnan(diag[2].dead_fraction), "y is not a relu");
  nn_trainer_free(t);
  nn_model_free(m);
  free(g);
}

/* Each epoch's diagnostics of a run with diagnostics on; with pause, the
 * run stops there, is checkpointed, freed, loaded and resumed. */
static void diag_run(problem *p, const int *pause, int epochs,
                     nn_layer_diag (*out)[NN_DIAG_SLOTS]) {
  nn_train_config c = config(epochs);
  c.diagnostics = 1;
  nn_model_free(run_diag(p, &c, pause, out));
}

static void diagnostics_resume_exactly(void (*make)(problem *), int relu_node) {
  problem *p = calloc(1, sizeof *p);
  make(p);
  enum { EPOCHS = 3 };
  nn_layer_diag (*whole)[NN_DIAG_SLOTS] = calloc(EPOCHS, sizeof *whole);
  nn_layer_diag (*resumed)[NN_DIAG_SLOTS] = calloc(EPOCHS, sizeof *resumed);
  const int pause[2] = {2, 2};
  diag_run(p, NULL, EPOCHS, whole);
  diag_run(p, pause, EPOCHS, resumed);
  int n = p->g->n_nodes;
  for (int e = 0; e < EPOCHS; e++)
    cr_expect_eq(memcmp(whole[e], resumed[e], (size_t)n * sizeof whole[e][0]), 0,
                 "epoch %d: the resumed run's diagnostics are the whole run's", e + 1);
  for (int i = 0; i < n; i++) {
    const nn_node_spec *s = &p->g->nodes[i];
    int count = s->op == NN_OP_DENSE || s->op == NN_OP_CONV2D || s->op == NN_OP_EMBEDDING ||
            s->op == NN_OP_LAYERNORM || s->op == NN_OP_BATCHNORM;
    cr_expect_eq(isfinite(whole[EPOCHS - 1][i].grad_norm) && whole[EPOCHS - 1][i].grad_norm > 0,
                 count != 0, "%s: grad_norm %g", s->name, whole[EPOCHS - 1][i].grad_norm);
    cr_expect_eq(!isnan(whole[EPOCHS - 1][i].dead_fraction), i == relu_node, "%s", s->name);
  }
  double dead = whole[EPOCHS - 1][relu_node].dead_fraction;
  cr_expect(dead >= 0.0 && dead <= 1.0, "%g", dead);
  free(whole);
  free(resumed);
  free_problem(p);
  free(p);
}

Test(graph_model, residual_diagnostics_resume_exactly) {
  diagnostics_resume_exactly(residual_problem, 0); /* h1: dense relu */
}
Test(graph_model, conv_diagnostics_resume_exactly) {
  diagnostics_resume_exactly(conv_problem, 2); /* act: a relu op */
}

/* ---- checkpoints ----------------------------------------------------------------- */

/* Every truncation and every flipped byte of a graph checkpoint is refused. */
Test(graph_model, damaged_checkpoints_are_refused) {
  problem *p = calloc(1, sizeof *p);
  conv_problem(p);
  nn_train_config c = config(1);
  nn_model *m = run(p, &c, NULL);
  uint8_t *buf;
  size_t len;
  cr_assert_eq(nn_checkpoint_save(m, NULL, &buf, &len), NN_OK);
  cr_assert_eq(buf[8], 4); /* version 4 */
  for (size_t n = 0; n < len; n += 7) {
    nn_model *back = NULL;
    cr_assert_neq(nn_checkpoint_load(buf, n, &back, NULL, NULL), NN_OK, "%zu bytes", n);
    cr_assert_null(back);
  }
  for (size_t i = 12; i < len; i += 13) {
    buf[i] ^= 0x40;
    nn_model *back = NULL;
    cr_assert_neq(nn_checkpoint_load(buf, len, &back, NULL, NULL), NN_OK, "byte %zu", i);
    buf[i] ^= 0x40;
  }
  /* a graph in a version 3 checkpoint (0 layers) is refused, CRC or not */
  buf[8] = 3;
  uint32_t crc = nn_crc32(0, buf, len - 4);
  for (int k = 0; k < 4; k++) buf[len - 4 + k] = (uint8_t)(crc >> (8 * k));
  nn_error err = {{0}, {0}};
  nn_model *back = NULL;
  cr_assert_eq(nn_checkpoint_load(buf, len, &back, NULL, &err), NN_EINVAL);
  cr_assert_str_eq(err.field, "layers");
  free(buf);
  nn_model_free(m);
  free_problem(p);
  free(p);
}

/* The memory estimate of a graph covers what training allocates. */
Test(graph_model, memory_estimate_covers_the_graph) {
  problem *p = calloc(1, sizeof *p);
  conv_problem(p);
  nn_train_config c = config(1);
  nn_memory mem;
  nn_error err = {{0}, {0}};
  cr_assert_eq(nn_memory_estimate(&p->spec, &c, ROWS, 1, &mem, &err), NN_OK, "%s", err.message);
  /* workspace: at least the conv's values and gradients for a batch of 16 */
  cr_assert_gt(mem.activations, 16 * 4 * 64 * 2 * sizeof(float));
  nn_spec v = p->spec;
  cr_assert_eq(nn_spec_validate(&v, NULL), NN_OK);
  cr_assert_gt(nn_spec_param_count(&v), 0);
  cr_assert_geq(mem.model, nn_spec_param_count(&v) * sizeof(float));
  cr_assert_eq(mem.total, mem.model + mem.gradients + mem.optimizer + mem.activations + mem.rows +
                              mem.other);
  free_problem(p);
  free(p);
}

/* A model starts from the weights and statistics nn_graph_compile gives its
 * graph with the model's seed (the graph spec's own is ignored). */
Test(graph_model, initial_weights_are_the_graphs_under_the_models_seed) {
  nn_graph_spec *g = conv_net();
  g->seed = 999;
  nn_spec s = {.graph = g, .loss = NN_LOSS_CROSS_ENTROPY, .seed = 13};
  nn_model *m;
  cr_assert_eq(nn_model_new(&s, &m, NULL), NN_OK);
  g->seed = 13;
  nn_graph *c;
  cr_assert_eq(nn_graph_compile(g, 1, &c, NULL), NN_OK);
  size_t P = nn_graph_param_count(c);
  cr_assert_eq(P, nn_model_param_count(m));
  cr_assert_eq(memcmp(nn_graph_params(c), nn_model_params(m), P * sizeof(float)), 0);
  cr_assert_eq(nn_model_spec(m)->graph->seed, 999, "the model keeps the spec as given");
  nn_graph_free(c);
  nn_model_free(m);
  free(g);
}

/* Predictions do not read the scratch they are given before writing it:
 * scratch full of NaNs answers what the model does, for every kind of graph
 * (several inputs, a fused head). */
Test(graph_model, weights_predict_ignores_what_scratch_held) {
  void (*problems[])(problem *) = {residual_problem, embedding_problem, conv_problem};
  for (size_t k = 0; k < sizeof problems / sizeof problems[0]; k++) {
    problem *p = calloc(1, sizeof *p);
    problems[k](p);
    nn_train_config c = config(2);
    nn_model *m = run(p, &c, NULL);
    int outputs = nn_spec_outputs(nn_model_spec(m));
    float *a = malloc(ROWS * 3 * sizeof(float)), *b = malloc(ROWS * 3 * sizeof(float));
    cr_assert_eq(nn_model_predict(m, p->x, ROWS, a), NN_OK);
    nn_weights *w;
    cr_assert_eq(nn_weights_new(m, &w), NN_OK);
    size_t bytes = nn_weights_scratch_bytes(w, ROWS);
    void *scratch = malloc(bytes);
    memset(scratch, 0xff, bytes);
    cr_assert_eq(nn_weights_predict(w, p->x, ROWS, b, scratch), NN_OK);
    cr_expect_eq(memcmp(a, b, ROWS * (size_t)outputs * sizeof(float)), 0, "problem %zu", k);
    free(scratch);
    nn_weights_unref(w);
    free(a);
    free(b);
    nn_model_free(m);
    free_problem(p);
    free(p);
  }
}
