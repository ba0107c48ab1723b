/*
 * model_graph.c — a model that is a graph (core/graph.h) rather than a
 * layer list: its validation, and the compiled graph the trainer and
 * predict run over its parameters (issue #18).
 *
 * The loss reads the graph's output. Cross-entropy and binary cross-entropy
 * are fused with their output activation as for the layer list (core/loss.c):
 * the graph compiled here is the spec with that activation taken off (a
 * dense or conv node's activation set to linear, or the output moved from a
 * softmax or sigmoid node to its input), so it ends at the logits, the loss's
 * gradient (p - t) / n enters there, and the activation is applied apart
 * (the "head") for the loss and for predictions.
 *
 * A data row of the model's inputs columns feeds the graph's inputs in spec
 * order, each taking as many columns as its shape holds: with one input the
 * row is the input itself, reshaped, and is not copied; with several, the
 * columns are copied apart (one pass over the batch).
 *
 * Costs: a compile (O(nodes^2) name lookups and the buffers) per trainer,
 * per nn_weights and per nn_model_predict call; none per pass.
 */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"

#define PREDICT_FLOATS (1u << 22) /* a predict chunk's workspace, about (16 MiB) */
#define PREDICT_ROWS 256          /* and its rows at most */
/* The workspace of one row (values, gradients, scratch) a graph model may
 * take, 256 MiB: a bound on what predicting one row touches, whatever a
 * loaded checkpoint's graph says. */
#define NN_GRAPH_MAX_ROW (1 << 26)

struct nn__gnet {
  nn_graph *g;
  nn_act head;     /* applied to the graph's output: softmax, sigmoid or linear */
  int n_in;        /* the graph's inputs */
  size_t col[NN_GRAPH_MAX_INPUTS], width[NN_GRAPH_MAX_INPUTS]; /* their columns in a row */
  int inputs, outputs;
  size_t max_rows;
  float *split;    /* (max_rows, inputs): input i at max_rows * col[i]; several inputs */
  float *probs;    /* (max_rows, outputs): head(output), when there is a head */
  float *zero;     /* (outputs,) the head's bias */
  float *dout;     /* (max_rows, outputs): dLoss/dlogits, training */
  float *mem;
};

static int find(const nn_graph_spec *s, const char *name) {
  for (int i = 0; i < s->n_nodes; i++)
    if (strncmp(s->nodes[i].name, name, NN_GRAPH_NAME) == 0) return i;
  return -1;
}

/* The graph to compile: spec's with the head the loss fuses taken off. */
static int train_spec(const nn_spec *spec, nn_graph_spec *out, nn_act *head, nn_error *err) {
  *out = *spec->graph;
  out->seed = spec->seed;
  *head = NN_ACT_LINEAR;
  if (memchr(out->output, '\0', NN_GRAPH_NAME) == NULL)
    return nn__fail(err, NN_EINVAL, "output", "output: a name has 1 to %d bytes",
                    NN_GRAPH_NAME - 1);
  int k = find(out, out->output);
  if (k < 0) {
    for (int i = 0; i < out->n_inputs; i++)
      if (strncmp(out->input_names[i], out->output, NN_GRAPH_NAME) == 0)
        return nn__fail(err, NN_EINVAL, "output", "output: \"%s\" is an input, not a node",
                        out->output);
    return nn__fail(err, NN_EINVAL, "output", "output: unknown name \"%s\"", out->output);
  }
  if (spec->loss == NN_LOSS_MSE) return NN_OK;
  nn_act want = spec->loss == NN_LOSS_CROSS_ENTROPY ? NN_ACT_SOFTMAX : NN_ACT_SIGMOID;
  nn_op op = want == NN_ACT_SOFTMAX ? NN_OP_SOFTMAX : NN_OP_SIGMOID;
  nn_node_spec *n = &out->nodes[k];
  if (n->op == op && n->n_inputs == 1) {
    memcpy(out->output, n->inputs[0], NN_GRAPH_NAME); /* the logits */
  } else if ((n->op == NN_OP_DENSE || n->op == NN_OP_CONV1D || n->op == NN_OP_CONV2D) &&
             n->activation == want) {
    n->activation = NN_ACT_LINEAR;
  } else {
    return nn__fail(err, NN_EINVAL, "output", "output: loss %s needs a %s output (a %s node, "
                    "or a dense or conv node with activation %s)",
                    nn_name(NN_NAMES_LOSS, spec->loss), nn_name(NN_NAMES_ACT, want),
                    nn_op_name(op), nn_name(NN_NAMES_ACT, want));
  }
  *head = want;
  return NN_OK;
}

