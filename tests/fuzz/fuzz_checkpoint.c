/*
 * fuzz_checkpoint.c — checkpoints, as the daemon reads them back from its
 * database to resume a job or serve a model (nn_checkpoint_load).
 *
 * Each input is loaded as is (nearly always a CRC mismatch once mutated) and
 * once more with its CRC recomputed, so mutations reach the field parsers. A
 * refusal has a message and returns nothing. A checkpoint that loads has a
 * normalized spec whose parameter count is the model's, optimizer state of
 * the size its optimizer needs, sane trainer counters and statistics; the
 * model predicts; saved again (weights only) it is the input minus its
 * trainer section, and that file loads and saves to the same bytes. A
 * trainer resumes from its state (or refuses it as invalid), saves to a
 * fixed point, and trains an epoch.
 */
#include <math.h>

#include "../../core/graph.h"
#include "fuzz.h"

#define SPEC_START 12                /* after magic and version */

/* Bytes of the spec section of a spec (docs/checkpoint-format.md); a
 * graph's adds its graph spec, and its statistics follow its parameters. */
static size_t spec_bytes(const nn_spec *s) {
  size_t n = 24 + 24 * (size_t)s->n_layers;
  const nn_graph_spec *g = s->graph;
  if (g == NULL) return n;
  n += 4 + 52 * (size_t)g->n_inputs + 4 + 32;
  for (int i = 0; i < g->n_nodes; i++) n += 152 + 32 * (size_t)g->nodes[i].n_inputs;
  return n;
}

/* Floats restore_best keeps: the parameters, and a graph's statistics. */
static size_t kept(const nn_model *m) {
  const nn_spec *s = nn_model_spec(m);
  size_t p = nn_model_param_count(m);
  if (s->graph == NULL) return p;
  nn_graph *g;
  FUZZ_CHECK(nn_graph_compile(s->graph, 1, &g, NULL) == NN_OK, "a loaded graph does not compile");
  p += nn_graph_state_count(g);
  nn_graph_free(g);
  return p;
}

/* Bytes of a trainer section past its has_train flag, as the given format
 * version lays it out: format 2 adds the has_diag flag and the sums it
 * announces, format 3 the has_best flag and the weights it announces
 * (docs/checkpoint-format.md). */
static size_t train_bytes(uint32_t version, const nn_spec *s, const nn_train_state *st) {
  size_t n = 92 + 4 * st->n_state;
  if (version < 2) return n;
  n += 4;
  if (version >= 3) n += 4 + 4 * st->n_best;
  if (!st->has_diag) return n;
  n += 4 + 64 * (size_t)s->n_layers;
  for (int i = 0; i < s->n_layers; i++)
    if (s->layers[i].type == NN_LAYER_DENSE && s->layers[i].act == NN_ACT_RELU)
      n += 4 * (((size_t)s->layers[i].units + 31) / 32);
  return n;
}

