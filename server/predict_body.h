/*
 * predict_body.h — the predict request {"inputs": [[x, ...], ...]} read
 * straight into floats.
 *
 * The generic path (parse_json_body, then a cJSON tree walk) allocates a
 * node per number and names every element; for a 64-row batch of 784
 * features that cost ten times the prediction. This reader accepts only the
 * well-formed shape and leaves everything else — errors included — to the
 * generic path, which names the offending field; so it changes speed, never
 * an answer.
 */
#ifndef TRAIND_PREDICT_BODY_H
#define TRAIND_PREDICT_BODY_H

#include <stddef.h>

/** What predict_body_read made of a body. */
typedef enum {
  PREDICT_BODY_OK,    /* x holds rows rows of width numbers */
  PREDICT_BODY_OTHER, /* not the plain shape: use the generic path */
  PREDICT_BODY_NOMEM
} predict_body_status;

/**
 * Read a body of exactly one member "inputs": 1..max_rows arrays of width
 * JSON numbers, each finite as a float32 (whitespace anywhere JSON allows).
 * @param x    receives (rows, width) floats; grown with realloc from *x and
 *             *cap (floats), so a caller may keep one buffer per thread
 * @return PREDICT_BODY_OK, PREDICT_BODY_OTHER or PREDICT_BODY_NOMEM
 */
predict_body_status predict_body_read(const char *body, size_t len, int width, size_t max_rows,
                                      float **x, size_t *cap, size_t *rows);

/**
 * One JSON number (RFC 8259's grammar; strtod's is wider: hex, inf, a
 * leading '+' or '.') at the start of s, as the double strtod gives. Short
 * decimals, the common case, are converted exactly without strtod (Clinger's
 * fast path), the rest by strtod; tokens over 63 bytes that need it are
 * declined.
 * @return the bytes the number takes, or 0 when s does not start with one
 */
size_t predict_body_number(const char *s, size_t len, double *out);

#endif