int nn__graph_train_spec(const nn_spec *spec, nn_graph_spec *out, nn_act *head, nn_error *err) {
  return train_spec(spec, out, head, err);
}

int nn__spec_validate_graph(nn_spec *spec, nn_error *err) {
  if (spec->n_layers != 0)
    return nn__fail(err, NN_EINVAL, "layers", "a graph model has nodes, not layers");
  if ((unsigned)spec->loss > NN_LOSS_BCE)
    return nn__fail(err, NN_EINVAL, "loss", "loss is not a known loss");
  nn_graph_spec *g = malloc(sizeof *g);
  if (g == NULL) return nn__fail(err, NN_ENOMEM, "", "out of memory");
  nn_act head;
  nn__graph_size z;
  int rc = train_spec(spec, g, &head, err);
  if (rc == NN_OK) rc = nn__graph_measure(g, 1, 0, &z, err);
  if (rc != NN_OK) goto out;
  size_t inputs = 0;
  for (int i = 0; i < g->n_inputs; i++) inputs += nn_shape_size(&g->input_shapes[i]);
  size_t outputs = nn_shape_size(&z.output);
  rc = NN_ERANGE;
  if (inputs > NN_MAX_UNITS) {
    nn__fail(err, rc, "inputs", "inputs: a row holds at most %d values", NN_MAX_UNITS);
    goto out;
  }
  if (outputs > NN_MAX_UNITS) {
    nn__fail(err, rc, "output", "output: it holds more than %d values", NN_MAX_UNITS);
    goto out;
  }
  if (z.ws_floats > NN_GRAPH_MAX_ROW) {
    nn__fail(err, rc, "nodes", "nodes: the values of one row take more than %d floats",
             NN_GRAPH_MAX_ROW);
    goto out;
  }
  rc = NN_EINVAL;
  if (head == NN_ACT_SOFTMAX && (z.output.rank != 1 || outputs < 2)) {
    char b[64];
    nn_shape_format(&z.output, b, sizeof b);
    nn__fail(err, rc, "output", "output: loss cross_entropy needs a shape [k], k >= 2, not %s", b);
    goto out;
  }
  for (int k = 0; k < g->n_nodes; k++) { /* codes come from the data, checked there */
    const nn_node_spec *n = &g->nodes[k];
    int from_input = 0;
    for (int i = 0; i < g->n_inputs && n->op == NN_OP_EMBEDDING; i++)
      from_input |= strncmp(n->inputs[0], g->input_names[i], NN_GRAPH_NAME) == 0;
    if (n->op == NN_OP_EMBEDDING && !from_input) {
      char field[48];
      snprintf(field, sizeof field, "nodes[%d].inputs[0]", k);
      nn__fail(err, rc, field, "%s: an embedding reads its codes from one of the graph's "
               "inputs, not from \"%s\"", field, n->inputs[0]);
      goto out;
    }
  }
  spec->inputs = (int)inputs;
  spec->graph_outputs = (int)outputs;
  spec->graph_params = z.n_params;
  rc = NN_OK;
out:
  free(g);
  return rc;
}

const float *nn_model_graph_state(const nn_model *m) {
  return m->graph != NULL ? m->gstate : NULL;
}

int nn__graph_codes(const nn_graph_spec *g, size_t *begin, size_t *end) {
  int n = 0;
  size_t col = 0;
  for (int i = 0; i < g->n_inputs; i++) {
    size_t width = nn_shape_size(&g->input_shapes[i]);
    int coded = 0;
    for (int k = 0; k < g->n_nodes; k++)
      coded |= g->nodes[k].op == NN_OP_EMBEDDING &&
               strncmp(g->nodes[k].inputs[0], g->input_names[i], NN_GRAPH_NAME) == 0;
    if (coded) begin[n] = col, end[n++] = col + width;
    col += width;
  }
  return n;
}

int nn__graph_state_count(const nn_spec *spec, size_t *n_state) {
  nn__graph_size z;
  int rc = nn__graph_measure(spec->graph, 1, 1, &z, NULL);
  *n_state = z.n_state;
  return rc;
}

