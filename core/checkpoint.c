/*
 * checkpoint.c — the versioned checkpoint format (docs/checkpoint-format.md):
 * a model's spec, weights and standardization statistics, optionally with a
 * trainer's resumable state, sealed by a CRC-32.
 *
 * Every field is written byte by byte in little-endian order, never as a
 * memcpy'd struct, so a checkpoint means the same on every host. Floats travel
 * as their IEEE-754 bit patterns and are only ever copied through pointers:
 * returning a float by value can quiet a signaling NaN (x87), and the round
 * trip must be bit-exact.
 *
 * Checkpoints are written in NN_FORMAT_VERSION (3). Version 2 appended the
 * trainer's diagnostics sums to the trainer state; version 1 checkpoints,
 * which end before them, still load (a paused epoch resumed from one
 * reports diagnostics for the batches after the resume). Version 3 appended
 * the best epoch's weights that restore_best ends on; versions 1 and 2 end
 * before them, and no trainer of theirs kept any. Version 4 writes a graph
 * model (nn_spec.graph) as a spec of 0 layers followed by its graph spec,
 * and its running statistics after the parameters; a layer list's bytes are
 * version 3's. Versions 1 to 3 hold layer lists alone. A graph's
 * diagnostics sums are a layer list's with a slot per node where a layer
 * list has one per layer, and alive bits for each relu node (no reader
 * ever saw one before: version 4 still).
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"

static const uint8_t MAGIC[8] = {'T', 'R', 'A', 'I', 'N', 'D', 'C', 'K'};

#define HEADER_BYTES 12 /* magic, u32 version */
#define CRC_BYTES 4
#define SPEC_BYTES 24  /* inputs, n_layers, loss, u64 seed, normalize */
#define LAYER_BYTES 24 /* type, units, act, slope, init, rate */
#define INPUT_BYTES (NN_GRAPH_NAME + 20)  /* name, rank, 4 dims */
#define NODE_BYTES (NN_GRAPH_NAME + 120)  /* name, op, n_inputs, 28 attributes; names extra */
#define TRAIN_BYTES 96 /* epoch, u64 step, opt, u64 n_state, 2 x u64 rng, f64 best,
                          bad_epochs, stopped, batch, 2 x u64 epoch_rng, 2 x f64
                          partial sums, diagnostics flag; the n_state floats and
                          the diagnostics come extra */

/* Words of the diagnostics' alive bits: one u32 per started 32 units of
 * each relu layer (or node; units (slots,) as nn__diag_slots gives them),
 * so every layer starts on a word of its own. */
static size_t alive_words(const int *units, int slots) {
  size_t w = 0;
  for (int l = 0; l < slots; l++) w += ((size_t)units[l] + 31) / 32;
  return w;
}

/* Bytes of the diagnostics after their flag: batches, slots x NN_DIAG_LANES
 * sums (a layer list's layers, a graph's nodes), alive bits. */
static uint64_t diag_bytes(const int *units, int slots) {
  return 4 + 8 * NN_DIAG_LANES * (uint64_t)slots + 4 * (uint64_t)alive_words(units, slots);
}

/* ---- writing: the buffer is sized up front, so no put needs a check ------ */

/* ints and enums as u32; a negative int becomes its two's complement */
static uint8_t *put_int(uint8_t *p, int v) { return nn__put_u32(p, (uint32_t)v); }

static uint8_t *put_f32s(uint8_t *p, const float *f, size_t n) {
  for (size_t i = 0; i < n; i++) {
    uint32_t bits;
    memcpy(&bits, &f[i], sizeof bits);
    p = nn__put_u32(p, bits);
  }
  return p;
}

/* Bytes of a graph spec after the spec's 0 layers. */
static uint64_t graph_bytes(const nn_graph_spec *g) {
  uint64_t b = 4 + (uint64_t)g->n_inputs * INPUT_BYTES + 4 + NN_GRAPH_NAME;
  for (int i = 0; i < g->n_nodes; i++)
    b += NODE_BYTES + (uint64_t)g->nodes[i].n_inputs * NN_GRAPH_NAME;
  return b;
}

/* A name up to its NUL, zero-padded to NN_GRAPH_NAME bytes. */
static uint8_t *put_name(uint8_t *p, const char *name) {
  memset(p, 0, NN_GRAPH_NAME);
  memcpy(p, name, strnlen(name, NN_GRAPH_NAME - 1));
  return p + NN_GRAPH_NAME;
}

static uint8_t *put_shape(uint8_t *p, const nn_shape *s) {
  p = put_int(p, s->rank);
  for (int d = 0; d < NN_GRAPH_MAX_RANK; d++) p = put_int(p, s->dim[d]);
  return p;
}