static void check_loaded(const nn_model *m, const nn_train_state *st) {
  const nn_spec *spec = nn_model_spec(m);
  nn_spec again = *spec;
  FUZZ_CHECK(nn_spec_validate(&again, NULL) == NN_OK, "a loaded spec does not validate");
  size_t p = nn_model_param_count(m);
  FUZZ_CHECK(p >= 1 && p == nn_spec_param_count(spec), "model has %zu parameters, spec %zu", p,
             nn_spec_param_count(spec));
  const float *mean, *std;
  if (nn_model_norm(m, &mean, &std) == NN_OK)
    for (int i = 0; i < spec->inputs; i++)
      FUZZ_CHECK(isfinite(mean[i]) && isfinite(std[i]) && std[i] > 0.0f,
                 "feature %d: mean %g, std %g", i, (double)mean[i], (double)std[i]);
  if (st->state != NULL) {
    size_t need = st->opt == NN_OPT_SGD ? p : 2 * p;
    FUZZ_CHECK(st->n_state == need, "%zu floats of %s state for %zu parameters", st->n_state,
               nn_name(NN_NAMES_OPT, st->opt), p);
    FUZZ_CHECK(st->epoch >= 0 && st->batch >= 0 && st->bad_epochs >= 0 &&
                   (st->stopped == 0 || st->stopped == 1),
               "counters: epoch %d, batch %d, bad_epochs %d, stopped %d", st->epoch, st->batch,
               st->bad_epochs, st->stopped);
    FUZZ_CHECK(st->n_best == 0 || st->n_best == kept(m), "%zu best weights for %zu parameters",
               st->n_best, p);
    FUZZ_CHECK((st->n_best != 0) == (st->best_params != NULL), "best weights without floats");
  } else {
    FUZZ_CHECK(st->n_state == 0, "%zu floats of state without state", st->n_state);
  }
  int inputs = spec->inputs, outputs = nn_spec_outputs(spec);
  float *x = calloc((size_t)inputs, sizeof *x), *y = calloc((size_t)outputs, sizeof *y);
  FUZZ_CHECK(x != NULL && y != NULL, "out of memory");
  FUZZ_CHECK(nn_model_predict(m, x, 1, y) == NN_OK, "a loaded model does not predict");
  free(x);
  free(y);
}

/* Save m weights only; compare with the input it was loaded from. */
static void check_resave(const nn_model *m, const nn_train_state *st, const uint8_t *in,
                         size_t in_len) {
  uint8_t *out = NULL, *out2 = NULL;
  size_t len = 0, len2 = 0;
  FUZZ_CHECK(nn_checkpoint_save(m, NULL, &out, &len) == NN_OK, "a loaded model does not save");
  uint32_t version = (uint32_t)in[8] | (uint32_t)in[9] << 8 | (uint32_t)in[10] << 16 |
                     (uint32_t)in[11] << 24;
  size_t train = st->state != NULL ? train_bytes(version, nn_model_spec(m), st) : 0;
  FUZZ_CHECK(len + train == in_len, "saved %zu bytes from %zu with a %zu-byte trainer section",
             len, in_len, train);
  /* past the spec (normalized on load), up to the trainer flag, nothing changes */
  size_t from = SPEC_START + spec_bytes(nn_model_spec(m)), to = len - 8;
  FUZZ_CHECK(memcmp(out + from, in + from, to - from) == 0, "weights or statistics changed");
  nn_model *m2 = NULL;
  nn_error e = {{0}, {0}};
  FUZZ_CHECK(nn_checkpoint_load(out, len, &m2, NULL, &e) == NN_OK, "a saved model does not "
             "load: %s", e.message);
  FUZZ_CHECK(nn_checkpoint_save(m2, NULL, &out2, &len2) == NN_OK, "reloaded model does not save");
  FUZZ_CHECK(len2 == len && memcmp(out, out2, len) == 0, "save, load, save changes the bytes");
  nn_model_free(m2);
  free(out2);
  free(out);
}

/* Four rows that fit the spec: targets in [0, 1], or labels for cross_entropy. */
typedef struct {
  nn_data d;
  float *x, *y;
  int32_t labels[4];
} rows4;

static void rows4_init(rows4 *r, const nn_spec *spec) {
  int inputs = spec->inputs, outputs = nn_spec_outputs(spec);
  memset(r, 0, sizeof *r);
  r->x = malloc(4 * (size_t)inputs * sizeof *r->x);
  r->y = malloc(4 * (size_t)outputs * sizeof *r->y);
  FUZZ_CHECK(r->x != NULL && r->y != NULL, "out of memory");
  for (size_t i = 0; i < 4 * (size_t)inputs; i++) r->x[i] = (float)(i % 5) * 0.25f;
  for (size_t i = 0; i < 4 * (size_t)outputs; i++) r->y[i] = (float)(i % 2);
  r->d = (nn_data){.rows = 4, .features = inputs};
  if (spec->loss == NN_LOSS_CROSS_ENTROPY) {
    for (int i = 0; i < 4; i++) r->labels[i] = i % outputs;
    r->d.labels = r->labels;
    r->d.classes = outputs;
  } else {
    r->d.y = r->y;
    r->d.outputs = outputs;
  }
}

