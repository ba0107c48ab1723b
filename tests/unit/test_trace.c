/* test_trace.c — the trace of one example (core/trace.h) against the model
 * it traces: the output is nn_model_predict's, the loss and gradients
 * nn_model_loss_grad's, and every node's gradient is the next node's
 * passed back through the chain rule. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/trace.h"
#include "nets.h"

static nn_model *model(nn_spec spec, int norm) {
  nn_model *m;
  cr_assert_eq(nn_model_new(&spec, &m, NULL), NN_OK);
  if (norm) {
    float mean[3] = {0.5f, -1.0f, 2.0f}, std[3] = {2.0f, 0.5f, 4.0f};
    cr_assert_eq(nn_model_set_norm(m, mean, std), NN_OK);
  }
  return m;
}

static const float x3[3] = {0.7f, -0.4f, 2.5f};

/* The trace agrees with the model: output, loss, gradients, input gradient. */
static void agrees(nn_model *m, const float *y, int32_t label, const char *what) {
  const nn_spec *s = nn_model_spec(m);
  int outputs = nn_spec_outputs(s);
  size_t P = nn_model_param_count(m);
  nn_trace *t;
  nn_error err = {0};
  cr_assert_eq(nn_trace_run(m, x3, y, label, &t, &err), NN_OK, "%s: %s", what, err.message);
  float out[8], *grad = malloc(P * sizeof(float)), dx[3];
  double loss;
  cr_assert_eq(nn_model_predict(m, x3, 1, out), NN_OK);
  cr_expect_arr_eq(nn_trace_output(t), out, (size_t)outputs * sizeof(float),
                   "%s: the output is predict's", what);
  cr_assert_eq(nn_model_loss_grad(m, x3, y, y == NULL ? &label : NULL, 1, grad, dx, &loss),
               NN_OK);
  cr_expect_float_eq(nn_trace_loss(t), loss, 1e-6 * fmax(1.0, fabs(loss)), "%s: loss %g vs %g",
                     what, nn_trace_loss(t), loss);
  const nn_graph *g = nn_trace_graph(t);
  const float *tg = nn_graph_grads(g), *tdx = nn_graph_value_grad(g, 0);
  for (size_t i = 0; i < P; i++)
    cr_expect(fabsf(tg[i] - grad[i]) <= 1e-6f + 1e-5f * fabsf(grad[i]),
              "%s: dparams[%zu] %.9g vs %.9g", what, i, tg[i], grad[i]);
  for (int j = 0; j < 3; j++)
    cr_expect(fabsf(tdx[j] - dx[j]) <= 1e-6f + 1e-5f * fabsf(dx[j]), "%s: dx[%d] %.9g vs %.9g",
              what, j, tdx[j], dx[j]);
  free(grad);
  nn_trace_free(t);
}

Test(trace, a_classifier_agrees_with_the_model) {
  int w[] = {5, 4, 3};
  nn_act a[] = {NN_ACT_RELU, NN_ACT_TANH, NN_ACT_SOFTMAX};
  nn_model *m = model(nets_mlp(3, 3, w, a, NN_LOSS_CROSS_ENTROPY, 11), 1);
  for (int32_t label = 0; label < 3; label++) agrees(m, NULL, label, "softmax");
  nn_model_free(m);
}

Test(trace, a_regression_and_a_sigmoid_head_agree) {
  int w[] = {6, 2};
  nn_act a[] = {NN_ACT_LEAKY_RELU, NN_ACT_LINEAR};
  nn_model *m = model(nets_mlp(3, 2, w, a, NN_LOSS_MSE, 3), 0);
  float y[2] = {0.3f, -1.2f};
  agrees(m, y, 0, "mse");
  nn_model_free(m);
  int wb[] = {4, 1};
  nn_act ab[] = {NN_ACT_SIGMOID, NN_ACT_SIGMOID};
  m = model(nets_mlp(3, 2, wb, ab, NN_LOSS_BCE, 5), 1);
  agrees(m, NULL, 1, "bce");
  nn_model_free(m);
}

/* Nodes: layers[0], layers[0].relu, layers[1] (dropout), layers[2] (the
 * logits; softmax is the loss's). Each gradient is the next one's passed
 * back: through an activation, times its local derivative. */