static uint8_t *put_node(uint8_t *p, const nn_node_spec *n) {
  p = put_name(p, n->name);
  p = put_int(p, (int)n->op);
  p = put_int(p, n->n_inputs);
  for (int j = 0; j < n->n_inputs; j++) p = put_name(p, n->inputs[j]);
  p = put_int(p, n->units);
  p = put_int(p, (int)n->activation);
  p = put_f32s(p, &n->slope, 1);
  p = put_int(p, (int)n->init);
  p = put_f32s(p, &n->rate, 1);
  p = put_int(p, n->filters);
  const int *pairs[5] = {n->kernel, n->stride, n->padding, n->dilation, n->size};
  for (int k = 0; k < 5; k++) p = put_int(put_int(p, pairs[k][0]), pairs[k][1]);
  p = put_int(p, n->categories);
  p = put_int(p, n->dim);
  p = put_int(p, n->axis);
  p = put_int(p, n->start);
  p = put_int(p, n->end);
  p = put_shape(p, &n->shape);
  p = put_f32s(p, &n->eps, 1);
  return put_f32s(p, &n->momentum, 1);
}

static uint8_t *put_graph(uint8_t *p, const nn_graph_spec *g) {
  p = put_int(p, g->n_inputs);
  for (int i = 0; i < g->n_inputs; i++)
    p = put_shape(put_name(p, g->input_names[i]), &g->input_shapes[i]);
  p = put_int(p, g->n_nodes);
  for (int i = 0; i < g->n_nodes; i++) p = put_node(p, &g->nodes[i]);
  return put_name(p, g->output);
}

static uint8_t *put_spec(uint8_t *p, const nn_spec *s) {
  p = put_int(p, s->inputs);
  p = put_int(p, s->n_layers);
  if (s->graph != NULL) p = put_graph(p, s->graph);
  for (int i = 0; i < s->n_layers; i++) {
    const nn_layer_spec *l = &s->layers[i];
    p = put_int(p, (int)l->type);
    p = put_int(p, l->units);
    p = put_int(p, (int)l->act);
    p = put_f32s(p, &l->slope, 1);
    p = put_int(p, (int)l->init);
    p = put_f32s(p, &l->rate, 1);
  }
  p = put_int(p, (int)s->loss);
  p = nn__put_u64(p, s->seed);
  return put_int(p, s->normalize);
}

static uint8_t *put_train_state(uint8_t *p, const nn_train_state *s) {
  p = put_int(p, s->epoch);
  p = nn__put_u64(p, s->step);
  p = put_int(p, (int)s->opt);
  p = nn__put_u64(p, s->n_state);
  p = put_f32s(p, s->state, s->n_state);
  p = nn__put_u64(p, s->rng[0]);
  p = nn__put_u64(p, s->rng[1]);
  p = nn__put_f64(p, &s->best);
  p = put_int(p, s->bad_epochs);
  p = put_int(p, s->stopped != 0);
  p = put_int(p, s->batch);
  p = nn__put_u64(p, s->epoch_rng[0]);
  p = nn__put_u64(p, s->epoch_rng[1]);
  p = nn__put_f64(p, &s->partial_loss);
  p = nn__put_f64(p, &s->partial_correct);
  return put_int(p, s->has_diag != 0);
}

/* The alive flags of each relu layer (node) as bits, bit j % 32 of word
 * j / 32 for unit j; the unused high bits of a layer's last word are 0. */
static uint8_t *put_diag(uint8_t *p, const int *units, int slots, const nn_train_state *s) {
  size_t unit = 0;
  p = put_int(p, s->diag_batches);
  for (int l = 0; l < slots; l++)
    for (int k = 0; k < NN_DIAG_LANES; k++) p = nn__put_f64(p, &s->grad_sq[l][k]);
  for (int l = 0; l < slots; l++) {
    for (int j0 = 0; j0 < units[l]; j0 += 32) {
      uint32_t word = 0;
      for (int j = j0; j < units[l] && j < j0 + 32; j++)
        word |= (uint32_t)(s->alive[unit + (size_t)j] != 0) << (j - j0);
      p = nn__put_u32(p, word);
    }
    unit += (size_t)units[l];
  }
  return p;
}

