/* errors.c — the one table of API error codes, and the one mapping of a
 * store failure to them. */
#include "errors.h"

#include <stdio.h>
#include <string.h>

#include "store.h"
#include "utf8.h"

static const struct {
  const char *name;
  int status;
} codes[API_CODE_COUNT] = {
    [API_OK] = {"ok", 200},
    [API_INVALID_ARGUMENT] = {"invalid_argument", 400},
    [API_UNAUTHORIZED] = {"unauthorized", 401},
    [API_FORBIDDEN] = {"forbidden", 403},
    [API_NOT_FOUND] = {"not_found", 404},
    [API_METHOD_NOT_ALLOWED] = {"method_not_allowed", 405},
    [API_CONFLICT] = {"conflict", 409},
    [API_PAYLOAD_TOO_LARGE] = {"payload_too_large", 413},
    [API_UNSUPPORTED_MEDIA] = {"unsupported_media_type", 415},
    [API_UNPROCESSABLE] = {"unprocessable", 422},
    [API_INTERNAL] = {"internal", 500},
    [API_NOT_IMPLEMENTED] = {"not_implemented", 501},
    [API_UNAVAILABLE] = {"unavailable", 503},
    [API_STORAGE_FULL] = {"storage_full", 507},
    [API_TOO_LARGE] = {"too_large", 422},
};

const char *api_code_name(api_code code) {
  if ((unsigned)code >= API_CODE_COUNT) code = API_INTERNAL;
  return codes[code].name;
}

int api_code_status(api_code code) {
  if ((unsigned)code >= API_CODE_COUNT) code = API_INTERNAL;
  return codes[code].status;
}

int api_vfail(api_error *err, api_code code, const char *field, const char *fmt, va_list ap) {
  if (err != NULL) {
    err->code = code;
    snprintf(err->field, sizeof err->field, "%s", field ? field : "");
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    /* Both may quote client bytes, or be cut inside a character: they go
     * into a JSON answer, which must be UTF-8. */
    utf8_scrub(err->field);
    utf8_scrub(err->message);
  }
  return -(int)code;
}

int api_fail(api_error *err, api_code code, const char *field, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = api_vfail(err, code, field, fmt, ap);
  va_end(ap);
  return rc;
}

int api_store_fail(api_error *err, int status, const char *what, const char *field, int64_t id) {
  if (status == STORE_ENOTFOUND && what != NULL)
    return api_fail(err, API_NOT_FOUND, field, "no %s with id %lld", what, (long long)id);
  return api_fail(err, store_api_code(status), NULL, "database error: %s",
                  store_strerror(status));
}
