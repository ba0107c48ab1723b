/*
 * parse_graph.h — the graph form of a model spec (docs/graph.md) to and
 * from core's nn_graph_spec: the members "inputs", "nodes" and "output" of
 * {"name": "res", "inputs": {"x": [64]}, "nodes": [{"name": "h1", "op":
 *  "dense", "inputs": ["x"], "units": 64, "activation": "relu"}, {"name":
 *  "r", "op": "add", "inputs": ["x", "h1"]}, ...], "output": "y", "loss": ...}
 *
 * inputs maps each input's name to the shape of its share of a data row,
 * in order: a row's columns feed the inputs one after the other. A node has
 * a name (1..31 of [A-Za-z0-9._-]), an op, its inputs (names of inputs or
 * of other nodes, in any order: the graph is sorted), and the attributes
 * that apply to its op (others are refused, naming them): dense units,
 * activation, slope, init; leaky_relu slope; dropout rate; conv1d/conv2d
 * filters, kernel, stride, padding, dilation (an integer, or [h, w]),
 * activation, slope, init; maxpool/avgpool size, stride; embedding
 * categories, dim; concat axis; slice axis, start, end; reshape shape;
 * layernorm eps; batchnorm eps, momentum. Shapes, cycles and unknown names
 * are core's to check (nn_spec_validate), with the field at fault.
 */
#ifndef TRAIND_PARSE_GRAPH_H
#define TRAIND_PARSE_GRAPH_H

#include "../core/graph.h"
#include "parse_json.h"

/**
 * Parse the graph members of root (already known to have "nodes").
 * @param out receives a new graph spec (free it), NULL on failure
 * @return 0, -API_INVALID_ARGUMENT naming the field, or -API_INTERNAL
 */
int parse_graph(const cJSON *root, nn_graph_spec **out, api_error *err);

/**
 * Add "inputs", "nodes" and "output" of a valid graph to o, every default
 * written out (nn_graph_resolve): it parses back into the same graph.
 * @return 0, or -1 when out of memory
 */
int parse_graph_to_json(cJSON *o, const nn_graph_spec *g);

/** The JSON path of a field core names: "inputs[1]" is "inputs.<name>". */
void parse_graph_field(const nn_graph_spec *g, char *field, size_t cap);

#endif