int nn_checkpoint_save(const nn_model *m, const nn_trainer *t, uint8_t **buf, size_t *len) {
  nn_train_state s = {0};
  uint8_t *out = NULL, *p;
  size_t n_params = m->arch.n_params, inputs = (size_t)m->spec.inputs;
  uint64_t total;
  int rc = NN_OK, units[NN_DIAG_SLOTS], slots = 0;
  size_t n_units = 0;
  *buf = NULL;
  *len = 0;
  if (t != NULL) {
    rc = nn_trainer_state(t, &s);
    if (rc != NN_OK) goto exit;
    if (s.has_diag && (slots = nn__diag_slots(&m->spec, units)) < 0) {
      rc = slots;
      goto exit;
    }
    for (int l = 0; l < slots; l++) n_units += (size_t)units[l];
    /* a trainer of another model would write a checkpoint that cannot load */
    if (s.n_state != nn__optim_state_floats(s.opt, n_params) ||
        (s.n_best != 0 && s.n_best != nn__model_kept(m)) ||
        (s.has_diag && s.n_units != n_units)) {
      rc = NN_EINVAL;
      goto exit;
    }
  }
  /* in 64 bits: at most NN_MAX_PARAMS floats, a few times over, cannot overflow */
  total = HEADER_BYTES + SPEC_BYTES + (uint64_t)m->spec.n_layers * LAYER_BYTES +
          (m->graph != NULL ? graph_bytes(m->graph) + 8 + 4 * (uint64_t)m->n_gstate : 0) +
          8 + 4 * (uint64_t)n_params + 4 + (m->has_norm ? 8 * (uint64_t)inputs : 0) + 4 +
          (t != NULL ? TRAIN_BYTES + 4 * (uint64_t)s.n_state : 0) +
          (s.has_diag ? diag_bytes(units, slots) : 0) +
          (t != NULL ? 4 + 4 * (uint64_t)s.n_best : 0) + CRC_BYTES;
  if (total > SIZE_MAX) {
    rc = NN_ERANGE;
    goto exit;
  }
  out = malloc((size_t)total);
  if (out == NULL) {
    rc = NN_ENOMEM;
    goto exit;
  }
  memcpy(out, MAGIC, sizeof MAGIC);
  p = nn__put_u32(out + sizeof MAGIC, NN_FORMAT_VERSION);
  p = put_spec(p, &m->spec);
  p = nn__put_u64(p, n_params);
  p = put_f32s(p, m->params, n_params);
  if (m->graph != NULL) { /* its running statistics */
    p = nn__put_u64(p, m->n_gstate);
    p = put_f32s(p, m->gstate, m->n_gstate);
  }
  p = put_int(p, m->has_norm != 0);
  if (m->has_norm) {
    p = put_f32s(p, m->mean, inputs);
    p = put_f32s(p, m->std, inputs);
  }
  p = put_int(p, t != NULL);
  if (t != NULL) p = put_train_state(p, &s);
  if (s.has_diag) p = put_diag(p, units, slots, &s);
  if (t != NULL) { /* the best weights' flag, then the P floats */
    p = put_int(p, s.n_best != 0);
    p = put_f32s(p, s.best_params, s.n_best);
  }
  nn__put_u32(p, nn_crc32(0, out, (size_t)(p - out)));
  *buf = out;
  *len = (size_t)total;
  out = NULL;
exit:
  free(out);
  nn_train_state_free(&s);
  return rc;
}

/* ---- reading: every byte is taken through take(), which checks the length */

typedef struct {
  const uint8_t *p; /* next unread byte */
  size_t left;      /* unread bytes before the CRC */
  nn_error *err;
} reader;

/* Take n items of size bytes, or NULL once they run past the end (the error
 * is then filled and the status is NN_EFORMAT). Counts read from the
 * checkpoint are bounded here by the bytes that really follow, before
 * anything is allocated for them. */
static const uint8_t *take(reader *r, uint64_t n, size_t size, const char *what) {
  const uint8_t *b = r->p;
  if (n > r->left / size) {
    nn__fail(r->err, NN_EFORMAT, what,
             "checkpoint is truncated: %s does not fit in the %zu bytes that remain", what,
             r->left);
    return NULL;
  }
  r->p += n * size;
  r->left -= n * size;
  return b;
}

static void copy_f32s(float *dst, const uint8_t *b, size_t n) {
  for (size_t i = 0; i < n; i++) {
    uint32_t bits = nn__le32(b + 4 * i);
    memcpy(&dst[i], &bits, sizeof bits);
  }
}

static int get_u32(reader *r, const char *what, uint32_t *v) {
  const uint8_t *b = take(r, 1, 4, what);
  if (b == NULL) return NN_EFORMAT;
  *v = nn__le32(b);
  return NN_OK;
}

static int get_u64(reader *r, const char *what, uint64_t *v) {
  const uint8_t *b = take(r, 1, 8, what);
  if (b == NULL) return NN_EFORMAT;
  *v = nn__le64(b);
  return NN_OK;
}

