/* test_onnx_export.c — the ONNX exporter (server/onnx_export.c), read back
 * with protobuf-c: the graph has one operator per activation as docs/onnx.md
 * maps them, no dropout, standardization only when the model has
 * statistics, the weights bit for bit, and a label output only with class
 * names; a table model takes its columns and encodes them in the graph, and
 * a column named as a value of the graph is refused. (ONNX Runtime and
 * onnx.checker judge the files in tests/e2e/test_onnx.py.) */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/encode.h"
#include "../../core/graph.h"
#include "../../server/onnx_export.h"
#include "onnx.pb-c.h"
#include "table_fixture.h"

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

static Onnx__ModelProto *export_table(nn_model *m, const char *classes,
                                      const struct nn_encoder *e) {
  onnx_export_in in = {.model = m, .name = "net", .model_id = 5, .version = 9,
                       .classes = classes, .encoder = e};
  uint8_t *buf;
  size_t len;
  api_error err;
  cr_assert_eq(onnx_export(&in, &buf, &len, &err), 0, "%s", err.message);
  Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, len, buf);
  cr_assert_not_null(mp);
  free(buf);
  return mp;
}

static Onnx__ModelProto *export(nn_model *m, const char *classes) {
  return export_table(m, classes, NULL);
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

/* ---- table models ---------------------------------------------------------------- */

static nn_encoder *fixture_encoder(const char *category) {
  static const uint8_t key[16];
  size_t len;
  uint8_t *buf = table_fixture_encoding(category, &len);
  nn_encoder *e;
  nn_error ne;
  cr_assert_eq(nn_encoder_load(buf, len, key, &e, &ne), NN_OK, "%s", ne.message);
  free(buf);
  return e;
}

/* 4 inputs -> 1 linear unit, mse: the fixture's regression */
static nn_model *table_model(void) {
  nn_spec s = {.inputs = 4, .n_layers = 1, .loss = NN_LOSS_MSE, .seed = 2};
  nn_model *m;
  nn_layer_spec_defaults(&s.layers[0]);
  s.layers[0].units = 1;
  cr_assert_eq(nn_model_new(&s, &m, NULL), NN_OK);
  return m;
}

static const char *prop_of(const Onnx__ModelProto *mp, const char *key) {
  for (size_t i = 0; i < mp->n_metadata_props; i++)
    if (strcmp(mp->metadata_props[i]->key, key) == 0) return mp->metadata_props[i]->value;
  return NULL;
}

Test(onnx_export, a_table_model_takes_its_columns_and_encodes_them) {
  nn_model *m = table_model();
  nn_encoder *e = fixture_encoder("c");
  Onnx__ModelProto *mp = export_table(m, NULL, e);
  const Onnx__GraphProto *g = mp->graph;
  cr_assert_eq(g->n_input, 2);
  cr_assert_str_eq(g->input[0]->name, "c");
  cr_assert_eq(g->input[0]->type->tensor_type->elem_type, ONNX__TENSOR_PROTO__DATA_TYPE__STRING);
  cr_assert_str_eq(g->input[1]->name, "x");
  cr_assert_eq(g->input[1]->type->tensor_type->elem_type, ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE);
  cr_assert_eq(g->input[1]->type->tensor_type->shape->n_dim, 2);
  cr_assert_eq(g->input[1]->type->tensor_type->shape->dim[1]->dim_value, 1);
  static const char *const want[] = {"LabelEncoder", "OneHotEncoder", "Squeeze", "IsNaN",
                                     "Where", "Sub", "Div", "Cast", "Concat", "Gemm", "Cast",
                                     "Mul", "Add"};
  cr_assert_eq(g->n_node, sizeof want / sizeof want[0]);
  for (size_t i = 0; i < g->n_node; i++) cr_assert_str_eq(op(mp, i), want[i], "node %zu", i);
  /* blanks and the missing markers to -1, kept categories in text order,
   * anything else to the other slot (2) */
  const Onnx__NodeProto *le = g->node[0];
  cr_assert_str_eq(le->domain, "ai.onnx.ml");
  cr_assert_eq(le->n_attribute, 3);
  const Onnx__AttributeProto *keys = le->attribute[0], *vals = le->attribute[1];
  cr_assert_eq(keys->n_strings, vals->n_ints);
  int seen = 0;
  for (size_t k = 0; k < keys->n_strings; k++) {
    char text[32] = {0};
    size_t n = keys->strings[k].len < 31 ? keys->strings[k].len : 31;
    if (n > 0) memcpy(text, keys->strings[k].data, n); /* "" unpacks as NULL */
    long long v = (long long)vals->ints[k];
    long long want_v = strcmp(text, "blue") == 0 ? 0 : strcmp(text, "red") == 0 ? 1 : -1;
    cr_assert_eq(v, want_v, "%s -> %lld", text, v);
    seen |= want_v == 0 ? 1 : want_v == 1 ? 2 : text[0] == '\0' ? 4 : 0;
  }
  cr_assert_eq(seen, 7);
  cr_assert_eq(le->attribute[2]->i, 2);
  cr_assert_str_eq(g->output[0]->name, "output");
  cr_assert_eq(g->output[0]->type->tensor_type->elem_type, ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE);
  cr_assert_eq(mp->n_opset_import, 2);
  cr_assert_str_eq(prop_of(mp, "target"), "y");
  cr_assert(strstr(prop_of(mp, "columns"), "{\"name\":\"c\",\"type\":\"category\","
                                           "\"input\":\"string\"}") != NULL);
  cr_assert(strstr(prop_of(mp, "columns"), "{\"name\":\"x\",") != NULL);
  onnx__model_proto__free_unpacked(mp, NULL);
  nn_encoder_free(e);
  nn_model_free(m);
}

Test(onnx_export, a_column_named_as_a_graph_value_is_unprocessable) {
  static const char *const names[] = {"features", "output", "col1.value"};
  nn_model *m = table_model();
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    nn_encoder *e = fixture_encoder(names[i]);
    onnx_export_in in = {.model = m, .name = "t", .model_id = 3, .version = 1, .encoder = e};
    uint8_t *buf = NULL;
    size_t len;
    api_error err;
    cr_assert_eq(onnx_export(&in, &buf, &len, &err), -API_UNPROCESSABLE, "%s", names[i]);
    cr_assert_null(buf);
    cr_assert(strstr(err.message, names[i]) != NULL, "%s", err.message);
    nn_encoder_free(e);
  }
  nn_model_free(m);
}

