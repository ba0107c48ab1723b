/*
 * json_check.h — RFC 8259 JSON, checked strictly before cJSON builds a tree.
 *
 * cJSON alone is lenient where the API must not be: it takes numbers such as
 * "02" and "1.", raw control characters and bytes that are not UTF-8 inside
 * strings, and "\u0000", which silently cuts a C string short ("a\u0000b"
 * would be stored as "a"). Its own nesting limit (1000) also fails with a
 * bare position. This check walks the bytes once, without allocating and
 * without recursion, and names the first problem with its byte offset.
 */
#ifndef TRAIND_JSON_CHECK_H
#define TRAIND_JSON_CHECK_H

#include <stddef.h>

#include "errors.h"

#define JSON_CHECK_MAX_DEPTH 64 /* nested arrays and objects, the outermost counting 1 */

/**
 * Check that body[0..len) is exactly one JSON value with optional blanks
 * around it: RFC 8259 grammar, UTF-8 throughout, no "\u0000" and no unpaired
 * UTF-16 surrogate escapes, and at most JSON_CHECK_MAX_DEPTH levels of
 * nesting. A leading UTF-8 byte order mark is skipped, as RFC 8259 allows.
 * @return 0, or -API_INVALID_ARGUMENT with err's message naming the byte;
 *         err's field is the path of a container nested too deep
 *         ("[0][0]...", "layers[1].x"), "" for any other problem
 */
int json_check(const char *body, size_t len, api_error *err);

#endif