/* Two's complement decoded without implementation-defined conversions. */
static int get_int(reader *r, const char *what, int *v) {
  uint32_t u;
  int rc = get_u32(r, what, &u);
  if (rc == NN_OK) *v = u <= INT32_MAX ? (int)u : -(int)~u - 1;
  return rc;
}

/* A flag is exactly 0 or 1, so a flipped flag cannot pass as "set". */
static int get_flag(reader *r, const char *what, int *v) {
  uint32_t u;
  int rc = get_u32(r, what, &u);
  if (rc != NN_OK) return rc;
  if (u > 1) return nn__fail(r->err, NN_EFORMAT, what, "%s must be 0 or 1, not %lu", what,
                             (unsigned long)u);
  *v = (int)u;
  return NN_OK;
}

/* Enums are range-checked by their name table before an enum variable holds them. */
static int get_enum(reader *r, nn_names_kind kind, const char *what, int *v) {
  uint32_t u;
  int rc = get_u32(r, what, &u);
  if (rc != NN_OK) return rc;
  if (u > INT32_MAX || nn_name(kind, (int)u) == NULL)
    return nn__fail(r->err, NN_EINVAL, what, "%s holds %lu, which names nothing", what,
                    (unsigned long)u);
  *v = (int)u;
  return NN_OK;
}

static int get_f32(reader *r, const char *what, float *v) {
  const uint8_t *b = take(r, 1, 4, what);
  if (b == NULL) return NN_EFORMAT;
  copy_f32s(v, b, 1);
  return NN_OK;
}

static int get_f64(reader *r, const char *what, double *v) {
  const uint8_t *b = take(r, 1, 8, what);
  if (b == NULL) return NN_EFORMAT;
  uint64_t bits = nn__le64(b);
  memcpy(v, &bits, sizeof bits);
  return NN_OK;
}

static int get_layer(reader *r, int i, nn_layer_spec *l) {
  char f[6][64];
  static const char *const names[6] = {"type", "units", "activation", "slope", "init", "rate"};
  int type, act, init, rc;
  for (int k = 0; k < 6; k++) snprintf(f[k], sizeof f[k], "layers[%d].%s", i, names[k]);
  if ((rc = get_enum(r, NN_NAMES_LAYER, f[0], &type)) != NN_OK ||
      (rc = get_int(r, f[1], &l->units)) != NN_OK ||
      (rc = get_enum(r, NN_NAMES_ACT, f[2], &act)) != NN_OK ||
      (rc = get_f32(r, f[3], &l->slope)) != NN_OK ||
      (rc = get_enum(r, NN_NAMES_INIT, f[4], &init)) != NN_OK ||
      (rc = get_f32(r, f[5], &l->rate)) != NN_OK)
    return rc;
  l->type = (nn_layer_type)type;
  l->act = (nn_act)act;
  l->init = (nn_init)init;
  return NN_OK;
}

/* A name: NUL-terminated, zeros after its NUL. */
static int get_name(reader *r, const char *what, char *name) {
  const uint8_t *b = take(r, 1, NN_GRAPH_NAME, what);
  if (b == NULL) return NN_EFORMAT;
  memcpy(name, b, NN_GRAPH_NAME);
  size_t len = strnlen(name, NN_GRAPH_NAME);
  for (size_t i = len; i < NN_GRAPH_NAME; i++)
    if (name[i] != '\0' || len == NN_GRAPH_NAME)
      return nn__fail(r->err, NN_EFORMAT, what, "%s is not a NUL-padded name", what);
  return len == NN_GRAPH_NAME ? nn__fail(r->err, NN_EFORMAT, what, "%s has no NUL", what)
                              : NN_OK;
}

static int get_shape(reader *r, const char *what, nn_shape *s) {
  int rc = get_int(r, what, &s->rank);
  for (int d = 0; rc == NN_OK && d < NN_GRAPH_MAX_RANK; d++) rc = get_int(r, what, &s->dim[d]);
  if (rc == NN_OK && (s->rank < 0 || s->rank > NN_GRAPH_MAX_RANK))
    return nn__fail(r->err, NN_EFORMAT, what, "%s has rank %d", what, s->rank);
  return rc;
}

