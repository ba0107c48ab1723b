/* test_parse_graph.c — the graph form of a model spec (parse_graph.h): what
 * parses, what is written back (every default, parsing back to the same
 * text), and what is refused, by field. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../server/parse_graph.h"
#include "../../server/parse_spec.h"

/* A small residual net: docs/api.md's example. */
static const char *const RESIDUAL =
    "{\"name\":\"res\",\"inputs\":{\"x\":[4]},\"nodes\":["
    "{\"name\":\"h1\",\"op\":\"dense\",\"inputs\":[\"x\"],\"units\":16,\"activation\":\"relu\"},"
    "{\"name\":\"h2\",\"op\":\"dense\",\"inputs\":[\"h1\"],\"units\":16},"
    "{\"name\":\"r\",\"op\":\"add\",\"inputs\":[\"h1\",\"h2\"]},"
    "{\"name\":\"y\",\"op\":\"dense\",\"inputs\":[\"r\"],\"units\":3,\"activation\":\"softmax\"}],"
    "\"output\":\"y\",\"loss\":\"cross_entropy\",\"seed\":1}";

static int parse_text(const char *text, nn_spec *spec, api_error *err) {
  cJSON *root = NULL;
  char name[PARSE_NAME_MAX + 1];
  cr_assert_eq(parse_json_body(text, strlen(text), &root, err), 0, "%s", text);
  int rc = parse_spec(root, spec, name, err);
  cJSON_Delete(root);
  return rc;
}

/* text parses; its normalized JSON, parsed again, prints the same. */
static char *round_trip(const char *text) {
  nn_spec spec;
  api_error err = {0};
  cr_assert_eq(parse_text(text, &spec, &err), 0, "%s: %s (%s)", text, err.message, err.field);
  cr_assert_not_null(spec.graph);
  cJSON *o = parse_spec_to_json(&spec, "m");
  char *once = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  parse_spec_free(&spec);
  cr_assert_null(spec.graph);
  cr_assert_eq(parse_text(once, &spec, &err), 0, "%s: %s", once, err.message);
  o = parse_spec_to_json(&spec, "m");
  char *twice = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  parse_spec_free(&spec);
  cr_assert_str_eq(once, twice);
  free(twice);
  return once;
}

Test(parse_graph, residual_net_parses_and_validates) {
  nn_spec spec;
  api_error err = {0};
  cr_assert_eq(parse_text(RESIDUAL, &spec, &err), 0, "%s", err.message);
  cr_assert_eq(spec.inputs, 4);
  cr_assert_eq(spec.n_layers, 0);
  cr_assert_eq(nn_spec_outputs(&spec), 3);
  cr_assert_eq(nn_spec_param_count(&spec), 4 * 16 + 16 + 16 * 16 + 16 + 16 * 3 + 3);
  cr_assert_eq(spec.graph->n_nodes, 4);
  cr_assert_str_eq(spec.graph->nodes[2].inputs[1], "h2");
  parse_spec_free(&spec);
  char *text = round_trip(RESIDUAL);
  cr_assert_not_null(strstr(text, "\"inputs\":{\"x\":[4]},\"nodes\":["), "%s", text);
  cr_assert_not_null(strstr(text, "\"init\":\"auto\""), "%s", text);
  free(text);
}

