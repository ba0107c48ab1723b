/*
 * names.c — the one place where enums get the names they carry in JSON and
 * logs, used both to parse and to print (FANN style string tables).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "nn_internal.h"

static const char *const status_names[] = {
    "ok", "invalid_argument", "out_of_memory", "out_of_range", "bad_format",
    "unsupported_version", "shape_mismatch", "diverged", "stopped", "reduce_failed"};
static const char *const status_text[] = {
    "success",
    "invalid argument",
    "out of memory",
    "size out of range",
    "data is truncated or corrupt",
    "unsupported format version",
    "data does not fit the model",
    "training diverged (NaN or Inf)",
    "stopped by request",
    "a reduce across the ranks failed"};
static const char *const layer_names[] = {"dense", "dropout"};
static const char *const act_names[] = {"linear", "relu", "leaky_relu",
                                        "sigmoid", "tanh", "softmax"};
static const char *const init_names[] = {"auto", "xavier", "he"};
static const char *const loss_names[] = {"mse", "cross_entropy", "binary_cross_entropy"};
static const char *const opt_names[] = {"sgd", "adam", "adamw", "rmsprop"};
static const char *const sched_names[] = {"constant", "step", "exponential", "cosine"};
static const char *const column_type_names[] = {"number", "integer", "boolean", "category",
                                                "datetime"};
static const char *const impute_names[] = {"mean", "median", "constant"};

#define TABLE(t) {t, sizeof t / sizeof t[0]}
static const struct {
  const char *const *names;
  size_t count;
} tables[] = {
    [NN_NAMES_STATUS] = TABLE(status_names), [NN_NAMES_LAYER] = TABLE(layer_names),
    [NN_NAMES_ACT] = TABLE(act_names),       [NN_NAMES_INIT] = TABLE(init_names),
    [NN_NAMES_LOSS] = TABLE(loss_names),     [NN_NAMES_OPT] = TABLE(opt_names),
    [NN_NAMES_SCHED] = TABLE(sched_names),   [NN_NAMES_COLUMN_TYPE] = TABLE(column_type_names),
    [NN_NAMES_IMPUTE] = TABLE(impute_names),
};

const char *nn_name(nn_names_kind kind, int value) {
  if ((unsigned)kind >= sizeof tables / sizeof tables[0]) return NULL;
  if (kind == NN_NAMES_STATUS) value = -value; /* statuses are 0 and negative */
  if (value < 0 || (size_t)value >= tables[kind].count) return NULL;
  return tables[kind].names[value];
}

int nn_parse_name(nn_names_kind kind, const char *s, int *value) {
  if (s == NULL || (unsigned)kind >= sizeof tables / sizeof tables[0]) return NN_EINVAL;
  for (size_t i = 0; i < tables[kind].count; i++) {
    if (strcmp(s, tables[kind].names[i]) == 0) {
      *value = kind == NN_NAMES_STATUS ? -(int)i : (int)i;
      return NN_OK;
    }
  }
  return NN_EINVAL;
}

const char *nn_strerror(int status) {
  if (status > 0 || (size_t)-status >= sizeof status_text / sizeof status_text[0])
    return "unknown error";
  return status_text[-status];
}

int nn__fail(nn_error *err, int status, const char *field, const char *fmt, ...) {
  if (err != NULL) {
    snprintf(err->field, sizeof err->field, "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
  }
  return status;
}