static int get_node(reader *r, int i, nn_node_spec *n) {
  char f[64];
  int op, act, init, rc;
  snprintf(f, sizeof f, "nodes[%d]", i);
  if ((rc = get_name(r, f, n->name)) != NN_OK || (rc = get_int(r, f, &op)) != NN_OK ||
      (rc = get_int(r, f, &n->n_inputs)) != NN_OK)
    return rc;
  if (nn_op_name((nn_op)op) == NULL || op < 0)
    return nn__fail(r->err, NN_EINVAL, f, "%s.op holds %d, which names no op", f, op);
  n->op = (nn_op)op;
  if (n->n_inputs < 0 || n->n_inputs > NN_GRAPH_MAX_ARGS)
    return nn__fail(r->err, NN_EFORMAT, f, "%s has %d inputs", f, n->n_inputs);
  for (int j = 0; j < n->n_inputs; j++)
    if ((rc = get_name(r, f, n->inputs[j])) != NN_OK) return rc;
  if ((rc = get_int(r, f, &n->units)) != NN_OK ||
      (rc = get_enum(r, NN_NAMES_ACT, f, &act)) != NN_OK ||
      (rc = get_f32(r, f, &n->slope)) != NN_OK ||
      (rc = get_enum(r, NN_NAMES_INIT, f, &init)) != NN_OK ||
      (rc = get_f32(r, f, &n->rate)) != NN_OK || (rc = get_int(r, f, &n->filters)) != NN_OK)
    return rc;
  n->activation = (nn_act)act;
  n->init = (nn_init)init;
  int *pairs[5] = {n->kernel, n->stride, n->padding, n->dilation, n->size};
  for (int k = 0; k < 5; k++)
    if ((rc = get_int(r, f, &pairs[k][0])) != NN_OK || (rc = get_int(r, f, &pairs[k][1])) != NN_OK)
      return rc;
  if ((rc = get_int(r, f, &n->categories)) != NN_OK || (rc = get_int(r, f, &n->dim)) != NN_OK ||
      (rc = get_int(r, f, &n->axis)) != NN_OK || (rc = get_int(r, f, &n->start)) != NN_OK ||
      (rc = get_int(r, f, &n->end)) != NN_OK || (rc = get_shape(r, f, &n->shape)) != NN_OK ||
      (rc = get_f32(r, f, &n->eps)) != NN_OK)
    return rc;
  return get_f32(r, f, &n->momentum);
}

/* A graph spec (version 4), into g (zeroed). */
static int get_graph(reader *r, nn_graph_spec *g) {
  char f[32];
  int rc;
  if ((rc = get_int(r, "inputs", &g->n_inputs)) != NN_OK) return rc;
  if (g->n_inputs < 1 || g->n_inputs > NN_GRAPH_MAX_INPUTS)
    return nn__fail(r->err, NN_EINVAL, "inputs", "a graph has 1 to %d inputs, not %d",
                    NN_GRAPH_MAX_INPUTS, g->n_inputs);
  for (int i = 0; i < g->n_inputs; i++) {
    snprintf(f, sizeof f, "inputs[%d]", i);
    if ((rc = get_name(r, f, g->input_names[i])) != NN_OK ||
        (rc = get_shape(r, f, &g->input_shapes[i])) != NN_OK)
      return rc;
  }
  if ((rc = get_int(r, "nodes", &g->n_nodes)) != NN_OK) return rc;
  if (g->n_nodes < 1 || g->n_nodes > NN_GRAPH_MAX_NODES)
    return nn__fail(r->err, NN_EINVAL, "nodes", "a graph has 1 to %d nodes, not %d",
                    NN_GRAPH_MAX_NODES, g->n_nodes);
  for (int i = 0; i < g->n_nodes; i++)
    if ((rc = get_node(r, i, &g->nodes[i])) != NN_OK) return rc;
  return get_name(r, "output", g->output);
}

