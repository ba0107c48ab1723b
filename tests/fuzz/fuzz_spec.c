/*
 * fuzz_spec.c — model specs, the body of POST /v1/models (parse_spec).
 *
 * A refused body is a 400 with a message. A spec that parses is already
 * normalized (validating it again changes nothing), counts the parameters
 * its layers define, builds a model of exactly that size with finite
 * weights, and prints back to JSON that parses into the same spec and name.
 * A graph spec (parse_graph.h) counts what its compiled graph holds, and
 * prints back to the same text once normalized.
 */
#include <math.h>

#include "../../core/graph.h"
#include "../../server/parse_spec.h"
#include "fuzz.h"

/* Bigger models are counted but not built: initialising them is slow. */
#define MAX_BUILT_PARAMS ((size_t)1 << 18)

/* (in + 1) * units per dense layer; dropout keeps the width. */
static size_t params_by_definition(const nn_spec *s) {
  size_t n = 0, in = (size_t)s->inputs;
  for (int i = 0; i < s->n_layers; i++) {
    const nn_layer_spec *l = &s->layers[i];
    if (l->type == NN_LAYER_DROPOUT) {
      FUZZ_CHECK((size_t)l->units == in, "dropout layers[%d] has %d units, not %zu", i, l->units,
                 in);
      continue;
    }
    n += (in + 1) * (size_t)l->units;
    in = (size_t)l->units;
  }
  return n;
}

static void check_same_spec(const nn_spec *a, const nn_spec *b) {
  FUZZ_CHECK(a->inputs == b->inputs && a->n_layers == b->n_layers && a->loss == b->loss &&
                 a->seed == b->seed && a->normalize == b->normalize,
             "top-level fields differ");
  for (int i = 0; i < a->n_layers; i++) {
    const nn_layer_spec *x = &a->layers[i], *y = &b->layers[i];
    FUZZ_CHECK(x->type == y->type && x->units == y->units && x->act == y->act &&
                   x->init == y->init && fuzz_same_float(x->slope, y->slope) &&
                   fuzz_same_float(x->rate, y->rate),
               "layers[%d] differs", i);
  }
}

/* A graph's parameters: what it compiles to. */
static size_t graph_params(const nn_spec *s) {
  nn_graph *g;
  nn_error e = {{0}, {0}};
  FUZZ_CHECK(nn_graph_compile(s->graph, 1, &g, &e) == NN_OK, "a parsed graph does not compile: "
             "%s", e.message);
  size_t n = nn_graph_param_count(g);
  nn_graph_free(g);
  return n;
}

static void check_model(const nn_spec *spec) {
  size_t p = spec->graph != NULL ? nn_spec_param_count(spec) : params_by_definition(spec);
  FUZZ_CHECK(p <= NN_MAX_PARAMS && (p >= 1 || spec->graph != NULL), "%zu parameters", p);
  FUZZ_CHECK(nn_spec_param_count(spec) == p, "nn_spec_param_count %zu, by definition %zu",
             nn_spec_param_count(spec), p);
  if (p > MAX_BUILT_PARAMS) return;
  if (spec->graph != NULL)
    FUZZ_CHECK(graph_params(spec) == p, "the graph compiles to %zu parameters, not %zu",
               graph_params(spec), p);
  nn_model *m = NULL;
  nn_error e = {{0}, {0}};
  int rc = nn_model_new(spec, &m, &e);
  FUZZ_CHECK(rc == NN_OK, "a parsed spec builds no model: %s", e.message);
  FUZZ_CHECK(nn_model_param_count(m) == p, "model has %zu parameters, not %zu",
             nn_model_param_count(m), p);
  check_same_spec(nn_model_spec(m), spec);
  const float *w = nn_model_params_const(m);
  for (size_t i = 0; i < p; i++) FUZZ_CHECK(isfinite(w[i]), "parameter %zu is %g", i, w[i]);
  nn_model_free(m);
}

/* Print, parse again: the same spec and name. */
static void check_round_trip(const nn_spec *spec, const char *name) {
  cJSON *o = parse_spec_to_json(spec, name);
  FUZZ_CHECK(o != NULL, "parse_spec_to_json failed");
  char *text = cJSON_PrintUnformatted(o);
  FUZZ_CHECK(text != NULL, "cJSON_Print failed");
  cJSON *root = NULL;
  api_error err = {0};
  int rc = parse_json_body(text, strlen(text), &root, &err);
  FUZZ_CHECK(rc == 0, "printed spec is not JSON: %s", err.message);
  nn_spec again;
  char name2[PARSE_NAME_MAX + 1];
  rc = parse_spec(root, &again, name2, &err);
  FUZZ_CHECK(rc == 0, "printed spec %s is refused: %s: %s", text, err.field, err.message);
  check_same_spec(spec, &again);
  FUZZ_CHECK(strcmp(name, name2) == 0, "name %s came back as %s", name, name2);
  FUZZ_CHECK((again.graph != NULL) == (spec->graph != NULL), "a graph came back as layers");
  if (again.graph != NULL) { /* printed again: the same text */
    cJSON *o2 = parse_spec_to_json(&again, name2);
    char *text2 = o2 != NULL ? cJSON_PrintUnformatted(o2) : NULL;
    FUZZ_CHECK(text2 != NULL && strcmp(text, text2) == 0, "%s printed again as %s", text,
               text2 != NULL ? text2 : "nothing");
    cJSON_free(text2);
    cJSON_Delete(o2);
  }
  parse_spec_free(&again);
  cJSON_Delete(root);
  cJSON_free(text);
  cJSON_Delete(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cJSON *root = fuzz_parse_body(data, size);
  if (root == NULL) return 0;
  api_error err = {0};
  int rc;
  nn_spec spec;
  char name[PARSE_NAME_MAX + 1];
  rc = parse_spec(root, &spec, name, &err);
  cJSON_Delete(root);
  if (rc != 0) {
    fuzz_check_refusal(rc, &err, API_INVALID_ARGUMENT);
    return 0;
  }
  FUZZ_CHECK(parse_check_name(name, "name", &err) == 0, "name %s", name);
  /* without inputs the width comes from the table it first trains on: the
   * layers were checked, and are built here, as for one input */
  nn_spec built = spec;
  if (built.inputs == 0) built.inputs = 1;
  nn_spec again = built;
  FUZZ_CHECK(nn_spec_validate(&again, NULL) == NN_OK, "a parsed spec does not validate");
  check_same_spec(&built, &again);
  FUZZ_CHECK(spec.graph != NULL ? nn_spec_outputs(&spec) >= 1
                                : nn_spec_outputs(&spec) == spec.layers[spec.n_layers - 1].units,
             "outputs");
  check_model(&built);
  check_round_trip(&spec, name);
  parse_spec_free(&spec);
  return 0;
}
