/*
 * parse_spec.h — a model's JSON spec (the body of POST /v1/models) to and
 * from core's nn_spec.
 *
 * {"name":"xor-net","inputs":2,"layers":[{"type":"dense","units":8,
 *  "activation":"tanh"},{"type":"dense","units":1,"activation":"sigmoid"}],
 *  "loss":"mse","seed":1,"normalize":false}
 *
 * Layer members: type (required), dense: units (required), activation
 * (linear), slope (leaky_relu only, 0.01), init (by activation); dropout:
 * rate (required). Top level: name, inputs, layers, loss required; seed
 * (0..2^53 - 1, default 0) and normalize (false) optional. Unknown members and
 * members that do not apply are rejected, naming them.
 * A spec without inputs (spec->inputs 0) takes the feature columns of the
 * typed table it is first trained on, encoded as its optional "preprocess"
 * member says (parse_preprocess.h; parse_spec_to_json leaves it out: the
 * caller copies it).
 *
 * A spec with "nodes" is a graph model (parse_graph.h): "inputs" is then an
 * object of named shapes, "nodes" and "output" replace "layers", and
 * "preprocess" does not apply. Its nn_spec owns the graph spec parse_spec
 * allocates: parse_spec_free releases it.
 */
#ifndef TRAIND_PARSE_SPEC_H
#define TRAIND_PARSE_SPEC_H

#include "parse_json.h"

/**
 * Parse and validate (nn_spec_validate) a model spec.
 * @param root the parsed body
 * @param spec receives the normalized spec (init resolved)
 * @param name receives the model's name
 * @return 0, -API_INVALID_ARGUMENT naming the field, or -API_INTERNAL
 */
int parse_spec(const cJSON *root, nn_spec *spec, char name[PARSE_NAME_MAX + 1], api_error *err);

/** Release what parse_spec allocated for spec (its graph); spec must have
 * been through parse_spec (or be zeroed). */
void parse_spec_free(nn_spec *spec);

/**
 * The normalized JSON of a validated spec, every default written out; it
 * parses back (parse_spec) into the same spec.
 * @param name added as "name" unless NULL
 * @return a new object (cJSON_Delete it), or NULL when out of memory
 */
cJSON *parse_spec_to_json(const nn_spec *spec, const char *name);

#endif
