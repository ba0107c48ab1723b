/*
 * model.c — a model: its normalized spec, the flat parameter buffer and the
 * feature standardization statistics.
 */
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"

#define INIT_STREAM 0x6e6e696eull /* generator stream for weight initialisation */

int nn__model_alloc(const nn_spec *spec, nn_model **out) {
  nn_model *m = calloc(1, sizeof *m);
  if (m == NULL) return NN_ENOMEM;
  m->spec = *spec;
  if (spec->graph != NULL) {
    /* a graph: its spec copied, P from validation, then its statistics */
    m->graph = malloc(sizeof *m->graph);
    if (m->graph == NULL || nn__graph_state_count(spec, &m->n_gstate) != NN_OK) goto fail;
    memcpy(m->graph, spec->graph, sizeof *m->graph);
    m->spec.graph = m->graph;
    m->arch.n_params = spec->graph_params;
    m->arch.max_width = spec->inputs;
  } else {
    nn__arch_init(spec, &m->arch);
  }
  /* (P,) params, (S,) a graph's statistics, then (inputs,) mean and
   * (inputs,) std in the same block */
  size_t floats = nn__model_kept(m) + 2 * (size_t)spec->inputs;
  m->params = nn__alloc_big(floats * sizeof(float));
  if (m->params == NULL) goto fail;
  m->gstate = m->params + m->arch.n_params;
  m->mean = m->gstate + m->n_gstate;
  m->std = m->mean + spec->inputs;
  assert(m->std + spec->inputs == m->params + floats); /* the block holds them exactly */
  for (int i = 0; i < spec->inputs; i++) m->std[i] = 1.0f; /* identity until fitted */
  *out = m;
  return NN_OK;
fail:
  free(m->graph);
  free(m);
  return NN_ENOMEM;
}

/* Xavier: W ~ U(-a, a), a = sqrt(6 / (fan_in + fan_out)); He: W ~ N(0, 2 / fan_in). */
void nn__init_weights(float *w, size_t count, int fan_in, int fan_out, nn_init init,
                      nn__rng *r) {
  if (init == NN_INIT_HE) {
    float sd = sqrtf(2.0f / (float)fan_in);
    for (size_t i = 0; i < count; i++) w[i] = sd * nn__rng_normal(r);
  } else {
    float a = sqrtf(6.0f / (float)(fan_in + fan_out));
    for (size_t i = 0; i < count; i++) w[i] = a * (2.0f * nn__rng_uniform(r) - 1.0f);
  }
}

int nn_model_new(const nn_spec *spec, nn_model **out, nn_error *err) {
  nn_spec s = *spec;
  int rc = nn_spec_validate(&s, err);
  if (rc != NN_OK) return rc;
  nn_model *m;
  rc = nn__model_alloc(&s, &m);
  if (rc != NN_OK) return nn__fail(err, rc, "", "cannot allocate the model's parameters");
  if (s.graph != NULL) { /* the graph's own initialisation, into the model's buffers */
    nn_graph_spec *gs = m->graph;
    uint64_t seed = gs->seed;
    gs->seed = s.seed;
    rc = nn__graph_init_params(gs, m->params, m->gstate, err);
    gs->seed = seed;
    if (rc != NN_OK) {
      nn_model_free(m);
      return rc;
    }
    *out = m;
    return NN_OK;
  }
  nn__rng r;
  nn__rng_seed(&r, s.seed, INIT_STREAM);
  for (int i = 0; i < s.n_layers; i++) {
    if (s.layers[i].type != NN_LAYER_DENSE) continue;
    nn__init_weights(m->params + m->arch.w_off[i], (size_t)m->arch.in[i] * (size_t)m->arch.out[i],
                     m->arch.in[i], m->arch.out[i], s.layers[i].init, &r);
  }
  *out = m;
  return NN_OK;
}

int nn_model_clone(const nn_model *m, nn_model **out) {
  nn_model *c;
  int rc = nn__model_alloc(&m->spec, &c);
  if (rc != NN_OK) return rc;
  memcpy(c->params, m->params, (nn__model_kept(m) + 2 * (size_t)m->spec.inputs) * sizeof(float));
  c->has_norm = m->has_norm;
  *out = c;
  return NN_OK;
}

void nn_model_free(nn_model *m) {
  if (m == NULL) return;
  free(m->params);
  free(m->graph);
  free(m);
}

const nn_spec *nn_model_spec(const nn_model *m) { return &m->spec; }
size_t nn_model_param_count(const nn_model *m) { return m->arch.n_params; }
float *nn_model_params(nn_model *m) { return m->params; }
const float *nn_model_params_const(const nn_model *m) { return m->params; }

int nn_model_layer_offsets(const nn_model *m, int layer, size_t *w_off, size_t *b_off) {
  if (layer < 0 || layer >= m->spec.n_layers || m->spec.layers[layer].type != NN_LAYER_DENSE)
    return NN_EINVAL;
  *w_off = m->arch.w_off[layer];
  *b_off = m->arch.b_off[layer];
  return NN_OK;
}

int nn_model_norm(const nn_model *m, const float **mean, const float **std) {
  if (!m->has_norm) return NN_EINVAL;
  *mean = m->mean;
  *std = m->std;
  return NN_OK;
}

int nn_model_set_norm(nn_model *m, const float *mean, const float *std) {
  for (int i = 0; i < m->spec.inputs; i++)
    if (!isfinite(mean[i]) || !(std[i] > 0.0f) || !isfinite(std[i])) return NN_EINVAL;
  memcpy(m->mean, mean, (size_t)m->spec.inputs * sizeof(float));
  memcpy(m->std, std, (size_t)m->spec.inputs * sizeof(float));
  if (m->graph != NULL) nn__graph_keep_codes(m->graph, m->mean, m->std);
  m->has_norm = 1;
  return NN_OK;
}
