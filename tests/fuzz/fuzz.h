/*
 * fuzz.h — what the libFuzzer targets share: the entry point, and invariant
 * checks that abort, so that libFuzzer saves the input that broke one just
 * as it saves one that crashed.
 */
#ifndef TRAIND_FUZZ_H
#define TRAIND_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../server/errors.h"
#include "../../server/parse_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond, ...)                                                       \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      fprintf(stderr, "%s:%d: invariant failed: %s\n  ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                                                 \
      fputc('\n', stderr);                                                          \
      abort();                                                                      \
    }                                                                               \
  } while (0)

/* A refusal is well formed: rc is -code, with a message; never a 500, since
 * these inputs are small enough to fit in memory. */
static inline void fuzz_check_refusal(int rc, const api_error *err, api_code code) {
  FUZZ_CHECK(rc == -(int)code && err->code == code, "rc %d, code %d, expected %d (%s)", rc,
             (int)err->code, (int)code, err->message);
  FUZZ_CHECK(err->message[0] != '\0', "no message (field '%s')", err->field);
  FUZZ_CHECK(memchr(err->field, '\0', sizeof err->field) != NULL, "field is not terminated");
  FUZZ_CHECK(memchr(err->message, '\0', sizeof err->message) != NULL, "message not terminated");
}

/* The input as a request body: the parsed document, or NULL when the body
 * parser refused it (after checking the refusal is a well-formed 400). */
static inline cJSON *fuzz_parse_body(const uint8_t *data, size_t size) {
  cJSON *root = NULL;
  api_error err = {0};
  int rc = parse_json_body((const char *)data, size, &root, &err);
  if (rc != 0) fuzz_check_refusal(rc, &err, API_INVALID_ARGUMENT);
  return root;
}

/* Floats compare by bits, so a round trip must be exact. */
static inline int fuzz_same_float(float a, float b) { return memcmp(&a, &b, sizeof a) == 0; }

#endif