/* The spec; a graph's spec into *graph (allocated; the caller frees it). */
static int get_spec(reader *r, uint32_t version, nn_spec *s, nn_graph_spec **graph) {
  uint32_t n_layers;
  int loss, rc;
  memset(s, 0, sizeof *s);
  if ((rc = get_int(r, "inputs", &s->inputs)) != NN_OK ||
      (rc = get_u32(r, "layers", &n_layers)) != NN_OK)
    return rc;
  if (n_layers == 0 && version >= 4) { /* a graph */
    if ((*graph = calloc(1, sizeof **graph)) == NULL)
      return nn__fail(r->err, NN_ENOMEM, "", "cannot allocate a graph spec");
    if ((rc = get_graph(r, *graph)) != NN_OK) return rc;
    s->graph = *graph;
    int inputs = s->inputs;
    if ((rc = get_enum(r, NN_NAMES_LOSS, "loss", &loss)) != NN_OK ||
        (rc = get_u64(r, "seed", &s->seed)) != NN_OK ||
        (rc = get_int(r, "normalize", &s->normalize)) != NN_OK)
      return rc;
    s->loss = (nn_loss)loss;
    if (nn_spec_validate(s, r->err) != NN_OK) return NN_EINVAL;
    if (s->inputs != inputs)
      return nn__fail(r->err, NN_EFORMAT, "inputs", "inputs holds %d, but the graph's "
                      "inputs hold %d values", inputs, s->inputs);
    return NN_OK;
  }
  /* bounded before the loop: layers[] has NN_MAX_LAYERS slots */
  if (n_layers < 1 || n_layers > NN_MAX_LAYERS)
    return nn__fail(r->err, NN_EINVAL, "layers", "layers holds %lu layers, not 1 to %d",
                    (unsigned long)n_layers, NN_MAX_LAYERS);
  s->n_layers = (int)n_layers;
  for (int i = 0; i < s->n_layers; i++)
    if ((rc = get_layer(r, i, &s->layers[i])) != NN_OK) return rc;
  if ((rc = get_enum(r, NN_NAMES_LOSS, "loss", &loss)) != NN_OK ||
      (rc = get_u64(r, "seed", &s->seed)) != NN_OK ||
      (rc = get_int(r, "normalize", &s->normalize)) != NN_OK)
    return rc;
  s->loss = (nn_loss)loss;
  /* NN_ERANGE from validation is reported as EINVAL: the spec itself is bad */
  return nn_spec_validate(s, r->err) == NN_OK ? NN_OK : NN_EINVAL;
}

/* Standardization statistics as nn_model_set_norm accepts them. */
static int get_norm(reader *r, nn_model *m) {
  size_t inputs = (size_t)m->spec.inputs;
  const uint8_t *b;
  if ((b = take(r, inputs, 4, "mean")) == NULL) return NN_EFORMAT;
  copy_f32s(m->mean, b, inputs);
  if ((b = take(r, inputs, 4, "std")) == NULL) return NN_EFORMAT;
  copy_f32s(m->std, b, inputs);
  for (size_t i = 0; i < inputs; i++)
    if (!isfinite(m->mean[i]) || !isfinite(m->std[i]) || !(m->std[i] > 0.0f))
      return nn__fail(r->err, NN_EFORMAT, "std",
                      "feature %zu has mean %g and std %g; std must be positive and finite", i,
                      (double)m->mean[i], (double)m->std[i]);
  m->has_norm = 1;
  return NN_OK;
}

/* The diagnostics after their flag, as put_diag wrote them. Unused alive
 * bits must be 0, so a loaded checkpoint saves back to the same bytes. */
static int get_diag(reader *r, const nn_spec *spec, nn_train_state *s) {
  const uint8_t *b;
  int units[NN_DIAG_SLOTS], slots = nn__diag_slots(spec, units);
  if (slots < 0) return nn__fail(r->err, slots, "", "cannot measure the model's diagnostics");
  size_t unit = 0, n_units = 0;
  for (int l = 0; l < slots; l++) n_units += (size_t)units[l];
  int rc = get_int(r, "diag_batches", &s->diag_batches);
  if (rc != NN_OK) return rc;
  if (s->diag_batches < 0)
    return nn__fail(r->err, NN_EFORMAT, "diag_batches", "diag_batches must not be negative");
  for (int l = 0; l < slots; l++)
    for (int k = 0; k < NN_DIAG_LANES; k++) {
      double *v = &s->grad_sq[l][k];
      if ((rc = get_f64(r, "grad_sq", v)) != NN_OK) return rc;
      if (!(isfinite(*v) && *v >= 0.0))
        return nn__fail(r->err, NN_EFORMAT, "grad_sq",
                        "grad_sq of layer %d must be finite and >= 0", l);
    }
  /* the words are there before their units are allocated */
  if ((b = take(r, alive_words(units, slots), 4, "alive")) == NULL) return NN_EFORMAT;
  if ((s->alive = malloc(n_units ? n_units : 1)) == NULL)
    return nn__fail(r->err, NN_ENOMEM, "", "cannot allocate %zu diagnostics flags", n_units);
  s->n_units = n_units;
  for (int l = 0; l < slots; l++) {
    for (int j0 = 0; j0 < units[l]; j0 += 32, b += 4) {
      uint32_t word = nn__le32(b);
      int bits = units[l] - j0 < 32 ? units[l] - j0 : 32;
      if (bits < 32 && (word >> bits) != 0)
        return nn__fail(r->err, NN_EFORMAT, "alive",
                        "alive has bits set past the %d units of layer %d", units[l], l);
      for (int k = 0; k < bits; k++) s->alive[unit + (size_t)(j0 + k)] = (word >> k) & 1u;
    }
    unit += (size_t)units[l];
  }
  s->has_diag = 1;
  return NN_OK;
}

