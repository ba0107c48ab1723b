/* test_graph_util.h — building graph specs and data for the graph tests. */
#ifndef TESTS_GRAPH_UTIL_H
#define TESTS_GRAPH_UTIL_H

#include "../../core/graph.h"

/* A zeroed spec on the heap (free it), seed 7. */
nn_graph_spec *gu_spec(void);

/* Add input name of shape dims (rank given by how many are nonzero, up to 4). */
void gu_input(nn_graph_spec *s, const char *name, int d0, int d1, int d2, int d3);

/* Add node name = op(in0, in1) (in1 may be NULL) with default attributes; it
 * becomes the spec's output. @return the node, to set attributes on */
nn_node_spec *gu_node(nn_graph_spec *s, const char *name, nn_op op, const char *in0,
                      const char *in1);

/* x (count,) uniform in +-[0.1, 1): away from relu's kink. */
void gu_fill(float *x, size_t count, uint64_t seed);

/* x (count,): a shuffle of distinct values 0.06 apart, centred on 0, so a
 * step of 0.01 never changes which of two is larger. */
void gu_spread(float *x, size_t count, uint64_t seed);

/* Compile s for n rows and check its gradients on inputs (step 0: the
 * default); every check must pass with at most a quarter of the entries
 * skipped. @return the result */
nn_graph_check_result gu_check(const nn_graph_spec *s, const float *const *inputs, size_t n,
                               int train, double step, const char *what);

#endif