Test(parse_graph, defaults_are_written_out) {
  char *text = round_trip(
      "{\"name\":\"c\",\"inputs\":{\"img\":[1,8,8],\"code\":[1]},\"nodes\":["
      "{\"name\":\"c1\",\"op\":\"conv2d\",\"inputs\":[\"img\"],\"filters\":4,\"kernel\":3,"
      "\"padding\":[1,1]},"
      "{\"name\":\"bn\",\"op\":\"batchnorm\",\"inputs\":[\"c1\"]},"
      "{\"name\":\"p\",\"op\":\"maxpool\",\"inputs\":[\"bn\"],\"size\":2},"
      "{\"name\":\"g\",\"op\":\"global_avgpool\",\"inputs\":[\"p\"]},"
      "{\"name\":\"e\",\"op\":\"embedding\",\"inputs\":[\"code\"],\"categories\":5,\"dim\":3},"
      "{\"name\":\"ef\",\"op\":\"flatten\",\"inputs\":[\"e\"]},"
      "{\"name\":\"cat\",\"op\":\"concat\",\"inputs\":[\"g\",\"ef\"]},"
      "{\"name\":\"d\",\"op\":\"dropout\",\"inputs\":[\"cat\"],\"rate\":0.25},"
      "{\"name\":\"y\",\"op\":\"dense\",\"inputs\":[\"d\"],\"units\":1,\"activation\":\"leaky_relu\"}],"
      "\"output\":\"y\",\"loss\":\"mse\"}");
  static const char *const want[] = {
      "\"kernel\":3,\"stride\":1,\"padding\":1,\"dilation\":1",
      "\"eps\":1e-05,\"momentum\":0.1",
      "\"size\":2,\"stride\":2",
      "\"categories\":5,\"dim\":3",
      "\"axis\":0",
      "\"rate\":0.25",
      "\"slope\":0.01",
      "\"inputs\":{\"img\":[1,8,8],\"code\":[1]}",
  };
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
    cr_assert_not_null(strstr(text, want[i]), "%s lacks %s", text, want[i]);
  free(text);
}

/* The residual net with one change: replace from with to. */
static char *variant(const char *from, const char *to) {
  const char *at = strstr(RESIDUAL, from);
  cr_assert_not_null(at, "%s", from);
  size_t n = strlen(RESIDUAL) - strlen(from) + strlen(to) + 1;
  char *s = malloc(n);
  snprintf(s, n, "%.*s%s%s", (int)(at - RESIDUAL), RESIDUAL, to, at + strlen(from));
  return s;
}

Test(parse_graph, refusals_name_the_field) {
  static const struct {
    const char *from, *to, *field, *says;
  } rows[] = {
      {"\"units\":16}", "\"units\":8}", "nodes[2].inputs[1]", "shape [8] does not match [16]"},
      {"[\"h1\",\"h2\"]", "[\"h1\",\"zz\"]", "nodes[2].inputs[1]", "unknown name \"zz\""},
      {"\"inputs\":[\"x\"],\"units\":16", "\"inputs\":[\"r\"],\"units\":16", "nodes[0].inputs[0]",
       "cycle"},
      {"\"op\":\"add\"", "\"op\":\"plus\"", "nodes[2].op", "must be one of dense"},
      {"\"op\":\"add\",", "\"op\":\"add\",\"units\":3,", "nodes[2].units", "does not apply"},
      {"[\"h1\",\"h2\"]", "[]", "nodes[2].inputs", "array of 1 to 8"},
      {"[\"h1\",\"h2\"]", "[\"h1\",7]", "nodes[2].inputs[1]", "must be a name"},
      {"\"name\":\"r\"", "\"name\":\"h1\"", "nodes[2].name", "used twice"},
      {"\"name\":\"r\"", "\"name\":\"a/b\"", "nodes[2].name", NULL},
      {"\"name\":\"r\"", "\"name\":\"abcdefghijabcdefghijabcdefghijabc\"", "nodes[2].name",
       "1 to 31"},
      {"\"x\":[4]", "\"x\":[0]", "inputs.x", "1..16777216"},
      {"\"x\":[4]", "\"x\":[4e104]", "inputs.x", "1..16777216"}, /* no cast of it */
      {"\"units\":16}", "\"units\":16,\"axis\":1}", "nodes[1].axis", "does not apply"},
      {"\"op\":\"add\",", "\"op\":\"concat\",\"axis\":-1e300,", "nodes[2].axis", NULL},
      {"\"x\":[4]", "\"x\":4", "inputs.x", "must be a shape"},
      {"\"x\":[4]", "\"x\":[4096,4096,2]", "inputs.x", "at most"},
      {"{\"x\":[4]}", "{}", "inputs", "1 to 8 named shapes"},
      {"\"output\":\"y\"", "\"output\":\"q\"", "output", "unknown name"},
      {"\"output\":\"y\"", "\"output\":\"h2\"", "output", "needs a softmax output"},
      {"\"output\":\"y\",", "", "output", "required"},
      {"\"loss\"", "\"layers\":[],\"loss\"", "layers", NULL},
      {"\"units\":3,\"activation\":\"softmax\"", "\"units\":1,\"activation\":\"softmax\"",
       "output", "k >= 2"},
  };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    char *text = variant(rows[i].from, rows[i].to);
    nn_spec spec;
    api_error err = {0};
    cr_assert_eq(parse_text(text, &spec, &err), -API_INVALID_ARGUMENT, "%s parsed", text);
    cr_assert_null(spec.graph, "nothing is left allocated");
    cr_assert_str_eq(err.field, rows[i].field, "%s: %s", text, err.message);
    if (rows[i].says != NULL)
      cr_assert_not_null(strstr(err.message, rows[i].says), "%s: %s", text, err.message);
    free(text);
  }
}

