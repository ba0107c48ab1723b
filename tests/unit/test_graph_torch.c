/*
 * test_graph_torch.c — the graph engine against PyTorch: every op and four
 * graphs (a value shared by two branches, a residual block, an embedding
 * beside numbers, a small conv net with batchnorm) run forward and backward
 * on tests/fixtures/torch_graph.txt (made by tests/gen_torch_graph_fixture.py)
 * with PyTorch's parameters, inputs and running statistics: the output, the
 * parameter gradients, the inputs' gradients and the running statistics
 * after the pass must agree.
 *
 * Tolerances. Both sides compute in float32 but sum in other orders (and
 * batchnorm's statistics in double here), so values differ by a few ulps of
 * the terms summed into them; measured on these cases the worst is 9.5e-7
 * absolute (batchnorm's output in training mode, |y| near 2; layernorm and
 * conv2d's gradients 5e-7 to 7e-7). The bound leaves a margin of 5x or more
 * for other compilers and BLAS builds, yet a wrong formula (a
 * missing term of the chain rule, a transposed kernel, a biased variance,
 * an off-by-one window) moves values by 1e-3 or more.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph_fixture.h"

#define FIXTURE "tests/fixtures/torch_graph.txt"
#define ATOL 5e-6 /* |got - want| <= ATOL + RTOL |want| */
#define RTOL 5e-5

static graph_fixture_case cases[GRAPH_FIXTURE_MAX_CASES];
static int n_cases;

static void load(void) {
  char err[256];
  cr_assert_eq(graph_fixture_load(FIXTURE, cases, &n_cases, err, sizeof err), 0, "%s", err);
  cr_assert_gt(n_cases, 0);
}

static void unload(void) {
  for (int i = 0; i < n_cases; i++) graph_fixture_free(&cases[i]);
}

static const graph_fixture_tensor *tensor(const graph_fixture_case *c, const char *name) {
  const graph_fixture_tensor *t = graph_fixture_tensor_get(c, name);
  cr_assert_not_null(t, "%s: tensor %s missing", c->name, name);
  return t;
}

/* Every value within the bound; names the case, what and the worst entry. */
static void expect_close(const graph_fixture_case *c, const char *what, const float *got,
                         const graph_fixture_tensor *want, size_t n) {
  cr_assert_eq(want->count, n, "%s: %s has %zu values, the engine %zu", c->name, what,
               want->count, n);
  cr_assert_not_null(got, "%s: the engine has no %s", c->name, what);
  size_t worst = 0;
  double worst_excess = -INFINITY;
  for (size_t i = 0; i < n; i++) {
    double d = fabs((double)got[i] - want->v[i]);
    double excess = d - (ATOL + RTOL * fabs(want->v[i]));
    if (!(excess <= worst_excess)) { /* NaN counts as worst */
      worst_excess = excess;
      worst = i;
    }
  }
  cr_expect(worst_excess <= 0.0, "%s: %s[%zu]: got %.9g, PyTorch %.9g", c->name, what, worst,
            got[worst], want->v[worst]);
}

