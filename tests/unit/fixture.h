/* fixture.h — reader for the PyTorch reference fixture written by
 * tests/gen_torch_fixture.py (the format is documented at the top of it). */
#ifndef TESTS_FIXTURE_H
#define TESTS_FIXTURE_H

#include <stddef.h>

#include "../../core/nn.h"

#define FIXTURE_MAX_TENSORS 16

typedef struct {
  char name[32];
  size_t count;
  float *v; /* (count,) */
} fixture_tensor;

typedef struct {
  nn_spec spec;          /* validated; seed 0 */
  int has_train;         /* a `train` line was present */
  nn_train_config train; /* defaults plus what the `train` line sets */
  int n_tensors;
  fixture_tensor tensors[FIXTURE_MAX_TENSORS];
} fixture_case;

/**
 * Load one case from a fixture file.
 * @param path the fixture file
 * @param name the case to load
 * @param c    receives the case; free with fixture_free (also after a failure)
 * @param err  receives a message on failure
 * @return 0, or -1 when the file cannot be read, the case is missing or malformed
 */
int fixture_load(const char *path, const char *name, fixture_case *c, char *err,
                 size_t err_len);

/** @return the tensor of c called name, or NULL. */
const fixture_tensor *fixture_tensor_get(const fixture_case *c, const char *name);

void fixture_free(fixture_case *c);

#endif
