/* graph_fixture.h — reader for the PyTorch graph fixture written by
 * tests/gen_torch_graph_fixture.py (the format is documented at its top). */
#ifndef TESTS_GRAPH_FIXTURE_H
#define TESTS_GRAPH_FIXTURE_H

#include <stddef.h>

#include "../../core/graph.h"

#define GRAPH_FIXTURE_MAX_TENSORS 24
#define GRAPH_FIXTURE_MAX_CASES 96

typedef struct {
  char name[48];
  size_t count;
  float *v; /* (count,) */
} graph_fixture_tensor;

typedef struct {
  char name[48];
  size_t rows;
  int train;
  nn_graph_spec spec; /* inputs, nodes (defaults, then the line's attributes), output */
  int n_tensors;
  graph_fixture_tensor tensors[GRAPH_FIXTURE_MAX_TENSORS];
} graph_fixture_case;

/**
 * Load every case of a fixture file.
 * @param cases receives up to GRAPH_FIXTURE_MAX_CASES cases; free each with
 *              graph_fixture_free (also after a failure: unset ones are zero)
 * @param n     receives how many were read
 * @param err   receives "line N: what" on failure
 * @return 0, or -1 when the file cannot be read or a line is malformed
 */
int graph_fixture_load(const char *path, graph_fixture_case *cases, int *n, char *err,
                       size_t err_len);

/** @return the tensor of c called name, or NULL. */
const graph_fixture_tensor *graph_fixture_tensor_get(const graph_fixture_case *c,
                                                     const char *name);

void graph_fixture_free(graph_fixture_case *c);

#endif