/* Run case c forward and backward and compare everything the fixture has. */
static void run_case(const graph_fixture_case *c) {
  nn_graph *g;
  nn_error err = {0};
  cr_assert_eq(nn_graph_compile(&c->spec, c->rows, &g, &err), NN_OK, "%s: %s", c->name,
               err.message);
  const graph_fixture_tensor *p = graph_fixture_tensor_get(c, "params");
  size_t P = nn_graph_param_count(g), S = nn_graph_state_count(g);
  cr_assert_eq(p != NULL ? p->count : 0, P, "%s: parameter count", c->name);
  if (P > 0) memcpy(nn_graph_params(g), p->v, P * sizeof(float));
  if (S > 0) {
    const graph_fixture_tensor *s = tensor(c, "state");
    cr_assert_eq(s->count, S, "%s: state count", c->name);
    memcpy(nn_graph_state(g), s->v, S * sizeof(float));
  }
  const float *in[NN_GRAPH_MAX_INPUTS];
  for (int i = 0; i < c->spec.n_inputs; i++) {
    char name[64];
    snprintf(name, sizeof name, "in.%s", c->spec.input_names[i]);
    const graph_fixture_tensor *t = tensor(c, name);
    cr_assert_eq(t->count, c->rows * nn_shape_size(&c->spec.input_shapes[i]), "%s", name);
    in[i] = t->v;
  }
  cr_assert_eq(nn_graph_forward(g, in, c->rows, c->train, NULL), NN_OK, "%s", c->name);
  int out = nn_graph_output(g);
  size_t ny = c->rows * nn_shape_size(nn_graph_shape(g, out));
  expect_close(c, "y", nn_graph_value(g, out), tensor(c, "y"), ny);
  if (S > 0) expect_close(c, "state_after", nn_graph_state(g), tensor(c, "state_after"), S);

  const graph_fixture_tensor *coef = tensor(c, "coef");
  cr_assert_eq(coef->count, ny, "%s: coef", c->name);
  cr_assert_eq(nn_graph_backward(g, coef->v, 1), NN_OK, "%s", c->name);
  if (P > 0) expect_close(c, "grad", nn_graph_grads(g), tensor(c, "grad"), P);
  for (int i = 0; i < c->spec.n_inputs; i++) {
    char name[64];
    snprintf(name, sizeof name, "dx.%s", c->spec.input_names[i]);
    const graph_fixture_tensor *t = graph_fixture_tensor_get(c, name);
    const float *dx = nn_graph_value_grad(g, i);
    if (t == NULL) { /* codes: no gradient on either side */
      cr_expect_null(dx, "%s: the engine has a gradient for %s", c->name, name);
      continue;
    }
    expect_close(c, name, dx, t, c->rows * nn_shape_size(&c->spec.input_shapes[i]));
  }
  nn_graph_free(g);
}

Test(graph_torch, every_case_matches_pytorch, .init = load, .fini = unload) {
  for (int i = 0; i < n_cases; i++) run_case(&cases[i]);
}

/* The fixture reaches every op (dropout aside: PyTorch's masks are not
 * ours, and without them it is the identity), in both modes for batchnorm. */
Test(graph_torch, the_fixture_covers_every_op, .init = load, .fini = unload) {
  int seen[NN_OP_COUNT] = {0}, bn_train = 0, bn_eval = 0;
  for (int i = 0; i < n_cases; i++)
    for (int j = 0; j < cases[i].spec.n_nodes; j++) {
      nn_op op = cases[i].spec.nodes[j].op;
      seen[op] = 1;
      if (op == NN_OP_BATCHNORM) *(cases[i].train ? &bn_train : &bn_eval) = 1;
    }
  for (int op = 0; op < NN_OP_COUNT; op++)
    if (op != NN_OP_DROPOUT) cr_expect(seen[op], "no case has a %s node", nn_op_name((nn_op)op));
  cr_expect(bn_train && bn_eval, "batchnorm in both modes");
}

/* The comparison is not vacuous: the output bias nudged by 1e-3 is caught. */
Test(graph_torch, a_nudged_parameter_is_caught, .init = load, .fini = unload) {
  const graph_fixture_case *c = NULL;
  for (int i = 0; i < n_cases && c == NULL; i++)
    if (strcmp(cases[i].name, "residual") == 0) c = &cases[i];
  cr_assert_not_null(c);
  nn_graph *g;
  cr_assert_eq(nn_graph_compile(&c->spec, c->rows, &g, NULL), NN_OK);
  memcpy(nn_graph_params(g), tensor(c, "params")->v, nn_graph_param_count(g) * sizeof(float));
  nn_graph_params(g)[nn_graph_param_count(g) - 1] += 1e-3f;
  const float *in[] = {tensor(c, "in.x")->v};
  cr_assert_eq(nn_graph_forward(g, in, c->rows, 0, NULL), NN_OK);
  const float *y = nn_graph_value(g, nn_graph_output(g));
  const graph_fixture_tensor *want = tensor(c, "y");
  double worst = 0;
  for (size_t i = 0; i < want->count; i++) worst = fmax(worst, fabs(y[i] - want->v[i]));
  cr_expect_gt(worst, ATOL + RTOL, "a nudge of 1e-3 moved the output by %g only", worst);
  nn_graph_free(g);
}