Test(parse_graph, conv_attributes_are_checked) {
  static const struct {
    const char *node, *field;
  } rows[] = {
      {"{\"name\":\"c\",\"op\":\"conv2d\",\"inputs\":[\"x\"],\"filters\":2}", "nodes[0].kernel"},
      {"{\"name\":\"c\",\"op\":\"conv2d\",\"inputs\":[\"x\"],\"filters\":2,\"kernel\":[3]}",
       "nodes[0].kernel"},
      {"{\"name\":\"c\",\"op\":\"conv2d\",\"inputs\":[\"x\"],\"filters\":2,\"kernel\":3,"
       "\"padding\":-1}", "nodes[0].padding"},
      {"{\"name\":\"c\",\"op\":\"conv2d\",\"inputs\":[\"x\"],\"filters\":2,\"kernel\":9}",
       "nodes[0].kernel"},
      {"{\"name\":\"c\",\"op\":\"maxpool\",\"inputs\":[\"x\"]}", "nodes[0].size"},
  };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    char text[512];
    snprintf(text, sizeof text,
             "{\"name\":\"m\",\"inputs\":{\"x\":[1,8,8]},\"nodes\":[%s],\"output\":\"c\","
             "\"loss\":\"mse\"}", rows[i].node);
    nn_spec spec;
    api_error err = {0};
    cr_assert_eq(parse_text(text, &spec, &err), -API_INVALID_ARGUMENT, "%s parsed", text);
    cr_assert_str_eq(err.field, rows[i].field, "%s: %s", text, err.message);
    cr_assert_null(spec.graph);
  }
}

/* A 1-D node (conv1d, a pool over [C, L]) is written back as a spec gives
 * it and reads back the same: its kernel, stride, padding and window are
 * the width's, never the trivial height's (written as [1, k], they read
 * back as a kernel of 1). */
Test(parse_graph, one_dimensional_nodes_read_back_the_same) {
  const char *spec =
      "{\"name\":\"s\",\"inputs\":{\"x\":[2,20]},\"nodes\":["
      "{\"name\":\"c\",\"op\":\"conv1d\",\"inputs\":[\"x\"],\"filters\":3,\"kernel\":5,"
      "\"stride\":2,\"padding\":1,\"dilation\":2},"
      "{\"name\":\"p\",\"op\":\"maxpool\",\"inputs\":[\"c\"],\"size\":2},"
      "{\"name\":\"f\",\"op\":\"flatten\",\"inputs\":[\"p\"]},"
      "{\"name\":\"y\",\"op\":\"dense\",\"inputs\":[\"f\"],\"units\":1}],"
      "\"output\":\"y\",\"loss\":\"mse\"}";
  char *once = round_trip(spec);
  cr_assert_not_null(strstr(once, "\"kernel\":5,\"stride\":2,\"padding\":1,\"dilation\":2"), "%s",
                     once);
  cr_assert_not_null(strstr(once, "\"size\":2,\"stride\":2"), "%s", once);
  char *twice = round_trip(once);
  cr_expect_str_eq(twice, once);
  nn_spec a, b;
  api_error err = {0};
  cr_assert_eq(parse_text(spec, &a, &err), 0, "%s", err.message);
  cr_assert_eq(parse_text(once, &b, &err), 0, "%s", err.message);
  cr_expect_eq(nn_spec_param_count(&b), nn_spec_param_count(&a));
  cr_expect_eq(nn_spec_param_count(&a), 3 * 2 * 5 + 3 + 3 * 3 + 1); /* L' 7, pooled 3 */
  parse_spec_free(&a);
  parse_spec_free(&b);
  free(once);
  free(twice);
}
