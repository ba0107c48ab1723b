/*
 * trace.c — one example forward and backward through a model's layer list
 * compiled to a graph of one node per step of the chain rule, or through a
 * graph model's own graph (trace.h).
 *
 * The graph's parameters are the model's, copied: a dense node holds W
 * (units, in) then b, the layer list's layout, and activation and dropout
 * nodes hold none, so the two buffers line up entry for entry (asserted).
 * A graph model's graph is the one training compiles (its head taken off),
 * so its parameters and running statistics are the model's as they are.
 * The loss and its gradient are core/loss.c's, applied to the graph's
 * output exactly as the trainer applies them to the last layer's.
 */
#include "trace.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct nn_trace {
  nn_graph_spec spec;
  nn_graph *g;
  int layer[NN_GRAPH_MAX_NODES]; /* the layer each node comes from */
  nn_act head;                   /* applied by the loss */
  int outputs;
  float *x;      /* (inputs,) standardized */
  float *output; /* (outputs,) after the head */
  float *dout;   /* (outputs,) dLoss/d(graph output) */
  float *keep;   /* (largest value,) what backward's ops overwrite */
  double loss;
};

static nn_op act_op(nn_act a) {
  switch (a) {
  case NN_ACT_RELU: return NN_OP_RELU;
  case NN_ACT_LEAKY_RELU: return NN_OP_LEAKY_RELU;
  case NN_ACT_SIGMOID: return NN_OP_SIGMOID;
  case NN_ACT_TANH: return NN_OP_TANH;
  case NN_ACT_SOFTMAX: return NN_OP_SOFTMAX;
  case NN_ACT_LINEAR: break;
  }
  return NN_OP_COUNT;
}

/* The activation the loss fuses with the last layer, or linear. */
static nn_act head_of(const nn_spec *s) {
  nn_act last = s->layers[s->n_layers - 1].act;
  if (s->loss == NN_LOSS_CROSS_ENTROPY && last == NN_ACT_SOFTMAX) return NN_ACT_SOFTMAX;
  if (s->loss == NN_LOSS_BCE && last == NN_ACT_SIGMOID) return NN_ACT_SIGMOID;
  return NN_ACT_LINEAR;
}

static nn_node_spec *add_node(nn_trace *t, int layer, nn_op op, const char *suffix) {
  nn_graph_spec *g = &t->spec;
  assert(g->n_nodes < NN_GRAPH_MAX_NODES); /* 2 per layer at most, NN_MAX_LAYERS 64 */
  nn_node_spec *n = &g->nodes[g->n_nodes];
  nn_node_spec_defaults(n);
  n->op = op;
  snprintf(n->name, sizeof n->name, "layers[%d]%s%s", layer, suffix[0] ? "." : "", suffix);
  n->n_inputs = 1;
  memcpy(n->inputs[0], g->n_nodes > 0 ? g->nodes[g->n_nodes - 1].name : g->input_names[0],
         NN_GRAPH_NAME);
  t->layer[g->n_nodes++] = layer;
  return n;
}

/* The chain: input "x", then per layer a dense node (no activation) and its
 * activation node, or a dropout node; the fused head left to the loss. */
static void chain(nn_trace *t, const nn_spec *s) {
  nn_graph_spec *g = &t->spec;
  g->n_inputs = 1;
  strcpy(g->input_names[0], "x");
  g->input_shapes[0] = (nn_shape){1, {s->inputs}};
  t->head = head_of(s);
  for (int i = 0; i < s->n_layers; i++) {
    const nn_layer_spec *l = &s->layers[i];
    if (l->type == NN_LAYER_DROPOUT) {
      add_node(t, i, NN_OP_DROPOUT, "")->rate = l->rate;
      continue;
    }
    nn_node_spec *d = add_node(t, i, NN_OP_DENSE, "");
    d->units = l->units;
    d->activation = NN_ACT_LINEAR;
    int fused = i == s->n_layers - 1 && t->head != NN_ACT_LINEAR;
    if (l->act != NN_ACT_LINEAR && !fused)
      add_node(t, i, act_op(l->act), nn_name(NN_NAMES_ACT, l->act))->slope = l->slope;
  }
  memcpy(g->output, g->nodes[g->n_nodes - 1].name, NN_GRAPH_NAME);
}

/* A graph model: the graph training runs, the head left to the loss. */
static int own_graph(nn_trace *t, const nn_spec *s, nn_error *err) {
  for (int i = 0; i < NN_GRAPH_MAX_NODES; i++) t->layer[i] = -1;
  return nn__graph_train_spec(s, &t->spec, &t->head, err);
}

static int all_finite(const float *v, int n) {
  for (int i = 0; i < n; i++)
    if (!isfinite(v[i])) return 0;
  return 1;
}