/* ---- graph models ---------------------------------------------------------------- */

static nn_node_spec *add_node(nn_graph_spec *g, const char *name, nn_op op, const char *in0,
                              const char *in1) {
  nn_node_spec *n = &g->nodes[g->n_nodes++];
  nn_node_spec_defaults(n);
  strcpy(n->name, name);
  n->op = op;
  strcpy(n->inputs[n->n_inputs++], in0);
  if (in1 != NULL) strcpy(n->inputs[n->n_inputs++], in1);
  return n;
}

Test(onnx_export, a_graph_model_exports_each_op_over_the_sliced_row) {
  /* a [2] and codes c [1]: e = embedding(c) [1, 2], h = relu dense over the
   * leading axis [1, 2], s = h + a (a broadcast), batchnorm, dropout,
   * flatten, y = softmax dense 3, cross_entropy */
  nn_graph_spec *g = calloc(1, sizeof *g);
  cr_assert_not_null(g);
  g->n_inputs = 2;
  strcpy(g->input_names[0], "a");
  g->input_shapes[0] = (nn_shape){1, {2}};
  strcpy(g->input_names[1], "c");
  g->input_shapes[1] = (nn_shape){1, {1}};
  nn_node_spec *e = add_node(g, "e", NN_OP_EMBEDDING, "c", NULL);
  e->categories = 3, e->dim = 2;
  nn_node_spec *h = add_node(g, "h", NN_OP_DENSE, "e", NULL);
  h->units = 2, h->activation = NN_ACT_RELU;
  add_node(g, "s", NN_OP_ADD, "h", "a");
  add_node(g, "bn", NN_OP_BATCHNORM, "s", NULL);
  add_node(g, "d", NN_OP_DROPOUT, "bn", NULL)->rate = 0.5f;
  add_node(g, "f", NN_OP_FLATTEN, "d", NULL);
  nn_node_spec *y = add_node(g, "y", NN_OP_DENSE, "f", NULL);
  y->units = 3, y->activation = NN_ACT_SOFTMAX;
  strcpy(g->output, "y");
  nn_spec s = {.loss = NN_LOSS_CROSS_ENTROPY, .seed = 3, .graph = g};
  nn_model *m;
  nn_error ne;
  cr_assert_eq(nn_model_new(&s, &m, &ne), NN_OK, "%s", ne.message);
  free(g);
  const float mean[3] = {1, 2, 0}, std[3] = {3, 4, 1};
  cr_assert_eq(nn_model_set_norm(m, mean, std), NN_OK);
  float *state = (float *)nn_model_graph_state(m); /* running mean 0.5, variance 2 */
  state[0] = 0.5f, state[1] = 2.0f;

  Onnx__ModelProto *mp = export(m, "[\"p\",\"q\",\"r\"]");
  const Onnx__GraphProto *gp = mp->graph;
  static const char *const want[] = {
      "Sub", "Div", "Slice", "Slice", "Cast", "Gather", "Transpose", "MatMul", "Add", "Relu",
      "Reshape", "Add", "BatchNormalization", "Flatten", "Gemm", "Softmax", "Flatten", "ArgMax",
      "LabelEncoder"};
  cr_assert_eq(gp->n_node, sizeof want / sizeof want[0]);
  for (size_t i = 0; i < gp->n_node; i++) cr_assert_str_eq(op(mp, i), want[i], "node %zu", i);
  /* one float input of the row's width, as predict takes it */
  cr_assert_eq(gp->n_input, 1);
  cr_assert_str_eq(gp->input[0]->name, "input");
  cr_assert_eq(gp->input[0]->type->tensor_type->shape->dim[1]->dim_value, 3);
  cr_assert_str_eq(gp->node[2]->output[0], "g/a");
  cr_assert_str_eq(gp->node[3]->output[0], "g/c");
  cr_assert_eq(gp->node[4]->attribute[0]->i, 7); /* codes cast to int64 */
  cr_assert_str_eq(gp->node[11]->input[1], "g/s/broadcast");
  const Onnx__NodeProto *bn = gp->node[12];
  cr_assert_eq(bn->n_input, 5);
  cr_assert_str_eq(bn->input[0], "g/s");
  cr_assert_str_eq(gp->node[13]->input[0], "g/bn"); /* dropout left out */
  int found = 0;
  for (size_t i = 0; i < gp->n_initializer; i++) {
    const Onnx__TensorProto *t = gp->initializer[i];
    if (strcmp(t->name, "g/a/starts") == 0) {
      found |= 1;
      cr_assert_eq(t->int64_data[0], 0);
    }
    if (strcmp(t->name, "g/a/ends") == 0) {
      found |= 2;
      cr_assert_eq(t->int64_data[0], 2);
    }
    if (strcmp(t->name, "g/c/starts") == 0) {
      found |= 4;
      cr_assert_eq(t->int64_data[0], 2);
    }
    if (strcmp(t->name, "g/s/shape") == 0) { /* (N, 1, 2): the batch copied */
      found |= 8;
      cr_assert_eq(t->n_int64_data, 3);
      cr_assert(t->int64_data[0] == 0 && t->int64_data[1] == 1 && t->int64_data[2] == 2);
    }
    if (strcmp(t->name, bn->input[3]) == 0) {
      found |= 16;
      cr_assert_eq(t->float_data[0], 0.5f);
    }
    if (strcmp(t->name, bn->input[4]) == 0) {
      found |= 32;
      cr_assert_eq(t->float_data[0], 2.0f);
    }
    if (strcmp(t->name, "g/e/table") == 0) { /* the model's parameters, bit for bit */
      found |= 64;
      cr_assert(t->n_dims == 2 && t->dims[0] == 3 && t->dims[1] == 2);
      cr_assert_eq(memcmp(t->float_data, nn_model_params_const(m), 6 * sizeof(float)), 0);
    }
  }
  cr_assert_eq(found, 127);
  cr_assert_str_eq(gp->output[1]->name, "label");
  onnx__model_proto__free_unpacked(mp, NULL);
  nn_model_free(m);
}
