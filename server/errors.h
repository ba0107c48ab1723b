/*
 * errors.h — the API's error codes: one table maps each code to its JSON name
 * and HTTP status, used by every handler and parser of the daemon.
 */
#ifndef TRAIND_ERRORS_H
#define TRAIND_ERRORS_H

#include <stdarg.h>
#include <stdint.h>

typedef enum {
  API_OK = 0,
  API_INVALID_ARGUMENT,     /* 400 */
  API_UNAUTHORIZED,         /* 401 */
  API_FORBIDDEN,            /* 403 */
  API_NOT_FOUND,            /* 404 */
  API_METHOD_NOT_ALLOWED,   /* 405 */
  API_CONFLICT,             /* 409 */
  API_PAYLOAD_TOO_LARGE,    /* 413 */
  API_UNSUPPORTED_MEDIA,    /* 415 */
  API_UNPROCESSABLE,        /* 422 */
  API_INTERNAL,             /* 500 */
  API_NOT_IMPLEMENTED,      /* 501: a method or transfer coding traind does not know */
  API_UNAVAILABLE,          /* 503 */
  API_STORAGE_FULL,         /* 507: the database's disk is full */
  API_TOO_LARGE,            /* 422: training it would exceed the memory budget */
  API_CODE_COUNT
} api_code;

/* A failure to report to a client: code, the input field at fault ("" when
 * none, e.g. "layers[1].units"), and a message a user can act on. Both are
 * valid UTF-8 (api_fail replaces bytes that are not with '?'). */
typedef struct {
  api_code code;
  char field[128];
  char message[256];
} api_error;

/** @return the JSON name of a code ("invalid_argument"...). */
const char *api_code_name(api_code code);

/** @return the HTTP status of a code (400...). */
int api_code_status(api_code code);

/**
 * Fill err (when not NULL) and return -code, so callers can write
 * `return api_fail(err, API_INVALID_ARGUMENT, "epochs", "must be >= 1");`.
 * @param field the offending field, or NULL
 */
int api_fail(api_error *err, api_code code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/** The same with a va_list. */
int api_vfail(api_error *err, api_code code, const char *field, const char *fmt, va_list ap);

/**
 * A failed store call (a store_status) as an API error — the one mapping
 * every handler, fit.c and the predict cache use: STORE_ENOTFOUND about a
 * resource is 404 "no <what> with id <id>" naming field; anything else is
 * store_api_code's code with "database error: <store_strerror>".
 * @param what the resource read ("model", "job"...), or NULL when the call
 *             was not about one (a list, an insert): not found is then a
 *             database error too
 * @return -code, as api_fail
 */
int api_store_fail(api_error *err, int status, const char *what, const char *field, int64_t id);

#endif
