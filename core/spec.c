/*
 * spec.c — validating a model description and deriving its architecture
 * (layer widths and offsets into the flat parameter buffer).
 */
#include <math.h>
#include <stdio.h>

#include "nn_internal.h"

void nn_layer_spec_defaults(nn_layer_spec *l) {
  l->type = NN_LAYER_DENSE;
  l->units = 0;
  l->act = NN_ACT_LINEAR;
  l->slope = 0.01f;
  l->init = NN_INIT_AUTO;
  l->rate = 0.0f;
}

static int is_relu_family(nn_act a) { return a == NN_ACT_RELU || a == NN_ACT_LEAKY_RELU; }

static int validate_layer(nn_layer_spec *l, int i, int in, size_t *params, nn_error *err) {
  char field[64];
  if (l->type == NN_LAYER_DROPOUT) {
    snprintf(field, sizeof field, "layers[%d].rate", i);
    if (!(l->rate >= 0.0f && l->rate < 1.0f))
      return nn__fail(err, NN_EINVAL, field, "%s must be in [0, 1)", field);
    l->units = in; /* dropout keeps the width */
    l->act = NN_ACT_LINEAR; /* fields of dense layers mean nothing here */
    l->init = NN_INIT_AUTO;
    l->slope = 0.01f;
    return NN_OK;
  }
  if (l->type != NN_LAYER_DENSE) {
    snprintf(field, sizeof field, "layers[%d].type", i);
    return nn__fail(err, NN_EINVAL, field, "%s is not a known layer type", field);
  }
  snprintf(field, sizeof field, "layers[%d].units", i);
  if (l->units <= 0) return nn__fail(err, NN_EINVAL, field, "%s must be a positive integer", field);
  if (l->units > NN_MAX_UNITS)
    return nn__fail(err, NN_ERANGE, field, "%s must be at most %d", field, NN_MAX_UNITS);
  snprintf(field, sizeof field, "layers[%d].activation", i);
  if ((unsigned)l->act > NN_ACT_SOFTMAX)
    return nn__fail(err, NN_EINVAL, field, "%s is not a known activation", field);
  snprintf(field, sizeof field, "layers[%d].slope", i);
  if (!(l->slope >= 0.0f && l->slope < 1.0f))
    return nn__fail(err, NN_EINVAL, field, "%s must be in [0, 1)", field);
  snprintf(field, sizeof field, "layers[%d].init", i);
  if ((unsigned)l->init > NN_INIT_HE)
    return nn__fail(err, NN_EINVAL, field, "%s is not a known initialisation", field);
  if (l->init == NN_INIT_AUTO) l->init = is_relu_family(l->act) ? NN_INIT_HE : NN_INIT_XAVIER;
  /* (units + 1) * in cannot overflow: both are at most 2^20 */
  size_t n = ((size_t)in + 1) * (size_t)l->units;
  if (n > NN_MAX_PARAMS - *params) {
    snprintf(field, sizeof field, "layers[%d].units", i);
    return nn__fail(err, NN_ERANGE, field, "the model would exceed %llu parameters",
                    (unsigned long long)NN_MAX_PARAMS);
  }
  *params += n;
  return NN_OK;
}

int nn_spec_validate(nn_spec *spec, nn_error *err) {
  if (spec->graph != NULL) return nn__spec_validate_graph(spec, err);
  if (spec->inputs <= 0)
    return nn__fail(err, NN_EINVAL, "inputs", "inputs must be a positive integer");
  if (spec->inputs > NN_MAX_UNITS)
    return nn__fail(err, NN_ERANGE, "inputs", "inputs must be at most %d", NN_MAX_UNITS);
  if (spec->n_layers <= 0)
    return nn__fail(err, NN_EINVAL, "layers", "layers must hold at least one layer");
  if (spec->n_layers > NN_MAX_LAYERS)
    return nn__fail(err, NN_ERANGE, "layers", "layers may hold at most %d layers", NN_MAX_LAYERS);
  size_t params = 0;
  int width = spec->inputs;
  for (int i = 0; i < spec->n_layers; i++) {
    int rc = validate_layer(&spec->layers[i], i, width, &params, err);
    if (rc != NN_OK) return rc;
    width = spec->layers[i].units;
  }
  int last = spec->n_layers - 1;
  char field[64];
  snprintf(field, sizeof field, "layers[%d].type", last);
  if (spec->layers[last].type != NN_LAYER_DENSE)
    return nn__fail(err, NN_EINVAL, field, "the last layer must be dense");
  nn_act out = spec->layers[last].act;
  snprintf(field, sizeof field, "layers[%d].activation", last);
  switch (spec->loss) {
  case NN_LOSS_MSE:
    break;
  case NN_LOSS_CROSS_ENTROPY:
    if (out != NN_ACT_SOFTMAX)
      return nn__fail(err, NN_EINVAL, field, "loss cross_entropy needs a softmax output layer");
    if (spec->layers[last].units < 2)
      return nn__fail(err, NN_EINVAL, field, "loss cross_entropy needs at least 2 output units");
    break;
  case NN_LOSS_BCE:
    if (out != NN_ACT_SIGMOID)
      return nn__fail(err, NN_EINVAL, field,
                      "loss binary_cross_entropy needs a sigmoid output layer");
    break;
  default:
    return nn__fail(err, NN_EINVAL, "loss", "loss is not a known loss");
  }
  return NN_OK;
}

int nn_spec_outputs(const nn_spec *spec) {
  if (spec->graph != NULL) return spec->graph_outputs;
  return spec->layers[spec->n_layers - 1].units;
}

size_t nn_spec_param_count(const nn_spec *spec) {
  if (spec->graph != NULL) return spec->graph_params;
  nn__arch a;
  nn__arch_init(spec, &a);
  return a.n_params;
}

void nn__arch_init(const nn_spec *spec, nn__arch *a) {
  size_t off = 0;
  int width = spec->inputs;
  a->n_layers = spec->n_layers;
  a->max_width = width;
  a->first_dense = -1;
  for (int i = 0; i < spec->n_layers; i++) {
    const nn_layer_spec *l = &spec->layers[i];
    a->in[i] = width;
    a->out[i] = l->type == NN_LAYER_DENSE ? l->units : width;
    a->w_off[i] = a->b_off[i] = 0;
    if (l->type == NN_LAYER_DENSE) {
      if (a->first_dense < 0) a->first_dense = i;
      a->w_off[i] = off;
      off += (size_t)a->out[i] * (size_t)width;
      a->b_off[i] = off;
      off += (size_t)a->out[i];
    }
    width = a->out[i];
    if (width > a->max_width) a->max_width = width;
  }
  a->n_params = off;
  a->fused = spec->loss != NN_LOSS_MSE;
}