static int get_train_state(reader *r, const nn_spec *spec, size_t n_params, size_t n_kept,
                           uint32_t version, nn_train_state *s) {
  const uint8_t *b;
  uint64_t n_state;
  size_t need;
  int opt, rc;
  if ((rc = get_int(r, "epoch", &s->epoch)) != NN_OK ||
      (rc = get_u64(r, "step", &s->step)) != NN_OK ||
      (rc = get_enum(r, NN_NAMES_OPT, "optimizer", &opt)) != NN_OK ||
      (rc = get_u64(r, "n_state", &n_state)) != NN_OK)
    return rc;
  if (s->epoch < 0)
    return nn__fail(r->err, NN_EFORMAT, "epoch", "epoch must not be negative");
  s->opt = (nn_opt)opt;
  need = nn__optim_state_floats(s->opt, n_params);
  if (n_state != need)
    return nn__fail(r->err, NN_EFORMAT, "n_state",
                    "optimizer %s of %zu parameters needs %zu floats of state, not %llu",
                    nn_name(NN_NAMES_OPT, opt), n_params, need, (unsigned long long)n_state);
  if ((b = take(r, n_state, 4, "optimizer state")) == NULL) return NN_EFORMAT;
  s->state = malloc(need * sizeof(float)); /* (k * P,) */
  if (s->state == NULL)
    return nn__fail(r->err, NN_ENOMEM, "", "cannot allocate %zu floats of optimizer state", need);
  s->n_state = need;
  copy_f32s(s->state, b, need);
  if ((rc = get_u64(r, "rng", &s->rng[0])) != NN_OK ||
      (rc = get_u64(r, "rng", &s->rng[1])) != NN_OK ||
      (rc = get_f64(r, "best", &s->best)) != NN_OK ||
      (rc = get_int(r, "bad_epochs", &s->bad_epochs)) != NN_OK ||
      (rc = get_flag(r, "stopped", &s->stopped)) != NN_OK ||
      (rc = get_int(r, "batch", &s->batch)) != NN_OK ||
      (rc = get_u64(r, "epoch_rng", &s->epoch_rng[0])) != NN_OK ||
      (rc = get_u64(r, "epoch_rng", &s->epoch_rng[1])) != NN_OK ||
      (rc = get_f64(r, "partial_loss", &s->partial_loss)) != NN_OK ||
      (rc = get_f64(r, "partial_correct", &s->partial_correct)) != NN_OK)
    return rc;
  if (s->bad_epochs < 0)
    return nn__fail(r->err, NN_EFORMAT, "bad_epochs", "bad_epochs must not be negative");
  if (s->batch < 0)
    return nn__fail(r->err, NN_EFORMAT, "batch", "batch must not be negative");
  if (version < 2) return NN_OK; /* version 1 ends here, without diagnostics */
  int has_diag, has_best;
  if ((rc = get_flag(r, "diagnostics flag", &has_diag)) != NN_OK) return rc;
  if (has_diag && (rc = get_diag(r, spec, s)) != NN_OK) return rc;
  if (version < 3) return NN_OK; /* version 2 ends here, without best weights */
  if ((rc = get_flag(r, "best weights flag", &has_best)) != NN_OK) return rc;
  if (!has_best) return NN_OK;
  if ((b = take(r, n_kept, 4, "best weights")) == NULL) return NN_EFORMAT;
  s->best_params = malloc((n_kept ? n_kept : 1) * sizeof(float)); /* (P + S,) */
  if (s->best_params == NULL)
    return nn__fail(r->err, NN_ENOMEM, "", "cannot allocate %zu best weights", n_kept);
  s->n_best = n_kept;
  copy_f32s(s->best_params, b, n_kept);
  return NN_OK;
}