/* Resume training from the loaded state, as a job does: the trainer takes
 * the state or refuses it, saves it back as a fixed point, and trains on. */
static void check_resume(nn_model *m, const nn_train_state *st) {
  rows4 r;
  rows4_init(&r, nn_model_spec(m));
  nn_train_config c;
  nn_train_config_defaults(&c);
  nn_optim_defaults(st->opt, &c.optim);
  c.epochs = st->epoch < 1000000 ? st->epoch + 1 : st->epoch;
  c.batch_size = 2;
  c.restore_best = st->n_best != 0; /* as the job that saved them */
  nn_trainer *t = NULL, *t2 = NULL;
  nn_model *m2 = NULL;
  nn_train_state st2;
  nn_error e = {{0}, {0}};
  uint8_t *a = NULL, *b = NULL;
  size_t a_len, b_len;
  int rc = nn_trainer_new(m, &r.d, &c, st, &t, &e);
  if (rc != NN_OK) {
    FUZZ_CHECK(rc == NN_EINVAL && t == NULL, "status %d: %s", rc, e.message);
    goto exit;
  }
  FUZZ_CHECK(nn_checkpoint_save(m, t, &a, &a_len) == NN_OK, "a resumed trainer does not save");
  FUZZ_CHECK(nn_checkpoint_load(a, a_len, &m2, &st2, &e) == NN_OK, "its save does not load: %s",
             e.message);
  FUZZ_CHECK(nn_trainer_new(m2, &r.d, &c, &st2, &t2, &e) == NN_OK, "nor resume: %s", e.message);
  FUZZ_CHECK(nn_checkpoint_save(m2, t2, &b, &b_len) == NN_OK, "the second resume does not save");
  FUZZ_CHECK(a_len == b_len && memcmp(a, b, a_len) == 0, "save, resume, save changes the bytes");
  nn_train_state_free(&st2);
  if (!nn_trainer_done(t)) {
    nn_epoch_metrics em;
    rc = nn_trainer_epoch(t, NULL, NULL, &em);
    FUZZ_CHECK(rc == NN_OK || rc == NN_ENUMERIC, "an epoch from a loaded state: status %d", rc);
    FUZZ_CHECK(rc != NN_OK || nn_trainer_epochs_done(t) == st->epoch + 1, "epochs done %d of %d",
               nn_trainer_epochs_done(t), st->epoch + 1);
  }
exit:
  free(a);
  free(b);
  nn_trainer_free(t);
  nn_trainer_free(t2);
  nn_model_free(m2);
  free(r.x);
  free(r.y);
}

static void load(const uint8_t *buf, size_t len) {
  nn_model *m = NULL;
  nn_train_state st;
  nn_error e = {{0}, {0}};
  int rc = nn_checkpoint_load(buf, len, &m, &st, &e);
  if (rc != NN_OK) {
    FUZZ_CHECK(rc == NN_EFORMAT || rc == NN_EVERSION || rc == NN_EINVAL, "status %d: %s", rc,
               e.message);
    FUZZ_CHECK(m == NULL && st.state == NULL, "a refusal returns a model or state");
    FUZZ_CHECK(e.message[0] != '\0', "refused without a message");
    return;
  }
  FUZZ_CHECK(m != NULL, "no model");
  check_loaded(m, &st);
  check_resave(m, &st, buf, len);
  if (st.state != NULL) check_resume(m, &st);
  nn_train_state_free(&st);
  nn_model_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  load(data, size);
  if (size < 16) return 0;
  uint8_t *copy = malloc(size);
  FUZZ_CHECK(copy != NULL, "out of memory");
  memcpy(copy, data, size);
  uint32_t crc = nn_crc32(0, copy, size - 4);
  for (int i = 0; i < 4; i++) copy[size - 4 + i] = (uint8_t)(crc >> (8 * i));
  load(copy, size);
  free(copy);
  return 0;
}