Test(trace, the_chain_rule_links_the_nodes) {
  nn_spec s = nets_mlp(3, 2, (int[]){4, 2}, (nn_act[]){NN_ACT_RELU, NN_ACT_SOFTMAX},
                       NN_LOSS_CROSS_ENTROPY, 9);
  s.layers[2] = s.layers[1];
  nn_layer_spec_defaults(&s.layers[1]);
  s.layers[1].type = NN_LAYER_DROPOUT;
  s.layers[1].rate = 0.5f;
  s.n_layers = 3;
  nn_model *m = model(s, 0);
  nn_trace *t;
  cr_assert_eq(nn_trace_run(m, x3, NULL, 1, &t, NULL), NN_OK);
  const nn_graph *g = nn_trace_graph(t);
  cr_assert_eq(nn_graph_values(g), 1 + 4);
  cr_expect_eq(nn_trace_head(t), NN_ACT_SOFTMAX);
  int layers[] = {0, 0, 1, 2};
  for (int i = 0; i < 4; i++) cr_expect_eq(nn_trace_layer(t, i), layers[i]);
  const float *z = nn_graph_value(g, 1), *dz = nn_graph_value_grad(g, 1);
  const float *r = nn_graph_value(g, 2), *dr = nn_graph_value_grad(g, 2);
  const float *dd = nn_graph_value_grad(g, 3);
  float local[4];
  cr_assert_eq(nn_trace_local(t, 1, local), NN_OK);
  for (int j = 0; j < 4; j++) {
    cr_expect_eq(r[j], z[j] > 0 ? z[j] : 0.0f);
    cr_expect_eq(local[j], z[j] > 0 ? 1.0f : 0.0f);
    cr_expect_eq(dz[j], dr[j] * local[j], "dz = dr relu'(z) at %d", j);
    cr_expect_eq(dd[j], dr[j], "dropout passes its gradient through at inference");
  }
  /* the logits' gradient is p - t */
  const float *p = nn_trace_output(t), *dl = nn_graph_value_grad(g, 4);
  cr_expect_float_eq(dl[0], p[0], 1e-7);
  cr_expect_float_eq(dl[1], p[1] - 1.0f, 1e-7);
  cr_expect_eq(nn_trace_local(t, 0, local), NN_EINVAL, "a dense node's Jacobian is W");
  nn_trace_free(t);
  nn_model_free(m);
}

Test(trace, the_local_derivatives_of_sigmoid_and_tanh) {
  nn_model *m = model(nets_mlp(3, 3, (int[]){3, 3, 1},
                                (nn_act[]){NN_ACT_SIGMOID, NN_ACT_TANH, NN_ACT_LINEAR},
                                NN_LOSS_MSE, 2), 0);
  nn_trace *t;
  float y = 0.5f, local[3];
  cr_assert_eq(nn_trace_run(m, x3, &y, 0, &t, NULL), NN_OK);
  const nn_graph *g = nn_trace_graph(t);
  for (int node = 1; node <= 3; node += 2) {
    const float *v = nn_graph_value(g, 1 + node);
    cr_assert_eq(nn_trace_local(t, node, local), NN_OK);
    for (int j = 0; j < 3; j++) {
      float want = node == 1 ? v[j] * (1 - v[j]) : 1 - v[j] * v[j];
      cr_expect_float_eq(local[j], want, 1e-7, "node %d [%d]", node, j);
    }
  }
  nn_trace_free(t);
  nn_model_free(m);
}

Test(trace, bad_examples_are_refused_naming_the_field) {
  nn_model *m = model(nets_mlp(3, 1, (int[]){3}, (nn_act[]){NN_ACT_SOFTMAX},
                                NN_LOSS_CROSS_ENTROPY, 1), 0);
  nn_trace *t = (nn_trace *)1;
  nn_error err = {0};
  cr_expect_eq(nn_trace_run(m, x3, NULL, 3, &t, &err), NN_EINVAL);
  cr_expect_str_eq(err.field, "target");
  cr_expect_null(t);
  cr_expect_eq(nn_trace_run(m, x3, NULL, -1, &t, &err), NN_EINVAL);
  float bad[3] = {0, NAN, 0};
  cr_expect_eq(nn_trace_run(m, bad, NULL, 0, &t, &err), NN_EINVAL);
  cr_expect_str_eq(err.field, "input");
  nn_model_free(m);
}