int nn_checkpoint_load(const uint8_t *buf, size_t len, nn_model **out, nn_train_state *st,
                       nn_error *err) {
  nn_model *m = NULL;
  nn_train_state s = {0};
  nn_graph_spec *graph = NULL;
  nn_spec spec;
  reader r = {NULL, 0, err};
  const uint8_t *weights;
  uint64_t n_params;
  uint32_t version;
  size_t body;
  int has_norm, has_train, rc;
  *out = NULL;
  if (st != NULL) memset(st, 0, sizeof *st);
  if (len < HEADER_BYTES + CRC_BYTES) {
    rc = nn__fail(err, NN_EFORMAT, "", "checkpoint is truncated: %zu bytes is shorter than "
                  "any checkpoint", len);
    goto exit;
  }
  if (memcmp(buf, MAGIC, sizeof MAGIC) != 0) {
    rc = nn__fail(err, NN_EFORMAT, "", "not a traind checkpoint (bad magic)");
    goto exit;
  }
  /* the version comes before the CRC: another version may seal differently */
  version = nn__le32(buf + sizeof MAGIC);
  if (version < 1 || version > NN_FORMAT_VERSION) {
    rc = nn__fail(err, NN_EVERSION, "", "checkpoint format version %lu is not supported "
                  "(this build reads versions 1 to %d)", (unsigned long)version,
                  NN_FORMAT_VERSION);
    goto exit;
  }
  body = len - CRC_BYTES;
  if (nn_crc32(0, buf, body) != nn__le32(buf + body)) {
    rc = nn__fail(err, NN_EFORMAT, "", "checksum mismatch: the checkpoint is corrupt");
    goto exit;
  }
  r.p = buf + HEADER_BYTES;
  r.left = body - HEADER_BYTES;
  if ((rc = get_spec(&r, version, &spec, &graph)) != NN_OK ||
      (rc = get_u64(&r, "parameter count", &n_params)) != NN_OK)
    goto exit;
  if (n_params != nn_spec_param_count(&spec)) {
    rc = nn__fail(err, NN_EFORMAT, "parameter count",
                  "checkpoint holds %llu parameters but its spec has %zu",
                  (unsigned long long)n_params, nn_spec_param_count(&spec));
    goto exit;
  }
  /* the weights must be there before the model is allocated for them */
  if ((weights = take(&r, n_params, 4, "parameters")) == NULL) {
    rc = NN_EFORMAT;
    goto exit;
  }
  if ((rc = nn__model_alloc(&spec, &m)) != NN_OK) {
    rc = nn__fail(err, rc, "", "cannot allocate a model of %zu parameters", (size_t)n_params);
    goto exit;
  }
  copy_f32s(m->params, weights, (size_t)n_params);
  if (m->graph != NULL) { /* its running statistics */
    uint64_t n_state;
    if ((rc = get_u64(&r, "state count", &n_state)) != NN_OK) goto exit;
    if (n_state != m->n_gstate) {
      rc = nn__fail(err, NN_EFORMAT, "state count", "checkpoint holds %llu statistics but its "
                    "graph has %zu", (unsigned long long)n_state, m->n_gstate);
      goto exit;
    }
    if ((weights = take(&r, n_state, 4, "statistics")) == NULL) {
      rc = NN_EFORMAT;
      goto exit;
    }
    copy_f32s(m->gstate, weights, m->n_gstate);
  }
  if ((rc = get_flag(&r, "normalization flag", &has_norm)) != NN_OK) goto exit;
  if (has_norm && (rc = get_norm(&r, m)) != NN_OK) goto exit;
  if (has_norm && m->graph != NULL) { /* an embedding's codes are never standardized */
    size_t begin[NN_GRAPH_MAX_INPUTS], end[NN_GRAPH_MAX_INPUTS];
    int n = nn__graph_codes(m->graph, begin, end);
    for (int i = 0; i < n; i++)
      for (size_t j = begin[i]; j < end[i]; j++)
        if (m->mean[j] != 0.0f || m->std[j] != 1.0f) {
          rc = nn__fail(err, NN_EFORMAT, "mean", "feature %zu holds an embedding's codes but "
                        "has mean %g and std %g, not 0 and 1", j, (double)m->mean[j],
                        (double)m->std[j]);
          goto exit;
        }
  }
  if ((rc = get_flag(&r, "trainer flag", &has_train)) != NN_OK) goto exit;
  if (has_train &&
      (rc = get_train_state(&r, &m->spec, (size_t)n_params, nn__model_kept(m), version, &s)) !=
          NN_OK)
    goto exit;
  if (r.left != 0) {
    rc = nn__fail(err, NN_EFORMAT, "", "checkpoint has %zu unexpected bytes after its "
                  "last section", r.left);
    goto exit;
  }
  *out = m;
  m = NULL;
  if (st != NULL) {
    *st = s;
    s.state = NULL;
    s.alive = NULL;
    s.best_params = NULL;
  }
exit:
  nn_model_free(m);
  nn_train_state_free(&s);
  free(graph);
  return rc;
}

void nn_train_state_free(nn_train_state *s) {
  if (s == NULL) return;
  free(s->state);
  s->state = NULL;
  s->n_state = 0;
  free(s->alive);
  s->alive = NULL;
  s->n_units = 0;
  s->has_diag = 0;
  free(s->best_params);
  s->best_params = NULL;
  s->n_best = 0;
}
