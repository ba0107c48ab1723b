/*
 * parse_json.h — strict JSON input for the API, on top of cJSON.
 *
 * A body is accepted only as one strict RFC 8259 JSON document with nothing
 * after it (json_check.h: UTF-8, no "\u0000", at most PARSE_JSON_MAX_DEPTH
 * levels of nesting) and no duplicate keys at any level. The typed getters
 * read one member of an object and, on failure, fill an api_error
 * (API_INVALID_ARGUMENT) whose field is the member's full path, e.g.
 * "layers[1].units". Optional members that are absent leave *out
 * untouched, so callers fill defaults first and let the getters override.
 */
#ifndef TRAIND_PARSE_JSON_H
#define TRAIND_PARSE_JSON_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/nn.h"
#include "errors.h"
#include "json_check.h"

#define PARSE_JSON_MAX_DEPTH JSON_CHECK_MAX_DEPTH
#define PARSE_PATH_MAX 128 /* the size of api_error.field */
#define PARSE_NAME_MAX 64  /* resource names: 1..64 of [A-Za-z0-9._-] */
/* 2^53 - 1: integers in RFC 8259's interoperable range, +-(2^53 - 1), are the
 * ones no other integer reads as: 9007199254740993 reads as the double 2^53,
 * so 2^53 itself could be a rounded larger number and is refused too. */
#define PARSE_MAX_SAFE_INT 9007199254740991LL

typedef enum { PARSE_OPTIONAL, PARSE_REQUIRED } parse_presence;

/**
 * Parse a body (not NUL-terminated) into a cJSON tree.
 * @param body the bytes; len may be 0 (rejected as empty)
 * @param out  receives the tree on success; free it with cJSON_Delete
 * @return 0, or -API_INVALID_ARGUMENT for malformed JSON (json_check),
 *         trailing bytes, duplicate keys or too deep nesting; -API_INTERNAL
 *         when out of memory
 */
int parse_json_body(const char *body, size_t len, cJSON **out, api_error *err);

/**
 * Join a parent path and a member name: ("layers[1]", "units") gives
 * "layers[1].units"; an empty prefix gives just "units". Truncates to cap.
 */
void parse_json_path(char *buf, size_t cap, const char *prefix, const char *key);

/**
 * Require v to be an object (field names v in the error).
 * @return 0 or -API_INVALID_ARGUMENT
 */
int parse_json_object(const cJSON *v, const char *field, api_error *err);

/**
 * Reject any member of obj whose name is not in allowed (NULL-terminated).
 * The error names the first unknown member with its path.
 */
int parse_json_known_keys(const cJSON *obj, const char *prefix, const char *const *allowed,
                          api_error *err);

/**
 * Reject any member of obj not in allowed (NULL-terminated) because it does
 * not apply here: "layers[0].units does not apply to a dropout layer", with
 * context "a dropout layer".
 */
int parse_json_applicable_keys(const cJSON *obj, const char *prefix,
                               const char *const *allowed, const char *context,
                               api_error *err);

/**
 * Read an integer member: a JSON number with no fraction, in [lo, hi].
 * @param lo,hi inclusive; keep them within +-PARSE_MAX_SAFE_INT
 * @return 0 (absent optional members leave *out as is) or -API_INVALID_ARGUMENT
 */
int parse_json_int(const cJSON *obj, const char *prefix, const char *key, parse_presence p,
                   int64_t lo, int64_t hi, int64_t *out, api_error *err);

/** parse_json_int for a C int (lo, hi within INT_MIN..INT_MAX). */
int parse_json_int32(const cJSON *obj, const char *prefix, const char *key, parse_presence p,
                     int lo, int hi, int *out, api_error *err);

/**
 * Read a finite number member in [lo, hi] (1e999 parses as infinity and is
 * rejected as not finite).
 */
int parse_json_number(const cJSON *obj, const char *prefix, const char *key, parse_presence p,
                      double lo, double hi, double *out, api_error *err);

/** parse_json_number into a float; the range must lie within +-FLT_MAX. */
int parse_json_float(const cJSON *obj, const char *prefix, const char *key, parse_presence p,
                     float lo, float hi, float *out, api_error *err);

/** Read a boolean member into 0 or 1. */
int parse_json_bool(const cJSON *obj, const char *prefix, const char *key, parse_presence p,
                    int *out, api_error *err);

/**
 * Read a string member of 1..max_len bytes.
 * @param out borrowed from obj: valid as long as the tree
 */
int parse_json_string(const cJSON *obj, const char *prefix, const char *key, parse_presence p,
                      size_t max_len, const char **out, api_error *err);

/**
 * Read a string member naming a value of one of core's name tables
 * (nn_parse_name); the error lists the accepted names.
 */
int parse_json_enum(const cJSON *obj, const char *prefix, const char *key, parse_presence p,
                    nn_names_kind kind, int *out, api_error *err);

/**
 * Check a resource name: 1..PARSE_NAME_MAX characters of [A-Za-z0-9._-].
 * @return 0 or -API_INVALID_ARGUMENT naming field
 */
int parse_check_name(const char *s, const char *field, api_error *err);

/**
 * Turn a core failure into an API error: the field passes through and the
 * message is core's (which already names the field).
 * @return -API_INVALID_ARGUMENT, or -API_INTERNAL for NN_ENOMEM
 */
int parse_from_nn_error(int status, const nn_error *e, api_error *err);

/**
 * Add a float member printed as the shortest decimal that reads back as the
 * same float (0.01f is written 0.01, not 0.009999999776482582).
 * @return 0, or -1 when out of memory
 */
int parse_json_add_float(cJSON *obj, const char *key, float v);

/**
 * Add an integer member that prints as exactly that integer. cJSON prints a
 * number with 15 significant digits whenever they come within a relative
 * DBL_EPSILON of it, so 9007199254740991 would print as 9.00719925474099e+15:
 * integers of 16 digits and more are added as their decimal text (a raw
 * item) instead of as a number.
 * @return 0, or -1 when out of memory
 */
int parse_json_add_int(cJSON *obj, const char *key, int64_t v);

#endif