int nn__gnet_new(nn_model *m, size_t max_rows, int infer, nn__gnet **out, nn_error *err) {
  *out = NULL;
  nn__gnet *r = calloc(1, sizeof *r);
  nn_graph_spec *gs = malloc(sizeof *gs);
  int rc = NN_ENOMEM;
  if (r == NULL || gs == NULL) goto fail;
  if ((rc = train_spec(&m->spec, gs, &r->head, err)) != NN_OK) goto fail;
  rc = nn__graph_compile_with(gs, max_rows, m->params, m->gstate, infer, &r->g, err);
  if (rc != NN_OK) goto fail;
  assert(nn_graph_param_count(r->g) == m->arch.n_params &&
         nn_graph_state_count(r->g) == m->n_gstate);
  r->max_rows = max_rows;
  r->n_in = gs->n_inputs;
  r->inputs = m->spec.inputs;
  r->outputs = m->spec.graph_outputs;
  size_t col = 0;
  for (int i = 0; i < r->n_in; i++) {
    r->col[i] = col;
    r->width[i] = nn_shape_size(&gs->input_shapes[i]);
    col += r->width[i];
  }
  assert(col == (size_t)r->inputs);
  size_t k = (size_t)r->outputs;
  size_t floats = (r->n_in > 1 && !infer ? max_rows * col : 0) +
                  (r->head != NN_ACT_LINEAR ? max_rows * k + k : 0) + (infer ? 0 : max_rows * k);
  r->mem = nn__alloc_big((floats + 1) * sizeof(float));
  rc = NN_ENOMEM;
  if (r->mem == NULL) goto fail;
  float *p = r->mem;
  if (r->n_in > 1 && !infer) r->split = p, p += max_rows * col;
  if (r->head != NN_ACT_LINEAR) r->probs = p, p += max_rows * k, r->zero = p, p += k;
  if (!infer) r->dout = p, p += max_rows * k;
  assert(p == r->mem + floats);
  free(gs);
  *out = r;
  return NN_OK;
fail:
  if (rc == NN_ENOMEM) nn__fail(err, rc, "", "cannot allocate the graph's buffers");
  free(gs);
  nn__gnet_free(r);
  return rc;
}

void nn__gnet_free(nn__gnet *r) {
  if (r == NULL) return;
  nn_graph_free(r->g);
  free(r->mem);
  free(r);
}

/* The inputs of n rows x (n, inputs): x itself for one input; else each
 * input's columns copied into split, (n, width[i]) at max_rows * col[i]. */
static void split_rows(const nn__gnet *r, const float *x, size_t n, float *split,
                       const float **in) {
  if (r->n_in == 1) {
    in[0] = x;
    return;
  }
  for (int i = 0; i < r->n_in; i++) {
    float *d = split + r->max_rows * r->col[i];
    for (size_t row = 0; row < n; row++)
      memcpy(d + row * r->width[i], x + row * (size_t)r->inputs + r->col[i],
             r->width[i] * sizeof(float));
    in[i] = d;
  }
}

/* probs (n, outputs) = head(z) */
static const float *apply_head(const nn__gnet *r, nn__pool *pool, const float *z, size_t n,
                               float *probs) {
  if (r->head == NN_ACT_LINEAR) return z;
  nn__act_forward(pool, r->head, 0.0f, z, r->zero, probs, n, r->outputs);
  return probs;
}

int nn__gnet_forward(nn__gnet *r, const float *x, size_t n, int train, nn__rng *rng,
                     nn__pool *pool, const float **out, const float **logits) {
  const float *in[NN_GRAPH_MAX_INPUTS];
  split_rows(r, x, n, r->split, in);
  nn__graph_set_pool(r->g, pool);
  int rc = nn_graph_forward(r->g, in, n, train, rng);
  if (rc != NN_OK) return rc;
  *logits = nn_graph_value(r->g, nn_graph_output(r->g));
  *out = apply_head(r, pool, *logits, n, r->probs);
  return NN_OK;
}

float *nn__gnet_dout(nn__gnet *r) { return r->dout; }
int nn__gnet_backward(nn__gnet *r) { return nn_graph_backward(r->g, r->dout, 0); }
float *nn__gnet_grads(nn__gnet *r) { return r->g->grads; }
const nn_graph *nn__gnet_graph(const nn__gnet *r) { return r->g; }
size_t nn__gnet_row_floats(const nn__gnet *r) { return r->g->ws_floats / r->max_rows; }

int nn__gnet_check_codes(const nn__gnet *r, const nn_data *d, const char *field,
                         nn_error *err) {
  for (int k = 0; k < r->g->spec.n_nodes; k++) {
    const nn__gnode *n = &r->g->nodes[k];
    int i = n->arg[0];
    if (n->s.op != NN_OP_EMBEDDING || i >= r->n_in) continue; /* codes computed in the graph */
    for (size_t row = 0; row < d->rows; row++)
      for (size_t j = r->col[i]; j < r->col[i] + r->width[i]; j++) {
        float v = d->x[row * (size_t)d->features + j];
        if (!(v >= 0.0f && v < (float)n->s.categories) || v != floorf(v))
          return nn__fail(err, NN_EINVAL, field,
                          "%s: row %zu column %zu holds %g, not a code of embedding \"%s\" "
                          "(an integer in 0..%d)", field, row, j, (double)v, n->s.name,
                          n->s.categories - 1);
      }
  }
  return NN_OK;
}