int nn_trace_run(const nn_model *m, const float *x, const float *y, int32_t label,
                 nn_trace **out, nn_error *err) {
  const nn_spec *s = nn_model_spec(m);
  int inputs = s->inputs, outputs = nn_spec_outputs(s), rc;
  const float *mean, *std;
  float *p = NULL;
  *out = NULL;
  if (!all_finite(x, inputs)) return nn__fail(err, NN_EINVAL, "input", "features must be finite");
  if (y != NULL && !all_finite(y, outputs))
    return nn__fail(err, NN_EINVAL, "target", "the target must be finite");
  int classes = outputs == 1 ? 2 : outputs;
  if (y == NULL && (label < 0 || label >= classes))
    return nn__fail(err, NN_EINVAL, "target", "class %d is not in 0..%d", (int)label,
                    classes - 1);
  nn_trace *t = calloc(1, sizeof *t);
  if (t == NULL) return nn__fail(err, NN_ENOMEM, "", "out of memory");
  t->outputs = outputs;
  t->x = malloc((size_t)inputs * sizeof(float));
  t->output = malloc((size_t)outputs * sizeof(float));
  t->dout = malloc((size_t)outputs * sizeof(float));
  p = calloc(2 * (size_t)outputs, sizeof(float)); /* p, then a zero bias for the head */
  rc = NN_ENOMEM;
  if (t->x == NULL || t->output == NULL || t->dout == NULL || p == NULL) goto fail;
  if (s->graph == NULL)
    chain(t, s);
  else if ((rc = own_graph(t, s, err)) != NN_OK)
    goto fail;
  if ((rc = nn_graph_compile(&t->spec, 1, &t->g, err)) != NN_OK) goto fail;
  assert(nn_graph_param_count(t->g) == nn_model_param_count(m));
  size_t largest = 0;
  for (int v = 0; v < nn_graph_values(t->g); v++)
    if (nn_shape_size(nn_graph_shape(t->g, v)) > largest)
      largest = nn_shape_size(nn_graph_shape(t->g, v));
  rc = NN_ENOMEM;
  if ((t->keep = malloc(largest * sizeof(float))) == NULL) goto fail;
  nn__graph_keep_grads(t->g, t->keep);
  memcpy(nn_graph_params(t->g), nn_model_params_const(m),
         nn_model_param_count(m) * sizeof(float));
  assert(nn_graph_state_count(t->g) == m->n_gstate);
  if (m->n_gstate > 0) /* batchnorm's running statistics, which evaluation reads */
    memcpy(nn_graph_state(t->g), m->gstate, m->n_gstate * sizeof(float));

  /* x' = (x - mean) / std, predict's standardization */
  rc = nn_model_norm(m, &mean, &std);
  for (int j = 0; j < inputs; j++) t->x[j] = rc == NN_OK ? (x[j] - mean[j]) / std[j] : x[j];
  /* one row: input i is the next nn_shape_size(its shape) columns */
  const float *in[NN_GRAPH_MAX_INPUTS];
  size_t col = 0;
  for (int i = 0; i < t->spec.n_inputs; i++) {
    in[i] = t->x + col;
    col += nn_shape_size(&t->spec.input_shapes[i]);
  }
  assert(col == (size_t)inputs);
  if ((rc = nn_graph_forward(t->g, in, 1, 0, NULL)) != NN_OK) {
    if (rc == NN_EINVAL) /* the only forward refusal: an embedding's code */
      nn__fail(err, rc, "input", "an embedding's code is not an integer in 0..categories - 1");
    goto fail;
  }
  const float *z = nn_graph_value(t->g, nn_graph_output(t->g));

  /* the head, then the training loss and dLoss/d(graph output) */
  memcpy(t->output, z, (size_t)outputs * sizeof(float));
  if (t->head != NN_ACT_LINEAR)
    nn__act_forward(NULL, t->head, 0.0f, z, p + outputs, t->output, 1, outputs);
  memcpy(p, t->output, (size_t)outputs * sizeof(float));
  nn__loss_sum sum = {0};
  int32_t labels[1] = {label};
  nn__loss(s->loss, p, z, y, y == NULL ? labels : NULL, 1, 1, outputs, t->dout, &sum);
  t->loss = sum.loss;
  if ((rc = nn_graph_backward(t->g, t->dout, 1)) != NN_OK) goto fail;
  free(p);
  *out = t;
  return NN_OK;
fail:
  if (rc == NN_ENOMEM) nn__fail(err, NN_ENOMEM, "", "out of memory");
  free(p);
  nn_trace_free(t);
  return rc;
}

void nn_trace_free(nn_trace *t) {
  if (t == NULL) return;
  nn_graph_free(t->g);
  free(t->x);
  free(t->output);
  free(t->dout);
  free(t->keep);
  free(t);
}

const nn_graph *nn_trace_graph(const nn_trace *t) { return t->g; }
double nn_trace_loss(const nn_trace *t) { return t->loss; }
const float *nn_trace_output(const nn_trace *t) { return t->output; }
nn_act nn_trace_head(const nn_trace *t) { return t->head; }

int nn_trace_layer(const nn_trace *t, int node) {
  assert(node >= 0 && node < t->spec.n_nodes);
  return t->layer[node];
}

int nn_trace_local(const nn_trace *t, int node, float *out) {
  assert(node >= 0 && node < t->spec.n_nodes);
  const nn_node_spec *n = &t->spec.nodes[node];
  int v = t->spec.n_inputs + node;
  const float *y = nn_graph_value(t->g, v);
  const float *x = nn_graph_value(t->g, nn_graph_find(t->g, n->inputs[0]));
  size_t k = nn_shape_size(nn_graph_shape(t->g, v));
  for (size_t i = 0; i < k; i++) {
    switch (n->op) {
    case NN_OP_RELU: out[i] = x[i] > 0.0f ? 1.0f : 0.0f; break;          /* relu'(x) */
    case NN_OP_LEAKY_RELU: out[i] = x[i] > 0.0f ? 1.0f : n->slope; break;
    case NN_OP_SIGMOID: out[i] = y[i] * (1.0f - y[i]); break;            /* s (1 - s) */
    case NN_OP_TANH: out[i] = 1.0f - y[i] * y[i]; break;                 /* 1 - tanh^2 */
    default: return NN_EINVAL;
    }
  }
  return NN_OK;
}
