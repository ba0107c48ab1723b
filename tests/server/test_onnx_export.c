/* test_onnx_export.c — the ONNX exporter (server/onnx_export.c), read back
 * with protobuf-c: the graph has one operator per activation as docs/onnx.md
 * maps them, no dropout, standardization only when the model has
 * statistics, the weights bit for bit, and a label output only with class
 * names. (ONNX Runtime and onnx.checker judge the files in
 * tests/e2e/test_onnx.py.) */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "../../server/onnx_export.h"
#include "onnx.pb-c.h"

/* inputs 2 -> leaky_relu 3 -> dropout -> sigmoid 3 -> tanh 3 -> relu 3 ->
 * linear 3 -> softmax 3, cross_entropy */
static nn_model *new_model(int norm) {
  static const nn_act acts[] = {NN_ACT_LEAKY_RELU, NN_ACT_LINEAR, NN_ACT_SIGMOID, NN_ACT_TANH,
                                NN_ACT_RELU, NN_ACT_LINEAR, NN_ACT_SOFTMAX};
  nn_spec s = {.inputs = 2, .n_layers = 7, .loss = NN_LOSS_CROSS_ENTROPY, .seed = 1};
  for (int i = 0; i < 7; i++) {
    nn_layer_spec_defaults(&s.layers[i]);
    s.layers[i].units = 3;
    s.layers[i].act = acts[i];
  }
  s.layers[0].slope = 0.25f;
  s.layers[1].type = NN_LAYER_DROPOUT;
  s.layers[1].rate = 0.5f;
  nn_model *m;
  cr_assert_eq(nn_model_new(&s, &m, NULL), NN_OK);
  if (norm) {
    const float mean[2] = {1, 2}, std[2] = {3, 4};
    cr_assert_eq(nn_model_set_norm(m, mean, std), NN_OK);
  }
  return m;
}

static Onnx__ModelProto *export(nn_model *m, const char *classes) {
  onnx_export_in in = {.model = m, .name = "net", .model_id = 5, .version = 9,
                       .classes = classes};
  uint8_t *buf;
  size_t len;
  api_error err;
  cr_assert_eq(onnx_export(&in, &buf, &len, &err), 0, "%s", err.message);
  Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, len, buf);
  cr_assert_not_null(mp);
  free(buf);
  return mp;
}

static const char *op(const Onnx__ModelProto *mp, size_t i) { return mp->graph->node[i]->op_type; }

Test(onnx_export, every_activation_maps_to_its_operator) {
  nn_model *m = new_model(1);
  Onnx__ModelProto *mp = export(m, "[\"a\",\"b\",\"c\"]");
  static const char *const want[] = {"Sub", "Div", "Gemm", "LeakyRelu", "Gemm", "Sigmoid",
                                     "Gemm", "Tanh", "Gemm", "Relu", "Gemm", "Gemm", "Softmax",
                                     "ArgMax", "LabelEncoder"};
  cr_assert_eq(mp->graph->n_node, sizeof want / sizeof want[0]);
  for (size_t i = 0; i < mp->graph->n_node; i++) cr_assert_str_eq(op(mp, i), want[i], "node %zu", i);
  cr_assert_eq(mp->graph->node[3]->attribute[0]->f, 0.25f); /* LeakyRelu's alpha: the slope */
  cr_assert_str_eq(mp->graph->node[14]->domain, "ai.onnx.ml");
  cr_assert_eq(mp->ir_version, ONNX_IR_VERSION);
  cr_assert_eq(mp->n_opset_import, 2);
  cr_assert_eq(mp->opset_import[0]->version, ONNX_OPSET);
  cr_assert_eq(mp->model_version, 9);
  cr_assert_eq(mp->graph->n_output, 2);
  cr_assert_str_eq(mp->graph->output[1]->name, "label");
  /* the first Gemm's weights: W (3, 2) as the model holds it */
  const Onnx__TensorProto *w = mp->graph->initializer[2];
  size_t w_off, b_off;
  cr_assert_eq(nn_model_layer_offsets(m, 0, &w_off, &b_off), NN_OK);
  cr_assert_eq(w->n_dims, 2);
  cr_assert_eq(w->dims[0], 3);
  cr_assert_eq(w->dims[1], 2);
  cr_assert_eq(memcmp(w->float_data, nn_model_params_const(m) + w_off, 6 * sizeof(float)), 0);
  onnx__model_proto__free_unpacked(mp, NULL);
  nn_model_free(m);
}

Test(onnx_export, no_statistics_no_standardization_no_classes_no_label) {
  nn_model *m = new_model(0);
  Onnx__ModelProto *mp = export(m, NULL);
  cr_assert_str_eq(op(mp, 0), "Gemm");
  cr_assert_str_eq(op(mp, mp->graph->n_node - 1), "Softmax");
  cr_assert_eq(mp->graph->n_output, 1);
  cr_assert_eq(mp->n_opset_import, 1);
  for (size_t i = 0; i < mp->n_metadata_props; i++)
    cr_assert_str_neq(mp->metadata_props[i]->key, "classes");
  onnx__model_proto__free_unpacked(mp, NULL);
  nn_model_free(m);
}

Test(onnx_export, class_names_that_do_not_fit_are_an_internal_error) {
  nn_model *m = new_model(0);
  onnx_export_in in = {.model = m, .name = "net", .model_id = 5, .version = 9,
                       .classes = "[\"a\",\"b\"]"};
  uint8_t *buf = NULL;
  size_t len;
  api_error err;
  cr_assert_eq(onnx_export(&in, &buf, &len, &err), -API_INTERNAL);
  cr_assert_null(buf);
  nn_model_free(m);
}