void nn__graph_keep_codes(const nn_graph_spec *g, float *mean, float *std) {
  size_t begin[NN_GRAPH_MAX_INPUTS], end[NN_GRAPH_MAX_INPUTS];
  int n = nn__graph_codes(g, begin, end);
  for (int i = 0; i < n; i++)
    for (size_t j = begin[i]; j < end[i]; j++) {
      mean[j] = 0.0f;
      std[j] = 1.0f;
    }
}

/* rows of a predict chunk: the scratch is (rows, inputs) standardized, the
 * same split, and the graph's workspace */
size_t nn__gnet_scratch_floats(const nn__gnet *r) {
  return 2 * r->max_rows * (size_t)r->inputs + r->g->ws_floats;
}

int nn__gnet_predict(const nn__gnet *r, const nn_model *m, const float *x, size_t n, float *y,
                     float *scratch) {
  size_t chunk = r->max_rows, inputs = (size_t)r->inputs, k = (size_t)r->outputs;
  float *xs = scratch, *split = xs + chunk * inputs, *ws = split + chunk * inputs;
  for (size_t r0 = 0; r0 < n; r0 += chunk) {
    size_t rows = n - r0 < chunk ? n - r0 : chunk;
    const float *in[NN_GRAPH_MAX_INPUTS];
    int rc;
    nn__standardize(NULL, x + r0 * inputs, NULL, rows, (int)inputs, m->mean, m->std, xs);
    split_rows(r, xs, rows, split, in);
    const float *z = nn__graph_infer(r->g, ws, in, rows, &rc);
    if (z == NULL) return rc;
    float *dst = y + r0 * k;
    if (r->head == NN_ACT_LINEAR)
      memcpy(dst, z, rows * k * sizeof(float));
    else
      apply_head(r, NULL, z, rows, dst);
  }
  return NN_OK;
}

/* The rows of a predict chunk: its workspace about PREDICT_FLOATS. */
int nn__gnet_new_predict(nn_model *m, nn__gnet **out) {
  nn__graph_size one;
  nn_graph_spec *gs = malloc(sizeof *gs);
  nn_act head;
  int rc = gs == NULL ? NN_ENOMEM : train_spec(&m->spec, gs, &head, NULL);
  if (rc == NN_OK) rc = nn__graph_measure(gs, 1, 1, &one, NULL);
  free(gs);
  if (rc != NN_OK) return rc;
  size_t per_row = one.ws_floats + 2 * (size_t)m->spec.inputs;
  size_t rows = PREDICT_FLOATS / (per_row ? per_row : 1);
  rows = rows < 1 ? 1 : rows > PREDICT_ROWS ? PREDICT_ROWS : rows;
  return nn__gnet_new(m, rows, 1, out, NULL);
}

int nn__gnet_memory(const nn_spec *spec, size_t batch, nn_memory *out) {
  nn_graph_spec *gs = malloc(sizeof *gs);
  nn_act head;
  nn__graph_size z;
  int rc = gs == NULL ? NN_ENOMEM : train_spec(spec, gs, &head, NULL);
  if (rc == NN_OK) rc = nn__graph_measure(gs, batch, 0, &z, NULL);
  int several = rc == NN_OK && gs->n_inputs > 1;
  free(gs);
  if (rc != NN_OK) return rc;
  /* as nn__model_alloc, nn__gnet_new and nn__graph_compile_with allocate */
  size_t k = (size_t)spec->graph_outputs, inputs = (size_t)spec->inputs;
  size_t mem = (several ? batch * inputs : 0) + (head != NN_ACT_LINEAR ? batch * k + k : 0) +
               batch * k;
  out->model = nn__alloc_big_size((z.n_params + z.n_state + 2 * inputs) * sizeof(float));
  out->gradients = nn__alloc_big_size((z.n_params + 1) * sizeof(float));
  out->activations = nn__alloc_big_size(batch * inputs * sizeof(float)) +
                     nn__alloc_big_size((z.ws_floats + 1) * sizeof(float)) +
                     nn__alloc_big_size((mem + 1) * sizeof(float));
  out->other = sizeof(nn_graph_spec) + sizeof(nn_graph) + sizeof(nn__gnet);
  return NN_OK;
}
