/* test_graph_util.c — building graph specs and data for the graph tests. */
#include "test_graph_util.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

nn_graph_spec *gu_spec(void) {
  nn_graph_spec *s = calloc(1, sizeof *s);
  cr_assert_not_null(s);
  s->seed = 7;
  return s;
}

void gu_input(nn_graph_spec *s, const char *name, int d0, int d1, int d2, int d3) {
  int i = s->n_inputs++;
  snprintf(s->input_names[i], NN_GRAPH_NAME, "%s", name);
  int d[4] = {d0, d1, d2, d3};
  nn_shape *sh = &s->input_shapes[i];
  for (sh->rank = 0; sh->rank < 4 && d[sh->rank] > 0; sh->rank++) sh->dim[sh->rank] = d[sh->rank];
}

nn_node_spec *gu_node(nn_graph_spec *s, const char *name, nn_op op, const char *in0,
                      const char *in1) {
  nn_node_spec *n = &s->nodes[s->n_nodes++];
  nn_node_spec_defaults(n);
  snprintf(n->name, NN_GRAPH_NAME, "%s", name);
  n->op = op;
  snprintf(n->inputs[n->n_inputs++], NN_GRAPH_NAME, "%s", in0);
  if (in1 != NULL) snprintf(n->inputs[n->n_inputs++], NN_GRAPH_NAME, "%s", in1);
  snprintf(s->output, NN_GRAPH_NAME, "%s", name);
  return n;
}

void gu_fill(float *x, size_t count, uint64_t seed) {
  nn__rng r;
  nn__rng_seed(&r, seed, 3);
  for (size_t i = 0; i < count; i++) {
    float u = 0.1f + 0.9f * nn__rng_uniform(&r);
    x[i] = nn__rng_uniform(&r) < 0.5f ? -u : u;
  }
}

void gu_spread(float *x, size_t count, uint64_t seed) {
  nn__rng r;
  nn__rng_seed(&r, seed, 5);
  for (size_t i = 0; i < count; i++) x[i] = 0.06f * ((float)i - (float)count / 2);
  for (size_t i = count; i > 1; i--) { /* Fisher-Yates */
    size_t j = (size_t)nn__rng_below(&r, i);
    float t = x[i - 1];
    x[i - 1] = x[j];
    x[j] = t;
  }
}

nn_graph_check_result gu_check(const nn_graph_spec *s, const float *const *inputs, size_t n,
                               int train, double step, const char *what) {
  nn_graph *g;
  nn_error err = {{0}, {0}};
  cr_assert_eq(nn_graph_compile(s, n, &g, &err), NN_OK, "%s: %s", what, err.message);
  nn_graph_check_config c;
  nn_graph_check_defaults(&c);
  c.train = train;
  c.rng_seed = 11;
  if (step > 0) c.step = step;
  nn_graph_check_result r;
  cr_assert_eq(nn_graph_check(g, inputs, n, &c, &r), NN_OK, "%s", what);
  cr_expect(r.pass, "%s: max error %g at %s %zu (%zu checked, %zu skipped)", what, r.max_error,
            r.worst_value < 0 ? "parameter" : "input", r.worst_index, r.checked, r.skipped);
  cr_expect_leq(r.skipped * 4, r.checked, "%s: %zu of %zu skipped at kinks", what, r.skipped,
                r.checked);
  nn_graph_free(g);
  return r;
}
